"""A certificate's history: append-only events, each carrying the hash of the one before (DESIGN.md §6.4).

Editing, reordering or removing any stored event changes a hash the next event (or the certificate's
own record of its latest event) has already fixed, so ``verify_chain`` finds the first place it breaks.
Each event also fixes the digest of the certificate's record as the event left it (``state_hash``), so a
change to the current record alone (its validity, usage, status...) no longer matches its latest event.

What the chain cannot show by itself is a rewrite of every event with every hash recomputed: that is caught
by comparing with a head fixed outside the table, one JEVS signed before (the history route's
``signed_head``) or the one China holds (every message to China carries the head at that moment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.canonical import canonical_json, digest

GENESIS_HASH = "0" * 64

DetailValue = str | int | bool | None


class EventType(StrEnum):
    CERTIFICATE_ISSUED = "CERTIFICATE_ISSUED"
    # Its life after issue (DESIGN.md §3): corrected by a replacement, withdrawn, or covered by a certified true copy.
    CERTIFICATE_REPLACED = "CERTIFICATE_REPLACED"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    CERTIFIED_TRUE_COPY_ISSUED = "CERTIFIED_TRUE_COPY_ISSUED"
    # Delivery to China (DESIGN.md §3): every change of state is an event.
    DELIVERY_ACKNOWLEDGED = "DELIVERY_ACKNOWLEDGED"
    DELIVERY_REJECTED = "DELIVERY_REJECTED"
    DELIVERY_PARKED = "DELIVERY_PARKED"
    DELIVERY_RESUMED = "DELIVERY_RESUMED"
    # Matching (DESIGN.md §4): a declaration quoting the certificate was decided; a matched CN import uses it.
    DECLARATION_DECIDED = "DECLARATION_DECIDED"
    # Box 5 (DESIGN.md §3): China Customs decided whether a declaration quoting it gets preference.
    PREFERENCE_DECIDED = "PREFERENCE_DECIDED"
    # Hosted issuing (DESIGN.md §3): each goods registration, signatory and application has a history of its own
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
    # Verification of origin (DESIGN.md §3): China asked about the certificate; it was answered, closed, or overdue.
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
    # Digest of the certificate's record as this event left it (``CertificateRecord.state_hash``).
    state_hash: str
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
    state_hash: str,
) -> HistoryEvent:
    """The event that follows ``after`` (or starts the chain), with its hash computed; ``state_hash`` is the
    digest of the record the event leaves behind."""
    unsigned = {
        "certificate_number": certificate_number,
        "sequence": (after.sequence if after else 0) + 1,
        "type": type,
        "occurred_at": occurred_at,
        "actor": actor,
        "version": version,
        "details": dict(details or {}),
        "previous_hash": after.hash if after else GENESIS_HASH,
        "state_hash": state_hash,
        "hash": "",
    }
    draft = HistoryEvent.model_validate(unsigned)
    return draft.model_copy(update={"hash": draft.computed_hash()})


class ChainCheck(StrEnum):
    """Which check a history failed, so a reader (or the offline verifier) can say exactly what is wrong."""

    SEQUENCE = "sequence"  # an event is missing, or two are out of order
    PREVIOUS_HASH = "previous_hash"  # an event does not link to the one before
    HASH = "hash"  # an event's content is not what its hash fixed
    HEAD = "head"  # the chain does not end where the certificate's record says
    STATE = "state"  # the current record is not the state its latest event recorded
    CONTENT = "content"  # a stored version's content is not what its event recorded
    ANCHOR = "anchor"  # the chain does not pass through a head fixed outside the table
    SIGNATURE = "signature"  # the signed head does not verify, or signs another head


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
    check: ChainCheck | None = None


def verify_chain(
    events: Sequence[ChainLink], head: ChainHead | None = None, *, state_hash: str | None = None
) -> ChainVerification:
    """Check every link, that the chain ends where the record says it does, and (given a certificate record's
    ``state_hash``) that the record is the state its latest event left."""
    previous_hash = GENESIS_HASH
    for expected_sequence, event in enumerate(events, start=1):
        checked = expected_sequence - 1
        if event.sequence != expected_sequence:
            return ChainVerification(
                False, checked, expected_sequence, "an event is missing or out of order", ChainCheck.SEQUENCE
            )
        if event.previous_hash != previous_hash:
            reason = "previous_hash does not link to the event before"
            return ChainVerification(False, checked, event.sequence, reason, ChainCheck.PREVIOUS_HASH)
        if event.computed_hash() != event.hash:
            reason = "the event's content does not match its hash"
            return ChainVerification(False, checked, event.sequence, reason, ChainCheck.HASH)
        previous_hash = event.hash
    if head is not None and (head.sequence != len(events) or head.hash != previous_hash):
        return ChainVerification(
            False,
            len(events),
            len(events) + 1 if head.sequence > len(events) else head.sequence,
            "the chain does not end at the certificate's recorded latest event",
            ChainCheck.HEAD,
        )
    latest = events[-1] if events else None
    if state_hash is not None and isinstance(latest, HistoryEvent) and latest.state_hash != state_hash:
        return ChainVerification(
            False,
            len(events),
            events[-1].sequence,
            "the certificate's current record is not the state its latest event recorded",
            ChainCheck.STATE,
        )
    return ChainVerification(True, len(events))


def head_statement(certificate_number: str, head: ChainHead, signed_at: datetime) -> dict[str, str | int]:
    """What JEVS signs about a history: where it ended, and when JEVS said so. Anyone holding the signature can
    later show that a chain rewritten since (every hash recomputed) no longer passes through this head."""
    return {
        "certificate_number": certificate_number,
        "head_sequence": head.sequence,
        "head_hash": head.hash,
        "signed_at": signed_at.isoformat(),
    }


def statement_bytes(statement: Mapping[str, str | int]) -> bytes:
    """The exact bytes a head statement's detached JWS signs: its canonical JSON."""
    return canonical_json(dict(statement))
