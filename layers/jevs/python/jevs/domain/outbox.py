"""The outbox's channels, and a message on its way to one as it was stored (DESIGN.md §6.1).

The outbox relay publishes each message just as its change stored it: it reads where the message goes, its id and
its kind (and correlation id) from the JSON, and never validates the message against its model: its consumer does
(``jevs.domain.messages``). So the relay carries none of the domain's models, and a message reaches its queue byte
for byte as it was committed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutboxChannel(StrEnum):
    """Where a relayed message goes; each channel is one queue."""

    DELIVERY_TO_CHINA = "delivery-to-china"
    DECLARATIONS = "declarations"
    NOTIFICATIONS = "notifications"


@dataclass(frozen=True)
class Outgoing:
    """A message to put on its channel's queue: its JSON (``body``), and what is read of it without parsing it."""

    message_id: str
    channel: OutboxChannel
    # The message's kind (``jevs.domain.messages``), an attribute of its queue message.
    kind: str
    body: str
    correlation_id: str | None = None
    # Where its outbox record is stored, when it was read from one (the storage's own key, opaque here): the note
    # that it was published goes there. None for a message published afresh (a parked delivery resumed, documents
    # queued again), which no outbox record holds.
    record_key: tuple[str, str] | None = None
