"""The certificate aggregate (DESIGN.md §2, §6.4): issued once (``CertificateRecord.issue``), then changed only
through ``CertificateRecord.changed``, which appends one event and moves the record's chain head with it; and
the certificates repository stores a change only while the head it was made from is still the stored one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jevs.domain.history import DetailValue, EventType, verify_chain, verify_seals
from jevs.domain.records import CertificateChange, CertificateRecord, Issue, Usage
from jevs.service.unit_of_work import Refused
from tests.factories import ISSUING_BODY
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import AUSTRALIAN_CONSIGNEE, certificate, party, stored_certificate, stored_history

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
# 2026-11-25 in New Zealand: the example certificate (issued 2026-11-20) is current.
ISSUED_AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
CHANGED_AT = ISSUED_AT + timedelta(hours=2)
DETAILS: dict[str, DetailValue] = {"state": "DELIVERED", "attempts": 1, "receipt_id": "CN-1", "reason": None}


def issued() -> Issue:
    return CertificateRecord.issue(certificate(), issuer=party(ISSUING_BODY), at=ISSUED_AT)


def acknowledged(record: CertificateRecord) -> CertificateChange:
    return record.changed(EventType.DELIVERY_ACKNOWLEDGED, at=CHANGED_AT, actor="jevs-dispatcher", details=DETAILS)


# -- issue -------------------------------------------------------------------------------------------------


def test_an_issue_is_version_one_with_one_event_that_starts_the_chain() -> None:
    issue = issued()

    assert (issue.record.version, issue.event.sequence, issue.event.type) == (1, 1, EventType.CERTIFICATE_ISSUED)
    assert issue.record.history_head == issue.event.head
    assert verify_chain([issue.event], issue.record.history_head).valid


def test_an_issue_for_a_consignee_outside_china_is_for_import_into_china() -> None:
    # Given goods discharged in Shanghai for a consignee in Australia
    issue = CertificateRecord.issue(
        certificate(consignee=AUSTRALIAN_CONSIGNEE), issuer=party(ISSUING_BODY), at=ISSUED_AT
    )
    # When it is issued, Then it is for China: every certificate under this FTA is for import into China
    assert issue.record.importing_country == "CN"


def test_an_issue_from_an_application_keeps_the_application() -> None:
    issue = CertificateRecord.issue(
        certificate(), issuer=party(ISSUING_BODY), at=ISSUED_AT, application_id="AP-9429041234563-0123456789AB"
    )

    assert issue.record.application_id == "AP-9429041234563-0123456789AB"


# -- change ------------------------------------------------------------------------------------------------


def test_a_change_appends_one_event_linked_to_the_old_head() -> None:
    record = issued().record

    change = acknowledged(record)

    assert (change.event.sequence, change.event.previous_hash) == (2, record.history_head.hash)
    assert change.sequence_before == record.history_head.sequence


def test_a_change_moves_the_head_to_its_event() -> None:
    change = acknowledged(issued().record)

    assert change.record.history_head == change.event.head


def test_a_change_records_what_happened_who_did_it_when_and_to_which_version() -> None:
    event = acknowledged(issued().record).event

    assert (event.type, event.actor, event.occurred_at, event.version, event.details) == (
        EventType.DELIVERY_ACKNOWLEDGED,
        "jevs-dispatcher",
        CHANGED_AT,
        1,
        DETAILS,
    )


def test_a_change_applies_its_updates_and_nothing_else() -> None:
    record = issued().record

    change = record.changed(
        EventType.DECLARATION_DECIDED, at=CHANGED_AT, actor="jevs-matcher", details={}, usage=Usage.USED
    )

    assert change.record.usage is Usage.USED
    assert change.record.model_copy(update={"usage": record.usage, "history_head": record.history_head}) == record


def test_changes_one_after_another_keep_one_verifiable_chain() -> None:
    issue = issued()
    first = acknowledged(issue.record)
    second = first.record.changed(EventType.DELIVERY_RESUMED, at=CHANGED_AT, actor="ops", details={})

    events = [issue.event, first.event, second.event]
    assert [event.sequence for event in events] == [1, 2, 3]
    assert verify_chain(events, second.record.history_head).valid


# -- stored through the certificates repository ------------------------------------------------------------


@pytest.fixture
def records() -> MemoryRecords:
    records = MemoryRecords(FixedClock(ISSUED_AT))
    uow = records.uow()
    uow.certificates.add(issued())
    uow.commit()
    return records


def test_a_stored_change_adds_exactly_one_event_and_moves_the_stored_head(records: MemoryRecords) -> None:
    change = acknowledged(stored_certificate(records, NUMBER))

    uow = records.uow()
    uow.certificates.change(change)
    uow.commit()

    history = stored_history(records, NUMBER)
    assert [event.sequence for event in history] == [1, 2]
    assert history[-1].model_copy(update={"seal": None}) == change.event
    assert verify_seals(history, records.key.check_seal).valid  # each stored with JEVS's seal
    assert stored_certificate(records, NUMBER).history_head == change.event.head
    assert verify_chain(history, stored_certificate(records, NUMBER).history_head).valid


def test_a_change_made_from_a_head_that_moved_is_refused(records: MemoryRecords) -> None:
    # Given two changes made from the same stored record, the first of them stored
    record = stored_certificate(records, NUMBER)
    first, stale = acknowledged(record), record.changed(EventType.DELIVERY_PARKED, at=CHANGED_AT, actor="x", details={})
    uow = records.uow()
    uow.certificates.change(first)
    uow.commit()
    # When the second is committed, Then it is refused by the certificate's name, and the history keeps the first
    uow.certificates.change(stale)
    with pytest.raises(Refused) as refused:
        uow.commit()
    assert refused.value.of("certificate", NUMBER)
    assert stored_history(records, NUMBER)[-1].model_copy(update={"seal": None}) == first.event
