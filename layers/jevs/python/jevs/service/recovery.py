"""Redriving dead letters (DESIGN.md §6.2): operations start a job on one dead-letter queue (``start_redrive``);
the reconciler works every running job in pages (``work_redrives``) until its queue is empty.

Each page takes up to ten messages and handles each on its own: a delivery is resumed (``resume_parked``, an event
in its certificate's history) and its message sent back to the delivery queue; a declaration or a notification is
sent back to its queue; a stream failure has the outbox records of its batch published again. A message that does
not parse as its queue's message, or whose handling raises a domain error, is quarantined: kept in the records
table under the job, reported by it, and deleted from the queue; the rest of the page goes on. The page's progress
and what it kept are one commit, and a message leaves its dead-letter queue only after it went back or was kept:
a crash loses at most a page's counts, never a message. A failure that may pass (SQS or DynamoDB busy, a delivery
changed meanwhile) leaves the message in the queue and the job for the next run.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import TypeAdapter, ValidationError

from jevs.domain.access import may_operate
from jevs.domain.deferred import deferred_adapter
from jevs.domain.delivery import Delivery, DeliveryState
from jevs.domain.errors import DomainError, NotFound, RetryableFailure
from jevs.domain.history import DetailValue, EventType
from jevs.domain.messages import OUTBOX_MESSAGE, TO_CHINA, Notification, ToChina, ToDeclarations
from jevs.domain.parties import Party
from jevs.domain.recovery import (
    Disposition,
    KeptLetter,
    PageWorked,
    RedriveJob,
    RedriveQueue,
    StreamFailure,
    reason_of,
)
from jevs.service.ports import DeadLetter, DeadLetters, OutboxStream, Publisher
from jevs.service.unit_of_work import Refused, UnitOfWork

# Who resumes a parked delivery when no job names the operator (the history event's actor).
OPERATIONS = "ops"
# SQS hands out at most ten messages at a time: a page is one receive.
PAGE_SIZE = 10
# At most this many running jobs are read per run of the reconciler (they are worked oldest first).
RUNNING_LIMIT = 50
MAX_PAGE_SIZE = 100

_TO_DECLARATIONS: TypeAdapter[ToDeclarations] = deferred_adapter(ToDeclarations)
_NOTIFICATION: TypeAdapter[Notification] = deferred_adapter(Notification)


def resume_parked(
    message: ToChina, uow: UnitOfWork, *, actor: str = OPERATIONS, redrive: str | None = None
) -> Delivery | None:
    """Bring the parked delivery of ``message`` back to PENDING (a certificate's with an event in its history).
    None if it is not parked (delivered or resumed meanwhile); ``NotFound`` if JEVS holds no such delivery (or no
    certificate for it), which no redrive can mend."""
    delivery = uow.deliveries.get(message)
    if delivery is None:
        raise NotFound(f"{message.delivery_key}: no delivery of this message is stored")
    record = uow.certificates.get(message.history_of) if message.history_of is not None else None
    if message.history_of is not None and record is None:
        raise NotFound(f"{message.delivery_key}: certificate {message.history_of} is not stored")
    if delivery.state is not DeliveryState.PARKED:
        return None
    now = uow.now()
    resumed = delivery.resumed(now)
    uow.deliveries.replace(delivery, resumed)
    if record is not None:
        details: dict[str, DetailValue] = {
            "message": message.delivery_key,
            "state": DeliveryState.PENDING.value,
            "attempts": delivery.attempts,
        }
        if redrive is not None:
            details["redrive"] = redrive
        uow.certificates.change(record.changed(EventType.DELIVERY_RESUMED, at=now, actor=actor, details=details))
    uow.commit()
    return resumed


# -- operations start, read and list jobs ------------------------------------------------------------------------


def _operations_only(party: Party) -> None:
    # Redrives are not there for anyone else (as NZ Customs' exchange files are not): 404, never 403.
    if not may_operate(party):
        raise NotFound("redrives")


def _new_id() -> str:
    return f"RD-{uuid.uuid4().hex[:16].upper()}"


@dataclass(frozen=True)
class StartRedrive:
    """Empty one dead-letter queue back into the system: operations only."""

    party: Party
    queue: RedriveQueue


def start_redrive(command: StartRedrive, uow: UnitOfWork) -> RedriveJob:
    """A new RUNNING job; the reconciler works it on its next run. Jobs on the same queue may run side by side:
    SQS hands each message to one of them."""
    _operations_only(command.party)
    job = RedriveJob.start(_new_id(), command.queue, command.party.id, uow.now())
    uow.redrives.add(job)
    uow.commit(answering=job)
    return job


def read_redrive(party: Party, job_id: str, uow: UnitOfWork) -> RedriveJob:
    _operations_only(party)
    job = uow.redrives.get(job_id)
    if job is None:
        raise NotFound(f"redrive {job_id}")
    return job


def list_redrives(party: Party, limit: int, uow: UnitOfWork) -> Sequence[RedriveJob]:
    """The latest ``limit`` jobs, newest first."""
    _operations_only(party)
    return uow.redrives.recent(min(limit, MAX_PAGE_SIZE))


# -- the reconciler works them ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedriveOutlets:
    """Where a redrive takes messages from and puts them: each queue's dead letters (a new reader per job), the
    queues outbox messages go to, and the table's stream."""

    dead_letters: Callable[[RedriveQueue], DeadLetters]
    publisher: Publisher
    stream: OutboxStream


@dataclass(frozen=True)
class WorkRedrives:
    """Work the running jobs, oldest first, a page at a time, while ``time_left()`` (seconds) is positive: the
    caller subtracts from its own deadline what the longest page may take."""

    time_left: Callable[[], float]
    page_size: int = PAGE_SIZE
    limit: int = RUNNING_LIMIT


@dataclass(frozen=True)
class RedrivesWorked:
    # Each job worked, as this run left it.
    jobs: Sequence[RedriveJob]


def work_redrives(command: WorkRedrives, uow: UnitOfWork, outlets: RedriveOutlets) -> RedrivesWorked:
    worked: list[RedriveJob] = []
    for listed in uow.redrives.running(command.limit):
        if command.time_left() <= 0:
            break
        # The index may lag behind the job: read it again, strongly.
        job = uow.redrives.get(listed.id)
        if job is None or not job.running:
            continue
        worked.append(_work(job, command, uow, outlets))
    return RedrivesWorked(worked)


def _work(job: RedriveJob, command: WorkRedrives, uow: UnitOfWork, outlets: RedriveOutlets) -> RedriveJob:
    """Pages of one job until its queue is empty (the job DONE), the time is up, or a page could not finish."""
    dead_letters = outlets.dead_letters(job.queue)
    while command.time_left() > 0:
        letters = dead_letters.receive(command.page_size)
        if not letters:
            if not dead_letters.drained():
                # Messages another page holds (or one that crashed): they come back, and the job goes on then.
                return job
            return _recorded(uow, job, job.finished(uow.now())) or job
        page = _Page(job, uow, outlets, dead_letters)
        finished = page.work(letters)
        recorded = page.record()
        if recorded is None:
            return job
        job = recorded
        if not finished:
            return job
    return job


def _recorded(
    uow: UnitOfWork, read: RedriveJob, updated: RedriveJob, kept: Sequence[KeptLetter] = ()
) -> RedriveJob | None:
    """Commit the job as ``updated`` with the letters it kept; None when another run recorded a page first."""
    for letter in kept:
        uow.redrives.keep(letter)
    uow.redrives.replace(read, updated)
    try:
        uow.commit()
    except Refused:
        return None
    return updated


@dataclass
class _Page:
    job: RedriveJob
    uow: UnitOfWork
    outlets: RedriveOutlets
    dead_letters: DeadLetters
    moved: int = 0
    republished: int = 0
    # The letters kept in the table, each with the message it came from (deleted once the page is recorded).
    kept: list[tuple[KeptLetter, DeadLetter]] = field(default_factory=list)

    def work(self, letters: Sequence[DeadLetter]) -> bool:
        """Handle each letter; False when one could not be handled for now (it and the rest stay in the queue)."""
        for index, letter in enumerate(letters):
            try:
                self._handle(letter)
            except RetryableFailure:
                for left in letters[index:]:
                    # Kept visible for the next run; one that cannot be made visible reappears after its hold.
                    with contextlib.suppress(RetryableFailure):
                        self.dead_letters.keep(left)
                return False
            except (DomainError, ValidationError) as error:
                self._keep(letter, Disposition.QUARANTINED, reason_of(error))
        return True

    def record(self) -> RedriveJob | None:
        """Commit the page's counts and kept letters, then delete the kept letters from the queue."""
        kept = [kept for kept, _ in self.kept]
        worked = PageWorked(moved=self.moved, kept=kept, republished=self.republished)
        recorded = _recorded(self.uow, self.job, self.job.paged(worked, self.uow.now()), kept)
        for _, letter in self.kept:
            with contextlib.suppress(RetryableFailure):
                # Not recorded: the letter goes back to the queue. Recorded: it is kept, and leaves the queue (one
                # not deleted now comes back and is kept again, under the same item).
                (self.dead_letters.keep if recorded is None else self.dead_letters.discard)(letter)
        return recorded

    def _keep(self, letter: DeadLetter, disposition: Disposition, reason: str) -> None:
        self.kept.append((KeptLetter.of(self.job, letter, disposition, reason, self.uow.now()), letter))

    def _handle(self, letter: DeadLetter) -> None:
        match self.job.queue:
            case RedriveQueue.DELIVERIES:
                message = TO_CHINA.validate_json(letter.body)
                # Resumed before it is sent: the dispatcher then finds the delivery PENDING, not PARKED.
                resume_parked(message, self.uow, actor=self.job.requested_by, redrive=self.job.id)
                self._move_back(letter)
            case RedriveQueue.DECLARATIONS:
                _TO_DECLARATIONS.validate_json(letter.body)
                self._move_back(letter)
            case RedriveQueue.NOTIFICATIONS:
                _NOTIFICATION.validate_json(letter.body)
                self._move_back(letter)
            case RedriveQueue.STREAM_FAILURES:
                self._publish_again(letter)

    def _move_back(self, letter: DeadLetter) -> None:
        self.dead_letters.move_back(letter)
        self.moved += 1

    def _publish_again(self, letter: DeadLetter) -> None:
        """The outbox records of a failed stream batch, published again (their consumers deduplicate by business
        key); a batch the stream no longer holds is reported, and left to the outbox reconciliation."""
        batch = StreamFailure.model_validate_json(letter.body).batch
        stored = self.outlets.stream.outbox_messages(batch)
        if stored is None:
            reason = f"the stream no longer holds shard {batch.shard_id} from {batch.start_sequence_number}"
            self._keep(letter, Disposition.BATCH_NOT_FOUND, reason)
            return
        unreadable: list[str] = []
        for body in stored:
            try:
                message = OUTBOX_MESSAGE.validate_json(body)
            except ValidationError as error:
                unreadable.append(reason_of(error))
                continue
            self.outlets.publisher.publish(message.outgoing())
            self.republished += 1
        if unreadable:
            # What could be published was; the letter is kept for a person to look at the rest.
            reason = f"{len(unreadable)} of {len(stored)} outbox records do not parse: {unreadable[0]}"
            self._keep(letter, Disposition.QUARANTINED, reason)
            return
        self.dead_letters.discard(letter)
        self.moved += 1
