"""A certificate's history: append-only events, each carrying the hash of the one before (DESIGN.md §6.4).

Editing, reordering or removing any stored event changes a hash the next event (or the certificate's
own record of its latest event) has already fixed, so ``verify_chain`` finds the first place it breaks.
Each event also fixes the digest of the certificate's record as the event left it (``state_hash``), so a
change to the current record alone (its validity, usage, status...) no longer matches its latest event.

What the chain cannot show by itself is a rewrite of every event with every hash recomputed. So every event is
sealed as it is written: the function that appends it signs the head it makes with JEVS's KMS key
(``ChainEvent.seal``, a detached JWS over ``seal_statement``), which table access alone cannot do. A recomputed
event no longer matches its seal (``verify_seals`` names the first). What seals cannot show is a history cut
back to an earlier sealed head with the record rolled back with it; a head fixed outside the table catches that:
one a reader kept, or the one China holds (every message to China carries the head at that moment).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

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

    model_config = ConfigDict(defer_build=True, frozen=True)

    sequence: int = Field(ge=0)
    hash: str


class ChainEvent(BaseModel):
    """What every event of every history JEVS keeps has: its place in the chain, what happened, the digest of the
    record as it left it, its own hash, and JEVS's seal over that hash. A certificate's events
    (``HistoryEvent``) and a registration's or application's (``jevs.domain.record_history.RecordEvent``) add the
    id of the record whose chain they belong to."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    # The field naming the record whose history this is: it is hashed, and it names the chain in a seal.
    CHAIN_FIELD: ClassVar[str]

    sequence: int = Field(ge=1)
    type: EventType
    occurred_at: AwareDatetime
    actor: str
    details: dict[str, DetailValue] = Field(default_factory=dict)
    previous_hash: str
    # Digest of the record as this event left it (e.g. ``CertificateRecord.state_hash``).
    state_hash: str
    hash: str
    # Detached JWS over ``seal_statement()`` by the function that wrote the event (None until it is stored).
    seal: str | None = None

    @property
    def chain_id(self) -> str:
        return str(getattr(self, self.CHAIN_FIELD))

    def computed_hash(self) -> str:
        # The seal signs the hash, so it cannot be part of it.
        return digest(self.model_dump(mode="json", exclude={"hash", "seal"}))

    @property
    def head(self) -> ChainHead:
        return ChainHead(sequence=self.sequence, hash=self.hash)

    def seal_statement(self) -> dict[str, str | int]:
        """What JEVS signs about this event: that the chain of this record ended here, at this hash, when the
        event was written."""
        return {
            self.CHAIN_FIELD: self.chain_id,
            "head_sequence": self.sequence,
            "head_hash": self.hash,
            # As the history shows it, so a reader rebuilds the statement from the event alone.
            "signed_at": self.model_dump(mode="json", include={"occurred_at"})["occurred_at"],
        }


class HistoryEvent(ChainEvent):
    CHAIN_FIELD: ClassVar[str] = "certificate_number"

    certificate_number: str
    version: int | None = None


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
    SIGNATURE = "signature"  # an event's seal does not verify: rewritten, or written without JEVS's key


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    events_checked: int
    # The sequence number of the first event that does not verify, and why.
    broken_at: int | None = None
    reason: str | None = None
    check: ChainCheck | None = None


def verify_chain(
    events: Sequence[ChainEvent], head: ChainHead | None = None, *, state_hash: str | None = None
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
    if state_hash is not None and latest is not None and latest.state_hash != state_hash:
        return ChainVerification(
            False,
            len(events),
            events[-1].sequence,
            "the certificate's current record is not the state its latest event recorded",
            ChainCheck.STATE,
        )
    return ChainVerification(True, len(events))


def statement_bytes(statement: Mapping[str, str | int]) -> bytes:
    """The exact bytes a seal (detached JWS) signs: the statement's canonical JSON."""
    return canonical_json(dict(statement))


# Why a seal does not hold (e.g. "the signature does not verify"), or None when it does: JEVS's keys decide.
SealCheck = Callable[[bytes, str], str | None]


def verify_seals(events: Sequence[ChainEvent], check: SealCheck) -> ChainVerification:
    """Every event's seal holds over its own statement: the first that does not is where the chain was rewritten
    (or written by something that could not sign as JEVS)."""
    for event in events:
        statement = statement_bytes(event.seal_statement())
        problem = "the event is not sealed" if event.seal is None else check(statement, event.seal)
        if problem is not None:
            reason = f"JEVS's seal does not hold: {problem}"
            return ChainVerification(False, event.sequence - 1, event.sequence, reason, ChainCheck.SIGNATURE)
    return ChainVerification(True, len(events))


def with_seals(
    verification: ChainVerification, events: Sequence[ChainEvent], check: SealCheck | None
) -> ChainVerification:
    """A chain that verified, verified again by its seals (``check``: JEVS's keys); as it was without keys to
    check with, or when it already failed (what follows a broken link cannot be trusted anyway)."""
    if check is None or not verification.valid:
        return verification
    sealed = verify_seals(events, check)
    return verification if sealed.valid else sealed


@dataclass(frozen=True)
class SignedHead:
    """JEVS's signed word on where a history ended: its latest event's seal, and the statement it signs."""

    statement: dict[str, str | int]
    jws: str


def signed_head(events: Sequence[ChainEvent], verification: ChainVerification) -> SignedHead | None:
    """The latest event's seal as the history's signed head, for a history that verified (JEVS vouches for no
    head it could not check)."""
    latest = events[-1] if events else None
    if not verification.valid or latest is None or latest.seal is None:
        return None
    return SignedHead(latest.seal_statement(), latest.seal)
