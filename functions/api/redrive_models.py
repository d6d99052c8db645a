"""Request and response bodies of redrives (``/v1/ops/redrives``, operations only): a job that empties one
dead-letter queue, and its progress as the reconciler works it (DESIGN.md §6.2)."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import AwareDatetime, ConfigDict, Field

from functions.api.models import ApiModel
from jevs.domain.recovery import Kept, RedriveJob, RedriveQueue, RedriveStatus, StreamBatch
from jevs.domain.text import Inbound

REDRIVES_PATH = "/v1/ops/redrives"


def redrive_path(job_id: str) -> str:
    return f"{REDRIVES_PATH}/{quote(job_id)}"


class RedriveRequest(Inbound):
    """``POST /v1/ops/redrives``: which dead-letter queue to empty back into the system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: RedriveQueue = Field(
        description="deliveries (parked deliveries resumed and sent to China again), declarations (matched again), "
        "notifications (documents made again), stream-failures (the outbox records of each failed stream batch "
        "published again)."
    )


class StreamBatchOut(ApiModel):
    """A batch of the table's stream the outbox relay gave up on, as Lambda described it."""

    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    stream_arn: str
    batch_size: int | None = None
    approximate_arrival_of_first_record: AwareDatetime | None = None
    approximate_arrival_of_last_record: AwareDatetime | None = None


class KeptOut(ApiModel):
    message_id: str = Field(description="The dead-letter queue's id for the message (SQS MessageId).")
    reason: str
    at: AwareDatetime
    batch: StreamBatchOut | None = Field(default=None, description="For a stream batch not found: the batch.")


class RedriveLinks(ApiModel):
    self: str


class RedriveJobOut(ApiModel):
    """A redrive job and how far it got: RUNNING until the reconciler finds its queue empty, then DONE."""

    id: str
    queue: RedriveQueue
    status: RedriveStatus
    requested_by: str
    requested_at: AwareDatetime
    updated_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    moved: int = Field(
        description="Messages moved back to their queue (stream failures: whose outbox records were published again)."
    )
    pages: int = Field(description="Pages worked, each up to ten messages.")
    quarantined_count: int = Field(description="Messages that did not parse or could not be handled: kept, reported.")
    quarantined: list[KeptOut] = Field(description="The first 100 of them.")
    republished: int = Field(description="Stream failures: outbox records published again.")
    batches_not_found_count: int = Field(
        description="Stream failures whose records the stream no longer held (left to the outbox reconciliation)."
    )
    batches_not_found: list[KeptOut] = Field(description="The first 100 of them, each with its batch.")
    links: RedriveLinks


class RedriveJobList(ApiModel):
    items: list[RedriveJobOut]


def _batch(batch: StreamBatch | None) -> StreamBatchOut | None:
    return None if batch is None else StreamBatchOut.model_validate(batch.model_dump())


def _kept(kept: Kept) -> KeptOut:
    return KeptOut(message_id=kept.message_id, reason=kept.reason, at=kept.at, batch=_batch(kept.batch))


def render_redrive(job: RedriveJob) -> RedriveJobOut:
    return RedriveJobOut(
        id=job.id,
        queue=job.queue,
        status=job.status,
        requested_by=job.requested_by,
        requested_at=job.requested_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        moved=job.moved,
        pages=job.pages,
        quarantined_count=job.quarantined_count,
        quarantined=[_kept(kept) for kept in job.quarantined],
        republished=job.republished,
        batches_not_found_count=job.batches_not_found_count,
        batches_not_found=[_kept(kept) for kept in job.batches_not_found],
        links=RedriveLinks(self=redrive_path(job.id)),
    )
