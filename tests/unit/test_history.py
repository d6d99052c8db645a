"""A certificate's history is a hash chain (DESIGN.md §6.4): any edit, reordering or removal is found, and where."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevs.domain.history import (
    GENESIS_HASH,
    ChainHead,
    DetailValue,
    EventType,
    HistoryEvent,
    new_event,
    verify_chain,
)

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
START = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
LENGTH = 5


def chain(details: Sequence[Mapping[str, DetailValue]]) -> list[HistoryEvent]:
    """A chain of one event per entry of ``details``, each linked to the one before."""
    events: list[HistoryEvent] = []
    for position, event_details in enumerate(details):
        events.append(
            new_event(
                after=events[-1].head if events else None,
                certificate_number=NUMBER,
                type=EventType.CERTIFICATE_ISSUED,
                occurred_at=START + timedelta(minutes=position),
                actor="akl-chamber",
                version=1,
                details=event_details,
                state_hash=f"{position:064x}",
            )
        )
    return events


def five_events() -> list[HistoryEvent]:
    return chain([{"step": position} for position in range(1, LENGTH + 1)])


def test_the_first_event_links_to_the_genesis_hash_and_each_next_to_the_one_before() -> None:
    # Given a chain built with new_event
    events = five_events()
    # Then it is numbered from 1 and each event carries the hash of the one before
    assert [event.sequence for event in events] == [1, 2, 3, 4, 5]
    assert [event.previous_hash for event in events] == [GENESIS_HASH] + [event.hash for event in events[:-1]]


def test_a_chain_built_with_new_event_verifies() -> None:
    # Given a chain built with new_event and the head the certificate records
    events = five_events()
    # When it is verified
    verification = verify_chain(events, events[-1].head)
    # Then every event checks
    assert verification.valid
    assert verification.events_checked == LENGTH
    assert verification.broken_at is None


def test_an_empty_history_with_no_recorded_head_verifies() -> None:
    assert verify_chain([]).valid


ALTERATIONS: dict[str, object] = {
    "certificate_number": "11.1234.99999",
    "sequence": 99,
    "occurred_at": START - timedelta(days=1),
    "actor": "wlg-chamber",
    "version": 2,
    "details": {"step": "edited"},
    "previous_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.parametrize("position", range(1, LENGTH + 1))
@pytest.mark.parametrize("field", ALTERATIONS)
def test_altering_any_field_of_any_event_breaks_the_chain_at_that_event(field: str, position: int) -> None:
    # Given a verified chain
    events = five_events()
    head = events[-1].head
    # When one field of one stored event is changed
    events[position - 1] = events[position - 1].model_copy(update={field: ALTERATIONS[field]})
    # Then verification fails at that event
    verification = verify_chain(events, head)
    assert not verification.valid
    assert verification.broken_at == position


@pytest.mark.parametrize("position", range(1, LENGTH))
def test_removing_an_event_breaks_the_chain_where_it_was(position: int) -> None:
    # Given a chain with one event (not the last) removed
    events = five_events()
    head = events[-1].head
    del events[position - 1]
    # When it is verified, Then it fails at the missing sequence number
    verification = verify_chain(events, head)
    assert not verification.valid
    assert verification.broken_at == position


@pytest.mark.parametrize(("first", "second"), [(1, 2), (2, 4), (4, 5), (1, 5)])
def test_swapping_two_events_breaks_the_chain_at_the_earlier_position(first: int, second: int) -> None:
    # Given a chain with two events swapped
    events = five_events()
    head = events[-1].head
    events[first - 1], events[second - 1] = events[second - 1], events[first - 1]
    # When it is verified, Then it fails at the earlier of the two positions
    verification = verify_chain(events, head)
    assert not verification.valid
    assert verification.broken_at == first


def test_removing_the_last_event_breaks_the_chain_against_the_recorded_head() -> None:
    # Given the certificate records its latest event, and that event is removed from the history
    events = five_events()
    head = events[-1].head
    del events[-1]
    # When it is verified against the recorded head, Then it fails at the missing last sequence
    verification = verify_chain(events, head)
    assert not verification.valid
    assert verification.broken_at == LENGTH


def test_removing_the_last_event_is_found_only_with_the_recorded_head() -> None:
    # Given a history whose last event was removed
    events = five_events()[:-1]
    # When it is verified without the certificate's recorded head, Then the shorter chain is self-consistent
    assert verify_chain(events).valid


def test_a_head_that_records_another_hash_breaks_the_chain() -> None:
    # Given a recorded head whose hash is not that of the last event
    events = five_events()
    head = ChainHead(sequence=LENGTH, hash="d" * 64)
    # When verified, Then it fails at that event
    verification = verify_chain(events, head)
    assert not verification.valid
    assert verification.broken_at == LENGTH


def test_an_event_appended_beyond_the_recorded_head_breaks_the_chain() -> None:
    # Given a valid extra event appended after what the certificate recorded as its latest
    events = five_events()
    head = events[-1].head
    events.append(
        new_event(
            after=head,
            certificate_number=NUMBER,
            type=EventType.CERTIFICATE_ISSUED,
            occurred_at=START + timedelta(days=1),
            actor="akl-chamber",
            state_hash="e" * 64,
        )
    )
    # When verified against the recorded head, Then it does not verify
    assert not verify_chain(events, head).valid


# Properties

DETAIL_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
DETAILS = st.dictionaries(st.text(max_size=10), DETAIL_VALUES, max_size=5)


@settings(max_examples=40, deadline=None)
@given(details=st.lists(DETAILS, min_size=1, max_size=30))
def test_any_chain_built_with_new_event_verifies(details: list[dict[str, DetailValue]]) -> None:
    events = chain(details)
    assert verify_chain(events, events[-1].head).valid


@settings(max_examples=40, deadline=None)
@given(details=st.lists(DETAILS, min_size=1, max_size=30), data=st.data())
def test_changing_any_one_events_details_breaks_the_chain_at_that_event(
    details: list[dict[str, DetailValue]], data: st.DataObject
) -> None:
    # Given any chain
    events = chain(details)
    head = events[-1].head
    # When the details of any one event are replaced with other details
    position = data.draw(st.integers(min_value=1, max_value=len(events)), label="position")
    original = events[position - 1].details
    replacement = data.draw(
        DETAILS.filter(lambda candidate: candidate.keys() != original.keys() or _differs(candidate, original)),
        label="replacement",
    )
    events[position - 1] = events[position - 1].model_copy(update={"details": replacement})
    # Then verification fails at that event
    verification = verify_chain(events, head)
    assert not verification.valid
    assert verification.broken_at == position


def _differs(one: Mapping[str, DetailValue], other: Mapping[str, DetailValue]) -> bool:
    """Differs as JSON: 1 and True are equal in Python but not in the hashed form."""
    return any(type(one[key]) is not type(other[key]) or one[key] != other[key] for key in one)
