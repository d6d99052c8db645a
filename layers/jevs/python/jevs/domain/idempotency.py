"""Idempotent POSTs (DESIGN §5): the same ``Idempotency-Key`` and body get the first answer back; the same
key with another body is a conflict. Every write that answers a POST stores its idempotency record in the
same transaction, so the answer and the change can never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jevs.domain.canonical import digest
from jevs.domain.errors import Conflict
from jevs.domain.ports import IdempotencyKeyTaken
from jevs.domain.records import IdempotencyRecord, StoredAnswer

# How long a retry with the same Idempotency-Key gets the first answer back. A day covers every partner's
# retry policy; after it, sending the same content again still finds what is stored (a certificate's or a
# declaration's number is the lasting idempotency key).
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SubmissionResult:
    answer: StoredAnswer
    # True when this is the stored answer to an earlier request with the same key and body.
    replayed: bool


def idempotency_record(
    *, party_id: str, key: str, request: object, answer: StoredAnswer, now: datetime
) -> IdempotencyRecord:
    """The record to store with the change that ``request`` (what the party asked, as data) caused."""
    return IdempotencyRecord(
        party_id=party_id,
        key=key,
        request_digest=digest(request),
        answer=answer,
        created_at=now,
        expires_at=now + IDEMPOTENCY_WINDOW,
    )


def replay(taken: IdempotencyKeyTaken, wanted: IdempotencyRecord) -> SubmissionResult:
    """The first answer, when the key was used before for this very request; a conflict otherwise."""
    if taken.existing.request_digest != wanted.request_digest:
        raise Conflict(
            "idempotency-key-reused", f"Idempotency-Key {wanted.key!r} was used for a different request"
        ) from None
    return SubmissionResult(taken.existing.answer, replayed=True)
