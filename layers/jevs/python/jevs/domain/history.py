"""A certificate's history: append-only events, each carrying the hash of the one before (DESIGN §6.4).

Editing, reordering or removing any stored event changes a hash the next event (or the certificate's
own record of its latest event) has already fixed, so ``verify_chain`` finds the first place it breaks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.canonical import digest

GENESIS_HASH = "0" * 64

DetailValue = str | int | bool | None


class EventType(StrEnum):
    CERTIFICATE_ISSUED = "CERTIFICATE_ISSUED"
    # Its life after issue (DESIGN §3): corrected by a replacement, withdrawn, or covered by a certified true copy.
    CERTIFICATE_REPLACED = "CERTIFICATE_REPLACED"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    CERTIFIED_TRUE_COPY_ISSUED = "CERTIFIED_TRUE_COPY_ISSUED"
    # Delivery to China (DESIGN §3): every change of state is an event.
    DELIVERY_ACKNOWLEDGED = "DELIVERY_ACKNOWLEDGED"
    DELIVERY_REJECTED = "DELIVERY_REJECTED"
    DELIVERY_PARKED = "DELIVERY_PARKED"
    DELIVERY_RESUMED = "DELIVERY_RESUMED"
    # Matching (DESIGN §4): a declaration quoting the certificate was decided; a matched CN import uses it.
    DECLARATION_DECIDED = "DECLARATION_DECIDED"
    # Box 5 (DESIGN §3): China Customs decided whether a declaration quoting it gets preference.
    PREFERENCE_DECIDED = "PREFERENCE_DECIDED"
    # Hosted issuing (DESIGN §3): each goods registration, signatory and application has a history of its own
    # (``jevs.domain.record_history``), its lodging the first event and every decision one more.
    GOODS_REGISTRATION_LODGED = "GOODS_REGISTRATION_LODGED"
    GOODS_REGISTRATION_APPROVED = "GOODS_REGISTRATION_APPROVED"
    GOODS_REGISTRATION_REFUSED = "GOODS_REGISTRATION_REFUSED"
    SIGNATORY_LODGED = "SIGNATORY_LODGED"
    SIGNATORY_APPROVED = "SIGNATORY_APPROVED"
    SIGNATORY_REFUSED = "SIGNATORY_REFUSED"
    APPLICATION_LODGED = "APPLICATION_LODGED"
    APPLICATION_CERTIFIED = "APPLICATION_CERTIFIED"
    APPLICATION_REJECTED = "APPLICATION_REJECTED"
    APPLICATION_WITHDRAWN = "APPLICATION_WITHDRAWN"
    APPLICATION_FLAGGED_PAST_DUE = "APPLICATION_FLAGGED_PAST_DUE"
    # Verification of origin (DESIGN §3): China asked about the certificate; it was answered, closed, or overdue.
    VERIFICATION_REQUESTED = "VERIFICATION_REQUESTED"
    VERIFICATION_ANSWERED = "VERIFICATION_ANSWERED"
    VERIFICATION_CLOSED = "VERIFICATION_CLOSED"
    VERIFICATION_OVERDUE = "VERIFICATION_OVERDUE"


class ChainHead(BaseModel):
    """The latest event of a chain, as the certificate's own record remembers it."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=0)
    hash: str


class HistoryEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate_number: str
    sequence: int = Field(ge=1)
    type: EventType
    occurred_at: AwareDatetime
    actor: str
    version: int | None = None
    details: dict[str, DetailValue] = Field(default_factory=dict)
    previous_hash: str
    hash: str

    def computed_hash(self) -> str:
        return digest(self.model_dump(mode="json", exclude={"hash"}))

    @property
    def head(self) -> ChainHead:
        return ChainHead(sequence=self.sequence, hash=self.hash)


def new_event(
    *,
    after: ChainHead | None,
    certificate_number: str,
    type: EventType,
    occurred_at: datetime,
    actor: str,
    version: int | None = None,
    details: Mapping[str, DetailValue] | None = None,
) -> HistoryEvent:
    """The event that follows ``after`` (or starts the chain), with its hash computed."""
    unsigned = {
        "certificate_number": certificate_number,
        "sequence": (after.sequence if after else 0) + 1,
        "type": type,
        "occurred_at": occurred_at,
        "actor": actor,
        "version": version,
        "details": dict(details or {}),
        "previous_hash": after.hash if after else GENESIS_HASH,
        "hash": "",
    }
    draft = HistoryEvent.model_validate(unsigned)
    return draft.model_copy(update={"hash": draft.computed_hash()})


class ChainLink(Protocol):
    """One link of any hash chain JEVS keeps: a certificate's ``HistoryEvent``, or the event of another record's
    history (``jevs.domain.record_history``). ``verify_chain`` needs no more than this."""

    @property
    def sequence(self) -> int: ...

    @property
    def previous_hash(self) -> str: ...

    @property
    def hash(self) -> str: ...

    def computed_hash(self) -> str: ...


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    events_checked: int
    # The sequence number of the first event that does not verify, and why.
    broken_at: int | None = None
    reason: str | None = None


def verify_chain(events: Sequence[ChainLink], head: ChainHead | None = None) -> ChainVerification:
    """Check every link, and that the chain ends where the certificate's record says it does."""
    previous_hash = GENESIS_HASH
    for expected_sequence, event in enumerate(events, start=1):
        if event.sequence != expected_sequence:
            return ChainVerification(
                False, expected_sequence - 1, expected_sequence, "an event is missing or out of order"
            )
        if event.previous_hash != previous_hash:
            return ChainVerification(
                False,
                expected_sequence - 1,
                event.sequence,
                "previous_hash does not link to the event before",
            )
        if event.computed_hash() != event.hash:
            return ChainVerification(
                False, expected_sequence - 1, event.sequence, "the event's content does not match its hash"
            )
        previous_hash = event.hash
    if head is not None and (head.sequence != len(events) or head.hash != previous_hash):
        return ChainVerification(
            False,
            len(events),
            len(events) + 1 if head.sequence > len(events) else head.sequence,
            "the chain does not end at the certificate's recorded latest event",
        )
    return ChainVerification(True, len(events))
