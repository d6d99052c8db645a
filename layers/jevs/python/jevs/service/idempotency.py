"""Idempotent requests (DESIGN.md §5): the same ``Idempotency-Key`` and request get the first answer back; the
same key with another request is a conflict.

The edge (the API's idempotency middleware) describes the request (``IdempotentRequest``) and how to turn a
use case's result into the answer it sends; the unit of work stores that answer in the same transaction as
the change (``UnitOfWork.commit(answering=...)``), so the answer and the change can never disagree. The
answer is an opaque JSON document here: only the edge knows what it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from jevs.domain.errors import Conflict, DomainError

# How long a retry with the same Idempotency-Key gets the first answer back. A day covers every partner's
# retry policy; after it, sending the same content again still finds what is stored (a certificate's or a
# declaration's number is the lasting idempotency key).
IDEMPOTENCY_WINDOW = timedelta(hours=24)

Answer = dict[str, Any]


@dataclass(frozen=True)
class IdempotentRequest:
    party_id: str
    key: str
    # A digest of everything that makes two requests the same request (route, party, body).
    request_digest: str
    # The answer the edge sends for a use case's result.
    answer: Callable[[Any], Answer]

    def record(self, result: object, now: datetime) -> IdempotencyRecord:
        return IdempotencyRecord(
            party_id=self.party_id,
            key=self.key,
            request_digest=self.request_digest,
            answer=self.answer(result),
            created_at=now,
            expires_at=now + IDEMPOTENCY_WINDOW,
        )


class IdempotencyRecord(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    party_id: str
    key: str
    request_digest: str
    answer: Answer
    created_at: AwareDatetime
    expires_at: AwareDatetime

    def live_at(self, moment: datetime) -> bool:
        """Not yet expired (DynamoDB's time to live removes expired records some time later). Whole seconds, as the
        table keeps the expiry: at its second the record is gone, and a new request may take the key."""
        return int(moment.timestamp()) < int(self.expires_at.timestamp())


class AlreadyAnswered(DomainError):
    """The party used this idempotency key before: ``record`` holds the first request's answer."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


def first_answer(record: IdempotencyRecord, request_digest: str) -> Answer:
    """The answer to replay for a request with this digest; a conflict when the key served another request."""
    if record.request_digest != request_digest:
        raise Conflict(
            "idempotency-key-reused", f"Idempotency-Key {record.key!r} was used for a different request"
        ) from None
    return record.answer
