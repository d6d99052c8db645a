"""A circuit breaker per destination (DESIGN.md §6.2): when China Customs keeps failing, JEVS stops sending.

``CLOSED``: every delivery is sent. After ``CircuitPolicy.failures_to_open`` failures in a row (no answer, or an
answer that means "not now") the circuit ``OPEN``s for a cool-down: nothing is sent, and deliveries wait without
spending attempts. When the cool-down ends, one delivery at a time is sent as a probe (``HALF_OPEN``, held by a
lease so a probe whose sender died does not block the circuit). The probe's answer closes the circuit, and every
waiting delivery goes on by itself; its failure opens it again for twice as long, up to ``max_cooldown``.

Whatever China answers (a receipt, a refusal, an error of configuration), it answered: the circuit closes. Only
the absence of an answer, or a transient status, counts as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CHINA_CUSTOMS = "china-customs"


class CircuitState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class CircuitPolicy:
    failures_to_open: int = 5
    # The first cool-down; each failed probe doubles it, up to max_cooldown.
    cooldown: timedelta = timedelta(seconds=30)
    max_cooldown: timedelta = timedelta(minutes=5)
    # How long a probe may take before another delivery may probe instead: more than a send's timeouts.
    probe_lease: timedelta = timedelta(seconds=20)


@dataclass(frozen=True)
class Admission:
    """Whether a delivery may be sent now: ``send`` (the circuit is closed), ``probe`` (the circuit may be tried:
    claim the probe first), or neither, waiting until ``wait_until``."""

    send: bool = False
    probe: bool = False
    wait_until: datetime | None = None


class Circuit(BaseModel):
    """The breaker of one destination, as stored: its state, and the revision a change is conditioned on."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    destination: str
    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = Field(default=0, ge=0)
    opened_at: AwareDatetime | None = None
    # OPEN: when a probe may go. HALF_OPEN: when the probe's lease ends.
    retry_at: AwareDatetime | None = None
    cooldown_seconds: float = Field(default=0, ge=0)
    last_error: str | None = None
    revision: int = Field(default=0, ge=0)

    @classmethod
    def closed(cls, destination: str) -> Circuit:
        return cls(destination=destination)

    def admission(self, now: datetime) -> Admission:
        if self.state is CircuitState.CLOSED:
            return Admission(send=True)
        assert self.retry_at is not None  # an open or half-open circuit always knows when to try again
        if now >= self.retry_at:
            return Admission(probe=True)
        return Admission(wait_until=self.retry_at)

    def probing(self, now: datetime, policy: CircuitPolicy) -> Circuit:
        """The circuit while one delivery probes: no one else may, until the lease ends."""
        return self._next(state=CircuitState.HALF_OPEN, retry_at=now + policy.probe_lease)

    def answered(self) -> Circuit:
        """China answered: closed, the count of failures reset."""
        if self.state is CircuitState.CLOSED and self.consecutive_failures == 0:
            return self
        return self._next(
            state=CircuitState.CLOSED,
            consecutive_failures=0,
            opened_at=None,
            retry_at=None,
            cooldown_seconds=0,
            last_error=None,
        )

    def failed(self, now: datetime, error: str, policy: CircuitPolicy, *, probe: bool) -> Circuit:
        """No answer, or "not now": one more failure in a row. A failed probe opens it again for twice as long;
        enough failures open a closed one; a failure of a send made before it opened only counts."""
        failures = self.consecutive_failures + 1
        if probe:
            cooldown = min(
                policy.max_cooldown.total_seconds(), max(2 * self.cooldown_seconds, policy.cooldown.total_seconds())
            )
        elif self.state is CircuitState.CLOSED and failures >= policy.failures_to_open:
            cooldown = policy.cooldown.total_seconds()
        else:
            return self._next(consecutive_failures=failures, last_error=error)
        return self._next(
            state=CircuitState.OPEN,
            consecutive_failures=failures,
            opened_at=self.opened_at or now,
            retry_at=now + timedelta(seconds=cooldown),
            cooldown_seconds=cooldown,
            last_error=error,
        )

    def _next(self, **changes: object) -> Circuit:
        return self.model_copy(update={**changes, "revision": self.revision + 1})
