"""Goods registrations, signatories and applications each keep a history of their own (DESIGN.md §3): the lodging is
the first event, each decision one more, every event hash-chained with the hash of the record's state after it
(``jevs.domain.record_history``). Any edit, removal or reordering of an event, or an edit of the record itself, is
found, and where: through the aggregates, and through the use cases over the records table in memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.adapters.table import items
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.errors import Conflict, NotFound
from jevs.domain.history import GENESIS_HASH, EventType
from jevs.domain.record_history import Chronicled, Recorded, RecordEvent, record_event, verify_history
from jevs.domain.registrations import (
    ApprovalDecision,
    GoodsLodgement,
    GoodsRegistration,
    RegistrationKind,
    RegistrationStatus,
    Signatory,
    SignatoryLodgement,
    Verdict,
    new_id,
)
from jevs.domain.working_days import due_at
from jevs.service.applications import (
    DecideApplication,
    LodgeApplication,
    RejectApplication,
    certify_application,
    flag_past_due,
    lodge_application,
    read_application_history,
    reject_application,
    withdraw_application,
)
from jevs.service.registrations import (
    DecideRegistration,
    LodgeRegistration,
    RegistrationType,
    decide_registration,
    lodge_registration,
    read_registration_history,
)
from tests.factories import application_payload, goods_payload, registered_clients, signatory_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import OTHER_ISSUING_BODY, RivalFirst, party

pytestmark = pytest.mark.unit

EXPORTER, ISSUER = party("local-kauri-dairy"), party("local-akl-chamber")
OTHER_EXPORTER, NZ_CUSTOMS = party("local-tui-wines"), party("local-nz-customs")
REGISTRY = StaticPartyRegistry(list(registered_clients()))
NZBN = "9429041234563"
# Tuesday 24 November 2026, 10:00 in Auckland.
LODGED_AT = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
DECIDED_AT = LODGED_AT + timedelta(hours=2)
UNTIL = date(2027, 11, 24)


# -- records as lodged, built directly ----------------------------------------------------------------------------


def _common(kind: RegistrationKind) -> dict[str, Any]:
    return {
        "id": new_id(kind, NZBN),
        "exporter": EXPORTER.id,
        "exporter_business_number": NZBN,
        "issuing_body": ISSUER.id,
        "lodged_at": LODGED_AT,
    }


def goods() -> GoodsRegistration:
    return GoodsRegistration.model_validate(
        {
            **_common(RegistrationKind.GOODS),
            "status": RegistrationStatus.LODGED,
            "goods": GoodsLodgement.model_validate(goods_payload()),
        }
    )


def signatory() -> Signatory:
    return Signatory.model_validate(
        {
            **_common(RegistrationKind.SIGNATORY),
            "status": RegistrationStatus.LODGED,
            "person": SignatoryLodgement.model_validate(signatory_payload()),
        }
    )


def application() -> Application:
    payload = application_payload(new_id(RegistrationKind.SIGNATORY, NZBN), [new_id(RegistrationKind.GOODS, NZBN)])
    return Application.model_validate(
        {
            **_common(RegistrationKind.APPLICATION),
            "status": ApplicationStatus.SUBMITTED,
            "due_at": due_at(LODGED_AT, "AUK"),
            "application": ApplicationLodgement.model_validate(payload),
            "applicant_email": "aroha.ngata@kauri-dairy.example.nz",
        }
    )


APPROVE_GOODS = ApprovalDecision(decision=Verdict.APPROVED, valid_until=UNTIL)
APPROVE = ApprovalDecision(decision=Verdict.APPROVED)
REFUSE = ApprovalDecision(decision=Verdict.REFUSED, reasons=["The evidence does not show the origin"])

# Each kind of record, how it is lodged, and each decision it takes, with the event type the decision records.
Decision = Callable[[Any], Recorded[Any]]
DECISIONS: list[tuple[Callable[[], Chronicled], EventType, Decision, EventType]] = [
    (
        goods,
        EventType.GOODS_REGISTRATION_LODGED,
        lambda record: record.decided(APPROVE_GOODS, ISSUER.id, DECIDED_AT),
        EventType.GOODS_REGISTRATION_APPROVED,
    ),
    (
        goods,
        EventType.GOODS_REGISTRATION_LODGED,
        lambda record: record.decided(REFUSE, ISSUER.id, DECIDED_AT),
        EventType.GOODS_REGISTRATION_REFUSED,
    ),
    (
        signatory,
        EventType.SIGNATORY_LODGED,
        lambda record: record.decided(APPROVE, ISSUER.id, DECIDED_AT),
        EventType.SIGNATORY_APPROVED,
    ),
    (
        signatory,
        EventType.SIGNATORY_LODGED,
        lambda record: record.decided(REFUSE, ISSUER.id, DECIDED_AT),
        EventType.SIGNATORY_REFUSED,
    ),
    (
        application,
        EventType.APPLICATION_LODGED,
        lambda record: record.certified(ISSUER.id, DECIDED_AT, "11.2026.00001"),
        EventType.APPLICATION_CERTIFIED,
    ),
    (
        application,
        EventType.APPLICATION_LODGED,
        lambda record: record.rejected(ISSUER.id, DECIDED_AT, ["The invoice does not match"]),
        EventType.APPLICATION_REJECTED,
    ),
    (
        application,
        EventType.APPLICATION_LODGED,
        lambda record: record.withdrawn(EXPORTER.id, DECIDED_AT),
        EventType.APPLICATION_WITHDRAWN,
    ),
    (
        application,
        EventType.APPLICATION_LODGED,
        lambda record: record.flagged_past_due(DECIDED_AT, "jevs-overseer"),
        EventType.APPLICATION_FLAGGED_PAST_DUE,
    ),
]
DECISION_IDS = [
    "goods approved",
    "goods refused",
    "signatory approved",
    "signatory refused",
    "application certified",
    "application rejected",
    "application withdrawn",
    "application flagged past due",
]
KINDS = [goods, signatory, application]
KIND_IDS = ["goods", "signatory", "application"]


def history_of(build: Callable[[], Chronicled], decide: Decision) -> tuple[Chronicled, list[RecordEvent]]:
    """A record lodged and then decided: the record as it is now, and its two events."""
    first = build().lodged()  # type: ignore[attr-defined]  # each kind lodges itself
    second = decide(first.record)
    return second.record, [first.event, second.event]


def three_events() -> tuple[Application, list[RecordEvent]]:
    """An application lodged, flagged past due, then certified."""
    first = application().lodged()
    flagged = first.record.flagged_past_due(DECIDED_AT, "jevs-overseer")
    certified = flagged.record.certified(ISSUER.id, DECIDED_AT + timedelta(hours=1), "11.2026.00001")
    return certified.record, [first.event, flagged.event, certified.event]


# -- the chain, per kind of record ---------------------------------------------------------------------------------


@pytest.mark.parametrize("build", KINDS, ids=KIND_IDS)
def test_the_lodging_starts_the_history_from_the_genesis_hash(build: Callable[[], Chronicled]) -> None:
    # Given a record as its exporter lodges it
    record = build()
    # When it is lodged
    lodged = record.lodged()  # type: ignore[attr-defined]
    # Then its history begins with its lodging, by its exporter, linked to the genesis hash, carrying the hash of
    # the record as lodged; and the record's head is that event
    event = lodged.event
    assert (event.sequence, event.type, event.actor, event.occurred_at) == (1, record.LODGING, EXPORTER.id, LODGED_AT)
    assert event.previous_hash == GENESIS_HASH
    assert event.state_hash == lodged.record.state_hash
    assert lodged.record.history_head == event.head
    assert verify_history(lodged.record, [event]).valid


@pytest.mark.parametrize("build", KINDS, ids=KIND_IDS)
def test_a_record_is_lodged_once(build: Callable[[], Chronicled]) -> None:
    lodged = build().lodged()  # type: ignore[attr-defined]

    with pytest.raises(ValueError, match="lodged already"):
        lodged.record.lodged()


@pytest.mark.parametrize(("build", "lodging", "decide", "recorded"), DECISIONS, ids=DECISION_IDS)
def test_each_decision_appends_one_event_linked_to_the_one_before(
    build: Callable[[], Chronicled], lodging: EventType, decide: Decision, recorded: EventType
) -> None:
    # Given a record lodged and then decided
    record, events = history_of(build, decide)
    # Then its history is the lodging and the decision, linked, the decision carrying the state it left
    assert [event.type for event in events] == [lodging, recorded]
    assert [event.sequence for event in events] == [1, 2]
    assert events[1].previous_hash == events[0].hash
    assert events[1].state_hash == record.state_hash != events[0].state_hash
    assert record.history_head == events[1].head
    verification = verify_history(record, events)
    assert (verification.valid, verification.events_checked) == (True, 2)


def test_a_decision_records_what_was_decided_in_its_details() -> None:
    _, events = history_of(goods, lambda lodged: lodged.decided(APPROVE_GOODS, ISSUER.id, DECIDED_AT))

    assert events[1].details == {"status": "APPROVED", "valid_until": UNTIL.isoformat()}
    assert (events[1].actor, events[1].occurred_at) == (ISSUER.id, DECIDED_AT)


def test_a_refused_decision_gives_its_reasons_in_its_details() -> None:
    _, events = history_of(signatory, lambda lodged: lodged.decided(REFUSE, ISSUER.id, DECIDED_AT))

    assert events[1].details == {"status": "REFUSED", "reasons": "The evidence does not show the origin"}


def test_a_certification_names_its_certificate_in_its_details() -> None:
    _, events = three_events()

    assert events[2].details == {"status": "CERTIFIED", "certificate_number": "11.2026.00001"}


# -- what is found, and where ------------------------------------------------------------------------------------

EVENT_EDITS: dict[str, dict[str, Any]] = {
    "actor": {"actor": "wlg-chamber"},
    "occurred_at": {"occurred_at": LODGED_AT - timedelta(days=1)},
    "details": {"details": {"status": "REJECTED"}},
    "type": {"type": EventType.APPLICATION_WITHDRAWN},
    "state_hash": {"state_hash": "e" * 64},
}


@pytest.mark.parametrize("position", [1, 2, 3])
@pytest.mark.parametrize("edit", list(EVENT_EDITS.values()), ids=list(EVENT_EDITS))
def test_an_edited_event_breaks_the_chain_at_that_event(position: int, edit: dict[str, Any]) -> None:
    # Given an application's three events, one of them edited in storage
    record, events = three_events()
    events[position - 1] = events[position - 1].model_copy(update=edit)
    # When its history is verified
    verification = verify_history(record, events)
    # Then it is broken at that event: its content no longer matches its hash
    assert (verification.valid, verification.broken_at) == (False, position)
    assert verification.reason == "the event's content does not match its hash"


def test_an_event_edited_and_hashed_again_breaks_the_link_of_the_next() -> None:
    record, events = three_events()
    edited = events[1].model_copy(update={"actor": "wlg-chamber"})
    events[1] = edited.model_copy(update={"hash": edited.computed_hash()})

    verification = verify_history(record, events)

    assert (verification.valid, verification.broken_at) == (False, 3)
    assert verification.reason == "previous_hash does not link to the event before"


def test_the_latest_event_edited_and_hashed_again_no_longer_ends_where_the_record_says() -> None:
    record, events = three_events()
    edited = events[2].model_copy(update={"details": {"status": "CERTIFIED", "certificate_number": "11.2026.00002"}})
    events[2] = edited.model_copy(update={"hash": edited.computed_hash()})

    verification = verify_history(record, events)

    assert (verification.valid, verification.broken_at) == (False, 3)
    assert verification.reason == "the chain does not end at the record's latest event"


def test_a_removed_event_breaks_the_chain_where_it_was() -> None:
    record, events = three_events()
    del events[1]

    verification = verify_history(record, events)

    assert (verification.valid, verification.broken_at) == (False, 2)
    assert verification.reason == "an event is missing or out of order"


def test_the_latest_event_removed_is_found_by_the_head_the_record_remembers() -> None:
    record, events = three_events()

    verification = verify_history(record, events[:-1])

    assert (verification.valid, verification.broken_at) == (False, 3)
    assert verification.reason == "the chain does not end at the record's latest event"


def test_every_event_removed_leaves_a_history_without_its_lodging() -> None:
    record, _ = three_events()

    verification = verify_history(record, [])

    assert (verification.valid, verification.broken_at) == (False, 1)
    assert verification.reason == "the record's history has no events: its lodging is missing"


def test_an_event_appended_beyond_the_head_the_record_remembers_breaks_the_chain_after_it() -> None:
    # Given an application's history with one more event appended in storage, its record left as it was
    record, events = three_events()
    extra = record_event(
        after=record.history_head,
        record_id=record.id,
        type=EventType.APPLICATION_WITHDRAWN,
        occurred_at=DECIDED_AT + timedelta(hours=2),
        actor=EXPORTER.id,
        state_hash=record.state_hash,
    )
    # When the record, still certified, is verified against the four events
    verification = verify_history(record, [*events, extra])
    # Then the chain no longer ends where the record says
    assert (verification.valid, verification.broken_at) == (False, 3)


def test_two_events_swapped_break_the_chain_at_the_first_of_them() -> None:
    record, events = three_events()
    events[1], events[2] = events[2], events[1]

    verification = verify_history(record, events)

    assert (verification.valid, verification.broken_at) == (False, 2)


RECORD_EDITS: dict[str, tuple[Callable[[], Chronicled], Decision, dict[str, Any]]] = {
    "goods approved for longer": (
        goods,
        lambda lodged: lodged.decided(APPROVE_GOODS, ISSUER.id, DECIDED_AT),
        {"approved_until": date(2030, 1, 1)},
    ),
    "signatory refusal turned approval": (
        signatory,
        lambda lodged: lodged.decided(REFUSE, ISSUER.id, DECIDED_AT),
        {"status": RegistrationStatus.APPROVED, "reasons": ()},
    ),
    "application's certificate changed": (
        application,
        lambda lodged: lodged.certified(ISSUER.id, DECIDED_AT, "11.2026.00001"),
        {"certificate_number": "11.2026.00009"},
    ),
    "application's due time moved": (
        application,
        lambda lodged: lodged.flagged_past_due(DECIDED_AT, "jevs-overseer"),
        {"due_at": DECIDED_AT + timedelta(days=1)},
    ),
}


@pytest.mark.parametrize(("build", "decide", "edit"), list(RECORD_EDITS.values()), ids=list(RECORD_EDITS))
def test_an_edited_record_is_not_the_state_its_latest_event_recorded(
    build: Callable[[], Chronicled], decide: Decision, edit: dict[str, Any]
) -> None:
    # Given a decided record whose stored state was edited afterwards, its events untouched
    record, events = history_of(build, decide)
    edited = record.model_copy(update=edit)
    # When its history is verified
    verification = verify_history(edited, events)
    # Then every event checks, but the record is not the state its latest event recorded
    assert (verification.valid, verification.events_checked, verification.broken_at) == (False, 2, None)
    assert verification.reason == "the record's current state is not the state its latest event recorded"


def test_a_record_copied_under_another_id_with_its_history_is_found_by_the_events_it_claims() -> None:
    # Given an approved signatory copied under a new id, with its head, and its events presented as the copy's
    record, events = history_of(signatory, lambda lodged: lodged.decided(APPROVE, ISSUER.id, DECIDED_AT))
    copy = record.model_copy(update={"id": new_id(RegistrationKind.SIGNATORY, NZBN)})
    # When the copy's history is verified
    verification = verify_history(copy, events)
    # Then its first event is another record's
    assert (verification.valid, verification.broken_at) == (False, 1)
    assert verification.reason == "the event is of another record"


def test_a_history_that_does_not_begin_with_the_lodging_does_not_verify() -> None:
    # Given an application stored before it had a history, then withdrawn: its one event is the withdrawal
    withdrawn = application().withdrawn(EXPORTER.id, DECIDED_AT)
    # When its history is verified
    verification = verify_history(withdrawn.record, [withdrawn.event])
    # Then it is broken at its first event
    assert (verification.valid, verification.broken_at) == (False, 1)
    assert verification.reason == "the history does not begin with the record's lodging"


def test_a_record_without_a_history_does_not_verify() -> None:
    verification = verify_history(goods(), [])

    assert (verification.valid, verification.events_checked) == (False, 0)
    assert verification.reason == "the record has no history"


@given(
    position=st.integers(min_value=1, max_value=3),
    field=st.sampled_from(["actor", "details", "occurred_at"]),
    text=st.text(min_size=1, max_size=20),
)
def test_any_edit_of_any_event_is_found_at_that_event(position: int, field: str, text: str) -> None:
    record, events = three_events()
    original = events[position - 1]
    value: Any = {
        "actor": original.actor + text,
        "details": {**original.details, "edited": text},
        "occurred_at": original.occurred_at + timedelta(seconds=len(text)),
    }[field]
    events[position - 1] = original.model_copy(update={field: value})

    assert verify_history(record, events).broken_at == position


# -- through the use cases -----------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(LODGED_AT)


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    return MemoryRecords(clock)


def lodge(records: MemoryRecords, kind: RegistrationType) -> str:
    lodged = (
        GoodsLodgement.model_validate(goods_payload())
        if kind is GoodsRegistration
        else SignatoryLodgement.model_validate(signatory_payload())
    )
    return lodge_registration(LodgeRegistration(EXPORTER, lodged), records.uow(), REGISTRY).id


def approve(records: MemoryRecords, kind: RegistrationType, record_id: str) -> None:
    decision = APPROVE_GOODS if kind is GoodsRegistration else APPROVE
    decide_registration(DecideRegistration(ISSUER, kind, record_id, decision), records.uow())


@pytest.mark.parametrize(
    ("kind", "types"),
    [
        (GoodsRegistration, ["GOODS_REGISTRATION_LODGED", "GOODS_REGISTRATION_APPROVED"]),
        (Signatory, ["SIGNATORY_LODGED", "SIGNATORY_APPROVED"]),
    ],
    ids=["goods", "signatory"],
)
def test_a_decided_registration_reads_back_as_its_lodging_and_its_decision_with_a_valid_chain(
    records: MemoryRecords, kind: RegistrationType, types: list[str]
) -> None:
    # Given a registration lodged and approved
    record_id = lodge(records, kind)
    approve(records, kind, record_id)
    # When the exporter and its issuing body read its history
    for reader in (EXPORTER, ISSUER):
        history = read_registration_history(reader, kind, record_id, records.uow())
        # Then it is the lodging and the approval, and its chain verifies
        assert [event.type for event in history.events] == types
        assert history.verification.valid
        assert history.record.status is RegistrationStatus.APPROVED


@pytest.mark.parametrize("kind", [GoodsRegistration, Signatory], ids=["goods", "signatory"])
def test_a_second_decision_is_refused_and_adds_no_event(records: MemoryRecords, kind: RegistrationType) -> None:
    record_id = lodge(records, kind)
    approve(records, kind, record_id)

    with pytest.raises(Conflict):
        decide_registration(DecideRegistration(ISSUER, kind, record_id, REFUSE), records.uow())

    history = read_registration_history(ISSUER, kind, record_id, records.uow())
    assert (len(history.events), history.verification.valid) == (2, True)


@pytest.mark.parametrize("reader", [OTHER_EXPORTER, OTHER_ISSUING_BODY, NZ_CUSTOMS], ids=lambda p: p.id)
def test_a_registration_history_is_not_found_by_those_who_may_not_read_the_registration(
    records: MemoryRecords, reader: Any
) -> None:
    record_id = lodge(records, GoodsRegistration)

    with pytest.raises(NotFound):
        read_registration_history(reader, GoodsRegistration, record_id, records.uow())


def test_a_goods_registration_history_is_not_found_as_a_signatory_history(records: MemoryRecords) -> None:
    record_id = lodge(records, GoodsRegistration)

    with pytest.raises(NotFound):
        read_registration_history(ISSUER, Signatory, record_id, records.uow())


def lodged_application(records: MemoryRecords) -> str:
    """An application of the demo exporter, quoting goods and a signatory the Auckland chamber approved."""
    goods_id, signatory_id = lodge(records, GoodsRegistration), lodge(records, Signatory)
    approve(records, GoodsRegistration, goods_id)
    approve(records, Signatory, signatory_id)
    payload = application_payload(signatory_id, [goods_id])
    payload["transport"]["departure_date"] = "2026-11-24"
    command = LodgeApplication(EXPORTER, ApplicationLodgement.model_validate(payload))
    return lodge_application(command, records.uow(), REGISTRY).id


def types_of(records: MemoryRecords, application_id: str) -> list[EventType]:
    history = read_application_history(EXPORTER, application_id, records.uow())
    assert history.verification.valid, history.verification
    return [event.type for event in history.events]


def test_an_application_flagged_past_due_and_then_certified_has_three_events(
    records: MemoryRecords, clock: FixedClock
) -> None:
    # Given an application left past its due time, flagged, and then certified
    application_id = lodged_application(records)
    clock.advance(timedelta(days=1, minutes=5))
    flag_past_due(records.uow())
    certify_application(DecideApplication(ISSUER, application_id), records.uow())
    # When its history is read, Then it is its lodging, the flag and the certification, with a valid chain
    assert types_of(records, application_id) == [
        EventType.APPLICATION_LODGED,
        EventType.APPLICATION_FLAGGED_PAST_DUE,
        EventType.APPLICATION_CERTIFIED,
    ]


def test_a_withdrawal_after_a_rejection_is_refused_and_adds_no_event(records: MemoryRecords) -> None:
    application_id = lodged_application(records)
    reject_application(RejectApplication(ISSUER, application_id, ["Late"]), records.uow())

    with pytest.raises(Conflict):
        withdraw_application(DecideApplication(EXPORTER, application_id), records.uow())

    assert types_of(records, application_id) == [EventType.APPLICATION_LODGED, EventType.APPLICATION_REJECTED]


def test_a_rejection_read_before_a_past_due_flag_is_decided_again_after_it(
    records: MemoryRecords, clock: FixedClock
) -> None:
    # Given an application past its due time, which the scheduled check flags between a rejection's read and commit
    application_id = lodged_application(records)
    clock.advance(timedelta(days=1, minutes=5))
    rejecting = RivalFirst(records, lambda: flag_past_due(records.uow()))
    # When the issuing body rejects it
    rejected = reject_application(RejectApplication(ISSUER, application_id, ["Late"]), rejecting)
    # Then it is rejected after the flag, each one event
    assert rejected.status is ApplicationStatus.REJECTED
    assert rejected.flagged_past_due_at is not None
    assert types_of(records, application_id) == [
        EventType.APPLICATION_LODGED,
        EventType.APPLICATION_FLAGGED_PAST_DUE,
        EventType.APPLICATION_REJECTED,
    ]


def test_a_certification_read_before_a_past_due_flag_is_decided_again_with_the_same_number(
    records: MemoryRecords, clock: FixedClock
) -> None:
    application_id = lodged_application(records)
    clock.advance(timedelta(days=1, minutes=5))
    certifying = RivalFirst(records, lambda: flag_past_due(records.uow()))

    certified = certify_application(DecideApplication(ISSUER, application_id), certifying)

    assert certified.submitted.record.number.endswith(".00001")
    assert types_of(records, application_id)[-1] is EventType.APPLICATION_CERTIFIED
    # The flag stays: the certification was decided again on the flagged application, not written over it.
    assert certified.application.flagged_past_due_at is not None
    assert records.uow().applications.get(application_id) == certified.application


def legacy_application(records: MemoryRecords) -> str:
    """An application stored before records kept a history: no head, no events (its item as such a record was
    written), quoting goods and a signatory the Auckland chamber approved."""
    lodged = records.uow().applications.get(lodged_application(records))
    assert lodged is not None
    legacy = lodged.model_copy(
        update={"id": new_id(RegistrationKind.APPLICATION, lodged.exporter_business_number), "history_head": None}
    )
    records.table.put_raw(items.hosted_item(legacy))
    return legacy.id


DecidingAs = Callable[[str, TableUnitOfWork], Application]


def rejected_by_the_issuer(application_id: str, uow: TableUnitOfWork) -> Application:
    return reject_application(RejectApplication(ISSUER, application_id, ["Late"]), uow)


def certified_by_the_issuer(application_id: str, uow: TableUnitOfWork) -> Application:
    return certify_application(DecideApplication(ISSUER, application_id), uow).application


@pytest.mark.parametrize(
    ("decide", "status"),
    [(rejected_by_the_issuer, ApplicationStatus.REJECTED), (certified_by_the_issuer, ApplicationStatus.CERTIFIED)],
    ids=["rejection", "certification"],
)
def test_a_decision_on_an_application_without_history_read_before_its_past_due_flag_is_made_again_keeping_it(
    records: MemoryRecords, clock: FixedClock, decide: DecidingAs, status: ApplicationStatus
) -> None:
    # Given an application stored before histories, past its due time, flagged between a decision's read and commit
    application_id = legacy_application(records)
    clock.advance(timedelta(days=1, minutes=5))
    deciding = RivalFirst(records, lambda: flag_past_due(records.uow()))
    # When the issuing body decides it
    decided = decide(application_id, deciding)
    # Then it is decided after the flag, which it keeps
    assert decided.status is status
    assert decided.flagged_past_due_at is not None
    assert records.uow().applications.get(application_id) == decided


def test_an_application_history_is_not_found_by_another_exporter(records: MemoryRecords) -> None:
    application_id = lodged_application(records)

    with pytest.raises(NotFound):
        read_application_history(OTHER_EXPORTER, application_id, records.uow())
