"""Four fixes to moto, for the local stack only, so that its cost per request does not grow with everything
ever stored or queued.

**A transaction never copies the table it writes.** moto's ``transact_write_items`` deep-copies every
table a transaction names (items, indexes and the whole stream shard) before it writes, so that it can roll
back when a condition fails. After a few hundred certificates each transaction spent most of its time
copying, and the local stack delivered two or three messages a second.

Here every condition of the transaction is evaluated first, against the state before it, exactly as DynamoDB
does. If one fails, the transaction is cancelled with moto's own reasons and nothing was written, so there is
nothing to roll back. Only when all hold does moto's own code run, with its backup made by reference: its
writes then re-check the same conditions on the same state (the server handles one request at a time, see
``infrastructure.local.aws_server``) and succeed. Anything this check does not understand is left to moto,
copies and all.

**A query reads only its partition.** moto answers every query by sorting every item of the table and then
keeping those of the partition asked for; here a query of the table itself is given only its partition's items
to sort and filter, and a query of an index only the items whose index key attributes hold the values asked for
(one pass over the items, no sort of them all), which moto then treats exactly as before. Under load the matcher's
query of ``by-awaited-certificate`` for every certificate sorted the whole table each time: a third of the
process's time after a thousand certificates.

**A message received is checked against its queue's retention period alone.** For each message it hands out,
moto's ``ReceiveMessage`` asks ``get_queue_attributes`` for the queue's retention period, which builds every
attribute of the queue, counting the queue's messages three times over, three times. Here the period is read from
the queue, and the message is tested as moto tests it. Under load, with a backlog in the notifications queue, a
receive cost 28 ms of moto's time and receives took a quarter of it.

**A queue's messages are judged at one instant.** moto decides whether each message of a queue is visible, and
whether it is delayed, by reading the clock afresh for each (a datetime built and subtracted each time); it does
so for every message sent (``SendMessage`` reads the queue's attributes, which count its messages three ways) and
for every receive. Here the clock is read once per pass and each message compared with that reading, exactly as
moto compares it; a pass over a thousand queued messages costs a tenth as much.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb import models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import ConditionalCheckFailed, TransactionCanceledException
from moto.dynamodb.models.table import Table
from moto.sqs import models as sqs_models

_lock = threading.Lock()
_applied = False

Reason = tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]
_UNCHECKED: list[Reason] = []


class _Unchecked(Exception):
    """A transaction this check leaves to moto's own code."""


class _BackUpByReference:
    """Stands in for the ``copy`` module inside moto's DynamoDB models while a transaction that will not roll
    back writes: its "backup" of each table is the table itself."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value


def _cancellation_reasons(backend: Any, transact_items: list[dict[str, Any]]) -> list[Reason] | None:
    """Each write's reason as moto reports it, if a condition fails; None if every condition holds."""
    reasons: list[Reason] = []
    written: set[tuple[str, str]] = set()
    for write in transact_items:
        ((kind, operation),) = write.items()
        table = backend.get_table(operation["TableName"])
        if kind == "Put":
            attributes = operation["Item"]
            key = {table.hash_key_attr: attributes[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attributes[table.range_key_attr]
        else:
            key = operation["Key"]
        target = (operation["TableName"], repr(sorted(key.items())))
        if target in written:
            raise _Unchecked("one item written twice: moto refuses it after writing, so it needs its backup")
        written.add(target)
        current = backend.get_item(operation["TableName"], key)
        condition = operation.get("ConditionExpression")
        if condition is None or get_filter_expression(
            condition, operation.get("ExpressionAttributeNames"), operation.get("ExpressionAttributeValues")
        ).expr(current):
            reasons.append((None, None, None))
            continue
        wants_old = operation.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
        old = current.to_json()["Attributes"] if wants_old else None
        reasons.append(("ConditionalCheckFailed", str(ConditionalCheckFailed(item=old).message), old))
    return reasons if any(code is not None for code, _, _ in reasons) else None


def apply() -> None:
    """Patch moto for the rest of the process; requests are served one at a time (see
    ``infrastructure.local.aws_server``)."""
    global _applied
    with _lock:
        if not _applied:
            _patch()
            _applied = True


@contextmanager
def applied() -> Iterator[None]:
    """The patch for the length of a block, unless the process already has it for good: the contract tier runs
    its whole suite on the patched moto too, so that the local stack's table keeps the records table's
    contract."""
    with _lock:
        originals = (
            models.DynamoDBBackend.transact_write_items,
            Table.query,
            sqs_models.SQSBackend.is_message_valid_based_on_retention_period,
            *(getattr(sqs_models.Queue, name) for name in _QUEUE_PASSES),
        )
        patched_here = not _applied
        if patched_here:
            _patch()
    try:
        yield
    finally:
        if patched_here:
            with _lock:
                transact, query, within_retention, *passes = originals
                models.DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
                Table.query = query  # type: ignore[method-assign]
                sqs_models.SQSBackend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign]
                for name, original in zip(_QUEUE_PASSES, passes, strict=True):
                    setattr(sqs_models.Queue, name, original)


def _patch() -> None:
    models.DynamoDBBackend.transact_write_items = _checked_first(  # type: ignore[method-assign]
        models.DynamoDBBackend.transact_write_items
    )
    Table.query = _partition_only(Table.query)  # type: ignore[method-assign]
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]
    for name, once in _QUEUE_PASSES.items():
        setattr(sqs_models.Queue, name, once)


def _within_retention(self: Any, queue_name: str, message: Any) -> bool:
    """moto's test of a message received, with the period read from the queue rather than from every attribute of
    it (``get_queue_attributes`` returns the queue's own value)."""
    retention_period = self.get_queue(queue_name).message_retention_period
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())


def _partition_only(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def query(self: Table, hash_key: Any, *arguments: Any, **keywords: Any) -> Any:
        index_name = arguments[6] if len(arguments) > 6 else keywords.get("index_name")
        conditions = keywords.get("hash_key_conditions") or []
        if index_name is not None:
            if not conditions:
                return original(self, hash_key, *arguments, **keywords)
            # moto checks these same conditions on each item it is given, then sorts them by the index's keys.
            found = [item for item in _items(self) if _holds(item, conditions)]
        elif hash_key is None:
            return original(self, hash_key, *arguments, **keywords)
        else:
            partition = self.items.get(hash_key)
            if partition is None:
                found = []
            elif self.range_key_attr:
                found = list(partition.values())
            else:
                found = [partition]
        # An attribute of the instance hides the method for this one call (requests are served one at a time).
        self.all_items = lambda: found  # type: ignore[method-assign]
        try:
            return original(self, hash_key, *arguments, **keywords)
        finally:
            del self.all_items

    return query


def _items(table: Table) -> Iterator[Any]:
    """Every item of ``table``, in no particular order (moto's ``all_items`` sorts them all first)."""
    for partition in table.items.values():
        if table.range_key_attr:
            yield from partition.values()
        else:
            yield partition


def _holds(item: Any, conditions: list[tuple[str, Any]]) -> bool:
    """Whether ``item`` has every attribute of ``conditions`` with the value given (moto's own test of an index
    query's key, which it makes again on what it is given)."""
    for name, value in conditions:
        held = item.attrs.get(name)
        if held is None or held != value:
            return False
    return True


def _checked_first(original: Callable[[Any, list[dict[str, Any]]], None]) -> Callable[..., None]:
    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            reasons = _cancellation_reasons(self, transact_items)
        except Exception:  # _Unchecked, or malformed: moto's own code reports it, as it would
            reasons = _UNCHECKED
        if reasons is _UNCHECKED:
            original(self, transact_items)
            return
        if reasons is not None:
            raise TransactionCanceledException(reasons)
        setattr(models, "copy", _BackUpByReference())  # noqa: B010 (moto does not export the name)
        try:
            original(self, transact_items)
        finally:
            setattr(models, "copy", copy)  # noqa: B010

    return transact_write_items


# moto's tests, as it writes them in ``Message.visible`` and ``Message.delayed``, of a message at ``now`` (ms).
def _visible(message: Any, now: float) -> bool:
    return bool(now > message.visible_at)


def _delayed(message: Any, now: float) -> bool:
    return bool(now < message.delayed_until)


def _messages(queue: Any) -> list[Any]:
    """The messages moto's ``Queue.messages`` gives: visible and not delayed."""
    now = unix_time_millis()
    return [message for message in queue._messages if _visible(message, now) and not _delayed(message, now)]


def _count(test: Callable[[Any, float], bool]) -> property:
    def count(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for message in queue._messages if test(message, now))

    return property(count)


# Each property of moto's ``Queue`` that passes over its messages reading the clock for each, made to read it once.
_QUEUE_PASSES: dict[str, property] = {
    "messages": property(_messages),
    "approximate_number_of_messages": property(lambda queue: len(_messages(queue))),
    "approximate_number_of_messages_not_visible": _count(lambda message, now: not _visible(message, now)),
    "approximate_number_of_messages_delayed": _count(_delayed),
}
