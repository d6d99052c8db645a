"""Delivery of each (certificate, version) to China Customs (DESIGN §3, §6.2), and of each match result
China's import declarations receive (DESIGN §4), through the same signed channel.

``PENDING`` → ``DELIVERED`` (China's receipt kept), ``REJECTED`` (China said no; never retried) or
``PARKED`` (retries spent; the message waits in the dead-letter queue until a redrive). This module
decides, from what China answered, which of those follows and how long to wait before trying again.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    REJECTED = "REJECTED"
    PARKED = "PARKED"


FINAL_STATES = frozenset({DeliveryState.DELIVERED, DeliveryState.REJECTED})


class Delivery(BaseModel):
    """Where one version of a certificate, or one match result, stands on its way to China."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate_number: str
    # The certificate version delivered; for a match result, the version matched (0: no certificate found).
    version: int = Field(ge=0)
    # Set for a match result: the CN import declaration it answers.
    declaration_id: str | None = None
    state: DeliveryState
    attempts: int = Field(default=0, ge=0)
    last_error: str | None = None
    receipt_id: str | None = None
    rejection_reason: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    delivered_at: AwareDatetime | None = None

    @property
    def idempotency_key(self) -> str:
        """The business key China deduplicates on: the same for every attempt at this version (or result)."""
        if self.declaration_id is not None:
            return result_delivery_key(self.declaration_id)
        return delivery_key(self.certificate_number, self.version)


def delivery_key(certificate_number: str, version: int) -> str:
    return f"{certificate_number}/v{version}"


def result_delivery_key(declaration_id: str) -> str:
    return f"{declaration_id}/result"


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
