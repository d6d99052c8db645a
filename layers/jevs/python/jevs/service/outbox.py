"""Publishing the outbox (DESIGN.md §6.1): an outbox record is put on its channel's queue, then noted published, so
it leaves the open work that reconciliation watches. The outbox relay publishes each record the table's stream
brings it; reconciliation publishes one the stream never brought (or whose relay gave up on it)."""

from __future__ import annotations

import contextlib

from jevs.domain.messages import OutboxMessage
from jevs.service.ports import Publisher
from jevs.service.unit_of_work import Refused, UnitOfWork


def publish(message: OutboxMessage, uow: UnitOfWork, publisher: Publisher) -> None:
    """Put ``message`` on its queue, then note it published. A crash in between leaves the note undone: the message
    is published again later, and its consumer recognises the second copy by its business key."""
    publisher.publish(message)
    uow.outbox.published(message)
    # Refused only when its record is gone (removed from the table by hand): there is nothing left to note.
    with contextlib.suppress(Refused):
        uow.commit()
