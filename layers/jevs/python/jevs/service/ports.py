"""What the use cases need from the world besides the records table: time, China Customs, queues and
dead-letter queues, buckets, mail. Adapters implement these (``jevs.adapters``); tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from jevs.domain.recovery import Letter

if TYPE_CHECKING:
    from jevs.domain.delivery import Decision
    from jevs.domain.messages import ToChina
    from jevs.domain.outbox import Outgoing
    from jevs.domain.recovery import StreamBatch


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class Signer(Protocol):
    def sign_detached(self, payload: bytes) -> str:
        """The detached compact JWS (ES256, JEVS's signing key) of ``payload``."""
        ...


class SealChecker(Protocol):
    def check_seal(self, statement: bytes, seal: str) -> str | None:
        """Why ``seal`` is not JEVS's detached JWS of ``statement`` by a key JEVS ever sealed with; None when it
        is (DESIGN.md §6.4)."""
        ...


class ChinaSender(Protocol):
    def send(self, body: bytes, idempotency_key: str) -> Decision:
        """Sign ``body`` and POST it to China Customs; what the answer (or its absence) means."""
        ...


class Publisher(Protocol):
    def publish(self, message: Outgoing) -> None:
        """Put ``message`` on the queue of its channel."""
        ...

    def publish_all(self, messages: Sequence[Outgoing]) -> Mapping[str, str]:
        """Put each of ``messages`` on the queue of its channel, in as few calls as the queues take; why each one
        that did not go was refused, by its message id (empty when all went)."""
        ...


@dataclass(frozen=True)
class DeadLetter(Letter):
    """A message waiting in a dead-letter queue, and the handle that moves, discards or keeps it."""

    handle: str


class Parking(Protocol):
    """Where a parked delivery's message waits for a redrive: the delivery queue's dead-letter queue."""

    def park(self, message: ToChina) -> None:
        """Put the message there now (the dispatcher then acknowledges it on the delivery queue)."""
        ...


class DeadLetters(Protocol):
    """One dead-letter queue (``RedriveQueue`` names which), and the queue its messages go back to, if any."""

    def receive(self, count: int) -> Sequence[DeadLetter]:
        """Up to ``count`` messages, hidden from other readers for a while (longer than a reconciler's run)."""
        ...

    def move_back(self, letter: DeadLetter) -> None:
        """Send the message as it was (body and attributes) to the queue it came from, then delete it here (a crash
        in between leaves a duplicate its consumer recognises by its business key, never a lost message). Raises
        ``RetryableFailure`` when SQS refuses."""
        ...

    def discard(self, letter: DeadLetter) -> None:
        """Delete it here: it was handled otherwise (kept in the records table, or its records published again)."""
        ...

    def keep(self, letter: DeadLetter) -> None:
        """Leave it in the queue, visible at once, for the next page or run."""
        ...

    def drained(self) -> bool:
        """Whether the queue holds nothing, neither waiting nor hidden (received by a run that may yet crash)."""
        ...


class OutboxStream(Protocol):
    """The records table's stream, as far as a redrive of a stream failure reads it."""

    def outbox_messages(self, batch: StreamBatch) -> Sequence[str] | None:
        """The message (as stored: JSON) of every outbox record the batch inserted, in stream order; None when the
        stream no longer holds the batch (trimmed after 24 hours, its shard gone, not this table's stream)."""
        ...


class ObjectStore(Protocol):
    """One bucket: objects put under a key, and read back."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...


@dataclass(frozen=True)
class TaggedObject:
    """An object's bytes, and the entity tag (ETag) of that version of it."""

    body: bytes
    etag: str


class ConditionalStore(ObjectStore, Protocol):
    """A bucket whose writes may be conditional, so that of several runs one claims a key (the email's marker)."""

    def create(self, key: str, body: bytes, content_type: str) -> str | None:
        """Put only if no object holds ``key``: the new object's ETag, or None when one does."""
        ...

    def read(self, key: str) -> TaggedObject | None:
        """The object and its ETag, or None when there is none."""
        ...

    def swap(self, key: str, body: bytes, content_type: str, etag: str) -> str | None:
        """Put only if the object still has ``etag``: the new ETag, or None when it changed or is gone."""
        ...


@dataclass(frozen=True)
class StoredObject:
    """An object in a bucket as a listing shows it."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class ObjectPage:
    objects: Sequence[StoredObject]
    # Whether objects follow after the last one listed (list again starting after its key).
    truncated: bool


class ObjectListing(Protocol):
    """One bucket's objects under a prefix, in key order."""

    def list_after(self, prefix: str, start_after: str | None, max_keys: int) -> ObjectPage: ...


class ListedStore(ObjectStore, ObjectListing, Protocol):
    """A bucket read both ways: listed, and each object read (NZ Customs' files)."""


class MailNotSent(Exception):
    """The mail service answered that it did not take the message, or was never reached: sending again is safe.
    Any other failure of ``Mailer.send`` leaves it unknown whether the message went out."""


class Mailer(Protocol):
    def send(self, raw: bytes, *, sender: str, recipient: str) -> str:
        """Send a MIME message as it is, once; the mail service's message id. Raises ``MailNotSent`` when it
        certainly did not go out."""
        ...
