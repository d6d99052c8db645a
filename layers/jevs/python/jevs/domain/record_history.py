"""The history of a record that is not a certificate: a goods registration, a signatory, an application (DESIGN.md
§3: "each decision is once only and is an event in the record's own history; nothing is overwritten").

It is the certificate's chain (``jevs.domain.history``: each event carries the hash of the one before and its
own, verified by ``verify_chain``), with one more hash in every event: that of the record's state after it
(``state_hash``). The record remembers where its chain ends (``history_head``), so ``verify_history`` finds an
edited, reordered or removed event, and an edit of the record itself, which no longer is the state its latest
event recorded.

A record changes only through ``Chronicled._chronicled``, which returns the record with its head moved and the
event that moved it (``Recorded``): the store writes both in one transaction, or neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from jevs.domain.canonical import digest
from jevs.domain.history import (
    GENESIS_HASH,
    ChainEvent,
    ChainHead,
    ChainVerification,
    DetailValue,
    EventType,
    verify_chain,
)


class RecordEvent(ChainEvent):
    """One event of a record's history (its chain named by the record's id), with the hash of the record's state
    after it and JEVS's seal, like a certificate's."""

    CHAIN_FIELD: ClassVar[str] = "record_id"

    record_id: str


def record_event(
    *,
    after: ChainHead | None,
    record_id: str,
    type: EventType,
    occurred_at: datetime,
    actor: str,
    state_hash: str,
    details: Mapping[str, DetailValue] | None = None,
) -> RecordEvent:
    """The event that follows ``after`` (or starts the chain), with its hash computed."""
    draft = RecordEvent(
        record_id=record_id,
        sequence=(after.sequence if after else 0) + 1,
        type=type,
        occurred_at=occurred_at,
        actor=actor,
        details=dict(details or {}),
        state_hash=state_hash,
        previous_hash=after.hash if after else GENESIS_HASH,
        hash="",
    )
    return draft.model_copy(update={"hash": draft.computed_hash()})


class Chronicled(BaseModel):
    """A record with a history of its own. Subclasses name the event that lodges them (``LODGING``) and change
    only through ``_chronicled``, so no caller ever moves a head by hand."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    LODGING: ClassVar[EventType]

    id: str
    # Where the record's history ends; None only for a record not lodged yet (``lodged`` starts its history).
    history_head: ChainHead | None = None

    @property
    def state_hash(self) -> str:
        """The digest of everything the record holds but its head (which the event's own hash decides)."""
        return digest(self.model_dump(mode="json", exclude={"history_head"}))

    def _chronicled(
        self, type: EventType, *, at: datetime, actor: str, details: Mapping[str, DetailValue], **updates: Any
    ) -> Recorded[Self]:
        """The record after an event of ``type``: ``updates`` applied, the event appended, the head moved."""
        after = self.model_copy(update=updates)
        event = record_event(
            after=self.history_head,
            record_id=self.id,
            type=type,
            occurred_at=at,
            actor=actor,
            state_hash=after.state_hash,
            details=details,
        )
        return Recorded(after.model_copy(update={"history_head": event.head}), event)

    def _first(self, *, at: datetime, actor: str, details: Mapping[str, DetailValue]) -> Recorded[Self]:
        """The lodging: the first event of the record's history."""
        if self.history_head is not None:
            raise ValueError(f"{self.id} was lodged already: its history has {self.history_head.sequence} events")
        return self._chronicled(self.LODGING, at=at, actor=actor, details=details)


R = TypeVar("R", bound=Chronicled)


@dataclass(frozen=True)
class Recorded(Generic[R]):
    """A record after one event: the record as it is now, and the event that made it so."""

    record: R
    event: RecordEvent

    @property
    def sequence_before(self) -> int:
        """The head's sequence the change was made from: it is stored only if the head is still there."""
        return self.event.sequence - 1


def verify_history(record: Chronicled, events: Sequence[RecordEvent]) -> ChainVerification:
    """Check every link (``verify_chain``), that the chain is the record's own, starts with its lodging and ends at
    the head the record remembers, and that the record is the state its latest event recorded."""
    head = record.history_head
    if head is None:
        return ChainVerification(False, 0, None, "the record has no history")
    # The links by the certificate's own check; where the chain must end is the record's, said in its words.
    verification = verify_chain(events)
    if not verification.valid:
        return verification
    if not events:
        return ChainVerification(False, 0, 1, "the record's history has no events: its lodging is missing")
    if head.sequence != len(events) or head.hash != events[-1].hash:
        broken_at = len(events) + 1 if head.sequence > len(events) else max(head.sequence, 1)
        return ChainVerification(False, len(events), broken_at, "the chain does not end at the record's latest event")
    for event in events:
        if event.record_id != record.id:
            return ChainVerification(False, event.sequence - 1, event.sequence, "the event is of another record")
    if events[0].type is not record.LODGING:
        return ChainVerification(False, 0, 1, "the history does not begin with the record's lodging")
    if events[-1].state_hash != record.state_hash:
        return ChainVerification(
            False, len(events), None, "the record's current state is not the state its latest event recorded"
        )
    return verification
