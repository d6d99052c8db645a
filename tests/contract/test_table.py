"""The records table's contract (``jevs.adapters.table.model``), held against both tables: in memory and
DynamoDB on moto. Each test pins one outcome, the same for both; the one known difference (a transaction
that writes one item twice) is asserted per table."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from jevs.adapters.table.model import (
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
    Page,
    Put,
    Query,
    Table,
    Unset,
    Update,
    Write,
    WriteName,
)
from jevs.service.unit_of_work import Refused
from tests.contract.support import MEMORY

pytestmark = pytest.mark.contract

PARTITION = "THING#1"
OTHER_PARTITION = "THING#2"
WORK_QUEUE = "by-work-queue"
PENDING_DELIVERY = "by-pending-delivery"


def thing(sk: str, **attributes: str | int | bool) -> Item:
    return {"pk": PARTITION, "sk": sk, **attributes}


def name(sk: str) -> WriteName:
    return WriteName("thing", sk)


def put(sk: str, condition: Condition | None = None, **attributes: str | int | bool) -> Put:
    return Put(name(sk), thing(sk, **attributes), condition)


def update(sk: str, condition: Condition | None = None, **values: str | int | bool) -> Update:
    return Update(name(sk), (PARTITION, sk), values, condition)


def stored(table: Table, sk: str) -> Item | None:
    return table.get((PARTITION, sk))


def refusal(table: Table, writes: list[Write]) -> frozenset[tuple[str, str]]:
    """The names a write of ``writes`` is refused with (failing the test if it is not refused)."""
    with pytest.raises(Refused) as refused:
        table.write(writes)
    return refused.value.names


def queued(sk: str, queue: str, key: str, **attributes: str | int | bool) -> Put:
    """An item in the by-work-queue index: partition ``queue``, sorted by ``key``."""
    return Put(name(sk), thing(sk, work_queue=queue, work_key=key, **attributes))


def keys(page: Page) -> list[str]:
    return [str(item["sk"]) for item in page.items]


# -- reading and writing ----------------------------------------------------------------------------------------


def test_get_of_a_missing_key_finds_nothing(table: Table) -> None:
    # Given an empty table
    # When an item is read that was never written
    found = table.get((PARTITION, "never-written"))
    # Then there is none
    assert found is None


def test_an_item_reads_back_as_it_was_put(table: Table) -> None:
    # Given an item with strings, integers and booleans
    item = thing("a", state="OPEN", revision=3, flagged=True, big=1_795_990_000)
    # When it is put and read back
    table.write([Put(name("a"), item)])
    # Then it is the same item
    assert stored(table, "a") == item


def test_integers_read_back_as_integers(table: Table) -> None:
    # Given an item with integer attributes (the model: "strings, integers, booleans")
    table.write([put("a", revision=3, expires_at=1_795_990_000)])
    # When it is read back
    found = stored(table, "a")
    # Then its numbers are ints, as they were written
    assert found is not None
    assert (type(found["revision"]), type(found["expires_at"])) == (int, int)


def test_a_put_replaces_the_whole_item(table: Table) -> None:
    # Given an item with two attributes
    table.write([put("a", state="OPEN", note="first")])
    # When another item is put under the same key without one of them
    table.write([put("a", state="CLOSED")])
    # Then only the new item's attributes are stored
    assert stored(table, "a") == thing("a", state="CLOSED")


def test_an_update_sets_only_its_attributes(table: Table) -> None:
    # Given an item
    table.write([put("a", state="OPEN", note="kept")])
    # When an update sets one attribute and adds another
    table.write([update("a", state="CLOSED", attempts=1)])
    # Then the other attributes are kept
    assert stored(table, "a") == thing("a", state="CLOSED", note="kept", attempts=1)


def test_an_update_removes_its_attributes_and_keeps_the_others(table: Table) -> None:
    # Given an item
    table.write([put("a", state="OPEN", note="kept", marker="M")])
    # When an update sets one attribute and removes another
    table.write([Update(name("a"), (PARTITION, "a"), {"state": "CLOSED"}, Equals("state", "OPEN"), ("marker",))])
    # Then that one is gone and the rest kept
    assert stored(table, "a") == thing("a", state="CLOSED", note="kept")


@pytest.mark.parametrize("alone", [True, False], ids=["alone", "in a batch"])
def test_removing_attributes_an_item_does_not_have_changes_nothing(table: Table, alone: bool) -> None:
    # Given an item without the attributes, and another to write beside it in a batch
    table.write([put("a", state="OPEN"), put("b")])
    removal = Update(name("a"), (PARTITION, "a"), {}, Equals("state", "OPEN"), ("marker", "since"))
    # When an update removes them, alone or in a transaction
    table.write([removal] if alone else [removal, update("b", None, state="TOUCHED")])
    # Then it is stored unchanged, and nothing was refused
    assert stored(table, "a") == thing("a", state="OPEN")


def test_an_update_without_a_condition_creates_a_missing_item(table: Table) -> None:
    # Given no item under a key
    # When an update without a condition sets attributes under it
    table.write([update("a", state="OPEN")])
    # Then the item exists with its key and those attributes
    assert stored(table, "a") == thing("a", state="OPEN")


def test_writing_nothing_stores_nothing(table: Table) -> None:
    # Given an empty table
    # When an empty batch is written
    table.write([])
    # Then nothing is stored and nothing was refused
    assert table.query(Query(PARTITION)) == Page([], None)


def test_an_item_read_is_a_copy(table: Table) -> None:
    # Given an item read from the table
    table.write([put("a", state="OPEN")])
    found = stored(table, "a")
    assert found is not None
    # When the caller changes what it read
    found["state"] = "CHANGED"
    # Then the stored item is unchanged
    assert stored(table, "a") == thing("a", state="OPEN")


# -- conditions -------------------------------------------------------------------------------------------------

EXPIRY = 1_795_990_000
STILL_FREE = AnyOf((Absent(), Below("expires_at", EXPIRY)))
ONE_PENDING_ATTEMPT = AllOf((Equals("attempts", 1), Equals("state", "PENDING")))

# (condition, what is stored under the key before the write: None for nothing)
HOLDING: dict[str, tuple[Condition, Item | None]] = {
    "absent: nothing stored": (Absent(), None),
    "equals: the stored string": (Equals("state", "OPEN"), {"state": "OPEN"}),
    "equals: the stored number": (Equals("revision", 3), {"revision": 3}),
    "unset: no such attribute": (Unset("history_sequence"), {"state": "OPEN"}),
    "unset: no item": (Unset("history_sequence"), None),
    "below: a smaller number": (Below("expires_at", EXPIRY), {"expires_at": EXPIRY - 1}),
    "below: an earlier string": (Below("due", "2026-11-25"), {"due": "2026-11-24T23:59"}),
    "any of: the first holds": (STILL_FREE, None),
    "any of: the second holds": (STILL_FREE, {"expires_at": EXPIRY - 1}),
    "all of: every part holds": (ONE_PENDING_ATTEMPT, {"attempts": 1, "state": "PENDING"}),
    "nested: all of inside any of": (AnyOf((Absent(), ONE_PENDING_ATTEMPT)), {"attempts": 1, "state": "PENDING"}),
}
FAILING: dict[str, tuple[Condition, Item | None]] = {
    "absent: an item stored": (Absent(), {"state": "OPEN"}),
    "equals: another string": (Equals("state", "OPEN"), {"state": "CLOSED"}),
    "equals: a string is not a number": (Equals("revision", "3"), {"revision": 3}),
    "equals: no item": (Equals("state", "OPEN"), None),
    "equals: no such attribute": (Equals("state", "OPEN"), {"other": "OPEN"}),
    "unset: the attribute stored": (Unset("history_sequence"), {"history_sequence": 1}),
    "unset: the attribute stored as zero": (Unset("history_sequence"), {"history_sequence": 0}),
    "below: the same number": (Below("expires_at", EXPIRY), {"expires_at": EXPIRY}),
    "below: a greater number": (Below("expires_at", EXPIRY), {"expires_at": EXPIRY + 1}),
    "below: no item": (Below("expires_at", EXPIRY), None),
    "below: no such attribute": (Below("expires_at", EXPIRY), {"state": "OPEN"}),
    "any of: no part holds": (STILL_FREE, {"expires_at": EXPIRY}),
    "any of: no part holds, attribute missing": (STILL_FREE, {"state": "OPEN"}),
    "all of: one part fails": (ONE_PENDING_ATTEMPT, {"attempts": 2, "state": "PENDING"}),
    "all of: no item": (ONE_PENDING_ATTEMPT, None),
    "nested: neither absent nor all of": (AnyOf((Absent(), ONE_PENDING_ATTEMPT)), {"attempts": 1, "state": "DONE"}),
}

# An update reaches an item the way a put does: these cases cover what differs (a missing item, a missing
# attribute, a compound condition).
UPDATE_HOLDING = {
    case: HOLDING[case]
    for case in (
        "absent: nothing stored",
        "equals: the stored string",
        "any of: the second holds",
        "all of: every part holds",
    )
}
UPDATE_FAILING = {
    case: FAILING[case]
    for case in (
        "absent: an item stored",
        "equals: another string",
        "equals: no item",
        "equals: no such attribute",
        "below: no item",
        "all of: one part fails",
    )
}


def given_stored(table: Table, attributes: Item | None) -> Item | None:
    if attributes is None:
        return None
    item = thing("a", **attributes)
    table.write([Put(name("a"), item)])
    return item


@pytest.mark.parametrize(("condition", "before"), HOLDING.values(), ids=HOLDING.keys())
def test_a_put_whose_condition_holds_is_stored(table: Table, condition: Condition, before: Item | None) -> None:
    # Given what is stored under the key
    given_stored(table, before)
    # When a put under it carries a condition that holds
    table.write([put("a", condition, state="WRITTEN")])
    # Then the put is stored
    assert stored(table, "a") == thing("a", state="WRITTEN")


@pytest.mark.parametrize(("condition", "before"), FAILING.values(), ids=FAILING.keys())
def test_a_put_whose_condition_fails_is_refused_by_name(
    table: Table, condition: Condition, before: Item | None
) -> None:
    # Given what is stored under the key
    item = given_stored(table, before)
    # When a put under it carries a condition that fails
    names = refusal(table, [put("a", condition, state="WRITTEN")])
    # Then it is refused by its name, and the stored item is unchanged
    assert names == {("thing", "a")}
    assert stored(table, "a") == item


@pytest.mark.parametrize(("condition", "before"), UPDATE_HOLDING.values(), ids=UPDATE_HOLDING.keys())
def test_an_update_whose_condition_holds_sets_its_attributes(
    table: Table, condition: Condition, before: Item | None
) -> None:
    # Given what is stored under the key
    item = given_stored(table, before)
    # When an update of it carries a condition that holds
    table.write([update("a", condition, state="UPDATED")])
    # Then the attribute is set and every other one kept
    assert stored(table, "a") == {**(item or thing("a")), "state": "UPDATED"}


@pytest.mark.parametrize(("condition", "before"), UPDATE_FAILING.values(), ids=UPDATE_FAILING.keys())
def test_an_update_whose_condition_fails_is_refused_by_name(
    table: Table, condition: Condition, before: Item | None
) -> None:
    # Given what is stored under the key
    item = given_stored(table, before)
    # When an update of it carries a condition that fails
    names = refusal(table, [update("a", condition, state="UPDATED")])
    # Then it is refused by its name and changes nothing (a missing item is not created)
    assert names == {("thing", "a")}
    assert stored(table, "a") == item


# -- transactions ------------------------------------------------------------------------------------------------


def test_a_batch_whose_conditions_hold_stores_every_write(table: Table) -> None:
    # Given an item a conditional update expects
    table.write([put("b", state="OPEN")])
    # When a batch puts a new item, updates the existing one and puts another without condition
    table.write([put("a", Absent(), state="NEW"), update("b", Equals("state", "OPEN"), state="DONE"), put("c")])
    # Then every write is stored
    assert [stored(table, sk) for sk in ("a", "b", "c")] == [
        thing("a", state="NEW"),
        thing("b", state="DONE"),
        thing("c"),
    ]


def test_a_batch_with_one_refused_write_stores_none_of_its_writes(table: Table) -> None:
    # Given an item that makes one put-new of a batch fail
    table.write([put("b", state="OPEN")])
    # When the batch is written
    with pytest.raises(Refused):
        table.write([put("a", Absent()), put("b", Absent(), state="CLOBBERED"), update("c", None, state="NEW")])
    # Then none of its writes is stored
    assert [stored(table, sk) for sk in ("a", "b", "c")] == [None, thing("b", state="OPEN"), None]


def test_a_batch_names_only_the_write_that_was_refused(table: Table) -> None:
    # Given an item that makes one write of a batch fail
    table.write([put("b", state="OPEN")])
    # When a batch of three conditional writes is written
    names = refusal(table, [put("a", Absent()), put("b", Absent()), put("c", Absent())])
    # Then exactly that write is named
    assert names == {("thing", "b")}


def test_a_batch_names_every_refused_write_at_once(table: Table) -> None:
    # Given items that make two writes of a batch fail (a put and an update), and one that holds
    table.write([put("a", state="OPEN"), put("c", state="CLOSED")])
    # When the batch is written
    writes: list[Write] = [put("a", Absent()), put("b", Absent()), update("c", Equals("state", "OPEN"), state="X")]
    names = refusal(table, writes)
    # Then both refused writes are named, and only they
    assert names == {("thing", "a"), ("thing", "c")}


def test_refused_writes_of_a_batch_are_named_by_kind_and_id(table: Table) -> None:
    # Given two records of different kinds already stored
    table.write([put("counter", last=1), put("certificate")])
    # When a batch writes both again on stale conditions
    writes: list[Write] = [
        Put(WriteName("counter", "akl-chamber/2026"), thing("counter", last=2), Equals("last", 0)),
        Put(WriteName("certificate", "11.2026.00001"), thing("certificate"), Absent()),
    ]
    names = refusal(table, writes)
    # Then each is named by the kind and id its write carries
    assert names == {("counter", "akl-chamber/2026"), ("certificate", "11.2026.00001")}


@pytest.mark.parametrize("alone", [True, False], ids=["a write alone", "a write in a batch"])
def test_a_refused_write_is_named_alike_alone_and_in_a_batch(table: Table, alone: bool) -> None:
    # Given an item
    table.write([put("a", state="OPEN")])
    # When a put-new of it is written alone, or with an unconditional write to another item
    writes: list[Write] = [put("a", Absent())] if alone else [put("a", Absent()), put("b")]
    names = refusal(table, writes)
    # Then the refusal is the same and nothing else is stored
    assert names == {("thing", "a")}
    assert stored(table, "b") is None


def test_a_transaction_that_writes_one_item_twice_is_refused_before_anything_is_stored(
    table: Table, backend: str
) -> None:
    # Given a batch that writes one item twice (a bug in the caller), among conditions that would all hold
    writes: list[Write] = [put("a", Absent()), put("b"), update("a", None, state="AGAIN")]
    # When it is written
    # Then it is refused outright, by each table in its own way (a known difference: the adapters do not
    # translate DynamoDB's ValidationException, and the memory table raises ValueError like it)
    expected: type[Exception] = ValueError if backend == MEMORY else ClientError
    with pytest.raises(expected) as raised:
        table.write(writes)
    if backend == MEMORY:
        assert str(raised.value) == "a transaction writes the same item twice"
    else:
        assert isinstance(raised.value, ClientError)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
    # And nothing is stored
    assert (stored(table, "a"), stored(table, "b")) == (None, None)


# -- queries on the table -----------------------------------------------------------------------------------------


@pytest.fixture
def partition(table: Table) -> Table:
    """One partition of five items, and a neighbour partition with a look-alike."""
    table.write([put(sk, kind=sk.split("#")[0]) for sk in ("VERSION#01", "EVENT#02", "HEAD", "EVENT#01", "EVENT#03")])
    table.write([Put(WriteName("thing", "other"), {"pk": OTHER_PARTITION, "sk": "EVENT#01"})])
    return table


def test_a_query_returns_its_whole_partition_in_sort_key_order(partition: Table) -> None:
    # Given a partition of five items written out of order
    # When it is queried without a sort condition
    page = partition.query(Query(PARTITION))
    # Then every item of it comes back in sort-key order, and no other partition's
    assert keys(page) == ["EVENT#01", "EVENT#02", "EVENT#03", "HEAD", "VERSION#01"]
    assert page.last_key is None


def test_a_query_returns_whole_items(partition: Table) -> None:
    # Given a partition
    # When it is queried for one prefix
    page = partition.query(Query(PARTITION, sort=BeginsWith("VERSION#")))
    # Then the items come back with every attribute
    assert list(page.items) == [thing("VERSION#01", kind="VERSION")]


def test_begins_with_keeps_the_sort_keys_that_start_with_the_prefix(partition: Table) -> None:
    # Given a partition with events, a version and a head
    # When it is queried for the events
    page = partition.query(Query(PARTITION, sort=BeginsWith("EVENT#")))
    # Then only the events come back, in order
    assert keys(page) == ["EVENT#01", "EVENT#02", "EVENT#03"]


def test_newest_first_returns_the_partition_in_reverse_sort_key_order(partition: Table) -> None:
    # Given a partition
    # When it is queried newest first for a prefix
    page = partition.query(Query(PARTITION, sort=BeginsWith("EVENT#"), newest_first=True))
    # Then the items come back in reverse order
    assert keys(page) == ["EVENT#03", "EVENT#02", "EVENT#01"]


def test_a_query_of_an_empty_partition_finds_nothing(partition: Table) -> None:
    # Given a table with other partitions
    # When a partition with no item is queried
    page = partition.query(Query("THING#NONE"))
    # Then the page is empty and final
    assert page == Page([], None)


def test_equality_filters_keep_the_items_that_match_them_all(table: Table) -> None:
    # Given items with two attributes in several combinations
    table.write(
        [
            put("1", state="OPEN", kind="GR"),
            put("2", state="OPEN", kind="SG"),
            put("3", state="CLOSED", kind="GR"),
            put("4", state="OPEN", kind="GR"),
            put("5", kind="GR"),
        ]
    )
    # When the partition is queried matching both
    page = table.query(Query(PARTITION, matching={"state": "OPEN", "kind": "GR"}))
    # Then only the items matching both come back (an item without the attribute matches nothing)
    assert keys(page) == ["1", "4"]


def test_a_limit_counts_the_items_examined_before_filtering(table: Table) -> None:
    # Given five items of which the third and fifth match a filter
    states = {"1": "CLOSED", "2": "CLOSED", "3": "OPEN", "4": "CLOSED", "5": "OPEN"}
    table.write([put(sk, state=state) for sk, state in states.items()])
    # When the partition is queried for them two items at a time
    page = table.query(Query(PARTITION, matching={"state": "OPEN"}, limit=2))
    # Then the first page examined two items, found none, and says where to go on
    assert page == Page([], {"pk": PARTITION, "sk": "2"})


def test_a_page_of_the_table_ends_at_the_key_of_the_last_item_examined(table: Table) -> None:
    # Given three items
    table.write([put(sk) for sk in ("1", "2", "3")])
    # When the partition is queried newest first, two at a time, from its start and then after the first page
    first = table.query(Query(PARTITION, newest_first=True, limit=2))
    second = table.query(Query(PARTITION, newest_first=True, limit=2, start_after=first.last_key))
    # Then the first page ends at the second item's key, and the second page holds the rest
    assert (keys(first), first.last_key) == (["3", "2"], {"pk": PARTITION, "sk": "2"})
    assert (keys(second), second.last_key) == (["1"], None)


def everything(table: Table, query: Query) -> list[str]:
    """The sort keys of every page of ``query``, following ``last_key`` until it is None."""
    found: list[str] = []
    start: Item | None = None
    for _ in range(50):
        page = table.query(Query(**{**vars(query), "start_after": start}))
        found.extend(keys(page))
        start = page.last_key
        if start is None:
            return found
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest first", "newest first"])
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_pages_joined_by_last_keys_give_every_matching_item_once(table: Table, newest_first: bool, limit: int) -> None:
    # Given seven items, four of them OPEN
    states = ["OPEN", "CLOSED", "OPEN", "OPEN", "CLOSED", "CLOSED", "OPEN"]
    table.write([put(str(n), state=state) for n, state in enumerate(states, start=1)])
    # When the partition is read page after page, filtered, at most ``limit`` items examined a page
    found = everything(table, Query(PARTITION, matching={"state": "OPEN"}, newest_first=newest_first, limit=limit))
    # Then every OPEN item comes back exactly once, in order
    expected = ["1", "3", "4", "7"]
    assert found == (expected[::-1] if newest_first else expected)


# -- queries on an index -------------------------------------------------------------------------------------------


@pytest.fixture
def work_queue(table: Table) -> Table:
    """Items of two exporters in one work queue (by-work-queue), and one in another queue."""
    table.write(
        [
            queued("GR#1", "akl#GR", "2026-11-20T09:00#1"),
            queued("GR#2", "akl#GR", "2026-11-21T09:00#2", state="APPROVED"),
            queued("GR#3", "akl#GR", "2026-11-22T09:00#3"),
            queued("GR#4", "akl#GR", "2026-11-23T09:00#4", state="APPROVED"),
            queued("GR#5", "wlg#GR", "2026-11-21T10:00#5"),
        ]
    )
    table.write(
        [
            Put(
                WriteName("thing", "other"),
                {"pk": OTHER_PARTITION, "sk": "GR#6", "work_queue": "akl#GR", "work_key": "2026-11-22T10:00#6"},
            )
        ]
    )
    return table


def test_an_index_query_returns_its_partition_in_index_sort_order(work_queue: Table) -> None:
    # Given items of two table partitions in one work queue
    # When the work queue is queried
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE))
    # Then every item of the queue comes back ordered by its index sort key, whatever its table partition
    assert keys(page) == ["GR#1", "GR#2", "GR#3", "GR#6", "GR#4"]


def test_between_keeps_the_index_sort_keys_within_both_bounds_inclusive(work_queue: Table) -> None:
    # Given a work queue
    # When it is queried between two keys that are stored
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE, sort=Between("2026-11-21T09:00#2", "2026-11-22T09:00#3")))
    # Then the items from the low bound to the high bound come back
    assert keys(page) == ["GR#2", "GR#3"]


def test_between_keeps_the_keys_that_start_with_the_high_bound_only_up_to_it(work_queue: Table) -> None:
    # Given a work queue
    # When it is queried between two days (the high bound a prefix of longer keys)
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE, sort=Between("2026-11-21", "2026-11-22~")))
    # Then the keys of both days come back
    assert keys(page) == ["GR#2", "GR#3", "GR#6"]


def test_before_keeps_the_index_sort_keys_strictly_below_the_bound(work_queue: Table) -> None:
    # Given a work queue
    # When it is queried before a key that is stored
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE, sort=Before("2026-11-22T09:00#3")))
    # Then only the items before it come back
    assert keys(page) == ["GR#1", "GR#2"]


def test_before_newest_first_starts_from_the_bound(work_queue: Table) -> None:
    # Given a work queue
    # When it is queried newest first before a key
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE, sort=Before("2026-11-22T09:00#3"), newest_first=True))
    # Then the items come back latest first
    assert keys(page) == ["GR#2", "GR#1"]


def test_an_index_query_filters_by_equality(work_queue: Table) -> None:
    # Given a work queue with approved and other items
    # When it is queried newest first for the approved ones
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE, matching={"state": "APPROVED"}, newest_first=True))
    # Then only those come back
    assert keys(page) == ["GR#4", "GR#2"]


def test_a_page_of_an_index_ends_at_the_table_and_index_keys_of_the_last_item_examined(work_queue: Table) -> None:
    # Given a work queue
    # When it is queried two items at a time, filtered for approved ones
    page = work_queue.query(Query("akl#GR", index=WORK_QUEUE, matching={"state": "APPROVED"}, limit=2))
    # Then the page holds the one approved item among the two examined, and the second one's keys
    assert keys(page) == ["GR#2"]
    assert page.last_key == {"pk": PARTITION, "sk": "GR#2", "work_queue": "akl#GR", "work_key": "2026-11-21T09:00#2"}


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest first", "newest first"])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_pages_of_an_index_joined_by_last_keys_give_every_item_once(
    work_queue: Table, newest_first: bool, limit: int
) -> None:
    # Given a work queue of five items (two table partitions)
    # When it is read page after page within bounds
    query = Query(
        "akl#GR", index=WORK_QUEUE, sort=Between("2026-11-20", "2026-11-23~"), newest_first=newest_first, limit=limit
    )
    found = everything(work_queue, query)
    # Then every item comes back exactly once, in order
    expected = ["GR#1", "GR#2", "GR#3", "GR#6", "GR#4"]
    assert found == (expected[::-1] if newest_first else expected)


def test_a_sparse_index_leaves_out_items_without_both_index_attributes(table: Table) -> None:
    # Given deliveries with both index attributes, with one of them, and with neither
    table.write(
        [
            put("D#1", pending_delivery="PENDING", pending_since="2026-11-24T22:00"),
            put("D#2", pending_delivery="PENDING"),
            put("D#3", pending_since="2026-11-24T22:00"),
            put("D#4", state="DELIVERED"),
        ]
    )
    # When the index is queried
    page = table.query(Query("PENDING", index=PENDING_DELIVERY))
    # Then only the item with both is in it
    assert keys(page) == ["D#1"]


def test_an_item_rewritten_without_its_index_attributes_leaves_the_index(table: Table) -> None:
    # Given a pending delivery in the sparse index
    table.write([put("D#1", pending_delivery="PENDING", pending_since="2026-11-24T22:00")])
    # When it is put again without the index attributes (delivered)
    table.write([put("D#1", state="DELIVERED")])
    # Then the index no longer holds it
    assert table.query(Query("PENDING", index=PENDING_DELIVERY)) == Page([], None)


def test_an_item_whose_index_attributes_are_removed_leaves_the_index(table: Table) -> None:
    # Given two pending deliveries in the sparse index
    table.write([put(f"D#{n}", pending_delivery="PENDING", pending_since=f"2026-11-24T2{n}:00") for n in (1, 2)])
    # When an update removes one's index attributes
    table.write([Update(name("D#1"), (PARTITION, "D#1"), {}, None, ("pending_delivery", "pending_since"))])
    # Then the index holds only the other, and the item keeps its key
    assert keys(table.query(Query("PENDING", index=PENDING_DELIVERY))) == ["D#2"]
    assert stored(table, "D#1") == thing("D#1")


def test_an_item_updated_into_another_index_partition_moves_there(table: Table) -> None:
    # Given an item in one work queue
    table.write([queued("GR#1", "akl#GR", "2026-11-20T09:00#1")])
    # When an update moves it to another queue
    table.write([update("GR#1", Equals("work_queue", "akl#GR"), work_queue="wlg#GR")])
    # Then it is in the new queue and not in the old one
    assert keys(table.query(Query("wlg#GR", index=WORK_QUEUE))) == ["GR#1"]
    assert keys(table.query(Query("akl#GR", index=WORK_QUEUE))) == []


def test_a_query_resumes_after_its_start_key_when_that_item_has_left_the_index(table: Table) -> None:
    # Given four pending deliveries, and a first page of two of them
    table.write([put(f"D#{n}", pending_delivery="PENDING", pending_since=f"2026-11-24T2{n}:00") for n in (1, 2, 3, 4)])
    first = table.query(Query("PENDING", index=PENDING_DELIVERY, limit=2))
    assert keys(first) == ["D#1", "D#2"]
    # When the page's last item leaves the index (delivered meanwhile) and the next page is read
    table.write([put("D#2", state="DELIVERED")])
    second = table.query(Query("PENDING", index=PENDING_DELIVERY, limit=2, start_after=first.last_key))
    # Then the next page starts after the start key's position, as DynamoDB's ExclusiveStartKey does
    assert keys(second) == ["D#3", "D#4"]
