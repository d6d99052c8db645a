"""Goods registrations and signatories (DESIGN.md §1–3): the issuing body's decision is once only (DESIGN.md §3). A
second decision, whatever it says, is a conflict naming the first, and the stored record keeps the first: through
the aggregates (``GoodsRegistration.decided``, ``Signatory.decided``) and through ``decide_registration`` over
the records table in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.domain.errors import Conflict
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.registrations import (
    ApprovalDecision,
    GoodsLodgement,
    GoodsRegistration,
    RegistrationStatus,
    Signatory,
    SignatoryLodgement,
    Verdict,
)
from jevs.service.registrations import (
    DecideRegistration,
    LodgeRegistration,
    Registration,
    RegistrationType,
    decide_registration,
    lodge_registration,
)
from tests.factories import goods_payload, registered_clients, signatory_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import RivalFirst, party

pytestmark = pytest.mark.unit

EXPORTER, ISSUER = party("local-kauri-dairy"), party("local-akl-chamber")
REGISTRY = StaticPartyRegistry(list(registered_clients()))
# Tuesday 24 November 2026, 10:00 in Auckland.
LODGED_AT = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
FIRST_DECIDED_AT = LODGED_AT + timedelta(hours=1)
SECOND_DECIDED_AT = LODGED_AT + timedelta(hours=3)
KINDS: list[RegistrationType] = [GoodsRegistration, Signatory]


def approval(kind: RegistrationType) -> ApprovalDecision:
    """An approval as each kind takes it: goods until a date, a signatory with none."""
    if kind is GoodsRegistration:
        until = new_zealand_date(LODGED_AT) + timedelta(days=365)
        return ApprovalDecision(decision=Verdict.APPROVED, valid_until=until)
    return ApprovalDecision(decision=Verdict.APPROVED)


REFUSAL = ApprovalDecision(decision=Verdict.REFUSED, reasons=["The evidence does not show the origin"])


def decisions(kind: RegistrationType) -> dict[Verdict, ApprovalDecision]:
    return {Verdict.APPROVED: approval(kind), Verdict.REFUSED: REFUSAL}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(LODGED_AT)


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    return MemoryRecords(clock)


def lodged(records: MemoryRecords, kind: RegistrationType) -> Registration:
    """Goods, or a signatory, the demo exporter lodged with the Auckland chamber."""
    what = (
        GoodsLodgement.model_validate(goods_payload())
        if kind is GoodsRegistration
        else SignatoryLodgement.model_validate(signatory_payload())
    )
    return lodge_registration(LodgeRegistration(EXPORTER, what), records.uow(), REGISTRY)


def decide(records: MemoryRecords, record: Registration, decision: ApprovalDecision) -> Registration:
    return decide_registration(DecideRegistration(ISSUER, type(record), record.id, decision), records.uow())


def stored(records: MemoryRecords, record: Registration) -> Registration:
    found = records.uow().registrations.get(record.id)
    assert found is not None
    return found


# -- the aggregates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
@pytest.mark.parametrize("first", list(Verdict), ids=["approved", "refused"])
def test_a_first_decision_records_its_verdict_who_and_when(
    records: MemoryRecords, kind: RegistrationType, first: Verdict
) -> None:
    record = lodged(records, kind)

    decided = record.decided(decisions(kind)[first], ISSUER.id, FIRST_DECIDED_AT).record

    assert (decided.status, decided.decided_by, decided.decided_at) == (
        RegistrationStatus(first.value),
        ISSUER.id,
        FIRST_DECIDED_AT,
    )


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
@pytest.mark.parametrize("first", list(Verdict), ids=["approved", "refused"])
@pytest.mark.parametrize("second", list(Verdict), ids=["then approved", "then refused"])
def test_a_decided_record_takes_no_second_decision_and_names_the_first(
    records: MemoryRecords, kind: RegistrationType, first: Verdict, second: Verdict
) -> None:
    # Given a record the Auckland chamber decided
    decided = lodged(records, kind).decided(decisions(kind)[first], ISSUER.id, FIRST_DECIDED_AT).record
    # When it is decided again, whatever the verdict
    with pytest.raises(Conflict) as raised:
        decided.decided(decisions(kind)[second], ISSUER.id, SECOND_DECIDED_AT)
    # Then it is a conflict naming the first decision: what, by whom, when
    assert raised.value.code == "already-decided"
    assert f"{first.value} by {ISSUER.id} at {FIRST_DECIDED_AT.isoformat()}" in raised.value.detail


# -- through the use case ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
def test_approving_an_approved_record_is_a_conflict_naming_the_first_approval(
    records: MemoryRecords, clock: FixedClock, kind: RegistrationType
) -> None:
    # Given a record the Auckland chamber approved an hour after lodgement
    record = lodged(records, kind)
    clock.current = FIRST_DECIDED_AT
    decide(records, record, approval(kind))
    # When it approves it again later
    clock.current = SECOND_DECIDED_AT
    with pytest.raises(Conflict) as raised:
        decide(records, record, approval(kind))
    # Then the second approval is refused, naming the first: by whom and when
    assert raised.value.code == "already-decided"
    assert ISSUER.id in raised.value.detail
    assert FIRST_DECIDED_AT.isoformat() in raised.value.detail


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
def test_approving_a_refused_record_is_a_conflict_naming_the_refusal(
    records: MemoryRecords, clock: FixedClock, kind: RegistrationType
) -> None:
    record = lodged(records, kind)
    clock.current = FIRST_DECIDED_AT
    decide(records, record, REFUSAL)
    clock.current = SECOND_DECIDED_AT

    with pytest.raises(Conflict) as raised:
        decide(records, record, approval(kind))

    assert raised.value.code == "already-decided"
    assert f"REFUSED by {ISSUER.id} at {FIRST_DECIDED_AT.isoformat()}" in raised.value.detail


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
def test_refusing_an_approved_record_is_refused_and_the_stored_record_is_unchanged(
    records: MemoryRecords, clock: FixedClock, kind: RegistrationType
) -> None:
    # Given an approved record, as stored
    record = lodged(records, kind)
    clock.current = FIRST_DECIDED_AT
    approved = decide(records, record, approval(kind))
    commits = records.table.commits
    # When the issuing body refuses it afterwards
    clock.current = SECOND_DECIDED_AT
    with pytest.raises(Conflict) as raised:
        decide(records, record, REFUSAL)
    # Then the refusal is a conflict, nothing is written, and the record stays approved as first decided
    assert raised.value.code == "already-decided"
    assert records.table.commits == commits
    assert stored(records, record) == approved
    assert stored(records, record).status is RegistrationStatus.APPROVED


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
def test_two_decisions_racing_store_only_the_first(
    records: MemoryRecords, clock: FixedClock, kind: RegistrationType
) -> None:
    # Given a lodged record, and a refusal that commits while an approval of it is being staged
    record = lodged(records, kind)
    clock.current = FIRST_DECIDED_AT
    refusals: list[Registration] = []

    def rival() -> None:
        refusals.append(decide(records, record, REFUSAL))

    racing = DecideRegistration(ISSUER, kind, record.id, approval(kind))
    # When the approval commits after the refusal was stored
    with pytest.raises(Conflict) as raised:
        decide_registration(racing, RivalFirst(records, rival))
    # Then the approval is refused as already decided, and the stored record is the refusal
    assert raised.value.code == "already-decided"
    (refused,) = refusals
    assert stored(records, record) == refused


@pytest.mark.parametrize("kind", KINDS, ids=["goods", "signatory"])
def test_the_decision_that_lost_a_race_names_the_first_decision(
    records: MemoryRecords, clock: FixedClock, kind: RegistrationType
) -> None:
    # Given a refusal that commits while an approval of the same record is being staged
    record = lodged(records, kind)
    clock.current = FIRST_DECIDED_AT

    def rival() -> None:
        decide(records, record, REFUSAL)

    racing = DecideRegistration(ISSUER, kind, record.id, approval(kind))
    # When the approval commits, Then its conflict names the decision that was first, as any second decision's does
    with pytest.raises(Conflict) as raised:
        decide_registration(racing, RivalFirst(records, rival))
    assert f"REFUSED by {ISSUER.id} at {FIRST_DECIDED_AT.isoformat()}" in raised.value.detail
