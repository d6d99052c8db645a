"""One fix to moto, for the local stack only: a DynamoDB transaction backs up each table once, not once per
item it writes.

moto's ``transact_write_items`` deep-copies the whole table for every item of a transaction, to roll back
if a condition fails. JEVS writes five to seven items per submission into one table, so each submission
cost seven copies of everything stored, and a local stack slowed to seconds per request after a few hundred
certificates. Copying each table once per transaction keeps moto's rollback exactly as it is (the copy is
the same state: nothing changes between those copies), at a seventh of the cost.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.models.table import Table

_lock = threading.Lock()
_applied = False


class _CopyEachOnce:
    """Stands in for the ``copy`` module inside moto's DynamoDB models during one transaction."""

    def __init__(self) -> None:
        self._copies: dict[int, Any] = {}

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if not isinstance(value, Table):  # items and the rest: copied as before
            return copy.deepcopy(value, memo)
        if id(value) not in self._copies:
            self._copies[id(value)] = copy.deepcopy(value, memo)
        return self._copies[id(value)]


def apply() -> None:
    """Patch moto once per process; requests are served one at a time (see ``SerialMotoServer``)."""
    global _applied
    with _lock:
        if _applied:
            return
        original = models.DynamoDBBackend.transact_write_items

        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            setattr(models, "copy", _CopyEachOnce())  # noqa: B010 (moto does not export the name)
            try:
                original(self, transact_items)
            finally:
                setattr(models, "copy", copy)  # noqa: B010

        models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _applied = True
