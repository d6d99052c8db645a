"""Box 5, the preference decision, in the domain and its use cases (DESIGN.md §3): China Customs decides once per
certificate and import declaration, on a declaration of its own that quotes the certificate; NOT_GIVEN says why;
each decision is an event in the certificate's history and a data file for NZ Customs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from jevs.adapters.table.repositories import TableCertificates
from jevs.domain.declarations import DeclarationContent
from jevs.domain.errors import Conflict, NotFound, RuleViolation
from jevs.domain.history import EventType, verify_chain
from jevs.domain.messages import FilePreferenceDecision
from jevs.domain.preferences import PreferenceDecisionContent, PreferenceOutcome, RefusalCode
from jevs.resources import nz_customs_preference_key
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.declarations import LodgeDeclaration, lodge_declaration
from jevs.service.preferences import (
    RecordPreferenceDecision,
    file_preference_decision,
    read_preference_decisions,
    record_preference_decision,
)
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, declaration_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import certificate, party

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
DECLARATION = "223320261000123456"
NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
REFUSAL = {"code": "ORIGIN_NOT_PROVEN", "text": "The RVC calculation was not supported by the cost statement."}


class MemoryBucket:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def exists(self, key: str) -> bool:
        return key in self.objects


@pytest.fixture
def records() -> MemoryRecords:
    records = MemoryRecords(FixedClock(NOW))
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())
    lodge(records, CN_CUSTOMS, DECLARATION)
    return records


def lodge(records: MemoryRecords, by: str, number: str, **overrides: Any) -> None:
    content = DeclarationContent.model_validate(declaration_payload(declaration_number=number, **overrides))
    lodge_declaration(LodgeDeclaration(party(by), content), records.uow())


def decision(**overrides: Any) -> PreferenceDecisionContent:
    body: dict[str, Any] = {"declaration_number": DECLARATION, "decision": "NOT_GIVEN", "reasons": [REFUSAL]}
    return PreferenceDecisionContent.model_validate(body | overrides)


def record(records: MemoryRecords, content: PreferenceDecisionContent, by: str = CN_CUSTOMS) -> Any:
    return record_preference_decision(RecordPreferenceDecision(party(by), NUMBER, content), records.uow())


def test_a_decision_not_given_is_recorded_with_its_reasons(records: MemoryRecords) -> None:
    recorded = record(records, decision())

    assert recorded.decision is PreferenceOutcome.NOT_GIVEN
    assert [reason.code for reason in recorded.reasons] == [RefusalCode.ORIGIN_NOT_PROVEN]
    assert recorded.declaration_id == f"CNIM-{DECLARATION}"
    assert read_preference_decisions(party(EXPORTER), NUMBER, records.uow()).decisions == [recorded]


def test_a_decision_is_an_event_in_the_certificates_history_and_the_chain_holds(records: MemoryRecords) -> None:
    record(records, decision())

    uow = records.uow()
    events = list(uow.certificates.history(NUMBER))
    stored = uow.certificates.get(NUMBER)
    assert stored is not None
    assert events[-1].type is EventType.PREFERENCE_DECIDED
    assert events[-1].details == {
        "declaration_id": f"CNIM-{DECLARATION}",
        "decision": "NOT_GIVEN",
        "reason_codes": "ORIGIN_NOT_PROVEN",
    }
    assert verify_chain(events, stored.history_head).valid


def test_a_decision_queues_its_data_file_for_nz_customs(records: MemoryRecords) -> None:
    record(records, decision(decision="GIVEN", reasons=[]))

    filings = [message for message in records.outbox() if isinstance(message, FilePreferenceDecision)]
    assert [(filing.certificate_number, filing.declaration_id) for filing in filings] == [
        (NUMBER, f"CNIM-{DECLARATION}")
    ]


def test_the_data_file_is_the_decision_under_its_business_key(records: MemoryRecords) -> None:
    recorded = record(records, decision())
    (filing,) = [message for message in records.outbox() if isinstance(message, FilePreferenceDecision)]
    bucket = MemoryBucket()

    file_preference_decision(filing, records.uow(), bucket)

    key = nz_customs_preference_key(NUMBER, f"CNIM-{DECLARATION}")
    assert list(bucket.objects) == [key]
    assert bucket.objects[key].decode().startswith('{"certificate_number":"11.1234.12345"')
    assert recorded.model_validate_json(bucket.objects[key]) == recorded


def test_a_second_decision_for_the_same_declaration_is_a_conflict(records: MemoryRecords) -> None:
    record(records, decision(decision="GIVEN", reasons=[]))

    with pytest.raises(Conflict) as refused:
        record(records, decision())

    assert refused.value.code == "preference-already-decided"
    assert len(read_preference_decisions(party(CN_CUSTOMS), NUMBER, records.uow()).decisions) == 1


def test_not_given_without_reasons_is_refused_naming_the_reasons(records: MemoryRecords) -> None:
    with pytest.raises(RuleViolation) as refused:
        record(records, decision(reasons=[]))

    assert [error.field for error in refused.value.errors] == ["reasons"]


def test_given_with_reasons_is_refused_naming_the_reasons(records: MemoryRecords) -> None:
    with pytest.raises(RuleViolation) as refused:
        record(records, decision(decision="GIVEN"))

    assert [error.field for error in refused.value.errors] == ["reasons"]


def test_a_declaration_china_never_lodged_is_refused_naming_the_declaration(records: MemoryRecords) -> None:
    with pytest.raises(RuleViolation) as refused:
        record(records, decision(declaration_number="223320269999999999"))

    assert [error.field for error in refused.value.errors] == ["declaration_number"]


def test_a_declaration_quoting_another_certificate_is_refused(records: MemoryRecords) -> None:
    other = certificate(certificate_number="11.1234.54321")
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), other), records.uow())
    lodge(records, CN_CUSTOMS, "223320261000999999", certificate_number="11.1234.54321")

    with pytest.raises(RuleViolation) as refused:
        record(records, decision(declaration_number="223320261000999999"))

    assert [error.field for error in refused.value.errors] == ["declaration_number"]


def test_an_nz_export_entry_with_the_same_number_is_not_a_chinese_declaration(records: MemoryRecords) -> None:
    lodge(records, NZ_CUSTOMS, "NZ00000001")

    with pytest.raises(RuleViolation):
        record(records, decision(declaration_number="NZ00000001"))


@pytest.mark.parametrize("by", [EXPORTER, ISSUING_BODY, NZ_CUSTOMS, "local-ops"])
def test_nobody_but_china_customs_records_a_decision(records: MemoryRecords, by: str) -> None:
    with pytest.raises(NotFound):
        record(records, decision(), by=by)


def test_operations_staff_do_not_read_decisions(records: MemoryRecords) -> None:
    record(records, decision())

    with pytest.raises(NotFound):
        read_preference_decisions(party("local-ops"), NUMBER, records.uow())


@pytest.mark.parametrize("reader", [EXPORTER, ISSUING_BODY, NZ_CUSTOMS, CN_CUSTOMS])
def test_the_parties_involved_read_the_decisions(records: MemoryRecords, reader: str) -> None:
    recorded = record(records, decision())

    assert read_preference_decisions(party(reader), NUMBER, records.uow()).decisions == [recorded]


def test_an_unknown_reason_code_is_not_accepted() -> None:
    with pytest.raises(ValidationError):
        decision(reasons=[{"code": "TOO_EXPENSIVE", "text": "no"}])


def test_a_reason_text_with_control_characters_is_not_accepted() -> None:
    with pytest.raises(ValidationError):
        decision(reasons=[{"code": "OTHER", "text": "see\x07attached"}])


def test_a_reason_text_over_the_limit_is_not_accepted() -> None:
    with pytest.raises(ValidationError):
        decision(reasons=[{"code": "OTHER", "text": "x" * 513}])


def test_a_decision_recorded_meanwhile_refuses_the_commit_as_a_conflict(
    records: MemoryRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given China's first decision stored, and a second request that read the decisions before it was
    record(records, decision(decision="GIVEN", reasons=[]))
    monkeypatch.setattr(TableCertificates, "preferences", lambda self, number: [])

    # When the second one commits, then the store refuses it by name and the caller is told of a conflict
    with pytest.raises(Conflict) as refused:
        record(records, decision())

    assert refused.value.code == "preference-already-decided"
