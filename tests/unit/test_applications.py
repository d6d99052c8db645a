"""Hosted issuing's rules with in-memory ports and a clock that moves (DESIGN §2, §3): the registrations an
application may quote, its due time, and the numbers certification allocates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from jevs.domain.hosted_issuing import (
    NEW_ZEALAND,
    certificate_number,
    certify_application,
    decide_goods,
    decide_signatory,
    lodge_application,
    lodge_registration,
    withdraw_application,
)
from jevs.domain.ports import HostedRecord
from jevs.domain.records import CertificateRecord, StoredAnswer
from jevs.domain.registrations import ApprovalDecision, GoodsLodgement, SignatoryLodgement, Verdict
from tests.factories import application_payload, goods_payload, registered_clients, signatory_payload
from tests.fakes import FixedClock, InMemoryCertificateStore
from tests.unit.support import party

pytestmark = pytest.mark.unit

EXPORTER, ISSUER, OTHER = party("local-kauri-dairy"), party("local-akl-chamber"), party("local-tui-wines")
# Tuesday 24 November 2026, 10:00 in Auckland.
TUESDAY_MORNING = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY_MORNING)


@pytest.fixture
def store() -> InMemoryCertificateStore:
    return InMemoryCertificateStore()


REGISTRY = StaticPartyRegistry(list(registered_clients()))


def created(record: HostedRecord) -> StoredAnswer:
    return StoredAnswer(status_code=201, body={"id": record.id})


def certificate_answer(record: CertificateRecord, created: bool) -> StoredAnswer:
    return StoredAnswer(status_code=201, body={"number": record.number})


def goods(store: InMemoryCertificateStore, clock: FixedClock, *, until_days: int = 30, by: Any = EXPORTER) -> str:
    lodged = lodge_registration(
        party=by,
        lodged=GoodsLodgement.model_validate(goods_payload()),
        idempotency_key=f"g-{len(store.hosted)}",
        store=store,
        parties=REGISTRY,
        clock=clock,
        answer_for=created,
    )
    registration_id = str(lodged.answer.body["id"])
    today = clock.now().astimezone(NEW_ZEALAND).date()
    decision = ApprovalDecision(decision=Verdict.APPROVED, valid_until=today + timedelta(days=until_days))
    decide_goods(party=ISSUER, registration_id=registration_id, decision=decision, store=store, clock=clock)
    return registration_id


def signatory(store: InMemoryCertificateStore, clock: FixedClock, *, approve: bool = True) -> str:
    lodged = lodge_registration(
        party=EXPORTER,
        lodged=SignatoryLodgement.model_validate(signatory_payload()),
        idempotency_key=f"s-{len(store.hosted)}",
        store=store,
        parties=REGISTRY,
        clock=clock,
        answer_for=created,
    )
    signatory_id = str(lodged.answer.body["id"])
    if approve:
        decide_signatory(
            party=ISSUER,
            signatory_id=signatory_id,
            decision=ApprovalDecision(decision=Verdict.APPROVED),
            store=store,
            clock=clock,
        )
    return signatory_id


def apply(
    store: InMemoryCertificateStore, clock: FixedClock, signatory_id: str, registration_ids: list[str]
) -> Application:
    payload = application_payload(signatory_id, registration_ids)
    payload["transport"]["departure_date"] = "2026-11-24"
    lodged = lodge_application(
        party=EXPORTER,
        lodged=ApplicationLodgement.model_validate(payload),
        idempotency_key=f"a-{len(store.hosted)}",
        store=store,
        parties=REGISTRY,
        clock=clock,
        answer_for=created,
    )
    application = store.get_application(str(lodged.answer.body["id"]))
    assert application is not None
    return application


def test_an_application_is_due_one_auckland_working_day_after_lodgement(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    application = apply(store, clock, signatory(store, clock), [goods(store, clock)])

    assert application.status is ApplicationStatus.SUBMITTED
    assert application.due_at == TUESDAY_MORNING + timedelta(days=1)
    assert application.applicant_email == "aroha.ngata@kauri-dairy.example.nz"


def test_an_application_lodged_before_auckland_anniversary_day_is_due_after_it(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    # Given goods and a signatory approved in time, and a lodgement on Friday 29 January 2027 at 10:00
    registration, signer = goods(store, clock, until_days=120), signatory(store, clock)
    clock.current = datetime(2027, 1, 28, 21, 0, tzinfo=UTC)
    # When the application is lodged with the Auckland chamber (Monday 1 February is Auckland Anniversary Day)
    application = apply(store, clock, signer, [registration])
    # Then it is due on Tuesday 2 February at 10:00
    assert application.due_at == datetime(2027, 2, 1, 21, 0, tzinfo=UTC)


def test_an_application_quoting_an_expired_registration_is_refused(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    registration, signer = goods(store, clock, until_days=3), signatory(store, clock)
    clock.advance(timedelta(days=4))

    with pytest.raises(RuleViolation, match="approval ended on"):
        apply(store, clock, signer, [registration])


def test_certification_refuses_a_registration_that_expired_since_lodgement(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    application = apply(store, clock, signatory(store, clock), [goods(store, clock, until_days=0)])
    clock.advance(timedelta(days=1))

    with pytest.raises(RuleViolation, match="approval ended on"):
        certify_application(
            party=ISSUER,
            application_id=application.id,
            idempotency_key="c",
            store=store,
            clock=clock,
            answer_for=certificate_answer,
        )
    assert store.records == {}


def test_an_unapproved_signatory_and_another_exporters_goods_are_refused_together(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    with pytest.raises(RuleViolation) as refused:
        apply(store, clock, signatory(store, clock, approve=False), [goods(store, clock, by=OTHER)])

    fields = {error.field for error in refused.value.errors}
    assert fields == {"signatory_id", "items[0].goods_registration_id"}


def test_certified_numbers_follow_each_other_and_never_repeat(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    registration, signer = goods(store, clock), signatory(store, clock)
    numbers = []
    for _ in range(3):
        application = apply(store, clock, signer, [registration])
        result = certify_application(
            party=ISSUER,
            application_id=application.id,
            idempotency_key=f"c-{application.id}",
            store=store,
            clock=clock,
            answer_for=certificate_answer,
        )
        numbers.append(result.answer.body["number"])

    assert numbers == ["11.2026.00001", "11.2026.00002", "11.2026.00003"]
    certified = store.records["11.2026.00001"]
    assert certified.application_id is not None
    assert certified.content.items[0].hs_code == "040221"


def test_only_the_exporter_withdraws_and_only_before_a_decision(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    application = apply(store, clock, signatory(store, clock), [goods(store, clock)])

    with pytest.raises(Forbidden):
        withdraw_application(party=ISSUER, application_id=application.id, store=store, clock=clock)
    with pytest.raises(NotFound):
        withdraw_application(party=OTHER, application_id=application.id, store=store, clock=clock)
    withdrawn = withdraw_application(party=EXPORTER, application_id=application.id, store=store, clock=clock)
    assert withdrawn.status is ApplicationStatus.WITHDRAWN
    with pytest.raises(Conflict):
        withdraw_application(party=EXPORTER, application_id=application.id, store=store, clock=clock)


@pytest.mark.parametrize(("serial", "number"), [(1, "11.2026.00001"), (99_999, "11.2026.99999")])
def test_a_certificate_number_is_prefix_year_and_serial(serial: int, number: str) -> None:
    assert certificate_number("11", 2026, serial) == number


def test_a_year_holds_at_most_99999_numbers() -> None:
    with pytest.raises(RuleViolation):
        certificate_number("11", 2026, 100_000)
