"""Hosted issuing's applications (DESIGN.md §2, §3): the use cases of ``jevs.service.applications`` over the records
table in memory, with a clock that moves (the registrations an application may quote, its due time, the numbers
certification allocates, withdrawal), and the ``Application`` aggregate's decisions, once only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus, certificate_number
from jevs.domain.errors import Conflict, NotFound, RuleViolation
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.parties import Party
from jevs.domain.registrations import (
    ApprovalDecision,
    GoodsLodgement,
    GoodsRegistration,
    Signatory,
    SignatoryLodgement,
    Verdict,
)
from jevs.service.applications import (
    Certified,
    DecideApplication,
    LodgeApplication,
    certify_application,
    lodge_application,
    withdraw_application,
)
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.registrations import DecideRegistration, LodgeRegistration, decide_registration, lodge_registration
from tests.factories import application_payload, goods_payload, registered_clients, signatory_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import RivalFirst, certificate, certificate_numbers, party, stored_certificate

pytestmark = pytest.mark.unit

EXPORTER, ISSUER, OTHER = party("local-kauri-dairy"), party("local-akl-chamber"), party("local-tui-wines")
# Tuesday 24 November 2026, 10:00 in Auckland.
TUESDAY_MORNING = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)

REGISTRY = StaticPartyRegistry(list(registered_clients()))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY_MORNING)


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    return MemoryRecords(clock)


def goods(records: MemoryRecords, *, until_days: int = 30, by: Party = EXPORTER) -> str:
    """Goods lodged by ``by`` and approved by the Auckland chamber for ``until_days`` days."""
    lodgement = LodgeRegistration(by, GoodsLodgement.model_validate(goods_payload()))
    lodged = lodge_registration(lodgement, records.uow(), REGISTRY)
    today = new_zealand_date(records.clock.now())
    decision = ApprovalDecision(decision=Verdict.APPROVED, valid_until=today + timedelta(days=until_days))
    decide_registration(DecideRegistration(ISSUER, GoodsRegistration, lodged.id, decision), records.uow())
    return lodged.id


def signatory(records: MemoryRecords, *, approve: bool = True) -> str:
    lodgement = LodgeRegistration(EXPORTER, SignatoryLodgement.model_validate(signatory_payload()))
    lodged = lodge_registration(lodgement, records.uow(), REGISTRY)
    if approve:
        decision = ApprovalDecision(decision=Verdict.APPROVED)
        decide_registration(DecideRegistration(ISSUER, Signatory, lodged.id, decision), records.uow())
    return lodged.id


def apply(records: MemoryRecords, signatory_id: str, registration_ids: list[str]) -> Application:
    payload = application_payload(signatory_id, registration_ids)
    payload["transport"]["departure_date"] = "2026-11-24"
    lodgement = LodgeApplication(EXPORTER, ApplicationLodgement.model_validate(payload))
    lodged = lodge_application(lodgement, records.uow(), REGISTRY)
    application = records.uow().applications.get(lodged.id)
    assert application is not None
    return application


def certify(records: MemoryRecords, application: Application) -> Certified:
    return certify_application(DecideApplication(ISSUER, application.id), records.uow())


def test_an_application_is_due_one_auckland_working_day_after_lodgement(records: MemoryRecords) -> None:
    application = apply(records, signatory(records), [goods(records)])

    assert application.status is ApplicationStatus.SUBMITTED
    assert application.due_at == TUESDAY_MORNING + timedelta(days=1)
    assert application.applicant_email == "aroha.ngata@kauri-dairy.example.nz"


def test_an_application_lodged_before_auckland_anniversary_day_is_due_after_it(
    records: MemoryRecords, clock: FixedClock
) -> None:
    # Given goods and a signatory approved in time, and a lodgement on Friday 29 January 2027 at 10:00
    registration, signer = goods(records, until_days=120), signatory(records)
    clock.current = datetime(2027, 1, 28, 21, 0, tzinfo=UTC)
    # When the application is lodged with the Auckland chamber (Monday 1 February is Auckland Anniversary Day)
    application = apply(records, signer, [registration])
    # Then it is due on Tuesday 2 February at 10:00
    assert application.due_at == datetime(2027, 2, 1, 21, 0, tzinfo=UTC)


def test_an_application_quoting_an_expired_registration_is_refused(records: MemoryRecords, clock: FixedClock) -> None:
    registration, signer = goods(records, until_days=3), signatory(records)
    clock.advance(timedelta(days=4))

    with pytest.raises(RuleViolation, match="approval ended on"):
        apply(records, signer, [registration])


def test_certification_refuses_a_registration_that_expired_since_lodgement(
    records: MemoryRecords, clock: FixedClock
) -> None:
    application = apply(records, signatory(records), [goods(records, until_days=0)])
    clock.advance(timedelta(days=1))

    with pytest.raises(RuleViolation, match="approval ended on"):
        certify(records, application)
    assert certificate_numbers(records) == []


def test_an_unapproved_signatory_and_another_exporters_goods_are_refused_together(records: MemoryRecords) -> None:
    with pytest.raises(RuleViolation) as refused:
        apply(records, signatory(records, approve=False), [goods(records, by=OTHER)])

    fields = {error.field for error in refused.value.errors}
    assert fields == {"signatory_id", "items[0].goods_registration_id"}


def test_certified_numbers_follow_each_other_and_never_repeat(records: MemoryRecords) -> None:
    registration, signer = goods(records), signatory(records)
    numbers = []
    for _ in range(3):
        application = apply(records, signer, [registration])
        numbers.append(certify(records, application).submitted.record.number)

    assert numbers == ["11.2026.00001", "11.2026.00002", "11.2026.00003"]
    certified = stored_certificate(records, "11.2026.00001")
    assert certified.application_id is not None
    assert certified.content.items[0].hs_code == "040221"


def test_a_certification_that_lost_the_race_for_a_number_takes_the_next(records: MemoryRecords) -> None:
    # Given two applications, and a certification of the second that commits while the first's is being staged
    registration, signer = goods(records), signatory(records)
    first, second = apply(records, signer, [registration]), apply(records, signer, [registration])
    rivals: list[Certified] = []

    def rival() -> None:
        rivals.append(certify(records, second))

    # When the first certification commits after its rival took the number it had read
    won = certify_application(DecideApplication(ISSUER, first.id), RivalFirst(records, rival))

    # Then the rival keeps its number, the loser takes the next: no gap, no duplicate
    (lost,) = rivals
    assert (lost.submitted.record.number, won.submitted.record.number) == ("11.2026.00001", "11.2026.00002")
    assert certificate_numbers(records) == ["11.2026.00001", "11.2026.00002"]
    assert records.uow().counters.get(ISSUER.id, 2026).last == 2
    assert stored_certificate(records, "11.2026.00002").application_id == first.id
    assert stored_certificate(records, "11.2026.00001").application_id == second.id


def test_a_number_held_by_a_certificate_the_issuing_body_submitted_itself_is_passed_over(
    records: MemoryRecords,
) -> None:
    # Given an application, and a certificate the Auckland chamber submitted from its own system under the
    # number its next certification would take
    application = apply(records, signatory(records), [goods(records)])
    own = certificate(certificate_number="11.2026.00001", issue_date="2026-11-24")
    submit_certificate(SubmitCertificate(ISSUER, own), records.uow())
    # When the application is certified
    certified = certify(records, application)
    # Then it takes the next number, and the submitted certificate keeps its own
    assert certified.submitted.record.number == "11.2026.00002"
    assert stored_certificate(records, "11.2026.00001").application_id is None


def test_a_certification_raced_by_its_own_decision_is_a_conflict_and_issues_nothing_more(
    records: MemoryRecords,
) -> None:
    # Given an application the exporter withdraws while the issuing body's certification is being staged
    application = apply(records, signatory(records), [goods(records)])

    def rival() -> None:
        withdraw_application(DecideApplication(EXPORTER, application.id), records.uow())

    # When the certification commits, Then it is refused as decided meanwhile, and no certificate is stored
    with pytest.raises(Conflict) as raised:
        certify_application(DecideApplication(ISSUER, application.id), RivalFirst(records, rival))
    assert raised.value.code == "application-decided"
    assert certificate_numbers(records) == []
    stored = records.uow().applications.get(application.id)
    assert stored is not None
    assert stored.status is ApplicationStatus.WITHDRAWN


def test_only_the_exporter_withdraws_and_only_before_a_decision(records: MemoryRecords) -> None:
    application = apply(records, signatory(records), [goods(records)])

    with pytest.raises(NotFound):
        withdraw_application(DecideApplication(ISSUER, application.id), records.uow())
    with pytest.raises(NotFound):
        withdraw_application(DecideApplication(OTHER, application.id), records.uow())
    withdrawn = withdraw_application(DecideApplication(EXPORTER, application.id), records.uow())
    assert withdrawn.status is ApplicationStatus.WITHDRAWN
    with pytest.raises(Conflict):
        withdraw_application(DecideApplication(EXPORTER, application.id), records.uow())


@pytest.mark.parametrize(("serial", "number"), [(1, "11.2026.00001"), (99_999, "11.2026.99999")])
def test_a_certificate_number_is_prefix_year_and_serial(serial: int, number: str) -> None:
    assert certificate_number("11", 2026, serial) == number


def test_a_year_holds_at_most_99999_numbers() -> None:
    with pytest.raises(RuleViolation):
        certificate_number("11", 2026, 100_000)


# -- the Application aggregate: every decision once only ------------------------------------------------

DECIDED_AT = TUESDAY_MORNING + timedelta(hours=2)
Decide = Callable[[Application], Application]
DECISIONS: dict[str, Decide] = {
    "certified": lambda application: application.certified("akl-chamber", DECIDED_AT, "11.2026.00001").record,
    "rejected": lambda application: application.rejected("akl-chamber", DECIDED_AT, ["HS code does not match"]).record,
    "withdrawn": lambda application: application.withdrawn("exp-9429041234563", DECIDED_AT).record,
}


@pytest.fixture
def submitted(records: MemoryRecords) -> Application:
    return apply(records, signatory(records), [goods(records)])


@pytest.mark.parametrize(
    ("decide", "status"),
    [
        (DECISIONS["certified"], ApplicationStatus.CERTIFIED),
        (DECISIONS["rejected"], ApplicationStatus.REJECTED),
        (DECISIONS["withdrawn"], ApplicationStatus.WITHDRAWN),
    ],
    ids=["certified", "rejected", "withdrawn"],
)
def test_a_decision_on_an_open_application_records_who_and_when(
    submitted: Application, decide: Decide, status: ApplicationStatus
) -> None:
    decided = decide(submitted)

    assert (decided.status, decided.decided_at, decided.open) == (status, DECIDED_AT, False)
    assert decided.decided_by is not None


@pytest.mark.parametrize("first", list(DECISIONS), ids=list(DECISIONS))
@pytest.mark.parametrize("second", list(DECISIONS), ids=list(DECISIONS))
def test_a_decided_application_takes_no_second_decision(submitted: Application, first: str, second: str) -> None:
    decided = DECISIONS[first](submitted)

    with pytest.raises(Conflict) as raised:
        DECISIONS[second](decided)
    assert raised.value.code == "application-decided"


@pytest.mark.parametrize("first", list(DECISIONS), ids=list(DECISIONS))
def test_a_decided_application_is_never_flagged_past_due(submitted: Application, first: str) -> None:
    decided = DECISIONS[first](submitted)

    with pytest.raises(Conflict) as raised:
        decided.flagged_past_due(decided.due_at + timedelta(hours=1), "jevs-overseer")
    assert raised.value.code == "application-decided"


def test_an_open_application_is_past_due_only_after_its_due_time(submitted: Application) -> None:
    assert not submitted.past_due(submitted.due_at)
    assert submitted.past_due(submitted.due_at + timedelta(seconds=1))


def test_a_decided_application_is_not_past_due(submitted: Application) -> None:
    decided = DECISIONS["rejected"](submitted)

    assert not decided.past_due(decided.due_at + timedelta(days=3))
