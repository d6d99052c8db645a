"""The histories of goods registrations, signatories and applications over both tables (``Registrations.history``,
``Applications.history``): each event is stored beside its record, in the decision's commit, read back in order
and still verifying; an event is never overwritten; a change made from a head that moved is refused by name."""

from __future__ import annotations

from datetime import date

import pytest

from jevs.adapters.table import items
from jevs.adapters.table.model import Put, WriteName
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.history import EventType
from jevs.domain.record_history import verify_history
from jevs.domain.registrations import ApprovalDecision, Verdict
from jevs.service.unit_of_work import Refused
from tests.contract.support import AT, HOUR, ISSUER, KAURI, Units, application, goods_registration, signatory

pytestmark = pytest.mark.contract

NUMBER = "11.2026.00001"
APPROVAL = ApprovalDecision(decision=Verdict.APPROVED, valid_until=date(2026, 12, 31))


def refusal(uow: TableUnitOfWork) -> frozenset[tuple[str, str]]:
    """The names the commit is refused with (failing the test if it is not refused)."""
    with pytest.raises(Refused) as refused:
        uow.commit()
    return refused.value.names


def test_a_lodged_registration_reads_back_with_its_lodging_as_its_history(units: Units) -> None:
    # Given goods added with their lodging
    lodged = goods_registration()
    uow = units()
    uow.registrations.add(lodged)
    uow.commit()
    # When its history is read
    events = units().registrations.history(lodged.record.id)
    # Then it is the lodging as staged
    assert events == [lodged.event]


def test_a_decision_stored_reads_back_after_the_lodging_and_the_chain_verifies(units: Units) -> None:
    # Given a signatory lodged, then approved in a commit of its own
    lodged = signatory()
    uow = units()
    uow.registrations.add(lodged)
    uow.commit()
    approved = lodged.record.decided(ApprovalDecision(decision=Verdict.APPROVED), by=ISSUER.id, at=AT + HOUR)
    deciding = units()
    deciding.registrations.replace(lodged.record, approved)
    deciding.commit()
    # When the record and its history are read
    reader = units()
    record, events = reader.registrations.get(lodged.record.id), reader.registrations.history(lodged.record.id)
    # Then the history is the lodging and the approval, and the record as stored verifies against it
    assert events == [lodged.event, approved.event]
    assert record is not None
    assert verify_history(record, events).valid


def test_an_application_history_reads_back_in_sequence_order_and_verifies(units: Units) -> None:
    # Given an application lodged, flagged past due, then certified, each in its own commit
    lodged = application()
    uow = units()
    uow.applications.add(lodged)
    uow.commit()
    flagged = lodged.record.flagged_past_due(AT + HOUR, "jevs-overseer")
    uow.applications.replace(lodged.record, flagged)
    uow.commit()
    certified = flagged.record.certified(ISSUER.id, AT + 2 * HOUR, NUMBER)
    uow.applications.replace(flagged.record, certified)
    uow.commit()
    # When its history is read
    reader = units()
    events = reader.applications.history(lodged.record.id)
    stored = reader.applications.get(lodged.record.id)
    # Then the three events come back in order, and the stored application is the state the last recorded
    assert [event.type for event in events] == [
        EventType.APPLICATION_LODGED,
        EventType.APPLICATION_FLAGGED_PAST_DUE,
        EventType.APPLICATION_CERTIFIED,
    ]
    assert stored == certified.record
    assert verify_history(stored, events).valid


def test_each_history_holds_only_its_own_records_events(units: Units) -> None:
    # Given two goods registrations and an application of one exporter, in one partition
    first, second, applied = goods_registration(), goods_registration(at=AT + HOUR), application()
    uow = units()
    uow.registrations.add(first)
    uow.registrations.add(second)
    uow.applications.add(applied)
    uow.commit()
    # When each history is read
    reader = units()
    # Then each is its own lodging alone, and the exporter's goods are the two records, not their events
    assert reader.registrations.history(first.record.id) == [first.event]
    assert reader.registrations.history(second.record.id) == [second.event]
    assert reader.applications.history(applied.record.id) == [applied.event]
    assert units().registrations.of_exporter(type(first.record), str(KAURI.business_number), 10).records == [
        first.record,
        second.record,
    ]


def test_the_history_of_an_id_that_names_nothing_is_empty(units: Units) -> None:
    reader = units()

    assert (reader.registrations.history("nonsense"), reader.applications.history("AP-9429041234563-0")) == ([], [])


def test_a_record_lodged_again_is_refused_by_its_id_and_its_first_event(units: Units) -> None:
    # Given goods lodged
    lodged = goods_registration()
    uow = units()
    uow.registrations.add(lodged)
    uow.commit()
    # When the same lodging is staged again
    again = units()
    again.registrations.add(lodged)
    names = refusal(again)
    # Then it is refused by the record and by its first event: neither is overwritten
    assert names == {("registration", lodged.record.id), ("event", f"{lodged.record.id}#1")}
    assert units().registrations.history(lodged.record.id) == [lodged.event]


def test_a_decision_from_a_head_that_moved_is_refused_though_the_status_still_holds(units: Units) -> None:
    # Given an application flagged past due after this request read it (still SUBMITTED: its head moved on)
    lodged = application()
    uow = units()
    uow.applications.add(lodged)
    uow.commit()
    flagging = units()
    flagged = lodged.record.flagged_past_due(AT + HOUR, "jevs-overseer")
    flagging.applications.replace(lodged.record, flagged)
    flagging.commit()
    # When this request rejects what it read
    late = units()
    late.applications.replace(lodged.record, lodged.record.rejected(ISSUER.id, AT + HOUR, ["late"]))
    names = refusal(late)
    # Then it is refused by the application and by the event it would have written second; the flag stays
    record_id = lodged.record.id
    assert names == {("application", record_id), ("event", f"{record_id}#2")}
    assert units().applications.history(record_id) == [lodged.event, flagged.event]


def test_a_decision_on_a_record_without_history_is_refused_by_the_record_once_its_head_moved(units: Units) -> None:
    # Given an application stored before records kept a history (no head), flagged past due after this request read
    # it: the flag starts its history (still SUBMITTED)
    read = application().record.model_copy(update={"history_head": None})
    units.table.write([Put(WriteName("application", read.id), items.hosted_item(read))])
    flagging = units()
    flagged = read.flagged_past_due(AT + HOUR, "jevs-overseer")
    flagging.applications.replace(read, flagged)
    flagging.commit()
    # When this request rejects what it read
    late = units()
    late.applications.replace(read, read.rejected(ISSUER.id, AT + HOUR, ["late"]))
    names = refusal(late)
    # Then the application's own write is refused (it read no head, and one is stored now), beside its event; the
    # flag stays
    assert names == {("application", read.id), ("event", f"{read.id}#1")}
    assert units().applications.get(read.id) == flagged.record


def test_an_approval_of_goods_commits_its_record_and_its_event_together_or_neither(units: Units) -> None:
    # Given goods lodged, and their approval staged with a write that is refused (other goods lodged again)
    lodged, other = goods_registration(), goods_registration()
    uow = units()
    uow.registrations.add(lodged)
    uow.registrations.add(other)
    uow.commit()
    deciding = units()
    deciding.registrations.replace(lodged.record, lodged.record.decided(APPROVAL, ISSUER.id, AT + HOUR))
    deciding.registrations.add(other)
    # When it commits, Then it is refused by the other goods alone
    assert refusal(deciding) == {("registration", other.record.id), ("event", f"{other.record.id}#1")}
    # Then neither the approval nor its event is stored
    reader = units()
    assert reader.registrations.get(lodged.record.id) == lodged.record
    assert reader.registrations.history(lodged.record.id) == [lodged.event]
