"""A certificate's life after issue, in the domain and its use cases (DESIGN.md §2, §3): replacement, revocation and
certified true copies over the records table in memory; each action once, by its issuing body only, and each
one commit that changes the records, appends to the histories and tells China."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from jevs.adapters.table.model import Write
from jevs.domain.errors import Conflict, NotFound, RuleViolation
from jevs.domain.history import DetailValue, EventType, verify_chain
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchAwaiting
from jevs.domain.records import CERTIFIED_TRUE_COPY_REMARK, CertificateRecord, CertificateStatus, Usage
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.lifecycle import (
    CopyCertificate,
    ReplaceCertificate,
    RevokeCertificate,
    issue_certified_true_copy,
    replace_certificate,
    revoke_certificate,
)
from jevs.service.retrying import ATTEMPTS
from jevs.service.unit_of_work import Refused
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import OTHER_ISSUING_BODY, certificate, party, stored_certificate, stored_history

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
REPLACEMENT = "11.1234.20001"
# 2026-11-25 in New Zealand: the example certificate (issued 2026-11-20) is current.
NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


@pytest.fixture
def records() -> MemoryRecords:
    records = MemoryRecords(FixedClock(NOW))
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())
    return records


def replace(records: MemoryRecords, number: str = REPLACEMENT, by: str = ISSUING_BODY) -> object:
    command = ReplaceCertificate(party(by), NUMBER, "Invoice date corrected", certificate(certificate_number=number))
    return replace_certificate(command, records.uow())


def china(records: MemoryRecords, number: str) -> dict[str, DeliverToChina]:
    """The messages to China about ``number`` in the outbox, by their keys."""
    return {
        message.delivery_key: message
        for message in records.outbox()
        if isinstance(message, DeliverToChina) and message.history_of == number
    }


# -- the aggregate ----------------------------------------------------------------------------------------------


def issued() -> CertificateRecord:
    return CertificateRecord.issue(certificate(), issuer=party(ISSUING_BODY), at=NOW).record


def test_a_replaced_certificate_points_to_its_replacement_with_one_event() -> None:
    record = issued()

    change = record.replaced(REPLACEMENT, reason="corrected", at=NOW, actor="akl-chamber")

    assert (change.record.status, change.record.replaced_by) == (CertificateStatus.REPLACED, REPLACEMENT)
    assert (change.event.type, change.event.details["replaced_by"]) == (EventType.CERTIFICATE_REPLACED, REPLACEMENT)
    assert change.event.previous_hash == record.history_head.hash
    assert change.record.version == record.version


@pytest.mark.parametrize("status", [CertificateStatus.REPLACED, CertificateStatus.REVOKED])
def test_only_an_issued_certificate_is_replaced_revoked_or_copied(status: CertificateStatus) -> None:
    record = issued().model_copy(update={"status": status})

    acts: list[Callable[[], object]] = [
        lambda: record.replaced(REPLACEMENT, reason="x", at=NOW, actor="a"),
        lambda: record.revoked(reason="x", at=NOW, actor="a"),
        lambda: record.copied(reason="x", at=NOW, actor="a"),
    ]
    for act in acts:
        with pytest.raises(Conflict, match=status.value) as refused:
            act()
        assert refused.value.code == "certificate-not-issued"


def test_a_copy_is_the_next_version_marked_in_box_6_with_the_originals_dates() -> None:
    record = issued()

    copy = record.copied(reason="lost", at=NOW + timedelta(days=3), actor="akl-chamber").record

    assert (copy.number, copy.version, copy.certified_true_copy_of) == (NUMBER, 2, NUMBER)
    assert (copy.content, copy.valid_from, copy.valid_until) == (record.content, record.valid_from, record.valid_until)
    assert copy.printed_remarks.startswith(CERTIFIED_TRUE_COPY_REMARK)


def test_a_used_certificate_is_not_copied() -> None:
    with pytest.raises(Conflict) as refused:
        issued().model_copy(update={"usage": Usage.USED}).copied(reason="lost", at=NOW, actor="a")
    assert refused.value.code == "certificate-used"


def test_a_certificate_past_its_validity_is_not_copied() -> None:
    record = issued()
    after = datetime.combine(record.valid_until + timedelta(days=2), datetime.min.time(), tzinfo=UTC)

    with pytest.raises(Conflict) as refused:
        record.copied(reason="lost", at=after, actor="a")
    assert refused.value.code == "certificate-not-valid"


def test_a_replacement_takes_over_its_originals_usage_and_ledger() -> None:
    original = issued().model_copy(update={"usage": Usage.USED})

    replacement = CertificateRecord.issue(
        certificate(certificate_number=REPLACEMENT), issuer=party(ISSUING_BODY), at=NOW, replacing=original
    ).record

    assert (replacement.replaces, replacement.usage, replacement.usage_root) == (NUMBER, Usage.USED, NUMBER)
    assert replacement.printed_remarks.startswith(f"REPLACES {NUMBER}")


# -- the use cases -----------------------------------------------------------------------------------------------


def test_a_replacement_is_one_commit_that_changes_both_and_tells_china_of_both(records: MemoryRecords) -> None:
    commits = records.table.commits

    replace(records)

    assert records.table.commits == commits + 1
    original, replacement = stored_certificate(records, NUMBER), stored_certificate(records, REPLACEMENT)
    assert (original.status, original.replaced_by, replacement.replaces) == (
        CertificateStatus.REPLACED,
        REPLACEMENT,
        NUMBER,
    )
    for number in (NUMBER, REPLACEMENT):
        assert verify_chain(stored_history(records, number), stored_certificate(records, number).history_head).valid
    assert set(china(records, NUMBER)) == {f"{NUMBER}/v1", f"{NUMBER}/replaced"}
    assert set(china(records, REPLACEMENT)) == {f"{REPLACEMENT}/v1"}
    assert MatchAwaiting(certificate_number=REPLACEMENT, created_at=NOW) in records.outbox()
    assert MakeDocuments(certificate_number=REPLACEMENT, version=1, created_at=NOW) in records.outbox()


def test_a_replacement_under_a_number_already_taken_is_a_conflict_and_changes_nothing(records: MemoryRecords) -> None:
    submit_certificate(
        SubmitCertificate(party(ISSUING_BODY), certificate(certificate_number=REPLACEMENT)), records.uow()
    )

    with pytest.raises(Conflict) as refused:
        replace(records)

    assert refused.value.code == "certificate-number-exists"
    assert stored_certificate(records, NUMBER).status is CertificateStatus.ISSUED


@pytest.mark.parametrize("number", ["12.1234.20001", NUMBER])
def test_a_replacement_needs_a_number_of_its_own_under_the_originals_prefix(
    records: MemoryRecords, number: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        replace(records, number)
    assert [error.field for error in refused.value.errors] == ["certificate.certificate_number"]


def test_a_certificate_is_issued_only_under_its_issuing_bodys_prefix() -> None:
    records = MemoryRecords(FixedClock(NOW))
    commits = records.table.commits

    with pytest.raises(RuleViolation) as refused:
        submit_certificate(
            SubmitCertificate(party(ISSUING_BODY), certificate(certificate_number="12.1234.12345")), records.uow()
        )

    assert [error.field for error in refused.value.errors] == ["certificate_number"]
    assert "prefix 11" in refused.value.errors[0].message
    assert records.table.commits == commits


def test_a_replacement_breaking_a_rule_of_issue_names_the_field_within_the_certificate(records: MemoryRecords) -> None:
    late = certificate(certificate_number=REPLACEMENT, issue_date="2026-12-20")
    command = ReplaceCertificate(party(ISSUING_BODY), NUMBER, "Corrected", late)

    with pytest.raises(RuleViolation) as refused:
        replace_certificate(command, records.uow())

    assert [error.field for error in refused.value.errors] == ["certificate.issue_date"]


@pytest.mark.parametrize("client_id", [EXPORTER, NZ_CUSTOMS, CN_CUSTOMS, "local-ops"])
def test_a_party_that_did_not_issue_it_is_told_it_does_not_exist(records: MemoryRecords, client_id: str) -> None:
    commits = records.table.commits
    acts: list[Callable[[], object]] = [
        lambda: replace(records, by=client_id),
        lambda: revoke_certificate(RevokeCertificate(party(client_id), NUMBER, "x"), records.uow()),
        lambda: issue_certified_true_copy(CopyCertificate(party(client_id), NUMBER, "x"), records.uow()),
    ]
    for act in acts:
        with pytest.raises(NotFound):
            act()
    assert records.table.commits == commits


def test_another_issuing_body_is_told_it_does_not_exist(records: MemoryRecords) -> None:
    with pytest.raises(NotFound):
        revoke_certificate(RevokeCertificate(OTHER_ISSUING_BODY, NUMBER, "x"), records.uow())


def test_a_revocation_is_once_only_and_tells_china(records: MemoryRecords) -> None:
    revoked = revoke_certificate(RevokeCertificate(party(ISSUING_BODY), NUMBER, "Origin not proven"), records.uow())

    with pytest.raises(Conflict):
        revoke_certificate(RevokeCertificate(party(ISSUING_BODY), NUMBER, "again"), records.uow())

    assert (revoked.status, revoked.revocation_reason) == (CertificateStatus.REVOKED, "Origin not proven")
    assert [event.type for event in stored_history(records, NUMBER)] == [
        EventType.CERTIFICATE_ISSUED,
        EventType.CERTIFICATE_REVOKED,
    ]
    told = china(records, NUMBER)[f"{NUMBER}/revoked"]
    assert told.body.model_dump()["reason"] == "Origin not proven"


def test_a_copy_is_stored_as_the_next_version_with_its_documents_and_message(records: MemoryRecords) -> None:
    copy = issue_certified_true_copy(CopyCertificate(party(ISSUING_BODY), NUMBER, "lost"), records.uow())

    uow = records.uow()
    assert [version.version for version in uow.certificates.versions(NUMBER)] == [1, 2]
    assert stored_certificate(records, NUMBER) == copy
    assert china(records, NUMBER)[f"{NUMBER}/v2"].body.message_type == "certificate.copy_issued"
    assert MakeDocuments(certificate_number=NUMBER, version=2, created_at=NOW) in records.outbox()
    assert verify_chain(stored_history(records, NUMBER), copy.history_head).valid


# -- a history moved on meanwhile ---------------------------------------------------------------------------------


def acknowledged_meanwhile(records: MemoryRecords, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The next ``times`` commits find that China's acknowledgement was appended to the certificate's history
    between their read and their write (the dispatcher's commit lands first)."""
    write = records.table.write
    left, inside = [times], [False]

    def delivery_lands_first(writes: Sequence[Write]) -> None:
        if left[0] > 0 and not inside[0]:
            left[0], inside[0] = left[0] - 1, True
            try:
                record = stored_certificate(records, NUMBER)
                uow = records.uow()
                details: dict[str, DetailValue] = {"receipt_id": "r"}
                uow.certificates.change(
                    record.changed(EventType.DELIVERY_ACKNOWLEDGED, at=NOW, actor="jevs", details=details)
                )
                uow.commit()
            finally:
                inside[0] = False
        write(writes)

    monkeypatch.setattr(records.table, "write", delivery_lands_first)


def test_an_action_whose_certificate_moved_on_meanwhile_is_decided_again(
    records: MemoryRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    acknowledged_meanwhile(records, monkeypatch, times=1)

    revoked = revoke_certificate(RevokeCertificate(party(ISSUING_BODY), NUMBER, "Origin not proven"), records.uow())

    assert revoked.status is CertificateStatus.REVOKED
    history = stored_history(records, NUMBER)
    assert [event.type for event in history] == [
        EventType.CERTIFICATE_ISSUED,
        EventType.DELIVERY_ACKNOWLEDGED,
        EventType.CERTIFICATE_REVOKED,
    ]
    assert verify_chain(history, stored_certificate(records, NUMBER).history_head).valid


def test_an_action_refused_every_time_asks_the_caller_to_retry_and_changes_nothing(
    records: MemoryRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    acknowledged_meanwhile(records, monkeypatch, times=ATTEMPTS)

    with pytest.raises(Refused):
        issue_certified_true_copy(CopyCertificate(party(ISSUING_BODY), NUMBER, "Lost"), records.uow())

    assert stored_certificate(records, NUMBER).version == 1
    assert [m for m in records.outbox() if isinstance(m, DeliverToChina) and m.delivery_key.endswith("/v2")] == []
