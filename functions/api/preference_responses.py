"""Response bodies of box 5, the preference decisions (``routers/preferences.py``)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from functions.api.models import ApiModel
from functions.api.responses import certificate_path
from jevs.domain.preferences import PreferenceDecision, PreferenceOutcome, RefusalReason
from jevs.service.preferences import VisiblePreferences


def preferences_path(number: str) -> str:
    return f"{certificate_path(number)}/preference-decisions"


class PreferenceDecisionOut(ApiModel):
    """China Customs' decision on one import declaration's claim to preference under the certificate."""

    certificate_number: str
    certificate_version: int
    declaration_number: str
    declaration_id: str
    decision: PreferenceOutcome
    reasons: list[RefusalReason] = Field(description="Why preference was not given (empty when GIVEN).")
    decided_at: AwareDatetime
    decided_by: str


class PreferenceLinks(ApiModel):
    self: str
    certificate: str


class PreferenceDecisionList(ApiModel):
    certificate_number: str
    decisions: list[PreferenceDecisionOut]
    links: PreferenceLinks


def render_decision(decision: PreferenceDecision) -> PreferenceDecisionOut:
    return PreferenceDecisionOut.model_validate(decision.document())


def render_decisions(visible: VisiblePreferences) -> PreferenceDecisionList:
    number = visible.record.number
    return PreferenceDecisionList(
        certificate_number=number,
        decisions=[render_decision(decision) for decision in visible.decisions],
        links=PreferenceLinks(self=preferences_path(number), certificate=certificate_path(number)),
    )
