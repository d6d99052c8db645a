"""What the repositories say to the records table, whichever table answers: DynamoDB (``dynamodb``) or an
in-memory one with the same semantics (``memory``).

Items are plain dictionaries (strings, integers, booleans; no None). Every write has a name, ``<kind> <id>``
(``certificate 11.2026.00001``, ``counter akl-chamber/2026``), and may carry a condition; a batch of writes
is one transaction, and when a condition fails the table raises ``Refused`` with the names of the writes
whose conditions failed. That is the one place where a transaction's failure is decoded: a new use case
names its writes and reads the names back, and never learns the positions DynamoDB reports them by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jevs.service.unit_of_work import MAX_WRITES_PER_COMMIT

Item = dict[str, Any]
Key = tuple[str, str]
# DynamoDB's limit on the writes of one transaction, which the unit of work's port promises its callers.
MAX_WRITES = MAX_WRITES_PER_COMMIT


@dataclass(frozen=True)
class WriteName:
    """What a write is about: a kind of record and the record's id. Shown as ``<kind> <id>``."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


# -- conditions a write may carry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Absent:
    """No item is stored under the write's key."""


@dataclass(frozen=True)
class Equals:
    attribute: str
    value: str | int


@dataclass(frozen=True)
class Unset:
    """No value is stored for the attribute (DynamoDB's ``attribute_not_exists``: also when no item is stored)."""

    attribute: str


@dataclass(frozen=True)
class Below:
    """The attribute is stored and less than ``value``."""

    attribute: str
    value: str | int


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise ValueError("AnyOf needs at least one condition")


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise ValueError("AllOf needs at least one condition")


Condition = Absent | Equals | Unset | Below | AnyOf | AllOf


# -- writes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Put:
    name: WriteName
    item: Item
    condition: Condition | None = None

    @property
    def key(self) -> Key:
        return str(self.item["pk"]), str(self.item["sk"])


@dataclass(frozen=True)
class Update:
    """Set some attributes of an item and remove others (the condition is checked first; with none, a missing item
    is created). Removing an attribute the item does not have is no change, not an error."""

    name: WriteName
    key: Key
    values: Mapping[str, Any]
    condition: Condition | None = None
    removing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.values and not self.removing:
            raise ValueError("an update sets or removes at least one attribute")
        if set(self.values) & set(self.removing):
            raise ValueError("an update does not both set and remove one attribute")


Write = Put | Update


# -- queries --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BeginsWith:
    prefix: str


@dataclass(frozen=True)
class Between:
    low: str
    high: str


@dataclass(frozen=True)
class Before:
    value: str


SortCondition = BeginsWith | Between | Before


@dataclass(frozen=True)
class Query:
    """Items of one partition of the table (``index`` None) or of one of its indexes, in sort-key order.

    ``limit`` bounds how many items are examined (before ``matching`` filters them), as DynamoDB does; a page
    that stopped early carries the key to start the next one after.
    """

    partition: str
    index: str | None = None
    sort: SortCondition | None = None
    # Attribute equalities every returned item meets.
    matching: Mapping[str, str] = field(default_factory=dict)
    newest_first: bool = False
    limit: int | None = None
    start_after: Item | None = None


@dataclass(frozen=True)
class Page:
    items: Sequence[Item]
    # Where the next page starts, or None when the partition is exhausted.
    last_key: Item | None


class Table(Protocol):
    def get(self, key: Key) -> Item | None:
        """The item under ``key`` (strongly consistent), or None."""
        ...

    def query(self, query: Query) -> Page: ...

    def write(self, writes: Sequence[Write]) -> None:
        """All the writes or none (at most ``MAX_WRITES``, each to an item of its own). Raises
        ``jevs.service.unit_of_work.Refused`` naming the writes whose
        conditions failed, ``RetryableFailure`` when the table was busy or another transaction got in the way."""
        ...
