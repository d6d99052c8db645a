"""Reading certificates, listings and history through the caller's view (DESIGN.md §1, §5, §6.4): the reading use
cases of ``jevs.service.certificates`` over the records table in memory."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from jevs.adapters.table import items
from jevs.adapters.table.model import Write
from jevs.adapters.table.repositories import Sealing, TableCertificates
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.access import ListingConstraints, View
from jevs.domain.canonical import digest
from jevs.domain.errors import NotFound
from jevs.domain.history import DetailValue, EventType, HistoryEvent
from jevs.domain.parties import Party
from jevs.service.certificates import (
    MAX_PAGE_SIZE,
    ListCertificates,
    SubmitCertificate,
    VisiblePage,
    list_certificates,
    read_certificate,
    read_history,
    submit_certificate,
    verify_certificate,
)
from jevs.service.unit_of_work import CertificatePage
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_EXPORTER
from tests.fakes import MemoryRecords
from tests.unit.support import AUSTRALIAN_CONSIGNEE, OTHER_ISSUING_BODY, certificate, party, without

pytestmark = pytest.mark.unit

TO_CHINA = "11.1234.00001"  # Kauri Dairy, by the Auckland chamber, to China
FOR_SYDNEY = "11.1234.00002"  # Kauri Dairy, by the Auckland chamber, to China for a consignee in Australia
TUI_TO_CHINA = "11.1234.00003"  # Tui Valley Wines, by the Auckland chamber, to China
BY_WELLINGTON = "22.1234.00004"  # Kauri Dairy, by the Wellington chamber, to China
TUI_EXPORTER = {
    "name": "Tui Valley Wines Limited",
    "address": "2 Vineyard Road, Blenheim",
    "country": "NZ",
    "business_number": "9429047654327",
}
FIRST_EVENT = (items.certificate_partition(TO_CHINA), f"{items.EVENT_PREFIX}{1:08d}")
FIRST_VERSION = (items.certificate_partition(TO_CHINA), f"{items.VERSION_PREFIX}{1:06d}")


def _no_writes(write: Write) -> None:
    raise AssertionError(f"reading wrote {write.name}")


class PageSizeSpy(TableCertificates):
    """The certificates of the table, remembering the page size the use case asked for."""

    def __init__(self, records: MemoryRecords) -> None:
        super().__init__(records.table, _no_writes, records.clock.now, Sealing(records.key))
        self.limits: list[int] = []

    def page(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        self.limits.append(limit)
        return super().page(constraints, limit, cursor)


@pytest.fixture
def records() -> MemoryRecords:
    """Four certificates, issued through the submission use case."""
    records = MemoryRecords()
    seeds: list[tuple[str, Party, dict[str, object]]] = [
        (TO_CHINA, party(ISSUING_BODY), {}),
        (FOR_SYDNEY, party(ISSUING_BODY), {"consignee": AUSTRALIAN_CONSIGNEE}),
        (TUI_TO_CHINA, party(ISSUING_BODY), {"exporter": TUI_EXPORTER}),
        (BY_WELLINGTON, OTHER_ISSUING_BODY, {}),
    ]
    for number, issuer, overrides in seeds:
        content = certificate(certificate_number=number, **overrides)
        submit_certificate(SubmitCertificate(issuer, content), records.uow())
    return records


@pytest.fixture
def spy(records: MemoryRecords) -> PageSizeSpy:
    return PageSizeSpy(records)


@pytest.fixture
def uow(records: MemoryRecords, spy: PageSizeSpy) -> TableUnitOfWork:
    uow = records.uow()
    uow.certificates = spy
    return uow


def tamper_event(records: MemoryRecords, **changes: object) -> None:
    """Rewrite the stored first event of TO_CHINA behind JEVS's back."""
    item = records.table.get(FIRST_EVENT)
    assert item is not None
    event = items.event_of(item).model_copy(update=changes)
    records.table.put_raw(items.event_item(event))


def tamper_version(records: MemoryRecords, **changes: object) -> None:
    """Rewrite the stored version 1 of TO_CHINA behind JEVS's back."""
    item = records.table.get(FIRST_VERSION)
    assert item is not None
    version = items.version_of(item).model_copy(update=changes)
    records.table.put_raw({**item, "content_hash": version.content_hash, "content": version.content.model_dump_json()})


def tamper_record(records: MemoryRecords, **changes: object) -> None:
    """Rewrite the stored record of TO_CHINA (its head) behind JEVS's back."""
    record = records.uow().certificates.get(TO_CHINA)
    assert record is not None
    records.table.put_raw(items.head_item(record.model_copy(update=changes)))


@pytest.mark.parametrize(
    ("caller", "view"),
    [
        (party(ISSUING_BODY), View.FULL),
        (party(EXPORTER), View.FULL),
        (party(NZ_CUSTOMS), View.FTA_FORM),
        (party(CN_CUSTOMS), View.FTA_FORM),
        (party(OPS), View.OPERATIONS),
    ],
    ids=["issuing body", "exporter", "NZ customs", "CN customs", "ops"],
)
def test_a_party_that_may_see_a_certificate_reads_it_in_its_view(
    uow: TableUnitOfWork, caller: Party, view: View
) -> None:
    visible = read_certificate(caller, TO_CHINA, uow)
    assert (visible.record.number, visible.view) == (TO_CHINA, view)


@pytest.mark.parametrize(
    ("caller", "number"),
    [
        (party(OTHER_EXPORTER), TO_CHINA),
        (OTHER_ISSUING_BODY, TO_CHINA),
        (party(ISSUING_BODY), BY_WELLINGTON),
    ],
    ids=["other exporter", "other issuing body", "issuing body, another's"],
)
def test_a_party_that_may_not_see_a_certificate_is_told_it_does_not_exist(
    uow: TableUnitOfWork, caller: Party, number: str
) -> None:
    with pytest.raises(NotFound):
        read_certificate(caller, number, uow)


@pytest.mark.parametrize("number", ["11.1234.99999", "not-a-number", ""])
def test_a_certificate_that_does_not_exist_is_not_found(uow: TableUnitOfWork, number: str) -> None:
    with pytest.raises(NotFound):
        read_certificate(party(ISSUING_BODY), number, uow)


@pytest.mark.parametrize("number", ["COO11123400001", "coo11123400001", " 11.1234.00001 "])
def test_a_certificate_is_read_by_any_form_of_its_number(uow: TableUnitOfWork, number: str) -> None:
    assert read_certificate(party(NZ_CUSTOMS), number, uow).record.number == TO_CHINA


# History


@pytest.mark.parametrize(
    "caller", [party(ISSUING_BODY), party(EXPORTER), party(NZ_CUSTOMS)], ids=["issuer", "owner", "NZ customs"]
)
def test_the_history_of_an_untouched_certificate_verifies(uow: TableUnitOfWork, caller: Party) -> None:
    history = read_history(caller, TO_CHINA, uow)
    assert [event.sequence for event in history.events] == [1]
    assert history.verification.valid


class AcknowledgedWhileRead(TableCertificates):
    """The certificates of the table, where China's acknowledgement of TO_CHINA is committed (by the dispatcher, in
    a unit of work of its own) just before the first read of its history: after the record was read."""

    def __init__(self, records: MemoryRecords) -> None:
        super().__init__(records.table, _no_writes, records.clock.now, Sealing(records.key))
        self._records: MemoryRecords | None = records

    def history(self, number: str) -> Sequence[HistoryEvent]:
        records, self._records = self._records, None
        if records is not None:
            dispatcher = records.uow()
            record = dispatcher.certificates.get(TO_CHINA)
            assert record is not None
            details: dict[str, DetailValue] = {"message": f"{TO_CHINA}/v1", "receipt_id": "CN-RECEIPT-1"}
            acknowledged = record.changed(
                EventType.DELIVERY_ACKNOWLEDGED, at=records.clock.now(), actor="jevs-dispatcher", details=details
            )
            dispatcher.certificates.change(acknowledged)
            dispatcher.commit()
        return super().history(number)


def test_a_history_that_grows_while_it_is_read_still_verifies(records: MemoryRecords) -> None:
    # Given a certificate whose delivery is acknowledged between the read of its record and the read of its events
    reading, verifying = records.uow(), records.uow()
    reading.certificates = AcknowledgedWhileRead(records)
    # When its history is read, and when anyone verifies it, each as the certificate stands then
    history = read_history(party(NZ_CUSTOMS), TO_CHINA, reading)
    # Then the record and the events read are of one moment: the chain verifies, ending at the record's head
    assert history.verification.valid, history.verification
    assert [event.sequence for event in history.events] == [1, 2]
    assert history.record.history_head.sequence == 2
    verifying.certificates = AcknowledgedWhileRead(records)
    verified = verify_certificate(TO_CHINA, None, verifying, digest_of=lambda _: "")
    assert verified.history_verified


def test_the_history_is_read_by_the_coo_form_of_the_number(uow: TableUnitOfWork) -> None:
    assert read_history(party(NZ_CUSTOMS), "COO11123400001", uow).record.number == TO_CHINA


@pytest.mark.parametrize(
    "caller",
    [party(OTHER_EXPORTER), OTHER_ISSUING_BODY, party(CN_CUSTOMS), party(OPS)],
    ids=["other exporter", "other issuing body", "CN customs", "ops"],
)
def test_a_party_that_may_not_read_the_history_is_told_it_does_not_exist(uow: TableUnitOfWork, caller: Party) -> None:
    with pytest.raises(NotFound):
        read_history(caller, TO_CHINA, uow)


def test_the_history_of_a_certificate_that_does_not_exist_is_not_found(uow: TableUnitOfWork) -> None:
    with pytest.raises(NotFound):
        read_history(party(NZ_CUSTOMS), "11.1234.99999", uow)


def test_an_edited_stored_event_makes_the_history_invalid_at_that_event(
    records: MemoryRecords, uow: TableUnitOfWork
) -> None:
    # Given the stored issue event altered after the fact
    tamper_event(records, actor="someone-else")
    # When the history is read, Then it reports the chain broken at that event
    verification = read_history(party(ISSUING_BODY), TO_CHINA, uow).verification
    assert not verification.valid
    assert verification.broken_at == 1


def test_a_removed_stored_event_makes_the_history_invalid(records: MemoryRecords) -> None:
    removed = without(records, FIRST_EVENT)
    verification = read_history(party(ISSUING_BODY), TO_CHINA, removed.uow()).verification
    assert not verification.valid
    assert verification.broken_at == 1


def test_an_edited_stored_version_makes_the_history_invalid(records: MemoryRecords, uow: TableUnitOfWork) -> None:
    # Given the stored content of version 1 altered after the fact, its recorded content hash left alone
    altered = certificate(certificate_number=TO_CHINA, remarks="Quietly edited")
    tamper_version(records, content=altered)
    # When the history is read, Then it reports version 1 as not matching its event
    verification = read_history(party(ISSUING_BODY), TO_CHINA, uow).verification
    assert not verification.valid
    assert verification.broken_at == 1


def test_an_edited_stored_version_with_a_recomputed_hash_makes_the_history_invalid(
    records: MemoryRecords, uow: TableUnitOfWork
) -> None:
    altered = certificate(certificate_number=TO_CHINA, remarks="Quietly edited")
    tamper_version(records, content=altered, content_hash=digest(altered))
    assert not read_history(party(ISSUING_BODY), TO_CHINA, uow).verification.valid


def test_edited_current_content_makes_the_history_invalid(records: MemoryRecords, uow: TableUnitOfWork) -> None:
    # Given the certificate's current content altered in its record, the recorded content hash left alone
    tamper_record(records, content=certificate(certificate_number=TO_CHINA, remarks="x"))
    # When the history is read, Then it is invalid
    assert not read_history(party(ISSUING_BODY), TO_CHINA, uow).verification.valid


def test_edited_current_content_with_a_recomputed_hash_makes_the_history_invalid(
    records: MemoryRecords, uow: TableUnitOfWork
) -> None:
    # Given the certificate's current content and its content hash both rewritten in its record
    altered = certificate(certificate_number=TO_CHINA, remarks="Quietly edited")
    tamper_record(records, content=altered, content_hash=digest(altered))
    # When the history is read, Then it is invalid: the content served is not the content the history recorded
    assert not read_history(party(ISSUING_BODY), TO_CHINA, uow).verification.valid


# Listing


def listing(
    caller: Party,
    uow: TableUnitOfWork,
    filters: ListingConstraints | None = None,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> VisiblePage:
    return list_certificates(ListCertificates(caller, filters or ListingConstraints(), limit, cursor), uow)


def listed(caller: Party, uow: TableUnitOfWork, filters: ListingConstraints | None = None) -> set[str]:
    return {visible.record.number for visible in listing(caller, uow, filters).certificates}


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (party(ISSUING_BODY), {TO_CHINA, FOR_SYDNEY, TUI_TO_CHINA}),
        (OTHER_ISSUING_BODY, {BY_WELLINGTON}),
        (party(EXPORTER), {TO_CHINA, FOR_SYDNEY, BY_WELLINGTON}),
        (party(OTHER_EXPORTER), {TUI_TO_CHINA}),
        (party(NZ_CUSTOMS), {TO_CHINA, FOR_SYDNEY, TUI_TO_CHINA, BY_WELLINGTON}),
        (party(CN_CUSTOMS), {TO_CHINA, FOR_SYDNEY, TUI_TO_CHINA, BY_WELLINGTON}),
        (party(OPS), {TO_CHINA, FOR_SYDNEY, TUI_TO_CHINA, BY_WELLINGTON}),
    ],
    ids=["issuing body", "other issuing body", "exporter", "other exporter", "NZ customs", "CN customs", "ops"],
)
def test_a_listing_holds_exactly_what_the_party_may_see(
    uow: TableUnitOfWork, caller: Party, expected: set[str]
) -> None:
    assert listed(caller, uow) == expected


def test_a_listing_shows_each_certificate_in_the_partys_view(uow: TableUnitOfWork) -> None:
    page = listing(party(CN_CUSTOMS), uow)
    assert {visible.view for visible in page.certificates} == {View.FTA_FORM}


def test_a_listing_filter_that_contradicts_the_partys_scope_is_an_empty_page(
    uow: TableUnitOfWork, spy: PageSizeSpy
) -> None:
    # Given an exporter asking for another exporter's certificates
    filters = ListingConstraints(exporter_business_number="9429047654327")
    # When it lists, Then it gets an empty last page, and the table is not even asked
    page = listing(party(EXPORTER), uow, filters)
    assert (page.certificates, page.next_cursor) == ([], None)
    assert spy.limits == []


def test_a_listing_asks_the_table_for_at_most_the_maximum_page_size(uow: TableUnitOfWork, spy: PageSizeSpy) -> None:
    listing(party(NZ_CUSTOMS), uow, limit=MAX_PAGE_SIZE * 10)
    assert spy.limits == [MAX_PAGE_SIZE]


def test_a_listing_pages_with_the_tables_cursor(uow: TableUnitOfWork) -> None:
    first = listing(party(NZ_CUSTOMS), uow, limit=3)
    second = listing(party(NZ_CUSTOMS), uow, limit=3, cursor=first.next_cursor)
    numbers = [visible.record.number for visible in [*first.certificates, *second.certificates]]
    assert sorted(numbers) == [TO_CHINA, FOR_SYDNEY, TUI_TO_CHINA, BY_WELLINGTON]
    assert second.next_cursor is None


def test_a_listing_filter_narrows_within_the_partys_scope(uow: TableUnitOfWork) -> None:
    filters = ListingConstraints(issuing_body="akl-chamber")
    assert listed(party(EXPORTER), uow, filters) == {TO_CHINA, FOR_SYDNEY}
