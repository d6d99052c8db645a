"""A records table on which writers race: the real DynamoDB table (on moto), with every racer held after its
first read of one item until all have read it, so their decisions are made from the same state. moto is not
thread-safe, so each call to it is made under one lock: the race is in what each decision read, which is
exactly what the conditions of the writes must catch."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import boto3

from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.model import Item, Key, Page, Query, Write
from jevs.resources import RECORDS_TABLE
from jevs.service.unit_of_work import Refused

T = TypeVar("T")


class RacingTable:
    def __init__(self, racers: int, held_at: Callable[[Key], bool]) -> None:
        self._table = DynamoTable(boto3.client("dynamodb"), RECORDS_TABLE, RECORDS_TABLE.name)
        self._all_read = threading.Barrier(racers, timeout=10)
        self._held_at = held_at
        self._moto = threading.RLock()
        self._held: set[int] = set()
        # How many commits were refused: a racer that read what another then changed.
        self.lost_races = 0

    def _serially(self, call: Callable[[], T]) -> T:
        with self._moto:
            return call()

    def get(self, key: Key) -> Item | None:
        item = self._serially(lambda: self._table.get(key))
        if self._held_at(key) and threading.get_ident() not in self._held:
            self._held.add(threading.get_ident())
            self._all_read.wait()
        return item

    def query(self, query: Query) -> Page:
        return self._serially(lambda: self._table.query(query))

    def write(self, writes: Sequence[Write]) -> None:
        try:
            self._serially(lambda: self._table.write(writes))
        except Refused:
            self.lost_races += 1
            raise


def race(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run each call on a thread of its own; their results, in order. A failure in any fails the caller."""
    results: dict[int, T] = {}
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            results[index] = call()
        except BaseException as error:  # reported below: a thread's failure must fail the test
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    return [results[index] for index in range(len(calls))]
