"""The ways the simulated China Customs endpoint lets a sender down, switched on request: the settings (how
many of the next calls, what fraction of all calls, drawn from a seeded ``random.Random``), and how each
injected fault changes the answer a sender gets.

- fail: a 5xx or a 429 before anything is checked or stored, with Retry-After when one is set; or a status that
  says the sender's configuration (or China's) is wrong: 401, 403, 404, 405, 413, 415;
- delay: the answer is held back (the request is still handled, however long the sender waits);
- drop: the connection is closed with the request read and nothing answered;
- reject: a new, validly signed message that China would file (of any kind) is refused on business grounds
  and not stored;
- accept then fail: the message is stored (or found stored), then the answer is a failure or a hang-up, so
  the sender learns that China has it only when it tries again with the same key.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Self

from infrastructure.local.china_customs.answers import Answer, problem
from infrastructure.local.china_customs.receiver import BusinessRefusal

DEFAULT_REJECT_REASON = "HS code not admitted for preference"


# Answers that say a configuration is wrong (a key China does not know, a path, an allow-list, a size, a type).
CONFIGURATION_ERRORS = frozenset({401, 403, 404, 405, 413, 415})


def _transient(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


class InvalidFaults(ValueError):
    """A fault setting that makes no sense (a negative count, a fraction above 1, a 2xx failure...)."""


@dataclass(frozen=True)
class FaultSettings:
    """What the simulator does wrong, and how often. Also the JSON of ``/_control/faults``.

    Counts (``*_next``) go down by one for each request they hit; fractions are drawn from a
    ``random.Random`` seeded with ``seed`` (reseeded whenever ``seed`` is set), so a test is reproducible.
    """

    # Answer the next N calls with fail_status, before anything is checked or stored.
    fail_next: int = 0
    # And a fraction (0..1) of the calls after those.
    fail_fraction: float = 0.0
    # 5xx, or 429 (with Retry-After when retry_after is set), or a configuration error: what "fail" answers.
    fail_status: int = 503
    retry_after: int | None = None
    # Hold every matching response back this long before the request is handled (it is still handled).
    delay_seconds: float = 0.0
    delay_fraction: float = 1.0
    # Refuse the next N new, validly signed messages on business grounds; a refused message is not stored.
    reject_next: int = 0
    reject_status: int = 422
    reject_reason: str = DEFAULT_REJECT_REASON
    # Read the next N requests, then close the connection without a word.
    drop_next: int = 0
    # Store (or find stored) the next N messages, then answer accept_then_fail_status, or drop the connection.
    accept_then_fail_next: int = 0
    accept_then_fail_status: int = 503
    accept_then_fail_drop: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("fail_next", "reject_next", "drop_next", "accept_then_fail_next"):
            if getattr(self, name) < 0:
                raise InvalidFaults(f"{name} must not be negative")
        for name in ("fail_fraction", "delay_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidFaults(f"{name} must be between 0 and 1")
        if self.delay_seconds < 0:
            raise InvalidFaults("delay_seconds must not be negative")
        if not (self.fail_status in CONFIGURATION_ERRORS or _transient(self.fail_status)):
            raise InvalidFaults("fail_status must be 429, a 5xx status, or 401, 403, 404, 405, 413 or 415")
        if not _transient(self.accept_then_fail_status):
            raise InvalidFaults("accept_then_fail_status must be 429 or a 5xx status")
        if not 400 <= self.reject_status <= 499 or self.reject_status in (401, 409, 429):
            # 401, 409 and 429 mean something else here; a business rejection is a plain 4xx.
            raise InvalidFaults("reject_status must be a 4xx status other than 401, 409 and 429")
        if self.retry_after is not None and self.retry_after < 0:
            raise InvalidFaults("retry_after must not be negative")

    @classmethod
    def from_json(cls, document: object, base: FaultSettings | None = None) -> FaultSettings:
        """``base`` with the fields ``document`` names changed; unknown fields and wrong types are refused."""
        if not isinstance(document, dict):
            raise InvalidFaults("the faults are a JSON object")
        # With postponed annotations a field's type is its source text: "int", "float", "int | None"...
        kinds = {item.name: str(item.type) for item in fields(cls)}
        unknown = sorted(set(document) - set(kinds))
        if unknown:
            raise InvalidFaults(f"unknown fault settings: {', '.join(unknown)}; known: {', '.join(kinds)}")
        changes: dict[str, Any] = {}
        for name, value in document.items():
            kind = kinds[name].split("|")[0].strip()
            if value is None and "None" in kinds[name]:
                changes[name] = None
            elif kind == "bool" and isinstance(value, bool):
                changes[name] = value
            elif isinstance(value, bool):
                raise InvalidFaults(f"{name}={value!r} is not a valid {kinds[name]}")
            elif kind == "int" and isinstance(value, int):
                changes[name] = value
            elif kind == "float" and isinstance(value, int | float):
                changes[name] = float(value)
            elif kind == "str" and isinstance(value, str) and value.strip():
                changes[name] = value
            else:
                raise InvalidFaults(f"{name}={value!r} is not a valid {kinds[name]}")
        return replace(base or cls(), **changes)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InjectedCounts:
    """How many faults were injected, since the start or the last ``reset_counts``."""

    # Every injected failure the sender sees as one: failure answers and dropped connections alike.
    failed: int = 0
    # The dropped connections among them.
    dropped: int = 0
    delayed: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class HangUp:
    """No answer: the connection is closed with the request read, as a crashed or cut-off server does."""

    note: str


@dataclass(frozen=True)
class InjectedFailure:
    """A failure the sender gets instead of the endpoint's answer."""

    # None: hang up instead of answering.
    status: int | None
    retry_after: int | None

    def answer(self, note: str) -> Answer | HangUp:
        if self.status is None:
            return HangUp(note)
        answer = problem(self.status, "Injected failure: try again later.", code="injected-failure", note=note)
        if self.retry_after is None:
            return answer
        return answer.with_headers(("Retry-After", str(self.retry_after)))


@dataclass(frozen=True)
class Arrival:
    """The faults a call meets as it arrives: how long it is held back (0.0 for not at all), then the failure it
    gets instead of being handled (None lets it through)."""

    delay_seconds: float = 0.0
    failure: InjectedFailure | None = None


class Faults:
    """The simulator's live fault settings: switch them from a test, or over HTTP at ``/_control/faults``.

    Every method that switches faults returns ``self``, so ``simulator.faults.clear().fail_next(2)`` reads as it does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._counts = InjectedCounts()
        self._random = random.Random()  # noqa: S311  (chance, not secrecy; seeded for reproducible tests)

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    @property
    def injected(self) -> InjectedCounts:
        with self._lock:
            return self._counts

    def update(self, **changes: Any) -> Self:
        """Change the named settings (the fields of ``FaultSettings``), keep the others."""
        self.update_from_json(changes)
        return self

    def update_from_json(self, document: object) -> FaultSettings:
        """As ``update``, from the JSON ``POST /_control/faults`` takes; giving a ``seed`` reseeds the draws."""
        with self._lock:
            self._settings = FaultSettings.from_json(document, self._settings)
            if isinstance(document, dict) and document.get("seed") is not None:
                self._random.seed(self._settings.seed)
            return self._settings

    def clear(self) -> Self:
        """No faults any more (the random draws carry on from where they were, the counts stay)."""
        with self._lock:
            self._settings = FaultSettings()
        return self

    def reset_counts(self) -> None:
        with self._lock:
            self._counts = InjectedCounts()

    # The fault modes, as a test spells them. Every injected failure answer carries Retry-After when
    # retry_after is set (fail_next and fail_fraction set it; accept-then-fail uses what is there).

    def fail_next(self, count: int, *, status: int = 503, retry_after: int | None = None) -> Self:
        return self.update(fail_next=count, fail_status=status, retry_after=retry_after)

    def fail_fraction(
        self, fraction: float, *, status: int = 503, retry_after: int | None = None, seed: int | None = None
    ) -> Self:
        return self.update(fail_fraction=fraction, fail_status=status, retry_after=retry_after, **_seeded(seed))

    def delay(self, seconds: float, *, fraction: float = 1.0, seed: int | None = None) -> Self:
        return self.update(delay_seconds=seconds, delay_fraction=fraction, **_seeded(seed))

    def reject_next(self, count: int, *, reason: str = DEFAULT_REJECT_REASON, status: int = 422) -> Self:
        return self.update(reject_next=count, reject_reason=reason, reject_status=status)

    def drop_next(self, count: int) -> Self:
        return self.update(drop_next=count)

    def accept_then_fail(self, count: int, *, status: int = 503, drop: bool = False) -> Self:
        return self.update(accept_then_fail_next=count, accept_then_fail_status=status, accept_then_fail_drop=drop)

    # What the endpoint asks, in the order a request meets them; each call uses up what it hits and counts it.

    def take_arrival(self) -> Arrival:
        """What happens to this call before it is checked or stored: a pause, then a drop, a failure answer, or
        nothing. Decided at once when the call arrives, under the settings in force then: a call held back is
        still answered as those said, so faults switched on while it waits are left for the calls after it."""
        with self._lock:
            return Arrival(delay_seconds=self._take_delay(), failure=self._take_transport_failure())

    def _take_delay(self) -> float:
        # Called with the lock held; drawn before the failure, so a seed gives the same calls as it always has.
        settings = self._settings
        if not settings.delay_seconds or not self._chance(settings.delay_fraction):
            return 0.0
        self._count(delayed=1)
        return settings.delay_seconds

    def _take_transport_failure(self) -> InjectedFailure | None:
        # Called with the lock held.
        settings = self._settings
        if settings.drop_next:
            self._settings = replace(settings, drop_next=settings.drop_next - 1)
            failure = InjectedFailure(status=None, retry_after=None)
        elif settings.fail_next:
            self._settings = replace(settings, fail_next=settings.fail_next - 1)
            failure = InjectedFailure(settings.fail_status, settings.retry_after)
        elif self._chance(settings.fail_fraction):
            failure = InjectedFailure(settings.fail_status, settings.retry_after)
        else:
            return None
        self._count(failed=1, dropped=int(failure.status is None))
        return failure

    def take_rejection(self, message: dict[str, Any]) -> BusinessRefusal | None:
        """The receiver's business check: refuses the next ``reject_next`` new messages, whatever they say."""
        with self._lock:
            settings = self._settings
            if not settings.reject_next:
                return None
            self._settings = replace(settings, reject_next=settings.reject_next - 1)
            self._count(rejected=1)
            return BusinessRefusal(settings.reject_status, settings.reject_reason)

    def take_lost_answer(self) -> InjectedFailure | None:
        """For a call whose message China now holds: the failure that replaces its answer, if any."""
        with self._lock:
            settings = self._settings
            if not settings.accept_then_fail_next:
                return None
            self._settings = replace(settings, accept_then_fail_next=settings.accept_then_fail_next - 1)
            failure = InjectedFailure(
                None if settings.accept_then_fail_drop else settings.accept_then_fail_status, settings.retry_after
            )
            self._count(failed=1, dropped=int(failure.status is None))
            return failure

    def _chance(self, fraction: float) -> bool:
        return fraction >= 1.0 or (fraction > 0.0 and self._random.random() < fraction)

    def _count(self, **increments: int) -> None:
        # Called with the lock held.
        self._counts = replace(
            self._counts, **{name: getattr(self._counts, name) + step for name, step in increments.items()}
        )


def _seeded(seed: int | None) -> dict[str, int]:
    return {} if seed is None else {"seed": seed}
