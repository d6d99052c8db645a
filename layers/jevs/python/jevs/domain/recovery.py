"""Recovery of what gave up (DESIGN.md §6.2): a redrive job empties one dead-letter queue back into the system.

Operations start a job on a queue; the reconciler works it in pages until the queue is empty, and the job keeps
count of what it did: messages moved back, pages run, and the messages it could not move (quarantined: kept in
the records table and reported, never lost and never blocking the rest). A stream failure is not a message of
the system but the coordinates of a batch of the table's stream the outbox relay gave up on: moving it back means
publishing again the outbox records the batch covers, and when the stream no longer holds them the job reports
the batch instead (the outbox reconciliation finds what was never published).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

# A job lists at most this many quarantined messages (and as many unread stream batches); it counts all of them,
# and each one is kept in the table whether listed or not.
REPORTED = 100
# A quarantine's reason is cut to this length: it names what failed, it does not carry the message.
MAX_REASON_CHARS = 500
# What of a quarantined message is kept: SQS bodies were at most 256 KiB for years (1 MiB since 2025), and a
# table item holds at most 400 KB. A longer body is kept cut, with its length and SHA-256.
MAX_KEPT_BODY_BYTES = 256 * 1024
MAX_KEPT_ATTRIBUTES = 10
MAX_KEPT_ATTRIBUTE_CHARS = 1024


class RedriveQueue(StrEnum):
    """Which dead-letter queue a job empties, and where its messages go back to."""

    # The delivery queue's dead letters: each parked delivery is resumed, its message sent to the delivery queue.
    DELIVERIES = "deliveries"
    # The declarations queue's: back to the declarations queue, matched again.
    DECLARATIONS = "declarations"
    # The notifications queue's: back to the notifications queue, the documents made (again).
    NOTIFICATIONS = "notifications"
    # The table stream's failure queue: the outbox records of each failed batch published again.
    STREAM_FAILURES = "stream-failures"


class RedriveStatus(StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"


class Disposition(StrEnum):
    """Why a dead letter was kept in the table rather than moved back."""

    # It does not parse as its queue's message, or handling it raised a domain error.
    QUARANTINED = "QUARANTINED"
    # A stream failure whose records the stream no longer holds (older than its 24 hours, or its shard gone).
    BATCH_NOT_FOUND = "BATCH_NOT_FOUND"


class StreamBatch(BaseModel):
    """Lambda's account of a stream batch it gave up on (``DDBStreamBatchInfo`` of the on-failure record): which
    shard, which sequence numbers. AWS may add fields; those JEVS reads are required."""

    model_config = ConfigDict(defer_build=True, frozen=True, populate_by_name=True, extra="ignore")

    # As DynamoDB Streams shapes them (its API refuses anything else before it is sent).
    shard_id: str = Field(alias="shardId", min_length=28, max_length=65)
    start_sequence_number: str = Field(alias="startSequenceNumber", pattern=r"^\d{21,40}$")
    end_sequence_number: str = Field(alias="endSequenceNumber", pattern=r"^\d{21,40}$")
    stream_arn: str = Field(alias="streamArn", min_length=1)
    batch_size: int | None = Field(default=None, alias="batchSize", ge=0)
    approximate_arrival_of_first_record: AwareDatetime | None = Field(
        default=None, alias="approximateArrivalOfFirstRecord"
    )
    approximate_arrival_of_last_record: AwareDatetime | None = Field(
        default=None, alias="approximateArrivalOfLastRecord"
    )

    def covers(self, sequence_number: str) -> bool:
        """Whether a record of the shard is within the batch (sequence numbers are decimal, of any length)."""
        return int(self.start_sequence_number) <= int(sequence_number) <= int(self.end_sequence_number)


class StreamFailure(BaseModel):
    """A message of the stream failures queue: the on-failure record Lambda's event source mapping sends."""

    model_config = ConfigDict(defer_build=True, frozen=True, populate_by_name=True, extra="ignore")

    batch: StreamBatch = Field(alias="DDBStreamBatchInfo")


class Kept(BaseModel):
    """A dead letter the job did not move back, as the job reports it (the whole message is in a ``KeptLetter``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    message_id: str
    reason: str = Field(max_length=MAX_REASON_CHARS)
    at: AwareDatetime
    # A stream failure not found: the batch it names.
    batch: StreamBatch | None = None


def reason_of(error: Exception | str) -> str:
    """A reason fit for a report: one line, cut to MAX_REASON_CHARS. A message that does not parse is described by
    where and why, without the values it holds: operations read reports, and see no certificate content (DESIGN.md
    §1); the message itself is kept in the table."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        described = [
            f"{'.'.join(str(part) for part in problem['loc']) or 'the message'}: {problem['msg']}"
            for problem in problems
        ]
        more = f" (and {len(described) - 3} more)" if len(described) > 3 else ""
        error = f"does not parse: {'; '.join(described[:3])}{more}"
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= MAX_REASON_CHARS else f"{text[: MAX_REASON_CHARS - 1]}…"


class KeptLetter(BaseModel):
    """A dead letter kept in the records table under its job: what SQS held (body and attributes, within the
    size limits), why, and when. Written before the message is deleted from its dead-letter queue."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    job_id: str
    queue: RedriveQueue
    message_id: str
    disposition: Disposition
    reason: str = Field(max_length=MAX_REASON_CHARS)
    at: AwareDatetime
    body: str
    # The whole body's size and digest: when it was longer than MAX_KEPT_BODY_BYTES, ``body`` is its beginning.
    body_bytes: int = Field(ge=0)
    body_sha256: str
    body_truncated: bool
    attributes: dict[str, str]

    @classmethod
    def of(
        cls,
        job: RedriveJob,
        letter: Letter,
        disposition: Disposition,
        reason: str,
        at: datetime,
    ) -> KeptLetter:
        raw = letter.body.encode("utf-8", errors="replace")
        kept = raw[:MAX_KEPT_BODY_BYTES].decode("utf-8", errors="ignore")
        attributes = {
            name[:MAX_KEPT_ATTRIBUTE_CHARS]: value[:MAX_KEPT_ATTRIBUTE_CHARS]
            for name, value in sorted(letter.attributes.items())[:MAX_KEPT_ATTRIBUTES]
        }
        return cls(
            job_id=job.id,
            queue=job.queue,
            message_id=letter.message_id,
            disposition=disposition,
            reason=reason_of(reason),
            at=at,
            body=kept,
            body_bytes=len(raw),
            body_sha256=hashlib.sha256(raw).hexdigest(),
            body_truncated=len(raw) > MAX_KEPT_BODY_BYTES,
            attributes=attributes,
        )

    @property
    def report(self) -> Kept:
        return Kept(message_id=self.message_id, reason=self.reason, at=self.at, batch=self._batch())

    def _batch(self) -> StreamBatch | None:
        if self.disposition is not Disposition.BATCH_NOT_FOUND:
            return None
        return StreamFailure.model_validate_json(self.body).batch


@dataclass(frozen=True)
class Letter:
    """A message as a dead-letter queue holds it, before anything is made of it: its queue's id for it, its body
    and its attributes (as text)."""

    message_id: str
    body: str
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class PageWorked:
    """What one page of a job did."""

    moved: int = 0
    kept: Sequence[KeptLetter] = ()
    # Stream failures: outbox records published again.
    republished: int = 0


class RedriveJob(BaseModel):
    """One redrive of one dead-letter queue, asked for by operations and worked by the reconciler in pages."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    id: str
    queue: RedriveQueue
    requested_by: str
    requested_at: AwareDatetime
    status: RedriveStatus
    # Messages taken off the dead-letter queue and moved back (stream failures: whose records were published again).
    moved: int = Field(default=0, ge=0)
    pages: int = Field(default=0, ge=0)
    # The first REPORTED quarantined messages, and how many there were in all.
    quarantined: tuple[Kept, ...] = ()
    quarantined_count: int = Field(default=0, ge=0)
    # Stream failures only: the outbox records published again, and the batches the stream no longer held.
    republished: int = Field(default=0, ge=0)
    batches_not_found: tuple[Kept, ...] = ()
    batches_not_found_count: int = Field(default=0, ge=0)
    updated_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    # What a page's commit is conditioned on: nobody recorded another page since this one read the job.
    revision: int = Field(default=0, ge=0)

    @classmethod
    def start(cls, job_id: str, queue: RedriveQueue, party_id: str, at: datetime) -> RedriveJob:
        return cls(
            id=job_id, queue=queue, requested_by=party_id, requested_at=at, status=RedriveStatus.RUNNING, updated_at=at
        )

    @property
    def running(self) -> bool:
        return self.status is RedriveStatus.RUNNING

    def paged(self, page: PageWorked, at: datetime) -> RedriveJob:
        """The job after one more page."""
        quarantined = [kept.report for kept in page.kept if kept.disposition is Disposition.QUARANTINED]
        not_found = [kept.report for kept in page.kept if kept.disposition is Disposition.BATCH_NOT_FOUND]
        return self.model_copy(
            update={
                "moved": self.moved + page.moved,
                "pages": self.pages + 1,
                "quarantined": (*self.quarantined, *quarantined)[:REPORTED],
                "quarantined_count": self.quarantined_count + len(quarantined),
                "republished": self.republished + page.republished,
                "batches_not_found": (*self.batches_not_found, *not_found)[:REPORTED],
                "batches_not_found_count": self.batches_not_found_count + len(not_found),
                "updated_at": at,
                "revision": self.revision + 1,
            }
        )

    def finished(self, at: datetime) -> RedriveJob:
        """The job once its queue was found empty."""
        return self.model_copy(
            update={"status": RedriveStatus.DONE, "updated_at": at, "finished_at": at, "revision": self.revision + 1}
        )
