"""The records table in memory, with the semantics of ``dynamodb`` (the contract suite holds the two together):
strongly consistent reads, queries in sort-key order with DynamoDB's limit-then-filter paging, and writes that
happen all together or not at all, refused by name when a condition fails. For the unit tier, benchmarks and
anyone who wants JEVS's rules without a moto server."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from jevs.adapters.table.model import (
    MAX_WRITES,
    Absent,
    AllOf,
    AnyOf,
    Before,
    BeginsWith,
    Below,
    Between,
    Condition,
    Equals,
    Item,
    Key,
    Page,
    Put,
    Query,
    Unset,
    Update,
    Write,
)
from jevs.resources import TableDefinition
from jevs.service.unit_of_work import Refused


def _holds(condition: Condition, item: Item | None) -> bool:
    match condition:
        case Absent():
            return item is None
        case Equals(attribute, value):
            return item is not None and attribute in item and item[attribute] == value
        case Unset(attribute):
            return item is None or attribute not in item
        case Below(attribute, value):
            # As in DynamoDB, a value of another type is simply not below (no error).
            stored = item.get(attribute) if item is not None else None
            if isinstance(stored, int) and isinstance(value, int):
                return stored < value
            return isinstance(stored, str) and isinstance(value, str) and stored < value
        case AnyOf(conditions):
            return any(_holds(part, item) for part in conditions)
        case AllOf(conditions):
            return all(_holds(part, item) for part in conditions)


def _sort_matches(sort: BeginsWith | Between | Before | None, value: Any) -> bool:
    match sort:
        case None:
            return True
        case BeginsWith(prefix):
            return isinstance(value, str) and value.startswith(prefix)
        case Between(low, high):
            return bool(low <= value <= high)
        case Before(bound):
            return bool(value < bound)


class MemoryTable:
    def __init__(self, definition: TableDefinition) -> None:
        self._definition = definition
        self._items: dict[Key, Item] = {}
        self._lock = threading.Lock()
        # How many writes were committed (a transaction counts once): tests count round trips with it.
        self.commits = 0

    def get(self, key: Key) -> Item | None:
        with self._lock:
            found = self._items.get(key)
            return copy.deepcopy(found) if found is not None else None

    def query(self, query: Query) -> Page:
        if query.index is None:
            partition_key, sort_key = self._definition.partition_key.name, self._definition.sort_key.name
        else:
            index = self._definition.index(query.index)
            partition_key, sort_key = index.partition_key.name, index.sort_key.name
        key_attributes = ("pk", "sk", partition_key, sort_key)
        with self._lock:
            candidates = [
                copy.deepcopy(item)
                for item in self._items.values()
                if item.get(partition_key) == query.partition
                and sort_key in item
                and _sort_matches(query.sort, item[sort_key])
            ]
        candidates.sort(key=lambda item: (item[sort_key], item["pk"], item["sk"]), reverse=query.newest_first)
        if query.start_after is not None:
            # Where the start key sits in the order, whether or not its item is still there (a delivery that left
            # the pending index between two pages): DynamoDB goes on from the key's position, not the item's.
            start = query.start_after
            position = (start[sort_key], start["pk"], start["sk"])
            if query.newest_first:
                candidates = [item for item in candidates if (item[sort_key], item["pk"], item["sk"]) < position]
            else:
                candidates = [item for item in candidates if (item[sort_key], item["pk"], item["sk"]) > position]
        examined = candidates if query.limit is None else candidates[: query.limit]
        more = len(examined) < len(candidates)
        items = [item for item in examined if all(item.get(name) == value for name, value in query.matching.items())]
        last_key = {name: examined[-1][name] for name in key_attributes} if more and examined else None
        return Page(items, last_key)

    def write(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        keys = [write.key for write in writes]
        # DynamoDB refuses such a transaction outright (ValidationException): it is a bug in the caller.
        if len(set(keys)) != len(keys):
            raise ValueError("a transaction writes the same item twice")
        if len(writes) > MAX_WRITES:
            raise ValueError(f"a transaction writes at most {MAX_WRITES} items")
        with self._lock:
            refused = [
                (write.name.kind, write.name.id)
                for write, key in zip(writes, keys, strict=True)
                if write.condition is not None and not _holds(write.condition, self._items.get(key))
            ]
            if refused:
                raise Refused(refused)
            for write, key in zip(writes, keys, strict=True):
                if isinstance(write, Put):
                    self._items[key] = copy.deepcopy(write.item)
                else:
                    assert isinstance(write, Update)
                    pk, sk = key
                    stored = self._items.setdefault(key, {"pk": pk, "sk": sk})
                    stored.update(copy.deepcopy(dict(write.values)))
                    for name in write.removing:
                        stored.pop(name, None)
            self.commits += 1

    def items(self) -> list[Item]:
        """Every item stored, for tests that look at the table as a whole (the outbox, say)."""
        with self._lock:
            return [copy.deepcopy(item) for item in self._items.values()]

    def put_raw(self, item: Item) -> None:
        """Store an item as it is, bypassing every rule: tests tamper with the table through this."""
        with self._lock:
            self._items[(str(item["pk"]), str(item["sk"]))] = copy.deepcopy(item)
