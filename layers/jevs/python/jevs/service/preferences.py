"""Preference decisions (box 5, DESIGN.md §3, §5): China Customs records whether an import declaration quoting a
certificate got the FTA's preference; the exporter, its issuing body, NZ Customs and China Customs read them.

Recording one is one commit: the decision (once per certificate and declaration), the certificate's
``PREFERENCE_DECIDED`` history event, and the message that files it for NZ Customs in the exchange bucket. The
certificate's PDF is not reissued: box 5 is filled in by the importing side, after issue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from jevs.domain.access import may_decide_preference, may_read_preferences
from jevs.domain.errors import Conflict, NotFound
from jevs.domain.messages import FilePreferenceDecision
from jevs.domain.parties import Party
from jevs.domain.preferences import (
    PreferenceDecision,
    PreferenceDecisionContent,
    decide_preference,
    quoted_declaration_id,
)
from jevs.domain.records import CertificateRecord
from jevs.resources import nz_customs_preference_key
from jevs.service.certificates import stored_certificate
from jevs.service.ports import ObjectStore
from jevs.service.retrying import decided_afresh
from jevs.service.unit_of_work import Refused, UnitOfWork

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class RecordPreferenceDecision:
    party: Party
    number: str
    content: PreferenceDecisionContent


def record_preference_decision(command: RecordPreferenceDecision, uow: UnitOfWork) -> PreferenceDecision:
    """Box 5 for one import declaration: refused with 404 for anyone but China Customs (on a certificate it may
    see), 422 naming ``reasons`` or ``declaration_number``, 409 when the declaration was decided before."""
    return decided_afresh(lambda: _record(command, uow))


def _already_decided(record: CertificateRecord, declaration_id: str) -> Conflict:
    return Conflict(
        "preference-already-decided",
        f"the preference decision on declaration {declaration_id} under {record.number} was recorded before",
    )


def _record(command: RecordPreferenceDecision, uow: UnitOfWork) -> PreferenceDecision:
    party = command.party
    record = stored_certificate(command.number, uow, lambda found: may_decide_preference(party, found))
    declaration_id = quoted_declaration_id(command.content)
    declaration = uow.declarations.get(declaration_id)
    now = uow.now()
    decision, change = decide_preference(record, declaration, command.content, decider=party, at=now)
    if any(stored.declaration_id == decision.declaration_id for stored in uow.certificates.preferences(record.number)):
        raise _already_decided(record, decision.declaration_id)
    uow.certificates.change(change)
    uow.certificates.keep_preference(decision)
    uow.outbox.add(
        FilePreferenceDecision(certificate_number=record.number, declaration_id=decision.declaration_id, created_at=now)
    )
    try:
        uow.commit(answering=decision)
    except Refused as refused:
        if refused.of("preference"):
            raise _already_decided(record, decision.declaration_id) from None
        raise
    return decision


@dataclass(frozen=True)
class VisiblePreferences:
    record: CertificateRecord
    decisions: Sequence[PreferenceDecision]


def read_preference_decisions(party: Party, number: str, uow: UnitOfWork) -> VisiblePreferences:
    record = stored_certificate(number, uow, lambda found: may_read_preferences(party, found))
    return VisiblePreferences(record, uow.certificates.preferences(record.number))


def file_preference_decision(
    command: FilePreferenceDecision, uow: UnitOfWork, exchange: ObjectStore
) -> PreferenceDecision:
    """NZ Customs' data file of a preference decision, under a business key: filing it again writes the same
    bytes. Raises ``NotFound`` while the decision cannot be read (the message is retried)."""
    found = [
        decision
        for decision in uow.certificates.preferences(command.certificate_number)
        if decision.declaration_id == command.declaration_id
    ]
    if not found:
        raise NotFound(f"no preference decision on {command.declaration_id} under {command.certificate_number}")
    decision = found[0]
    body = json.dumps(decision.document(), sort_keys=True, separators=(",", ":")).encode()
    exchange.put(
        nz_customs_preference_key(decision.certificate_number, decision.declaration_id), body, JSON_CONTENT_TYPE
    )
    return decision
