"""Publishing a batch of outbox messages (``jevs.service.outbox.publish_all``, DESIGN.md §6.1) over the records
table in memory: every message put on its queue in one call to the publisher and noted published in one commit;
a message its queue refused is left unnoted, for the relay to try again; a message whose record is gone is noted
no more, and does not keep the others from being noted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import pytest

from jevs.domain.outbox import Outgoing
from jevs.service.outbox import publish_all
from jevs.service.unit_of_work import MAX_WRITES_PER_COMMIT
from tests.fakes import MemoryRecords
from tests.unit.support import issued_outbox as issued

pytestmark = pytest.mark.unit


class Refusing:
    """A publisher whose queues refuse the messages named, and keep the others; one call per batch."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)
        self.batches: list[list[str]] = []

    def publish(self, message: Outgoing) -> None:
        raise AssertionError("a batch is published with publish_all")

    def publish_all(self, messages: Sequence[Outgoing]) -> Mapping[str, str]:
        self.batches.append([message.message_id for message in messages])
        return {message.message_id: "refused" for message in messages if message.message_id in self.refused}


def unpublished(records: MemoryRecords) -> list[str]:
    found = records.uow().outbox.unpublished_before(records.clock.now() + timedelta(days=1), 1000)
    return sorted(message.message_id for message in found)


def test_a_batch_is_published_in_one_call_and_noted_in_one_commit() -> None:
    records = MemoryRecords()
    messages = issued(records, 3)
    publisher = Refusing()
    commits = records.table.commits

    relayed = publish_all(messages, records.uow, publisher)

    assert len(messages) == 9  # each certificate's delivery, documents and declarations awaiting it
    assert publisher.batches == [[message.message_id for message in messages]]
    assert relayed.published == messages
    assert relayed.refused == {}
    assert records.table.commits == commits + 1
    assert unpublished(records) == []


def test_a_message_its_queue_refused_is_returned_and_left_unnoted() -> None:
    records = MemoryRecords()
    messages = issued(records, 2)
    refused = messages[0].message_id

    relayed = publish_all(messages, records.uow, Refusing(refused))

    assert relayed.refused == {refused: "refused"}
    assert [message.message_id for message in relayed.published] == [m.message_id for m in messages[1:]]
    assert unpublished(records) == [refused]


def test_a_message_whose_record_is_gone_is_not_noted_and_the_others_are() -> None:
    records = MemoryRecords()
    messages = issued(records, 2)
    gone = messages[0]
    # Removed from the table by hand: its note would create a record that never was, and is refused.
    assert gone.record_key is not None
    records.table._items.pop(gone.record_key)

    relayed = publish_all(messages, records.uow, Refusing())

    assert relayed.refused == {}
    assert unpublished(records) == []
    assert records.table.get(gone.record_key) is None


def test_a_message_given_twice_is_published_and_noted_once() -> None:
    records = MemoryRecords()
    messages = issued(records, 1)
    publisher = Refusing()

    publish_all([*messages, messages[0]], records.uow, publisher)

    assert publisher.batches == [[message.message_id for message in messages]]
    assert unpublished(records) == []


def test_more_notes_than_one_commit_takes_are_noted_in_as_many_commits_as_they_need() -> None:
    records = MemoryRecords()
    messages = issued(records, MAX_WRITES_PER_COMMIT // 3 + 1)  # three messages each: just over one commit
    commits = records.table.commits

    publish_all(messages, records.uow, Refusing())

    assert len(messages) > MAX_WRITES_PER_COMMIT
    assert records.table.commits == commits + 2
    assert unpublished(records) == []
