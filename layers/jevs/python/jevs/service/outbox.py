"""Publishing the outbox (DESIGN.md §6.1): an outbox record is put on its channel's queue, then noted published, so
it leaves the open work that reconciliation watches. The outbox relay publishes the records each stream batch brings
it, together; reconciliation publishes one the stream never brought (or whose relay gave up on it)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from jevs.domain.outbox import Outgoing
from jevs.service.unit_of_work import MAX_WRITES_PER_COMMIT, OutboxNotes, Refused

if TYPE_CHECKING:
    from jevs.service.ports import Publisher


class OutboxUnit(Protocol):
    """What publishing needs of a unit of work: the outbox, and the commit of the notes. Every ``UnitOfWork`` is
    one; the outbox relay's holds nothing else (``jevs.adapters.table.outbox``), so it loads none of the domain."""

    @property
    def outbox(self) -> OutboxNotes: ...

    def commit(self) -> None: ...


def publish(message: Outgoing, uow: OutboxUnit, publisher: Publisher) -> None:
    """Put ``message`` on its queue, then note it published. A crash in between leaves the note undone: the message
    is published again later, and its consumer recognises the second copy by its business key."""
    publisher.publish(message)
    uow.outbox.published(message)
    # Refused only when its record is gone (removed from the table by hand): there is nothing left to note.
    with contextlib.suppress(Refused):
        uow.commit()


@dataclass(frozen=True)
class Relayed:
    """What became of a batch of outbox messages: those now on their queues (and noted published), and why each of
    the others was refused by its queue, by message id (they are not noted: the caller tries them again)."""

    published: Sequence[Outgoing]
    refused: Mapping[str, str]


def publish_all(messages: Sequence[Outgoing], unit_of_work: Callable[[], OutboxUnit], publisher: Publisher) -> Relayed:
    """Put every message on its queue, in as few calls as the queues take, then note those that went published,
    in as few commits as the table takes. As ``publish``, a crash between the two publishes them again later."""
    # Each once: a transaction may not write one item twice.
    unique = list({message.message_id: message for message in messages}.values())
    refused = publisher.publish_all(unique)
    published = [message for message in unique if message.message_id not in refused]
    for start in range(0, len(published), MAX_WRITES_PER_COMMIT):
        _note_published(published[start : start + MAX_WRITES_PER_COMMIT], unit_of_work())
    return Relayed(published, refused)


def _note_published(messages: Sequence[Outgoing], uow: OutboxUnit) -> None:
    """One commit noting every one of ``messages`` published. A message whose record is gone (removed from the table
    by hand) has nothing left to note, and refuses the whole commit: it is made again without those."""
    while messages:
        for message in messages:
            uow.outbox.published(message)
        try:
            uow.commit()
        except Refused as refused:
            gone = {message.message_id for message in messages if refused.of("published", message.message_id)}
            if not gone:
                raise
            messages = [message for message in messages if message.message_id not in gone]
        else:
            return
