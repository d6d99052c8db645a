"""``/v1/certificates/{number}/preference-decisions``: box 5, China Customs' decision on whether an import
declaration quoting the certificate gets the FTA's preference (DESIGN.md §3, §5)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from functions.api import examples
from functions.api.edge import SERVICE, caller, idempotent, logger, metrics, unit_of_work
from functions.api.preference_responses import (
    PreferenceDecisionList,
    PreferenceDecisionOut,
    preferences_path,
    render_decision,
    render_decisions,
)
from functions.api.requests import PreferenceDecisionRequest
from functions.api.responses import CERTIFICATES_PATH
from functions.api.routers.parameters import CertificateNumberPath, IdempotencyKey
from jevs.domain.preferences import PreferenceDecision, PreferenceOutcome
from jevs.service import preferences
from jevs.service.preferences import RecordPreferenceDecision

router = Router()  # type: ignore[no-untyped-call]

PATH = f"{CERTIFICATES_PATH}/<number>/preference-decisions"


def recorded_answer(decision: PreferenceDecision) -> Response[PreferenceDecisionOut]:
    location = {"Location": preferences_path(decision.certificate_number)}
    return Response(201, "application/json", render_decision(decision), location)


def _counted(decision: PreferenceDecision) -> None:
    """Every decision is counted; a refusal also once per reason code, its own dimension, so the dashboard shows
    on what grounds China refuses preference."""
    metrics.add_metric(name="PreferenceDecisionsRecorded", unit=MetricUnit.Count, value=1)
    if decision.decision is not PreferenceOutcome.NOT_GIVEN:
        return
    for code in sorted({reason.code for reason in decision.reasons}):
        with single_metric(
            name="PreferenceNotGiven",
            unit=MetricUnit.Count,
            value=1,
            namespace="JEVS",
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="reason_code", value=code.value)


@router.post(
    PATH,
    operation_id="recordPreferenceDecision",
    summary="China Customs: record the preference decision (box 5) on one of its import declarations",
    description="GIVEN, or NOT_GIVEN with at least one reason (codes ORIGIN_NOT_PROVEN, CERTIFICATE_NOT_VALID, "
    "GOODS_NOT_COVERED, DOCUMENTARY_DISCREPANCY, VERIFICATION_PENDING, OTHER). Once per certificate and "
    "declaration: a second decision is 409. The declaration must be one China Customs lodged that quotes this "
    "certificate (422 naming `declaration_number`). Recorded with an event in the certificate's history, and filed "
    "for NZ Customs in the exchange bucket. 404 for anyone but China Customs.",
    tags=["preference decisions"],
    responses={201: {"description": "Recorded", "content": {"application/json": {"model": PreferenceDecisionOut}}}},
    middlewares=[idempotent],
)
def record(
    number: CertificateNumberPath,
    decision: Annotated[PreferenceDecisionRequest, Body(openapi_examples=examples.PREFERENCE)],
    idempotency_key: IdempotencyKey,
) -> Response[PreferenceDecisionOut]:
    command = RecordPreferenceDecision(caller(router), number, decision.to_domain())
    recorded = preferences.record_preference_decision(command, unit_of_work(router, recorded_answer))
    _counted(recorded)
    logger.info("preference decided", extra={"declaration": recorded.declaration_id, "decision": recorded.decision})
    return recorded_answer(recorded)


@router.get(
    PATH,
    operation_id="listPreferenceDecisions",
    summary="The preference decisions on a certificate (its exporter and issuing body, NZ Customs, China Customs)",
    description="Every preference decision China Customs recorded on the certificate, oldest first.",
    tags=["preference decisions"],
    responses={200: {"description": "Decisions", "content": {"application/json": {"model": PreferenceDecisionList}}}},
)
def read(number: CertificateNumberPath) -> PreferenceDecisionList:
    return render_decisions(preferences.read_preference_decisions(caller(router), number, unit_of_work(router)))
