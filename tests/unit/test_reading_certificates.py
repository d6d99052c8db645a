"""Reading certificates, listings and history through the caller's view (DESIGN §1, §5, §6.4)."""

from __future__ import annotations

import pytest

from jevs.domain.access import View
from jevs.domain.canonical import digest
from jevs.domain.errors import NotFound
from jevs.domain.parties import Party
from jevs.domain.ports import CertificatePage, ListingConstraints
from jevs.domain.reading import MAX_PAGE_SIZE, list_certificates, read_certificate, read_history
from jevs.domain.submission import submit_certificate
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_EXPORTER
from tests.fakes import FixedClock, InMemoryCertificateStore
from tests.unit.support import AUSTRALIAN_CONSIGNEE, OTHER_ISSUING_BODY, certificate, party, simple_answer

pytestmark = pytest.mark.unit

TO_CHINA = "11.1234.00001"  # Kauri Dairy, by the Auckland chamber, to China
TO_AUSTRALIA = "11.1234.00002"  # Kauri Dairy, by the Auckland chamber, to Australia
TUI_TO_CHINA = "11.1234.00003"  # Tui Valley Wines, by the Auckland chamber, to China
BY_WELLINGTON = "11.1234.00004"  # Kauri Dairy, by the Wellington chamber, to China
TUI_EXPORTER = {
    "name": "Tui Valley Wines Limited",
    "address": "2 Vineyard Road, Blenheim",
    "country": "NZ",
    "business_number": "9429047654327",
}


class PageSizeSpy(InMemoryCertificateStore):
    """The fake store, remembering the page size the domain asked it for."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[int] = []

    def list_certificates(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        self.limits.append(limit)
        return super().list_certificates(constraints, limit, cursor)


@pytest.fixture
def store() -> PageSizeSpy:
    """Four certificates, issued through the domain's own submission."""
    store = PageSizeSpy()
    seeds: list[tuple[str, Party, dict[str, object]]] = [
        (TO_CHINA, party(ISSUING_BODY), {}),
        (TO_AUSTRALIA, party(ISSUING_BODY), {"consignee": AUSTRALIAN_CONSIGNEE}),
        (TUI_TO_CHINA, party(ISSUING_BODY), {"exporter": TUI_EXPORTER}),
        (BY_WELLINGTON, OTHER_ISSUING_BODY, {}),
    ]
    for number, issuer, overrides in seeds:
        submit_certificate(
            party=issuer,
            content=certificate(certificate_number=number, **overrides),
            idempotency_key=number,
            store=store,
            clock=FixedClock(),
            answer_for=simple_answer,
        )
    return store


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
def test_a_party_that_may_see_a_certificate_reads_it_in_its_view(store: PageSizeSpy, caller: Party, view: View) -> None:
    visible = read_certificate(caller, TO_CHINA, store)
    assert (visible.record.number, visible.view) == (TO_CHINA, view)


@pytest.mark.parametrize(
    ("caller", "number"),
    [
        (party(OTHER_EXPORTER), TO_CHINA),
        (OTHER_ISSUING_BODY, TO_CHINA),
        (party(CN_CUSTOMS), TO_AUSTRALIA),
        (party(ISSUING_BODY), BY_WELLINGTON),
    ],
    ids=["other exporter", "other issuing body", "CN customs, goods to Australia", "issuing body, another's"],
)
def test_a_party_that_may_not_see_a_certificate_is_told_it_does_not_exist(
    store: PageSizeSpy, caller: Party, number: str
) -> None:
    with pytest.raises(NotFound):
        read_certificate(caller, number, store)


@pytest.mark.parametrize("number", ["11.1234.99999", "not-a-number", ""])
def test_a_certificate_that_does_not_exist_is_not_found(store: PageSizeSpy, number: str) -> None:
    with pytest.raises(NotFound):
        read_certificate(party(ISSUING_BODY), number, store)


@pytest.mark.parametrize("number", ["COO11123400001", "coo11123400001", " 11.1234.00001 "])
def test_a_certificate_is_read_by_any_form_of_its_number(store: PageSizeSpy, number: str) -> None:
    assert read_certificate(party(NZ_CUSTOMS), number, store).record.number == TO_CHINA


# History


@pytest.mark.parametrize(
    "caller", [party(ISSUING_BODY), party(EXPORTER), party(NZ_CUSTOMS)], ids=["issuer", "owner", "NZ customs"]
)
def test_the_history_of_an_untouched_certificate_verifies(store: PageSizeSpy, caller: Party) -> None:
    history = read_history(caller, TO_CHINA, store)
    assert [event.sequence for event in history.events] == [1]
    assert history.verification.valid


def test_the_history_is_read_by_the_coo_form_of_the_number(store: PageSizeSpy) -> None:
    assert read_history(party(NZ_CUSTOMS), "COO11123400001", store).record.number == TO_CHINA


@pytest.mark.parametrize(
    "caller",
    [party(OTHER_EXPORTER), OTHER_ISSUING_BODY, party(CN_CUSTOMS), party(OPS)],
    ids=["other exporter", "other issuing body", "CN customs", "ops"],
)
def test_a_party_that_may_not_read_the_history_is_told_it_does_not_exist(store: PageSizeSpy, caller: Party) -> None:
    with pytest.raises(NotFound):
        read_history(caller, TO_CHINA, store)


def test_the_history_of_a_certificate_that_does_not_exist_is_not_found(store: PageSizeSpy) -> None:
    with pytest.raises(NotFound):
        read_history(party(NZ_CUSTOMS), "11.1234.99999", store)


def test_an_edited_stored_event_makes_the_history_invalid_at_that_event(store: PageSizeSpy) -> None:
    # Given the stored issue event altered after the fact
    [event] = store.events[TO_CHINA]
    store.events[TO_CHINA] = [event.model_copy(update={"actor": "someone-else"})]
    # When the history is read, Then it reports the chain broken at that event
    verification = read_history(party(ISSUING_BODY), TO_CHINA, store).verification
    assert not verification.valid
    assert verification.broken_at == 1


def test_a_removed_stored_event_makes_the_history_invalid(store: PageSizeSpy) -> None:
    store.events[TO_CHINA] = []
    verification = read_history(party(ISSUING_BODY), TO_CHINA, store).verification
    assert not verification.valid
    assert verification.broken_at == 1


def test_an_edited_stored_version_makes_the_history_invalid(store: PageSizeSpy) -> None:
    # Given the stored content of version 1 altered after the fact, its recorded content hash left alone
    [version] = store.versions[TO_CHINA]
    altered = certificate(certificate_number=TO_CHINA, remarks="Quietly edited")
    store.versions[TO_CHINA] = [version.model_copy(update={"content": altered})]
    # When the history is read, Then it reports version 1 as not matching its event
    verification = read_history(party(ISSUING_BODY), TO_CHINA, store).verification
    assert not verification.valid
    assert verification.broken_at == 1


def test_an_edited_stored_version_with_a_recomputed_hash_makes_the_history_invalid(store: PageSizeSpy) -> None:
    [version] = store.versions[TO_CHINA]
    altered = certificate(certificate_number=TO_CHINA, remarks="Quietly edited")
    store.versions[TO_CHINA] = [version.model_copy(update={"content": altered, "content_hash": digest(altered)})]
    assert not read_history(party(ISSUING_BODY), TO_CHINA, store).verification.valid


def test_edited_current_content_makes_the_history_invalid(store: PageSizeSpy) -> None:
    # Given the certificate's current content altered in its record, the recorded content hash left alone
    record = store.records[TO_CHINA]
    store.records[TO_CHINA] = record.model_copy(
        update={"content": certificate(certificate_number=TO_CHINA, remarks="x")}
    )
    # When the history is read, Then it is invalid
    assert not read_history(party(ISSUING_BODY), TO_CHINA, store).verification.valid


def test_edited_current_content_with_a_recomputed_hash_makes_the_history_invalid(store: PageSizeSpy) -> None:
    # Given the certificate's current content and its content hash both rewritten in its record
    record = store.records[TO_CHINA]
    altered = certificate(certificate_number=TO_CHINA, remarks="Quietly edited")
    store.records[TO_CHINA] = record.model_copy(update={"content": altered, "content_hash": digest(altered)})
    # When the history is read, Then it is invalid: the content served is not the content the history recorded
    assert not read_history(party(ISSUING_BODY), TO_CHINA, store).verification.valid


# Listing


def listed(caller: Party, store: PageSizeSpy, filters: ListingConstraints | None = None) -> set[str]:
    page = list_certificates(caller, filters or ListingConstraints(), 50, None, store)
    return {visible.record.number for visible in page.certificates}


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (party(ISSUING_BODY), {TO_CHINA, TO_AUSTRALIA, TUI_TO_CHINA}),
        (OTHER_ISSUING_BODY, {BY_WELLINGTON}),
        (party(EXPORTER), {TO_CHINA, TO_AUSTRALIA, BY_WELLINGTON}),
        (party(OTHER_EXPORTER), {TUI_TO_CHINA}),
        (party(NZ_CUSTOMS), {TO_CHINA, TO_AUSTRALIA, TUI_TO_CHINA, BY_WELLINGTON}),
        (party(CN_CUSTOMS), {TO_CHINA, TUI_TO_CHINA, BY_WELLINGTON}),
        (party(OPS), {TO_CHINA, TO_AUSTRALIA, TUI_TO_CHINA, BY_WELLINGTON}),
    ],
    ids=["issuing body", "other issuing body", "exporter", "other exporter", "NZ customs", "CN customs", "ops"],
)
def test_a_listing_holds_exactly_what_the_party_may_see(store: PageSizeSpy, caller: Party, expected: set[str]) -> None:
    assert listed(caller, store) == expected


def test_a_listing_shows_each_certificate_in_the_partys_view(store: PageSizeSpy) -> None:
    page = list_certificates(party(CN_CUSTOMS), ListingConstraints(), 50, None, store)
    assert {visible.view for visible in page.certificates} == {View.FTA_FORM}


def test_a_listing_filter_that_contradicts_the_partys_scope_is_an_empty_page(store: PageSizeSpy) -> None:
    # Given an exporter asking for another exporter's certificates
    filters = ListingConstraints(exporter_business_number="9429047654327")
    # When it lists, Then it gets an empty last page, and the store is not even asked
    page = list_certificates(party(EXPORTER), filters, 50, None, store)
    assert (page.certificates, page.next_cursor) == ([], None)
    assert store.limits == []


def test_a_listing_asks_the_store_for_at_most_the_maximum_page_size(store: PageSizeSpy) -> None:
    list_certificates(party(NZ_CUSTOMS), ListingConstraints(), MAX_PAGE_SIZE * 10, None, store)
    assert store.limits == [MAX_PAGE_SIZE]


def test_a_listing_pages_with_the_stores_cursor(store: PageSizeSpy) -> None:
    first = list_certificates(party(NZ_CUSTOMS), ListingConstraints(), 3, None, store)
    second = list_certificates(party(NZ_CUSTOMS), ListingConstraints(), 3, first.next_cursor, store)
    numbers = [visible.record.number for visible in [*first.certificates, *second.certificates]]
    assert sorted(numbers) == [TO_CHINA, TO_AUSTRALIA, TUI_TO_CHINA, BY_WELLINGTON]
    assert second.next_cursor is None


def test_a_listing_filter_narrows_within_the_partys_scope(store: PageSizeSpy) -> None:
    filters = ListingConstraints(importing_country="AU")
    assert listed(party(EXPORTER), store, filters) == {TO_AUSTRALIA}
