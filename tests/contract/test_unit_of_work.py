"""The unit of work's contract (``jevs.service.unit_of_work``) over both tables: what each repository reads back
of what it stored, the conditions that give each use case its meaning (refused by name), one commit that
stores everything or nothing, idempotent requests' first answers, and the certificate listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from jevs.adapters.table.items import outbox_item, outbox_key
from jevs.adapters.table.model import Item, Key, Page, Query, Table, Write
from jevs.adapters.table.outbox import outgoing_of
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.access import ListingConstraints
from jevs.domain.applications import Application
from jevs.domain.breaker import CHINA_CUSTOMS, Circuit, CircuitPolicy
from jevs.domain.declarations import DeclarationRecord
from jevs.domain.delivery import Decision, Delivery, Outcome
from jevs.domain.messages import MakeDocuments, MatchDeclaration, OutboxMessage
from jevs.domain.new_zealand import NEW_ZEALAND
from jevs.domain.records import CertificateRecord, CertificateStatus, Issue, NumberCounter, StoredVersion
from jevs.domain.recovery import (
    Disposition,
    KeptLetter,
    Letter,
    PageWorked,
    RedriveJob,
    RedriveQueue,
    RedriveStatus,
)
from jevs.domain.registrations import ApprovalDecision, GoodsRegistration, Signatory, Verdict
from jevs.service.idempotency import IDEMPOTENCY_WINDOW, AlreadyAnswered, IdempotencyRecord
from jevs.service.unit_of_work import InvalidCursor, RecordPage, Refused, VersionKey
from tests.contract.support import (
    AT,
    HOUR,
    ISSUER,
    KAURI,
    OTHER_ISSUER,
    TUI,
    Units,
    acknowledged,
    application,
    certificate_delivery,
    decided,
    goods_registration,
    issued,
    match_of,
    request,
    result_delivery,
    signatory,
)
from tests.fakes import FixedClock
from tests.unit.matching_support import CN, NZ, ledger, lodged

pytestmark = pytest.mark.contract

NUMBER = "11.2026.00001"


def refusal(uow: TableUnitOfWork) -> frozenset[tuple[str, str]]:
    """The names the commit is refused with (failing the test if it is not refused)."""
    with pytest.raises(Refused) as refused:
        uow.commit()
    return refused.value.names


def store_issue(units: Units, issue: Issue) -> None:
    uow = units()
    uow.certificates.add(issue)
    uow.commit()


# -- certificates -------------------------------------------------------------------------------------------------


def test_an_added_certificate_reads_back_as_issued(units: Units) -> None:
    # Given a certificate issued and added
    issue = issued(NUMBER)
    store_issue(units, issue)
    # When another unit of work reads it
    found = units().certificates.get(NUMBER)
    # Then it is the record as issued
    assert found == issue.record


def test_an_added_certificate_keeps_its_first_version(units: Units) -> None:
    # Given a certificate added
    issue = issued(NUMBER)
    store_issue(units, issue)
    # When its versions are read
    versions = units().certificates.versions(NUMBER)
    # Then version 1 is there with its content
    record = issue.record
    assert versions == [StoredVersion(version=1, content_hash=record.content_hash, content=record.content)]


def test_an_added_certificate_has_its_first_event(units: Units) -> None:
    # Given a certificate added
    issue = issued(NUMBER)
    store_issue(units, issue)
    # When its history is read
    history = units().certificates.history(NUMBER)
    # Then it holds the issue's event
    assert history == [issue.event]


def test_a_certificate_never_added_has_no_record_versions_history_or_matches(units: Units) -> None:
    # Given another certificate stored
    store_issue(units, issued(NUMBER))
    # When a number never added is read
    uow = units()
    # Then nothing is found under it
    other = "11.2026.00002"
    assert (uow.certificates.get(other), uow.certificates.versions(other)) == (None, [])
    assert (uow.certificates.history(other), uow.certificates.matches(other)) == ([], [])


def test_a_change_stores_the_record_and_appends_its_event(units: Units) -> None:
    # Given a stored certificate
    issue = issued(NUMBER)
    store_issue(units, issue)
    # When a change of it is committed
    change = acknowledged(issue.record, AT + HOUR)
    uow = units()
    uow.certificates.change(change)
    uow.commit()
    # Then the record is the changed one and the history holds both events in order
    reader = units()
    assert reader.certificates.get(NUMBER) == change.record
    assert reader.certificates.history(NUMBER) == [issue.event, change.event]


def test_kept_matches_read_back_oldest_decision_first(units: Units) -> None:
    # Given a certificate, and the results of two declarations that quoted it, the later one kept first
    store_issue(units, issued(NUMBER))
    first = match_of(lodged(CN, declaration_number="ZZZ-FIRST", certificate_number=NUMBER), AT)
    second = match_of(lodged(NZ, declaration_number="AAA-SECOND", certificate_number=NUMBER), AT + HOUR)
    uow = units()
    uow.certificates.keep_match(NUMBER, second)
    uow.certificates.keep_match(NUMBER, first)
    uow.commit()
    # When its matches are read
    matches = units().certificates.matches(NUMBER)
    # Then they come back by decision time
    assert matches == [first, second]


def test_a_certificate_number_taken_is_refused(units: Units) -> None:
    # Given a certificate stored under a number
    first = issued(NUMBER)
    store_issue(units, first)
    # When another certificate is added under the same number (its issuing body's, on another day)
    uow = units()
    uow.certificates.add(issued(NUMBER, on=date(2026, 11, 21)))
    names = refusal(uow)
    # Then its record, first version and first event are refused by name, and the first certificate stays
    assert names == {("certificate", NUMBER), ("version", f"{NUMBER}/v1"), ("event", f"{NUMBER}#1")}
    assert units().certificates.get(NUMBER) == first.record


def test_a_change_after_someone_else_appended_an_event_is_refused(units: Units) -> None:
    # Given a stored certificate that two requests read
    issue = issued(NUMBER)
    store_issue(units, issue)
    mine, theirs = acknowledged(issue.record, AT + HOUR), acknowledged(issue.record, AT + 2 * HOUR)
    # When the other request's change is committed first, then this one's
    other = units()
    other.certificates.change(theirs)
    other.commit()
    uow = units()
    uow.certificates.change(mine)
    names = refusal(uow)
    # Then this change's record and event are refused, and the history holds the other change
    assert names == {("certificate", NUMBER), ("event", f"{NUMBER}#2")}
    assert units().certificates.history(NUMBER) == [issue.event, theirs.event]


def test_a_match_kept_twice_is_refused(units: Units) -> None:
    # Given a declaration's result kept with its certificate
    store_issue(units, issued(NUMBER))
    declaration = lodged(CN, certificate_number=NUMBER)
    uow = units()
    uow.certificates.keep_match(NUMBER, match_of(declaration, AT))
    uow.commit()
    # When it is kept again
    again = units()
    again.certificates.keep_match(NUMBER, match_of(declaration, AT + HOUR))
    names = refusal(again)
    # Then it is refused by the declaration's id, and the first result stays
    assert names == {("match", f"{declaration.id}#1")}
    assert units().certificates.matches(NUMBER) == [match_of(declaration, AT)]


# -- declarations and ledgers ----------------------------------------------------------------------------------


def test_an_added_declaration_reads_back_as_received(units: Units) -> None:
    # Given a declaration added
    declaration = lodged(CN)
    uow = units()
    uow.declarations.add(declaration)
    uow.commit()
    # When it is read
    found = units().declarations.get(declaration.id)
    # Then it is the declaration as received
    assert found == declaration


def test_a_declaration_never_added_is_not_found(units: Units) -> None:
    # Given no declaration
    # When one is read
    found = units().declarations.get("CNIM-NEVER")
    # Then there is none
    assert found is None


def test_a_declaration_added_twice_is_refused(units: Units) -> None:
    # Given a declaration stored
    declaration = lodged(CN)
    first = units()
    first.declarations.add(declaration)
    first.commit()
    # When the same declaration is added again
    uow = units()
    uow.declarations.add(declaration)
    names = refusal(uow)
    # Then it is refused by its id (its first revision with it)
    assert names == {("declaration", declaration.id), ("revision", f"{declaration.id}#1")}


def test_a_decided_declaration_reads_back_with_its_result(units: Units) -> None:
    # Given a received declaration
    declaration = lodged(CN)
    uow = units()
    uow.declarations.add(declaration)
    uow.commit()
    # When it is decided
    decision = decided(declaration)
    deciding = units()
    deciding.declarations.decide(declaration, decision)
    deciding.commit()
    # Then it reads back decided
    assert units().declarations.get(declaration.id) == decision


def test_a_declaration_decided_twice_is_refused(units: Units) -> None:
    # Given a declaration decided once
    declaration = lodged(CN)
    uow = units()
    uow.declarations.add(declaration)
    uow.commit()
    first = units()
    first.declarations.decide(declaration, decided(declaration, AT))
    first.commit()
    # When a second matcher decides it again
    second = units()
    second.declarations.decide(declaration, decided(declaration, AT + HOUR))
    names = refusal(second)
    # Then the second decision is refused, and the first stays
    assert names == {("declaration", declaration.id)}
    assert units().declarations.get(declaration.id) == decided(declaration, AT)


def test_a_declaration_never_received_cannot_be_decided(units: Units) -> None:
    # Given no declaration stored
    declaration = lodged(CN)
    # When a decision of it is committed
    uow = units()
    uow.declarations.decide(declaration, decided(declaration))
    names = refusal(uow)
    # Then it is refused, and nothing is stored
    assert names == {("declaration", declaration.id)}
    assert units().declarations.get(declaration.id) is None


def test_a_first_ledger_reads_back(units: Units) -> None:
    # Given no ledger of a certificate
    first = ledger(revision=1, export={1: "5000"})
    # When its first ledger is put, read at revision 0
    uow = units()
    uow.ledgers.put(first, revision_read=0)
    uow.commit()
    # Then it reads back
    assert units().ledgers.get(first.root_number) == first


def test_a_ledger_put_at_the_revision_read_replaces_it(units: Units) -> None:
    # Given a ledger at revision 1
    uow = units()
    uow.ledgers.put(ledger(revision=1, export={1: "5000"}), revision_read=0)
    uow.commit()
    # When it is put at revision 2, read at revision 1
    second = ledger(revision=2, export={1: "7000"}, used_by="CNIM-1", used_certificate="11.1234.12345")
    writer = units()
    writer.ledgers.put(second, revision_read=1)
    writer.commit()
    # Then revision 2 is stored
    assert units().ledgers.get(second.root_number) == second


def test_a_ledger_written_with_a_stale_revision_is_refused(units: Units) -> None:
    # Given a ledger at revision 2
    uow = units()
    uow.ledgers.put(ledger(revision=1), revision_read=0)
    uow.commit()
    current = ledger(revision=2, export={1: "5000"})
    other = units()
    other.ledgers.put(current, revision_read=1)
    other.commit()
    # When a writer that read revision 1 puts its ledger
    stale = units()
    stale.ledgers.put(ledger(revision=2, export={1: "9000"}), revision_read=1)
    names = refusal(stale)
    # Then it is refused by the ledger's root, and revision 2 stays
    assert names == {("ledger", current.root_number)}
    assert units().ledgers.get(current.root_number) == current


def test_a_first_ledger_written_when_one_was_stored_meanwhile_is_refused(units: Units) -> None:
    # Given a ledger stored by another request after this one found none
    stored = ledger(revision=1, export={1: "5000"})
    other = units()
    other.ledgers.put(stored, revision_read=0)
    other.commit()
    # When this request puts its first ledger
    uow = units()
    uow.ledgers.put(ledger(revision=1, imported={1: "25000"}, used_by="CNIM-1"), revision_read=0)
    names = refusal(uow)
    # Then it is refused, and the other one stays
    assert names == {("ledger", stored.root_number)}
    assert units().ledgers.get(stored.root_number) == stored


# -- goods registrations, signatories and applications ---------------------------------------------------------


def test_added_registrations_read_back_by_id(units: Units) -> None:
    # Given a goods registration and a signatory added
    goods, person = goods_registration(), signatory()
    uow = units()
    uow.registrations.add(goods)
    uow.registrations.add(person)
    uow.commit()
    # When they are read by id
    reader = units()
    # Then each is found as added
    assert (reader.registrations.get(goods.record.id), reader.registrations.get(person.record.id)) == (
        goods.record,
        person.record,
    )


def test_a_registration_is_not_found_by_an_id_that_is_not_one(units: Units) -> None:
    # Given a goods registration and an application stored
    goods, submitted = goods_registration(), application()
    uow = units()
    uow.registrations.add(goods)
    uow.applications.add(submitted)
    uow.commit()
    # When registrations are read by ids that name no registration
    reader = units()
    known = goods.record.id
    unknown = known[:-1] + ("0" if known[-1] != "0" else "1")
    # Then none is found (an application's id included)
    found = [reader.registrations.get(id_) for id_ in (unknown, "nonsense", submitted.record.id)]
    assert found == [None, None, None]


def test_registrations_of_an_exporter_are_its_own_of_the_kind_oldest_first(units: Units) -> None:
    # Given goods and signatories of two exporters, lodged at different times
    later, earlier = goods_registration(at=AT + HOUR), goods_registration(at=AT)
    uow = units()
    for record in (later, earlier, goods_registration(exporter=TUI), signatory()):
        uow.registrations.add(record)
    uow.commit()
    # When one exporter's goods registrations are read
    found = units().registrations.of_exporter(GoodsRegistration, str(KAURI.business_number), 10)
    # Then only its goods come back, oldest first, on one page
    assert (found.records, found.next_cursor) == ([earlier.record, later.record], None)


def test_registrations_lodged_with_an_issuing_body_are_its_work_queue_oldest_first(units: Units) -> None:
    # Given signatories of two exporters with one issuing body, and goods and a signatory with another
    later, earlier = signatory(at=AT + HOUR), signatory(exporter=TUI, at=AT)
    uow = units()
    for record in (later, earlier, goods_registration(), signatory(issuing_body=OTHER_ISSUER.id)):
        uow.registrations.add(record)
    uow.commit()
    # When the issuing body's signatories are read
    found = units().registrations.lodged_with(Signatory, ISSUER.id, 10)
    # Then its signatories come back, of every exporter, oldest first, on one page
    assert (found.records, found.next_cursor) == ([earlier.record, later.record], None)


def test_a_registration_replaced_while_its_status_holds_is_stored(units: Units) -> None:
    # Given a lodged goods registration
    lodged_goods = goods_registration()
    goods = lodged_goods.record
    uow = units()
    uow.registrations.add(lodged_goods)
    uow.commit()
    # When it is replaced by its approval
    approved = goods.decided(ApprovalDecision(decision=Verdict.APPROVED, valid_until=date(2026, 12, 31)), "a", AT)
    deciding = units()
    deciding.registrations.replace(goods, approved)
    deciding.commit()
    # Then the approval is stored
    assert units().registrations.get(goods.id) == approved.record


def test_a_registration_replaced_after_its_status_changed_is_refused(units: Units) -> None:
    # Given a lodged signatory that another request approved after this one read it
    lodged_person = signatory()
    person = lodged_person.record
    uow = units()
    uow.registrations.add(lodged_person)
    uow.commit()
    approved = person.decided(ApprovalDecision(decision=Verdict.APPROVED), by=ISSUER.id, at=AT)
    other = units()
    other.registrations.replace(person, approved)
    other.commit()
    # When this request replaces it by a refusal
    refused = person.decided(ApprovalDecision(decision=Verdict.REFUSED, reasons=["unknown"]), by=ISSUER.id, at=AT)
    late = units()
    late.registrations.replace(person, refused)
    names = refusal(late)
    # Then it is refused by the registration's id and by its second event's, and the approval stays
    assert names == {("registration", person.id), ("event", f"{person.id}#2")}
    assert units().registrations.get(person.id) == approved.record


def test_an_added_application_reads_back_by_id(units: Units) -> None:
    # Given an application added
    submitted = application()
    uow = units()
    uow.applications.add(submitted)
    uow.commit()
    # When it is read
    found = units().applications.get(submitted.record.id)
    # Then it is as added
    assert found == submitted.record


def test_applications_of_an_exporter_are_its_own_oldest_first(units: Units) -> None:
    # Given applications of two exporters, and a goods registration
    later, earlier = application(at=AT + HOUR), application(at=AT)
    uow = units()
    for record in (later, earlier, application(exporter=TUI)):
        uow.applications.add(record)
    uow.registrations.add(goods_registration())
    uow.commit()
    # When one exporter's applications are read
    found = units().applications.of_exporter(str(KAURI.business_number), 10)
    # Then only its own come back, oldest first, on one page
    assert (found.records, found.next_cursor) == ([earlier.record, later.record], None)


def test_applications_lodged_with_an_issuing_body_are_its_work_queue_oldest_first(units: Units) -> None:
    # Given applications with two issuing bodies
    later, earlier = application(at=AT + HOUR), application(exporter=TUI, at=AT)
    uow = units()
    for record in (later, earlier, application(issuing_body=OTHER_ISSUER.id)):
        uow.applications.add(record)
    uow.commit()
    # When one issuing body's applications are read
    found = units().applications.lodged_with(ISSUER.id, 10)
    # Then its applications come back, of every exporter, oldest first, on one page
    assert (found.records, found.next_cursor) == ([earlier.record, later.record], None)


HostedListing = Callable[[TableUnitOfWork, int, str | None], RecordPage[Any]]
# Each hosted listing, as each party reads it.
HOSTED_LISTINGS: dict[str, HostedListing] = {
    "an issuing body's goods": lambda uow, limit, cursor: uow.registrations.lodged_with(
        GoodsRegistration, ISSUER.id, limit, cursor
    ),
    "an exporter's goods": lambda uow, limit, cursor: uow.registrations.of_exporter(
        GoodsRegistration, str(KAURI.business_number), limit, cursor
    ),
    "an issuing body's signatories": lambda uow, limit, cursor: uow.registrations.lodged_with(
        Signatory, ISSUER.id, limit, cursor
    ),
    "an exporter's signatories": lambda uow, limit, cursor: uow.registrations.of_exporter(
        Signatory, str(KAURI.business_number), limit, cursor
    ),
    "an issuing body's applications": lambda uow, limit, cursor: uow.applications.lodged_with(ISSUER.id, limit, cursor),
    "an exporter's applications": lambda uow, limit, cursor: uow.applications.of_exporter(
        str(KAURI.business_number), limit, cursor
    ),
}


@pytest.fixture
def hosted_five(units: Units) -> dict[str, list[str]]:
    """Five goods registrations, five signatories and five applications of one exporter with one issuing body,
    lodged a minute apart: each kind's ids, oldest first."""
    uow = units()
    lodged: dict[str, list[str]] = {"goods": [], "signatories": [], "applications": []}
    for minute in range(5):
        at = AT + timedelta(minutes=minute)
        goods, person, applied = goods_registration(at=at), signatory(at=at), application(at=at)
        uow.registrations.add(goods)
        uow.registrations.add(person)
        uow.applications.add(applied)
        lodged["goods"].append(goods.record.id)
        lodged["signatories"].append(person.record.id)
        lodged["applications"].append(applied.record.id)
    uow.commit()
    return lodged


@pytest.mark.parametrize("listing", HOSTED_LISTINGS.values(), ids=HOSTED_LISTINGS.keys())
def test_a_hosted_listing_longer_than_a_page_gives_a_page_and_a_cursor_to_the_rest(
    units: Units, hosted_five: dict[str, list[str]], listing: HostedListing
) -> None:
    # Given five records of each kind
    # When the listing is read two at a time, following each page's cursor
    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(10):
        page = listing(units(), 2, cursor)
        pages.append([record.id for record in page.records])
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then the first page holds two and a cursor, and the pages together hold all five once, oldest first
    kind = next(name for name in hosted_five if hosted_five[name][0] in pages[0])
    assert pages[0] == hosted_five[kind][:2]
    assert [record_id for page in pages for record_id in page] == hosted_five[kind]


def test_a_cursor_of_one_hosted_listing_is_refused_by_another(units: Units, hosted_five: dict[str, list[str]]) -> None:
    # Given a cursor of the issuing body's goods
    cursor = units().registrations.lodged_with(GoodsRegistration, ISSUER.id, 2).next_cursor
    assert cursor is not None
    # When its signatories, another body's goods, or the exporter's goods are asked to start from it
    # Then each refuses it
    with pytest.raises(InvalidCursor):
        units().registrations.lodged_with(Signatory, ISSUER.id, 2, cursor)
    with pytest.raises(InvalidCursor):
        units().registrations.lodged_with(GoodsRegistration, OTHER_ISSUER.id, 2, cursor)
    with pytest.raises(InvalidCursor):
        units().registrations.of_exporter(GoodsRegistration, str(KAURI.business_number), 2, cursor)


@pytest.fixture
def open_applications(units: Units) -> list[Application]:
    """Three submitted applications lodged an hour apart (due an Auckland working day later), and one certified."""
    submitted = [application(at=AT + n * HOUR) for n in (2, 0, 1)]
    certified = application(at=AT - HOUR)
    uow = units()
    for record in (*submitted, certified):
        uow.applications.add(record)
    uow.commit()
    uow.applications.replace(
        certified.record, certified.record.certified(by=ISSUER.id, at=AT, certificate_number=NUMBER)
    )
    uow.commit()
    return sorted((lodged.record for lodged in submitted), key=lambda record: record.due_at)


def test_open_applications_due_before_a_moment_come_most_overdue_first(
    units: Units, open_applications: list[Application]
) -> None:
    # Given three submitted applications and a certified one due earlier than all of them
    # When the open applications due before half an hour after the second one's due time are read
    moment = open_applications[1].due_at + HOUR / 2
    found = units().applications.open_due_before(moment, limit=10)
    # Then the first two come back, most overdue first (the certified one is not open)
    assert found == open_applications[:2]


def test_open_applications_due_before_a_moment_compare_instants_in_any_time_zone(
    units: Units, open_applications: list[Application]
) -> None:
    # Given three submitted applications, due in New Zealand time as the domain computes it
    # When they are read with a moment in UTC, as a unit of work's clock gives it
    moment = (open_applications[1].due_at + HOUR / 2).astimezone(UTC)
    found = units().applications.open_due_before(moment, limit=10)
    # Then the same instant gives the same two applications
    assert found == open_applications[:2]


def test_open_applications_due_before_a_moment_stop_at_the_limit(
    units: Units, open_applications: list[Application]
) -> None:
    # Given three submitted applications
    # When at most two are read, all being due before the moment
    found = units().applications.open_due_before(open_applications[2].due_at + HOUR, limit=2)
    # Then the two most overdue come back
    assert found == open_applications[:2]


def test_a_decided_application_is_no_longer_open(units: Units, open_applications: list[Application]) -> None:
    # Given three submitted applications
    # When the most overdue is rejected
    first = open_applications[0]
    uow = units()
    uow.applications.replace(first, first.rejected(by=ISSUER.id, at=AT, reasons=["late"]))
    uow.commit()
    # Then the open ones due before the moment are the other two
    moment = open_applications[2].due_at.astimezone(NEW_ZEALAND) + HOUR
    assert units().applications.open_due_before(moment, limit=10) == open_applications[1:]


def test_an_application_replaced_after_its_status_changed_is_refused(units: Units) -> None:
    # Given a submitted application that the exporter withdrew after the issuing body read it
    lodged = application()
    submitted = lodged.record
    uow = units()
    uow.applications.add(lodged)
    uow.commit()
    withdrawn = submitted.withdrawn(by=KAURI.id, at=AT)
    other = units()
    other.applications.replace(submitted, withdrawn)
    other.commit()
    # When the issuing body certifies what it read
    late = units()
    late.applications.replace(submitted, submitted.certified(by=ISSUER.id, at=AT, certificate_number=NUMBER))
    names = refusal(late)
    # Then it is refused by the application's id and by its second event's, and the withdrawal stays
    assert names == {("application", submitted.id), ("event", f"{submitted.id}#2")}
    assert units().applications.get(submitted.id) == withdrawn.record


# -- counters ------------------------------------------------------------------------------------------------------


def test_a_counter_never_advanced_starts_at_zero(units: Units) -> None:
    # Given no counter stored
    # When an issuing body's counter for a year is read
    counter = units().counters.get(ISSUER.id, 2026)
    # Then it has allocated nothing
    assert counter == NumberCounter(issuing_body=ISSUER.id, year=2026, last=0)


def test_a_counter_advances_one_at_a_time_from_what_was_read(units: Units) -> None:
    # Given a counter advanced once from zero
    first = units()
    advanced = first.counters.advance(first.counters.get(ISSUER.id, 2026))
    first.commit()
    # When it is read and advanced again
    second = units()
    again = second.counters.advance(second.counters.get(ISSUER.id, 2026))
    second.commit()
    # Then each advance gave the next number, and the counter stands at the second
    assert (advanced.last, again.last) == (1, 2)
    assert units().counters.get(ISSUER.id, 2026) == again


def test_counters_are_kept_per_issuing_body_and_year(units: Units) -> None:
    # Given one issuing body's counter for 2026 advanced
    uow = units()
    uow.counters.advance(uow.counters.get(ISSUER.id, 2026))
    uow.commit()
    # When the other counters are read
    reader = units()
    others = [reader.counters.get(ISSUER.id, 2027).last, reader.counters.get(OTHER_ISSUER.id, 2026).last]
    # Then they have allocated nothing
    assert others == [0, 0]


@pytest.mark.parametrize("stale_last", [0, 1], ids=["read before the first number", "read before the second"])
def test_a_counter_advanced_from_a_stale_read_is_refused(units: Units, stale_last: int) -> None:
    # Given a counter another request advanced after this one read it
    read = NumberCounter(issuing_body=ISSUER.id, year=2026, last=stale_last)
    for last in range(stale_last + 1):
        other = units()
        other.counters.advance(NumberCounter(issuing_body=ISSUER.id, year=2026, last=last))
        other.commit()
    # When this request advances what it read
    uow = units()
    uow.counters.advance(read)
    names = refusal(uow)
    # Then it is refused by the counter's name, and the counter stands where the other left it
    assert names == {("counter", f"{ISSUER.id}/2026")}
    assert units().counters.get(ISSUER.id, 2026).last == stale_last + 1


# -- deliveries and the outbox --------------------------------------------------------------------------------------


def test_added_deliveries_read_back_by_their_message(units: Units) -> None:
    # Given a certificate version's delivery and a match result's delivery added
    version, result = certificate_delivery(NUMBER), result_delivery(lodged(CN))
    uow = units()
    uow.deliveries.add(version)
    uow.deliveries.add(result)
    uow.commit()
    # When they are read by their messages
    reader = units()
    # Then each is found as added
    assert (reader.deliveries.get(version.message), reader.deliveries.get(result.message)) == (version, result)


def test_a_delivery_never_added_is_not_found(units: Units) -> None:
    # Given another version's delivery stored
    uow = units()
    uow.deliveries.add(certificate_delivery(NUMBER, version=1))
    uow.commit()
    # When a message never added is read
    found = units().deliveries.get(certificate_delivery(NUMBER, version=2).message)
    # Then there is no delivery of it
    assert found is None


def test_deliveries_of_a_certificate_are_those_of_its_versions_oldest_version_first(units: Units) -> None:
    # Given deliveries of two versions added newest first, and a delivery of another certificate and a result
    second, first = certificate_delivery(NUMBER, version=2), certificate_delivery(NUMBER, version=1)
    uow = units()
    for delivery in (second, first, certificate_delivery("11.2026.00002"), result_delivery(lodged(CN))):
        uow.deliveries.add(delivery)
    uow.commit()
    # When the certificate's deliveries are read
    found = units().deliveries.of_certificate(NUMBER)
    # Then they are its own, oldest version first
    assert found == [first, second]


@pytest.fixture
def pending(units: Units) -> list[Delivery]:
    """Four pending deliveries an hour apart, oldest first (one a match result), added out of order."""
    deliveries = [
        certificate_delivery(NUMBER, version=1, at=AT),
        result_delivery(lodged(CN), at=AT + HOUR),
        certificate_delivery(NUMBER, version=2, at=AT + 2 * HOUR),
        certificate_delivery("11.2026.00002", at=AT + 3 * HOUR),
    ]
    uow = units()
    for delivery in reversed(deliveries):
        uow.deliveries.add(delivery)
    uow.commit()
    return deliveries


def test_pending_deliveries_before_a_moment_come_oldest_first(units: Units, pending: list[Delivery]) -> None:
    # Given four pending deliveries an hour apart
    # When those pending since before the third one are read
    found = units().deliveries.pending_before(AT + 2 * HOUR, limit=10)
    # Then the first two come back, oldest first
    assert found == pending[:2]


def test_pending_deliveries_stop_at_the_limit(units: Units, pending: list[Delivery]) -> None:
    # Given four pending deliveries
    # When at most three are read
    found = units().deliveries.pending_before(AT + 10 * HOUR, limit=3)
    # Then the three oldest come back
    assert found == pending[:3]


def test_a_settled_delivery_is_no_longer_pending(units: Units, pending: list[Delivery]) -> None:
    # Given four pending deliveries
    # When China acknowledges the oldest
    oldest = pending[0]
    delivered = oldest.attempted(Decision(Outcome.DELIVERED, "accepted (201)", receipt_id="R1"), AT, give_up=False)
    uow = units()
    uow.deliveries.replace(oldest, delivered)
    uow.commit()
    # Then it reads back delivered, and the pending ones are the other three
    reader = units()
    assert reader.deliveries.get(oldest.message) == delivered
    assert reader.deliveries.pending_before(AT + 10 * HOUR, limit=10) == pending[1:]


def test_a_requeued_delivery_counts_as_pending_since_it_was_requeued(units: Units, pending: list[Delivery]) -> None:
    # Given four pending deliveries
    # When reconciliation requeues the oldest at a later time
    oldest = pending[0]
    uow = units()
    uow.deliveries.requeued(oldest, AT + 5 * HOUR)
    uow.commit()
    # Then it is pending since then (after the others), and the delivery itself is unchanged
    reader = units()
    assert reader.deliveries.pending_before(AT + 4 * HOUR, limit=10) == pending[1:]
    assert reader.deliveries.pending_before(AT + 6 * HOUR, limit=10) == [*pending[1:], oldest]
    assert reader.deliveries.get(oldest.message) == oldest


def test_requeueing_a_delivery_settled_meanwhile_is_refused(units: Units, pending: list[Delivery]) -> None:
    # Given a pending delivery that was settled after reconciliation read it
    oldest = pending[0]
    rejected = oldest.attempted(Decision(Outcome.REJECTED, "bad signature"), AT, give_up=False)
    other = units()
    other.deliveries.replace(oldest, rejected)
    other.commit()
    # When reconciliation requeues it
    uow = units()
    uow.deliveries.requeued(oldest, AT + 5 * HOUR)
    names = refusal(uow)
    # Then the note is refused by the delivery key, and the delivery stays settled and out of the pending ones
    assert names == {("requeued", oldest.idempotency_key)}
    reader = units()
    assert reader.deliveries.get(oldest.message) == rejected
    assert reader.deliveries.pending_before(AT + 10 * HOUR, limit=10) == pending[1:]


def test_a_delivery_replaced_after_another_attempt_was_recorded_is_refused(
    units: Units, pending: list[Delivery]
) -> None:
    # Given a pending delivery another dispatcher recorded an attempt of after this one read it
    oldest = pending[0]
    retry = Decision(Outcome.RETRY, "HTTP 503")
    theirs = oldest.attempted(retry, AT + HOUR, give_up=False)
    other = units()
    other.deliveries.replace(oldest, theirs)
    other.commit()
    # When this dispatcher records its own attempt
    uow = units()
    uow.deliveries.replace(oldest, oldest.attempted(retry, AT + 2 * HOUR, give_up=False))
    names = refusal(uow)
    # Then it is refused by the delivery key, and the other attempt stays
    assert names == {("delivery", oldest.idempotency_key)}
    assert units().deliveries.get(oldest.message) == theirs


def test_a_delivery_added_twice_is_refused(units: Units) -> None:
    # Given a delivery stored
    delivery = certificate_delivery(NUMBER)
    uow = units()
    uow.deliveries.add(delivery)
    uow.commit()
    # When it is added again
    again = units()
    again.deliveries.add(certificate_delivery(NUMBER, at=AT + HOUR))
    names = refusal(again)
    # Then it is refused by its key
    assert names == {("delivery", delivery.idempotency_key)}


def test_an_outbox_message_is_stored_with_the_commit(units: Units) -> None:
    # Given a message to send
    message = MakeDocuments(certificate_number=NUMBER, version=1, created_at=AT)
    # When it is added to the outbox and committed
    uow = units()
    uow.outbox.add(message)
    uow.commit()
    # Then the table holds it, for the relay to read from the stream
    item = units.table.get((str(outbox_item(message)["pk"]), str(outbox_item(message)["sk"])))
    assert item is not None
    assert outgoing_of(item) == replace(message.outgoing(), record_key=outbox_key(message))


def test_an_outbox_message_added_twice_is_refused(units: Units) -> None:
    # Given a message in the outbox
    message = MatchDeclaration(declaration_id="CNIM-1", certificate_number=NUMBER, created_at=AT)
    uow = units()
    uow.outbox.add(message)
    uow.commit()
    # When the same message is added again
    again = units()
    again.outbox.add(message)
    names = refusal(again)
    # Then it is refused by its message id
    assert names == {("outbox", message.message_id)}


# -- open work: declarations to match, documents to make, outbox records to publish ------------------------------


def received(serial: int, at: datetime) -> DeclarationRecord:
    """A CN import declaration of its own number, received at ``at``."""
    return lodged(CN, declaration_number=f"2233202610000000{serial:02d}").model_copy(update={"received_at": at})


@pytest.fixture
def unmatched(units: Units) -> list[DeclarationRecord]:
    """Three declarations received an hour apart, oldest first, added out of order."""
    declarations = [received(serial, AT + serial * HOUR) for serial in range(3)]
    uow = units()
    for declaration in reversed(declarations):
        uow.declarations.add(declaration)
    uow.commit()
    return declarations


def test_received_declarations_are_unmatched_oldest_first_up_to_the_limit(
    units: Units, unmatched: list[DeclarationRecord]
) -> None:
    # Given three declarations received an hour apart
    reader = units()
    # Then those received before a moment are unmatched, oldest first, at most as many as asked for
    assert reader.declarations.unmatched_before(AT + 2 * HOUR, limit=10) == unmatched[:2]
    assert reader.declarations.unmatched_before(AT + 10 * HOUR, limit=2) == unmatched[:2]


def test_a_decided_declaration_is_no_longer_unmatched(units: Units, unmatched: list[DeclarationRecord]) -> None:
    # Given three unmatched declarations
    # When the oldest is decided
    uow = units()
    uow.declarations.decide(unmatched[0], decided(unmatched[0]))
    uow.commit()
    # Then the other two are the unmatched ones
    assert units().declarations.unmatched_before(AT + 10 * HOUR, limit=10) == unmatched[1:]


def test_an_amended_declaration_is_unmatched_since_its_amendment(
    units: Units, unmatched: list[DeclarationRecord]
) -> None:
    # Given the oldest of three declarations decided, then amended after the others were received
    oldest = unmatched[0]
    deciding = units()
    deciding.declarations.decide(oldest, decided(oldest))
    deciding.commit()
    amended = decided(oldest).amended(oldest.content, "another-hash", AT + 5 * HOUR)
    uow = units()
    uow.declarations.amend(decided(oldest), amended)
    uow.commit()
    # Then its new revision is unmatched since it was lodged
    reader = units()
    assert reader.declarations.unmatched_before(AT + 5 * HOUR, limit=10) == unmatched[1:]
    assert reader.declarations.unmatched_before(AT + 6 * HOUR, limit=10) == [*unmatched[1:], amended]


def test_a_requeued_declaration_is_unmatched_since_it_was_requeued(
    units: Units, unmatched: list[DeclarationRecord]
) -> None:
    # Given three unmatched declarations
    # When reconciliation requeues the oldest at a later time
    oldest = unmatched[0]
    uow = units()
    uow.declarations.requeued(oldest, AT + 5 * HOUR)
    uow.commit()
    # Then it is unmatched since then (after the others), and the declaration itself is unchanged
    reader = units()
    assert reader.declarations.unmatched_before(AT + 4 * HOUR, limit=10) == unmatched[1:]
    assert reader.declarations.unmatched_before(AT + 6 * HOUR, limit=10) == [*unmatched[1:], oldest]
    assert reader.declarations.get(oldest.id) == oldest


def test_requeueing_a_declaration_decided_meanwhile_is_refused(
    units: Units, unmatched: list[DeclarationRecord]
) -> None:
    # Given an unmatched declaration decided after reconciliation read it
    oldest = unmatched[0]
    other = units()
    other.declarations.decide(oldest, decided(oldest))
    other.commit()
    # When reconciliation requeues it
    uow = units()
    uow.declarations.requeued(oldest, AT + 5 * HOUR)
    names = refusal(uow)
    # Then the note is refused by its id, and the declaration stays decided and out of the unmatched ones
    assert names == {("requeued", oldest.id)}
    reader = units()
    assert reader.declarations.get(oldest.id) == decided(oldest)
    assert reader.declarations.unmatched_before(AT + 10 * HOUR, limit=10) == unmatched[1:]


def test_requeueing_a_declaration_amended_meanwhile_is_refused(
    units: Units, unmatched: list[DeclarationRecord]
) -> None:
    # Given an unmatched declaration amended (a new revision, unmatched since) after reconciliation read it
    oldest = unmatched[0]
    amended = oldest.amended(oldest.content, "another-hash", AT + 5 * HOUR)
    other = units()
    other.declarations.amend(oldest, amended)
    other.commit()
    # When reconciliation requeues the revision it read
    uow = units()
    uow.declarations.requeued(oldest, AT + 6 * HOUR)
    names = refusal(uow)
    # Then the note is refused, and the new revision stays unmatched since it was lodged
    assert names == {("requeued", oldest.id)}
    assert units().declarations.unmatched_before(AT + 5 * HOUR + timedelta(seconds=1), limit=10) == [
        *unmatched[1:],
        amended,
    ]


def issue_versions(units: Units) -> None:
    """Certificate NUMBER issued at the clock's time and its version 2 an hour later, and another certificate issued
    two hours later, each version's documents still to make."""
    store_issue(units, issued(NUMBER))
    copy = units()
    copy.certificates.change(issued(NUMBER).record.copied(reason="original lost", at=AT + HOUR, actor=ISSUER.id))
    copy.commit()
    store_issue(units, issued("11.2026.00002", at=AT + 2 * HOUR))


def test_new_versions_are_undocumented_oldest_first_up_to_the_limit(units: Units) -> None:
    # Given three versions stored an hour apart
    issue_versions(units)
    reader = units()
    # Then those stored before a moment are undocumented, oldest first, at most as many as asked for
    assert reader.certificates.undocumented_before(AT + 2 * HOUR, limit=10) == [
        VersionKey(NUMBER, 1),
        VersionKey(NUMBER, 2),
    ]
    assert reader.certificates.undocumented_before(AT + 10 * HOUR, limit=1) == [VersionKey(NUMBER, 1)]


def test_a_version_whose_documents_are_made_is_no_longer_undocumented_and_noting_it_again_is_harmless(
    units: Units,
) -> None:
    # Given three undocumented versions
    issue_versions(units)
    versions_before = units().certificates.versions(NUMBER)
    # When the documents of the first are noted made, twice
    for _ in range(2):
        uow = units()
        uow.certificates.documents_made(VersionKey(NUMBER, 1))
        uow.commit()
    # Then the other two are undocumented, and the versions read as they were
    reader = units()
    assert reader.certificates.undocumented_before(AT + 10 * HOUR, limit=10) == [
        VersionKey(NUMBER, 2),
        VersionKey("11.2026.00002", 1),
    ]
    assert reader.certificates.versions(NUMBER) == versions_before


def test_documents_noted_made_of_a_version_never_stored_are_refused(units: Units) -> None:
    # Given version 1 of a certificate
    store_issue(units, issued(NUMBER))
    # When the documents of a version 2 are noted made
    uow = units()
    uow.certificates.documents_made(VersionKey(NUMBER, 2))
    names = refusal(uow)
    # Then the note is refused, and no version 2 appears
    assert names == {("documents", f"{NUMBER}/v2")}
    assert [version.version for version in units().certificates.versions(NUMBER)] == [1]


def test_requeued_documents_are_undocumented_since_they_were_requeued_until_made(units: Units) -> None:
    # Given three undocumented versions
    issue_versions(units)
    # When reconciliation requeues the first's documents at a later time
    uow = units()
    uow.certificates.documents_requeued(VersionKey(NUMBER, 1), AT + 5 * HOUR)
    uow.commit()
    # Then it is undocumented since then (after the others)
    reader = units()
    assert reader.certificates.undocumented_before(AT + 6 * HOUR, limit=10) == [
        VersionKey(NUMBER, 2),
        VersionKey("11.2026.00002", 1),
        VersionKey(NUMBER, 1),
    ]
    # And once they are made, requeueing them again is refused and leaves them made
    made = units()
    made.certificates.documents_made(VersionKey(NUMBER, 1))
    made.commit()
    again = units()
    again.certificates.documents_requeued(VersionKey(NUMBER, 1), AT + 7 * HOUR)
    assert refusal(again) == {("requeued", f"{NUMBER}/v1")}
    assert VersionKey(NUMBER, 1) not in units().certificates.undocumented_before(AT + 10 * HOUR, limit=10)


def test_outbox_messages_are_unpublished_oldest_first_until_noted_published(units: Units) -> None:
    # Given three messages written an hour apart (the second under a declaration)
    messages: list[OutboxMessage] = [
        MakeDocuments(certificate_number=NUMBER, version=1, created_at=AT),
        MatchDeclaration(declaration_id="CNIM-1", certificate_number=NUMBER, created_at=AT + HOUR),
        MakeDocuments(certificate_number=NUMBER, version=2, created_at=AT + 2 * HOUR),
    ]
    uow = units()
    for message in reversed(messages):
        uow.outbox.add(message)
    uow.commit()
    # (read as the relay reads them: the message as stored, with where it is stored)
    outgoing = [replace(message.outgoing(), record_key=outbox_key(message)) for message in messages]
    assert units().outbox.unpublished_before(AT + 2 * HOUR, limit=10) == outgoing[:2]
    assert units().outbox.unpublished_before(AT + 10 * HOUR, limit=1) == outgoing[:1]
    # When the second is noted published, twice (the relay and reconciliation both)
    for _ in range(2):
        published = units()
        published.outbox.published(outgoing[1])
        published.commit()
    # Then the others are unpublished, and its record still carries it
    assert units().outbox.unpublished_before(AT + 10 * HOUR, limit=10) == [outgoing[0], outgoing[2]]
    item = units.table.get(outbox_key(messages[1]))
    assert item is not None
    assert outgoing_of(item) == outgoing[1]


def test_a_message_never_written_cannot_be_noted_published(units: Units) -> None:
    # Given an empty outbox
    message = MakeDocuments(certificate_number=NUMBER, version=1, created_at=AT)
    # When the message is noted published where its record would be
    uow = units()
    uow.outbox.published(replace(message.outgoing(), record_key=outbox_key(message)))
    names = refusal(uow)
    # Then the note is refused by its id, and no record appears
    assert names == {("published", message.message_id)}
    assert units.table.get(outbox_key(message)) is None


def test_only_a_message_read_from_its_outbox_record_can_be_noted_published(units: Units) -> None:
    message = MakeDocuments(certificate_number=NUMBER, version=1, created_at=AT)

    with pytest.raises(ValueError, match="not read from an outbox record"):
        units().outbox.published(message.outgoing())


# -- redrive jobs --------------------------------------------------------------------------------------------------


def stored_job(units: Units, job_id: str, queue: RedriveQueue, at: datetime) -> RedriveJob:
    job = RedriveJob.start(job_id, queue, "ops", at)
    uow = units()
    uow.redrives.add(job)
    uow.commit()
    return job


def test_a_started_redrive_reads_back_and_is_listed_newest_first_and_running_oldest_first(units: Units) -> None:
    # Given three jobs started a minute apart
    jobs = [stored_job(units, f"RD-{n}", RedriveQueue.DELIVERIES, AT + n * timedelta(minutes=1)) for n in range(3)]
    uow = units()
    # Then each reads back; the recent ones come newest first, the running ones oldest first
    assert [uow.redrives.get(job.id) for job in jobs] == jobs
    assert [job.id for job in uow.redrives.recent(2)] == ["RD-2", "RD-1"]
    assert [job.id for job in uow.redrives.running(10)] == ["RD-0", "RD-1", "RD-2"]
    assert uow.redrives.get("RD-9") is None


def test_a_finished_redrive_is_no_longer_running_and_still_listed(units: Units) -> None:
    job = stored_job(units, "RD-1", RedriveQueue.NOTIFICATIONS, AT)
    uow = units()
    uow.redrives.replace(job, job.finished(AT + HOUR))
    uow.commit()

    reader = units()
    assert reader.redrives.running(10) == []
    assert [listed.status for listed in reader.redrives.recent(10)] == [RedriveStatus.DONE]


def test_a_page_recorded_from_a_stale_read_of_its_job_is_refused_with_what_it_kept(units: Units) -> None:
    # Given a job another run recorded a page of since this one read it
    job = stored_job(units, "RD-1", RedriveQueue.DECLARATIONS, AT)
    other = units()
    other.redrives.replace(job, job.paged(PageWorked(moved=10), AT))
    other.commit()
    # When this run records its own page, with the letter it kept
    kept = KeptLetter.of(job, Letter("m-1", "{", {"kind": "x"}), Disposition.QUARANTINED, "not JSON", AT)
    uow = units()
    uow.redrives.keep(kept)
    uow.redrives.replace(job, job.paged(PageWorked(kept=[kept]), AT))
    names = refusal(uow)
    # Then it is refused by the job, and the letter is not stored either
    assert names == {("redrive", "RD-1")}
    reader = units()
    assert reader.redrives.kept("RD-1") == []
    stored = reader.redrives.get("RD-1")
    assert stored is not None
    assert (stored.moved, stored.quarantined_count) == (10, 0)


def test_a_letter_kept_again_replaces_itself(units: Units) -> None:
    job = stored_job(units, "RD-1", RedriveQueue.DELIVERIES, AT)
    for reason in ("first", "again"):
        uow = units()
        uow.redrives.keep(KeptLetter.of(job, Letter("m-1", "{", {}), Disposition.QUARANTINED, reason, AT))
        uow.commit()

    assert [(kept.message_id, kept.reason) for kept in units().redrives.kept("RD-1")] == [("m-1", "again")]


# -- one commit ----------------------------------------------------------------------------------------------------


def test_when_one_write_is_refused_no_write_of_the_commit_is_stored(units: Units) -> None:
    # Given a counter another request advanced after this one read it
    other = units()
    other.counters.advance(NumberCounter(issuing_body=ISSUER.id, year=2026, last=0))
    other.commit()
    # When this request stages a certificate, its delivery, an outbox message and the stale counter
    issue = issued(NUMBER)
    delivery = certificate_delivery(NUMBER)
    uow = units()
    uow.counters.advance(NumberCounter(issuing_body=ISSUER.id, year=2026, last=0))
    uow.certificates.add(issue)
    uow.deliveries.add(delivery)
    documents = MakeDocuments(certificate_number=NUMBER, version=1, created_at=AT)
    uow.outbox.add(documents)
    names = refusal(uow)
    # Then only the counter is named, and none of the other writes is stored
    assert names == {("counter", f"{ISSUER.id}/2026")}
    reader = units()
    assert (reader.certificates.get(NUMBER), reader.certificates.history(NUMBER)) == (None, [])
    assert (reader.deliveries.get(delivery.message), reader.counters.get(ISSUER.id, 2026).last) == (None, 1)
    outbox_key = outbox_item(documents)
    assert units.table.get((str(outbox_key["pk"]), str(outbox_key["sk"]))) is None


def test_a_commit_clears_the_writes_it_stored(units: Units) -> None:
    # Given a unit of work that committed a new declaration
    declaration = lodged(CN)
    uow = units()
    uow.declarations.add(declaration)
    uow.commit()
    # When it commits again with nothing staged
    uow.commit()
    # Then nothing is written again (the add would be refused) and the declaration is stored once
    assert units().declarations.get(declaration.id) == declaration


def test_a_refused_commit_clears_the_writes_it_refused(units: Units) -> None:
    # Given a unit of work whose commit was refused
    declaration = lodged(CN)
    first = units()
    first.declarations.add(declaration)
    first.commit()
    uow = units()
    uow.declarations.add(declaration)
    uow.deliveries.add(certificate_delivery(NUMBER))
    with pytest.raises(Refused):
        uow.commit()
    # When it stages another write and commits
    counter = uow.counters.advance(uow.counters.get(ISSUER.id, 2026))
    uow.commit()
    # Then only that write is stored
    reader = units()
    assert reader.counters.get(ISSUER.id, 2026) == counter
    assert reader.deliveries.get(certificate_delivery(NUMBER).message) is None


def test_a_rollback_forgets_the_staged_writes(units: Units) -> None:
    # Given a unit of work with staged writes
    uow = units()
    uow.declarations.add(lodged(CN))
    uow.counters.advance(uow.counters.get(ISSUER.id, 2026))
    # When it rolls back, then commits
    uow.rollback()
    uow.commit()
    # Then nothing was stored
    reader = units()
    assert (reader.declarations.get(lodged(CN).id), reader.counters.get(ISSUER.id, 2026).last) == (None, 0)


# -- idempotent requests ----------------------------------------------------------------------------------------------


def test_the_first_commit_of_an_idempotent_request_stores_its_answer(units: Units) -> None:
    # Given an idempotent request that stages a declaration
    uow = units(request("key-1"))
    uow.declarations.add(lodged(CN))
    # When it commits, answering
    uow.commit(answering="first")
    # Then its answer is stored under the party and key, for a day
    assert units().answers.get(KAURI.id, "key-1") == IdempotencyRecord(
        party_id=KAURI.id,
        key="key-1",
        request_digest="digest-of-the-request",
        answer={"result": "first"},
        created_at=AT,
        expires_at=AT + IDEMPOTENCY_WINDOW,
    )


def test_a_second_commit_with_the_same_key_is_already_answered_and_stores_nothing(units: Units) -> None:
    # Given a request answered under a key
    first = units(request("key-1"))
    first.commit(answering="first")
    stored = units().answers.get(KAURI.id, "key-1")
    # When another request of the same party under the same key stages writes and commits
    declaration = lodged(CN)
    uow = units(request("key-1", request_digest="another-request"))
    uow.declarations.add(declaration)
    with pytest.raises(AlreadyAnswered) as answered:
        uow.commit(answering="second")
    # Then it carries the first record, and none of its writes is stored
    assert answered.value.record == stored
    reader = units()
    assert (reader.declarations.get(declaration.id), reader.answers.get(KAURI.id, "key-1")) == (None, stored)


def test_the_same_key_of_another_party_is_another_request(units: Units) -> None:
    # Given one party's request answered under a key
    mine = units(request("key-1"))
    mine.commit(answering="mine")
    # When another party commits under the same key
    theirs = units(request("key-1", party_id=TUI.id))
    theirs.commit(answering="theirs")
    # Then each party has its own answer
    reader = units()
    answers = [reader.answers.get(party_id, "key-1") for party_id in (KAURI.id, TUI.id)]
    assert [record.answer if record else None for record in answers] == [{"result": "mine"}, {"result": "theirs"}]


def test_an_answer_past_its_expiry_counts_as_gone(units: Units) -> None:
    # Given a request answered under a key a day and a second ago
    first = units(request("key-1"))
    first.commit(answering="first")
    units.clock.advance(IDEMPOTENCY_WINDOW + timedelta(seconds=1))
    # When a request commits under the same key
    uow = units(request("key-1"))
    uow.declarations.add(lodged(CN))
    uow.commit(answering="again")
    # Then it is answered anew: its own answer and writes are stored
    reader = units()
    record = reader.answers.get(KAURI.id, "key-1")
    assert record is not None
    assert (record.answer, record.created_at) == ({"result": "again"}, units.clock.now())
    assert reader.declarations.get(lodged(CN).id) == lodged(CN)


def test_an_idempotent_commit_without_an_answer_stores_no_record(units: Units) -> None:
    # Given an idempotent request that stages a declaration
    uow = units(request("key-1"))
    uow.declarations.add(lodged(CN))
    # When it commits without answering
    uow.commit()
    # Then its writes are stored, and no answer
    reader = units()
    assert (reader.declarations.get(lodged(CN).id), reader.answers.get(KAURI.id, "key-1")) == (lodged(CN), None)


def test_an_answer_to_a_request_that_is_not_idempotent_is_not_stored(units: Units) -> None:
    # Given a unit of work of a request without an idempotency key
    uow = units()
    # When it commits answering
    uow.commit(answering="ignored")
    # Then no answer is stored for any key of the party
    assert units().answers.get(KAURI.id, "key-1") is None


def test_a_refused_idempotent_commit_stores_no_answer(units: Units) -> None:
    # Given a declaration stored
    declaration = lodged(CN)
    first = units()
    first.declarations.add(declaration)
    first.commit()
    # When an idempotent request with a fresh key adds it again
    uow = units(request("key-1"))
    uow.declarations.add(declaration)
    with pytest.raises(Refused) as refused:
        uow.commit(answering="second")
    # Then the commit is refused by the declaration only (and its first revision), and no answer is stored
    assert refused.value.names == {("declaration", declaration.id), ("revision", f"{declaration.id}#1")}
    assert units().answers.get(KAURI.id, "key-1") is None


# -- listing certificates -------------------------------------------------------------------------------------------

A, B, C, D, E = "11.2026.00001", "11.2026.00002", "22.2026.00001", "11.2025.00007", "22.2024.00003"


@pytest.fixture
def listed(units: Units) -> None:
    """Five certificates over three years, two issuing bodies, two exporters, consignees in two countries (the
    goods all imported into China); C revoked.

    | number | issued | issuing body | exporter | consignee in | importing country | status |
    | A 11.2026.00001 | 2026-11-20 | akl | Kauri | CN | CN | ISSUED |
    | B 11.2026.00002 | 2026-11-21 | akl | Tui | AU | CN | ISSUED |
    | C 22.2026.00001 | 2026-11-22 | wlg | Kauri | CN | CN | REVOKED |
    | D 11.2025.00007 | 2025-06-10 | akl | Kauri | AU | CN | ISSUED |
    | E 22.2024.00003 | 2024-03-05 | wlg | Tui | CN | CN | ISSUED |
    """
    revoked = issued(C, on=date(2026, 11, 22), issuer=OTHER_ISSUER)
    uow = units()
    for issue in (
        # D and E are submitted on the day they are dated: by the clock's day their year of validity has ended.
        issued(D, on=date(2025, 6, 10), for_an_australian_buyer=True, at=noon_in_new_zealand(date(2025, 6, 10))),
        issued(A),
        Issue(revoked.record.model_copy(update={"status": CertificateStatus.REVOKED}), revoked.event),
        issued(E, on=date(2024, 3, 5), issuer=OTHER_ISSUER, exporter=TUI, at=noon_in_new_zealand(date(2024, 3, 5))),
        issued(B, on=date(2026, 11, 21), exporter=TUI, for_an_australian_buyer=True),
    ):
        uow.certificates.add(issue)
    uow.commit()


def noon_in_new_zealand(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=NEW_ZEALAND)


def numbers(records: Sequence[CertificateRecord]) -> list[str]:
    return [record.number for record in records]


def every_page(units: Units, constraints: ListingConstraints, limit: int) -> list[str]:
    """The numbers of every page of a listing, following each page's cursor until there is none."""
    found: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        page = units().certificates.page(constraints, limit, cursor)
        found.extend(record.number for record in page.records)
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("the pages never ended")


LISTINGS: dict[str, tuple[ListingConstraints, list[str]]] = {
    "everything": (ListingConstraints(), [C, B, A, D, E]),
    "by issuing body": (ListingConstraints(issuing_body=ISSUER.id), [B, A, D]),
    "by exporter": (ListingConstraints(exporter_business_number=str(TUI.business_number)), [B, E]),
    # Every certificate is for import into China, wherever its consignee is.
    "by importing country": (ListingConstraints(importing_country="CN"), [C, B, A, D, E]),
    "by another importing country": (ListingConstraints(importing_country="AU"), []),
    "by status": (ListingConstraints(status=CertificateStatus.REVOKED), [C]),
    "by issue dates": (ListingConstraints(issued_from=date(2025, 1, 1), issued_to=date(2026, 11, 21)), [B, A, D]),
    "by one issue day": (ListingConstraints(issued_from=date(2026, 11, 21), issued_to=date(2026, 11, 21)), [B]),
    "by issuing body and country": (ListingConstraints(issuing_body=ISSUER.id, importing_country="CN"), [B, A, D]),
    "by exporter and status": (
        ListingConstraints(exporter_business_number=str(KAURI.business_number), status=CertificateStatus.ISSUED),
        [A, D],
    ),
    "by issuing body, from a day": (
        ListingConstraints(issuing_body=OTHER_ISSUER.id, issued_from=date(2025, 1, 1)),
        [C],
    ),
    "nothing matches": (ListingConstraints(issuing_body="nobody"), []),
}

# Listings walked page by page: every way a listing is planned (the year walk, each index, a filter, a range).
PAGED = {
    case: LISTINGS[case]
    for case in (
        "everything",
        "by issuing body",
        "by importing country",
        "by status",
        "by issue dates",
        "by exporter and status",
    )
}


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize(("constraints", "expected"), LISTINGS.values(), ids=LISTINGS.keys())
def test_a_listing_gives_the_certificates_meeting_every_constraint_newest_first(
    units: Units, constraints: ListingConstraints, expected: list[str]
) -> None:
    # Given five certificates
    # When they are listed under constraints, all on one page
    page = units().certificates.page(constraints, 10, None)
    # Then those meeting every constraint come back, latest issue date first, and no cursor
    assert (numbers(page.records), page.next_cursor) == (expected, None)


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("limit", [1, 2])
@pytest.mark.parametrize(("constraints", "expected"), PAGED.values(), ids=PAGED.keys())
def test_pages_of_a_listing_joined_by_cursors_give_every_certificate_once(
    units: Units, constraints: ListingConstraints, expected: list[str], limit: int
) -> None:
    # Given five certificates
    # When they are listed page after page
    found = every_page(units, constraints, limit)
    # Then every certificate meeting the constraints comes back once, in order
    assert found == expected


@pytest.mark.usefixtures("listed")
def test_a_page_holds_at_most_the_limit(units: Units) -> None:
    # Given five certificates
    # When two are listed
    page = units().certificates.page(ListingConstraints(), 2, None)
    # Then the two latest come back, with a cursor to the rest
    assert numbers(page.records) == [C, B]
    assert page.next_cursor is not None


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("cursor", ["not a cursor", "eyJwIjoiMjAyNiJ9", ""], ids=["garbage", "no key", "empty"])
def test_a_cursor_this_api_did_not_issue_is_invalid(units: Units, cursor: str) -> None:
    # Given five certificates
    # When a listing is asked to start from a cursor it did not issue
    # Then it refuses the cursor
    with pytest.raises(InvalidCursor):
        units().certificates.page(ListingConstraints(), 2, cursor)


@pytest.mark.usefixtures("listed")
def test_a_cursor_of_another_listing_is_invalid(units: Units) -> None:
    # Given a cursor issued for one issuing body's listing
    cursor = units().certificates.page(ListingConstraints(issuing_body=ISSUER.id), 1, None).next_cursor
    assert cursor is not None
    # When another issuing body's listing is asked to start from it
    # Then it refuses the cursor
    with pytest.raises(InvalidCursor):
        units().certificates.page(ListingConstraints(issuing_body=OTHER_ISSUER.id), 1, cursor)


class CountingTable:
    """The table it wraps, counting the queries asked of it."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self.queries = 0

    def get(self, key: Key) -> Item | None:
        return self._table.get(key)

    def query(self, query: Query) -> Page:
        self.queries += 1
        return self._table.query(query)

    def write(self, writes: Sequence[Write]) -> None:
        self._table.write(writes)


def test_an_issue_date_range_of_centuries_queries_only_the_years_a_certificate_can_be_dated_in(
    table: Table, clock: FixedClock
) -> None:
    # Given an empty table, on 25 November 2026 in New Zealand
    counting = CountingTable(table)
    # When every certificate issued from 1800 to 2400 is listed (no issuing body, exporter or country: the year walk)
    page = Units(counting, clock)().certificates.page(
        ListingConstraints(issued_from=date(1800, 1, 1), issued_to=date(2400, 12, 31)), 100, None
    )
    # Then the walk asks only for the years from the FTA's entry into force (2008) to this one: 19, not 601
    assert (numbers(page.records), page.next_cursor, counting.queries) == ([], None, 2026 - 2008 + 1)


def test_a_certificate_dated_on_new_years_day_in_new_zealand_is_listed_while_it_is_still_the_old_year_in_utc(
    table: Table,
) -> None:
    # Given a certificate dated 1 January 2027, submitted at 01:00 that day in New Zealand (still 2026 in UTC)
    new_year = noon_in_new_zealand(date(2027, 1, 1)).replace(hour=1)
    units = Units(table, FixedClock(new_year.astimezone(UTC)))
    uow = units()
    uow.certificates.add(issued(A, on=date(2027, 1, 1), at=new_year))
    uow.commit()
    # When everything is listed
    page = units().certificates.page(ListingConstraints(), 10, None)
    # Then it is: the year walk starts from the year it is in New Zealand
    assert numbers(page.records) == [A]


# -- China's circuit breaker --------------------------------------------------------------------------------------


def test_a_wait_on_the_circuit_notes_the_delivery_seen_and_is_refused_once_it_settled(
    units: Units, pending: list[Delivery]
) -> None:
    oldest = pending[0]
    uow = units()
    uow.deliveries.waited(oldest, AT + 5 * HOUR)
    uow.commit()
    assert units().deliveries.pending_before(AT + 4 * HOUR, limit=10) == pending[1:]

    delivered = oldest.attempted(Decision(Outcome.DELIVERED, "accepted (201)", receipt_id="R1"), AT, give_up=False)
    uow = units()
    uow.deliveries.replace(oldest, delivered)
    uow.commit()
    late = units()
    late.deliveries.waited(oldest, AT + 6 * HOUR)
    assert refusal(late) == {("waited", oldest.idempotency_key)}


def test_the_circuit_is_stored_once_then_only_over_the_revision_read(units: Units) -> None:
    policy = CircuitPolicy()
    closed = Circuit.closed(CHINA_CUSTOMS)
    first = closed.failed(AT, "HTTP 503", policy, probe=False)
    uow = units()
    uow.circuits.put(None, first)
    uow.commit()
    assert units().circuits.get(CHINA_CUSTOMS) == first

    # Two dispatchers read revision 1; the first to store wins, the other is refused by name.
    ours, theirs = units(), units()
    ours.circuits.put(first, first.failed(AT, "HTTP 503", policy, probe=False))
    ours.commit()
    theirs.circuits.put(first, first.answered())
    assert refusal(theirs) == {("circuit", CHINA_CUSTOMS)}
    again = units()
    again.circuits.put(None, closed)
    assert refusal(again) == {("circuit", CHINA_CUSTOMS)}
    stored = units().circuits.get(CHINA_CUSTOMS)
    assert stored is not None
    assert (stored.consecutive_failures, stored.revision) == (2, 2)
