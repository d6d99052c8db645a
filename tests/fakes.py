"""In-memory stand-ins for the unit tier: a clock that stands still until moved, and the records table in memory
(``jevs.adapters.table.memory``, the same semantics as DynamoDB: a contract suite holds them together) with units
of work over it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from jevs.adapters.table.items import outbox_message_of
from jevs.adapters.table.memory import MemoryTable
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.canonical import digest
from jevs.domain.messages import OutboxMessage
from jevs.resources import RECORDS_TABLE
from jevs.service.idempotency import IdempotentRequest


class FixedClock:
    def __init__(self, now: datetime = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


def _answer(result: object) -> dict[str, Any]:
    """What the tests store as a request's answer: a digest of the result, so a replay can be compared."""
    return {"result": digest(result)}


class MemoryRecords:
    """The records table in memory, and units of work over it at the clock's time."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.clock = clock or FixedClock()
        self.table = MemoryTable(RECORDS_TABLE)

    def uow(self, idempotent: IdempotentRequest | None = None) -> TableUnitOfWork:
        return TableUnitOfWork(self.table, self.clock, idempotent)

    def idempotent_uow(
        self, party_id: str, key: str, request: object, answer: Callable[[Any], dict[str, Any]] = _answer
    ) -> TableUnitOfWork:
        """A unit of work of an idempotent request: ``request`` (any data) stands for route and body."""
        return self.uow(IdempotentRequest(party_id, key, digest(request), answer))

    def outbox(self) -> list[OutboxMessage]:
        """Every message the commits wrote to the outbox, in no particular order."""
        return [message for item in self.table.items() if (message := outbox_message_of(item)) is not None]
