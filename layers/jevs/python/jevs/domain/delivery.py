"""Delivery of each (certificate, version) to China Customs (DESIGN.md §3, §6.2), and of each match result
China's import declarations receive (DESIGN.md §4), through the same signed channel.

``PENDING`` → ``DELIVERED`` (China's receipt kept), ``REJECTED`` (China refused the certificate; never retried)
or ``PARKED`` (the retry horizon passed, or an answer said the configuration is wrong: the message waits in the
dead-letter queue until a redrive). This module decides, from what China answered, whose fault a failure is,
which state follows, and how long to wait before trying again (DESIGN.md §6.2).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    message: DeliverToChina
    state: DeliveryState
    attempts: int = Field(default=0, ge=0)
    last_error: str | None = None
    receipt_id: str | None = None
    rejection_reason: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    # When its retry horizon began: its creation, or the redrive that last resumed it (None: created_at).
    retrying_since: AwareDatetime | None = None

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

    @property
    def horizon_start(self) -> datetime:
        return self.retrying_since or self.created_at

    def attempted(self, decision: Decision, at: datetime, *, give_up: bool) -> Delivery:
        """The delivery after one more attempt that China answered with ``decision``: delivered, rejected,
        parked (an answer that says the configuration is wrong, or a failure once ``give_up``: the retry horizon
        passed or the queue's last receive), or still pending."""
        attempts = self.attempts + 1
        if decision.outcome is Outcome.DELIVERED:
            changes: dict[str, object] = {
                "state": DeliveryState.DELIVERED,
                "receipt_id": decision.receipt_id,
                "delivered_at": at,
            }
        elif decision.outcome is Outcome.REJECTED:
            changes = {"state": DeliveryState.REJECTED, "rejection_reason": decision.reason}
        elif decision.outcome is Outcome.MISCONFIGURED:
            changes = {"state": DeliveryState.PARKED, "last_error": decision.reason}
        else:
            changes = {
                "state": DeliveryState.PARKED if give_up else DeliveryState.PENDING,
                "last_error": decision.reason,
            }
        return self.model_copy(update={**changes, "attempts": attempts, "updated_at": at})

    def parked_unsent(self, reason: str, at: datetime) -> Delivery:
        """Parked without another attempt: its horizon passed while China's circuit was open."""
        return self.model_copy(update={"state": DeliveryState.PARKED, "last_error": reason, "updated_at": at})

    def resumed(self, at: datetime) -> Delivery:
        """A parked delivery put back on the queue by a redrive: a new retry horizon begins."""
        return self.model_copy(update={"state": DeliveryState.PENDING, "updated_at": at, "retrying_since": at})


class Outcome(StrEnum):
    DELIVERED = "DELIVERED"
    # China refused the message for what it says (400, 409, 422): final.
    REJECTED = "REJECTED"
    # Not now: China is busy or down, or nothing came back. Tried again until the horizon passes.
    RETRY = "RETRY"
    # Our configuration or China's is wrong (401, 403, 404, 405, 413, 415, a redirect...): no retry can succeed
    # until someone fixes it, so the delivery parks at once, alarmed, and a redrive after the fix delivers it.
    MISCONFIGURED = "MISCONFIGURED"

    @property
    def china_answered(self) -> bool:
        """China's endpoint is up: whatever it said, its circuit may close."""
        return self is not Outcome.RETRY


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    receipt_id: str | None = None
    # What the receiver asked for (Retry-After), in seconds; the backoff never waits less.
    retry_after_seconds: int | None = None
    # China's HTTP status; None when nothing came back (the reason is then our HTTP client's, not China's words).
    status: int | None = None

    @property
    def summary(self) -> str:
        """The decision as a log line may give it: the outcome and China's status, or how the transport failed.
        Never ``reason`` when China answered: a refusal's free text may quote the certificate (DESIGN.md §1); it
        is kept on the delivery record and in the certificate's history instead."""
        if self.status is None:
            return f"{self.outcome.value}: {self.reason}"
        return f"{self.outcome.value}: HTTP {self.status}"


# Statuses that mean "not now": the receiver is busy, throttling, or failed on its side.
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
# China's refusal of the message for what it says: the certificate (or result) is wrong, not the channel.
_BUSINESS_REFUSALS = frozenset({400, 409, 422})


def decide(status: int, headers: Mapping[str, str], body: Mapping[str, object] | None) -> Decision:
    """What China's HTTP answer means for this delivery, sorted by whose fault it is.

    2xx with a receipt id is delivered (a 200 replay of an earlier acceptance counts: China deduplicated).
    429, 408, 425 and 5xx are transient: retried, honouring Retry-After. 400, 409 and 422 are China's refusal
    of the message itself: rejected with its reason, never retried. Every other 4xx (401, 403, 404, 405, 413,
    415, ...) and every 3xx (never followed: the endpoint is a setting) says a configuration is wrong, ours
    (key, path, allow-list, size) or China's: no retry can pass until it is fixed, so the delivery parks at once.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if 200 <= status < 300:
        receipt = body.get("receipt_id") if body else None
        if isinstance(receipt, str) and receipt:
            return Decision(Outcome.DELIVERED, f"accepted ({status})", receipt_id=receipt, status=status)
        return Decision(Outcome.RETRY, f"{status} without a receipt id", status=status)
    if status in _TRANSIENT_STATUSES or status >= 500:
        return Decision(
            Outcome.RETRY, f"HTTP {status}", retry_after_seconds=_retry_after(lowered.get("retry-after")), status=status
        )
    if 300 <= status < 400:
        location = lowered.get("location", "?")
        return Decision(
            Outcome.MISCONFIGURED,
            f"HTTP {status}: redirect to {location} not followed (check the endpoint)",
            status=status,
        )
    reason = None
    if body:
        reason = body.get("reason") or body.get("detail") or body.get("title")
    if status in _BUSINESS_REFUSALS:
        return Decision(Outcome.REJECTED, str(reason or f"HTTP {status}"), status=status)
    return Decision(Outcome.MISCONFIGURED, f"HTTP {status}: {reason}" if reason else f"HTTP {status}", status=status)


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


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a delivery is tried (DESIGN.md §6.2): exponential backoff with jitter from
    ``base_seconds``, capped at ``max_seconds``, until ``horizon`` has passed since it was queued (or resumed)."""

    base_seconds: float = 2
    # Below reconciliation's fifteen minutes (jevs.service.delivery.RECONCILIATION_BOUND): a message held this long
    # is not yet taken for lost.
    max_seconds: float = 600
    horizon: timedelta = timedelta(hours=6)

    def horizon_passed(self, delivery: Delivery, now: datetime) -> bool:
        return now - delivery.horizon_start >= self.horizon

    def backoff_seconds(self, attempt: int, retry_after: int | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential with jitter (between
        half and all of the step), never less than the receiver's Retry-After, never more than ``max_seconds``."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        jittered = (rng or random).uniform(ceiling / 2, ceiling)
        return min(self.max_seconds, max(jittered, retry_after or 0))
