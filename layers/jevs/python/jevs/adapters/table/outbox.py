"""The outbox's records in the records table, as they are published: read without parsing the message they carry
(``jevs.domain.outbox``), and noted published. All the outbox relay needs of the table, and all it imports of it:
``OutboxUnitOfWork`` holds these notes and nothing else, so the relay's cold start loads none of the domain's
models (every other function's unit of work is ``jevs.adapters.table.unit_of_work``'s, whose outbox adds to
these the writing of new records)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jevs.adapters.table.model import Condition, Equals, Item, Key, Table, Update, Write, WriteName
from jevs.domain.outbox import OutboxChannel, Outgoing

OUTBOX_PREFIX = "OUTBOX#"
# The by-open-work index: an item is in it while its work is open, under the kind of work (``OPEN_OUTBOX``: an
# outbox record not published yet), sorted by when the work was opened.
OPEN_WORK = "open_work"
OPEN_SINCE = "open_since"
OPEN_OUTBOX = "OUTBOX"


def outgoing_of(item: Mapping[str, Any]) -> Outgoing | None:
    """The message an outbox item carries, as it is published, or None for any other item. ``ValueError`` for an
    outbox item JEVS did not write: no channel of ours, no id, a message that is not a JSON object naming its kind."""
    sort_key = str(item.get("sk", ""))
    if not sort_key.startswith(OUTBOX_PREFIX):
        return None
    body, message_id = item.get("message"), item.get("message_id")
    if not isinstance(body, str) or not isinstance(message_id, str):
        raise ValueError("the outbox record has no message or no id")
    document = json.loads(body)  # its errors are ValueErrors
    kind = document.get("kind") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(kind, str):
        raise ValueError("the outbox record's message is not a JSON object naming its kind")
    correlation_id = document.get("correlation_id")
    return Outgoing(
        message_id=message_id,
        channel=OutboxChannel(str(item.get("channel"))),  # ValueError for any other
        kind=kind,
        body=body,
        correlation_id=correlation_id if isinstance(correlation_id, str) else None,
        record_key=(str(item["pk"]), sort_key),
    )


def closed(name: WriteName, key: Key, stored: Condition) -> Update:
    """The work is done: the item leaves the open-work index (already out: no change), when ``stored`` holds (the
    item is there, so no stray item is made)."""
    return Update(name, key, {}, stored, removing=(OPEN_WORK, OPEN_SINCE))


class TableOutboxNotes:
    """Notes outbox records published (writes named ``published <message id>``)."""

    def __init__(self, table: Table, stage: Callable[[Write], None]) -> None:
        self._table, self._stage = table, stage

    def published(self, message: Outgoing) -> None:
        if message.record_key is None:
            raise ValueError(f"{message.message_id} was not read from an outbox record: there is none to note")
        name = WriteName("published", message.message_id)
        self._stage(closed(name, message.record_key, Equals("message_id", message.message_id)))


class OutboxUnitOfWork:
    """The outbox relay's unit of work: the notes that records are published, stored by one commit (one
    transaction, refused naming each record that is gone)."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._staged: list[Write] = []
        self.outbox = TableOutboxNotes(table, self._staged.append)

    def commit(self) -> None:
        writes, self._staged[:] = list(self._staged), []
        self._table.write(writes)


def outbox_image(image: Mapping[str, Mapping[str, Any]]) -> Item:
    """A stream record's image (DynamoDB's typed JSON) as an item, its string attributes only: all an outbox
    record's reading needs (``outgoing_of``)."""
    return {name: value["S"] for name, value in image.items() if "S" in value}
