"""Delivery of each (certificate, version) to China Customs (DESIGN.md §3, §6.2), and of each match result
China's import declarations receive (DESIGN.md §4), through the same signed channel.

``PENDING`` → ``DELIVERED`` (China's receipt kept), ``REJECTED`` (China said no; never retried) or
``PARKED`` (retries spent; the message waits in the dead-letter queue until a redrive). This module
decides, from what China answered, which of those follows and how long to wait before trying again.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.messages import DeliverToChina


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    PARKED = "PARKED"


FINAL_STATES = frozenset({DeliveryState.DELIVERED, DeliveryState.REJECTED})


class Delivery(BaseModel):
    """Where one message to China (a certificate's version or change of status, or a match result) stands on its
    way there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message: DeliverToChina
    state: DeliveryState
    attempts: int = Field(default=0, ge=0)
    last_error: str | None = None
    receipt_id: str | None = None
    rejection_reason: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    delivered_at: AwareDatetime | None = None

    @classmethod
    def pending(cls, message: DeliverToChina, at: datetime) -> Delivery:
        """A message just written to the outbox: PENDING until China answers, watched by reconciliation."""
        return cls(message=message, state=DeliveryState.PENDING, created_at=at, updated_at=at)

    @property
    def idempotency_key(self) -> str:
        """The business key China deduplicates on: the same for every attempt at this version (or result)."""
        return self.message.delivery_key

    @property
    def settled(self) -> bool:
        return self.state in FINAL_STATES

    def attempted(self, decision: Decision, at: datetime, *, last_receive: bool) -> Delivery:
        """The delivery after one more attempt that China answered with ``decision``: delivered, rejected, or
        still pending (parked on the queue's last receive)."""
        attempts = self.attempts + 1
        if decision.outcome is Outcome.DELIVERED:
            changes: dict[str, object] = {
                "state": DeliveryState.DELIVERED,
                "receipt_id": decision.receipt_id,
                "delivered_at": at,
            }
        elif decision.outcome is Outcome.REJECTED:
            changes = {"state": DeliveryState.REJECTED, "rejection_reason": decision.reason}
        else:
            changes = {
                "state": DeliveryState.PARKED if last_receive else DeliveryState.PENDING,
                "last_error": decision.reason,
            }
        return self.model_copy(update={**changes, "attempts": attempts, "updated_at": at})

    def resumed(self, at: datetime) -> Delivery:
        """A parked delivery put back on the queue by a redrive."""
        return self.model_copy(update={"state": DeliveryState.PENDING, "updated_at": at})


class Outcome(StrEnum):
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    RETRY = "RETRY"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    receipt_id: str | None = None
    # What the receiver asked for (Retry-After), in seconds; the backoff never waits less.
    retry_after_seconds: int | None = None


# Statuses that mean "not now": the receiver is busy, throttling, or failed on its side.
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def decide(status: int, headers: Mapping[str, str], body: Mapping[str, object] | None) -> Decision:
    """What China's HTTP answer means for this delivery.

    2xx with a receipt id is delivered (a 200 replay of an earlier acceptance counts: China deduplicated).
    429, 408, 425 and 5xx are transient. 3xx is retried too: redirects are never followed (the endpoint is a
    setting; a redirect means it is wrong or moving), and the alarm on parked deliveries tells operators.
    Every other 4xx is China's business answer: rejected, with its reason, and never retried.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if 200 <= status < 300:
        receipt = body.get("receipt_id") if body else None
        if isinstance(receipt, str) and receipt:
            return Decision(Outcome.DELIVERED, f"accepted ({status})", receipt_id=receipt)
        return Decision(Outcome.RETRY, f"{status} without a receipt id")
    if status in _TRANSIENT_STATUSES or status >= 500:
        return Decision(Outcome.RETRY, f"HTTP {status}", retry_after_seconds=_retry_after(lowered.get("retry-after")))
    if 300 <= status < 400:
        return Decision(Outcome.RETRY, f"HTTP {status} redirect to {lowered.get('location', '?')} (not followed)")
    reason = None
    if body:
        reason = body.get("reason") or body.get("detail") or body.get("title")
    return Decision(Outcome.REJECTED, str(reason or f"HTTP {status}"))


def transport_failure(error: str) -> Decision:
    """No answer at all (timeout, refused or dropped connection, TLS failure): try again later."""
    return Decision(Outcome.RETRY, error)


def _retry_after(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        seconds = int(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from an API; the exponential backoff applies
    return max(0, seconds)


# SQS caps a message's visibility at 12 hours; the dispatcher waits at most this long between attempts.
MAX_BACKOFF_SECONDS = 900
BASE_BACKOFF_SECONDS = 2


def backoff_seconds(
    attempt: int,
    retry_after: int | None = None,
    rng: random.Random | None = None,
    base_seconds: int = BASE_BACKOFF_SECONDS,
) -> int:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential with jitter (between
    half and all of the step), never less than the receiver's Retry-After, never more than MAX_BACKOFF_SECONDS."""
    ceiling = min(MAX_BACKOFF_SECONDS, base_seconds * 2 ** max(0, attempt - 1))
    jittered = (rng or random).randint(ceiling // 2, ceiling)
    return min(MAX_BACKOFF_SECONDS, max(jittered, retry_after or 0))
