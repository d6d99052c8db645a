"""Redrive jobs (DESIGN.md §6.2): the job's own bookkeeping, and the use cases that start it and work it a page at
a time over the records table in memory, with a dead-letter queue in memory holding a malformed message among good
ones."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from jevs.domain.delivery import Decision, DeliveryState, Outcome
from jevs.domain.errors import NotFound, RetryableFailure
from jevs.domain.history import EventType, verify_chain
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchDeclaration
from jevs.domain.recovery import (
    MAX_KEPT_BODY_BYTES,
    REPORTED,
    Disposition,
    KeptLetter,
    Letter,
    PageWorked,
    RedriveJob,
    RedriveQueue,
    RedriveStatus,
    StreamBatch,
    StreamFailure,
)
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.delivery import Attempt, dispatch
from jevs.service.ports import DeadLetter
from jevs.service.recovery import (
    RedriveOutlets,
    StartRedrive,
    WorkRedrives,
    list_redrives,
    read_redrive,
    start_redrive,
    work_redrives,
)
from tests.factories import CN_CUSTOMS, ISSUING_BODY, OPS, stream_failure_record
from tests.fakes import FixedClock, MemoryRecords, ParkingLot, Published
from tests.unit.support import certificate, party, stored_certificate, stored_history

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


# -- the job ------------------------------------------------------------------------------------------------------


def kept(job: RedriveJob, message_id: str, disposition: Disposition = Disposition.QUARANTINED) -> KeptLetter:
    return KeptLetter.of(job, Letter(message_id, "{", {}), disposition, f"{message_id} is broken", AT)


def test_a_job_starts_running_with_nothing_done() -> None:
    job = RedriveJob.start("RD-1", RedriveQueue.DELIVERIES, "ops", AT)

    assert (job.status, job.moved, job.pages, job.quarantined, job.quarantined_count) == (
        RedriveStatus.RUNNING,
        0,
        0,
        (),
        0,
    )
    assert (job.requested_by, job.requested_at, job.updated_at, job.finished_at) == ("ops", AT, AT, None)


def test_each_page_adds_to_what_the_job_did_and_moves_its_revision() -> None:
    job = RedriveJob.start("RD-1", RedriveQueue.DELIVERIES, "ops", AT)
    later = AT + timedelta(minutes=1)

    job = job.paged(PageWorked(moved=9, kept=[kept(job, "m-1")]), AT)
    job = job.paged(PageWorked(moved=3), later)

    assert (job.moved, job.pages, job.quarantined_count, job.revision, job.updated_at) == (12, 2, 1, 2, later)
    assert [(each.message_id, each.reason) for each in job.quarantined] == [("m-1", "m-1 is broken")]
    assert job.running


def test_a_job_lists_the_first_hundred_quarantined_and_counts_them_all() -> None:
    job = RedriveJob.start("RD-1", RedriveQueue.NOTIFICATIONS, "ops", AT)
    for page in range(11):
        job = job.paged(PageWorked(kept=[kept(job, f"m-{page}-{n}") for n in range(10)]), AT)

    assert job.quarantined_count == 110
    assert len(job.quarantined) == REPORTED == 100
    assert job.quarantined[0].message_id == "m-0-0"
    assert job.quarantined[-1].message_id == "m-9-9"


def test_a_stream_batch_not_found_is_reported_apart_with_its_batch() -> None:
    job = RedriveJob.start("RD-1", RedriveQueue.STREAM_FAILURES, "ops", AT)
    letter = Letter("m-1", json.dumps(on_failure_record(shard("1"), sequence(100), sequence(120))), {})
    not_found = KeptLetter.of(job, letter, Disposition.BATCH_NOT_FOUND, "gone", AT)

    job = job.paged(PageWorked(kept=[not_found]), AT)

    assert (job.quarantined_count, job.batches_not_found_count) == (0, 1)
    batch = job.batches_not_found[0].batch
    assert batch is not None
    assert (batch.shard_id, batch.start_sequence_number, batch.end_sequence_number) == (
        shard("1"),
        sequence(100),
        sequence(120),
    )


def test_a_finished_job_is_done_when_its_queue_was_found_empty() -> None:
    job = RedriveJob.start("RD-1", RedriveQueue.DELIVERIES, "ops", AT).paged(PageWorked(moved=1), AT)
    done_at = AT + timedelta(minutes=2)

    done = job.finished(done_at)

    assert (done.status, done.finished_at, done.moved, done.revision) == (RedriveStatus.DONE, done_at, 1, 2)
    assert not done.running


def test_a_kept_letter_holds_at_most_256_kib_of_the_body_with_the_whole_bodys_size_and_digest() -> None:
    job = RedriveJob.start("RD-1", RedriveQueue.DECLARATIONS, "ops", AT)
    body = "x" * (MAX_KEPT_BODY_BYTES + 10)
    attributes = {f"a{n:02d}": "v" * 5000 for n in range(12)}

    letter = KeptLetter.of(job, Letter("m-1", body, attributes), Disposition.QUARANTINED, "r" * 900, AT)

    assert len(letter.body.encode()) == MAX_KEPT_BODY_BYTES
    assert (letter.body_bytes, letter.body_truncated) == (MAX_KEPT_BODY_BYTES + 10, True)
    assert letter.body_sha256 == hashlib.sha256(body.encode()).hexdigest()
    assert len(letter.attributes) == 10
    assert all(len(value) == 1024 for value in letter.attributes.values())
    assert len(letter.reason) == 500


def shard(name: str) -> str:
    """A shard id as DynamoDB Streams makes them (28 characters at least)."""
    return f"shardId-00000001700000000000-{name:0>8}"


def sequence(n: int) -> str:
    """A sequence number as DynamoDB Streams makes them (21 to 40 digits)."""
    return f"{10**20 + n}"


STREAM_ARN = "arn:aws:dynamodb:ap-southeast-2:123456789012:table/jevs-records/stream/2026-01-01T00:00:00.000"


def on_failure_record(shard_id: str, start: str, end: str) -> dict[str, Any]:
    return stream_failure_record(STREAM_ARN, shard_id, start, end)


def test_a_stream_failure_is_read_from_lambdas_on_failure_record() -> None:
    start, end = "9" * 21, "1" + "0" * 39
    failure = StreamFailure.model_validate_json(json.dumps(on_failure_record(shard("9"), start, end)))

    assert failure.batch.shard_id == shard("9")
    assert failure.batch.covers(start)
    assert failure.batch.covers("5" + "0" * 30)
    assert not failure.batch.covers("9" * 20 + "8")
    assert not failure.batch.covers("2" + "0" * 39)


@pytest.mark.parametrize(
    ("field", "value"),
    [("startSequenceNumber", "100"), ("endSequenceNumber", "1" * 41), ("shardId", "shardId-1"), ("streamArn", "")],
)
def test_a_stream_failure_with_coordinates_no_stream_has_does_not_parse(field: str, value: str) -> None:
    record = on_failure_record(shard("9"), sequence(1), sequence(2))
    record["DDBStreamBatchInfo"] = {**record["DDBStreamBatchInfo"], field: value}

    with pytest.raises(ValidationError):
        StreamFailure.model_validate_json(json.dumps(record))


# -- in-memory stand-ins for the queues and the stream -------------------------------------------------------------


class MemoryDeadLetters:
    """A dead-letter queue in memory: messages waiting, messages received and not yet moved or kept, and what became
    of each."""

    def __init__(self, *bodies: str) -> None:
        self.waiting: list[DeadLetter] = [
            DeadLetter(message_id=f"m-{n}", body=body, attributes={"kind": "x"}, handle=f"h-{n}")
            for n, body in enumerate(bodies)
        ]
        self.held: dict[str, DeadLetter] = {}
        self.moved_back: list[str] = []
        self.discarded: list[str] = []
        self.receives = 0
        # Messages whose move back SQS refuses, once each.
        self.refuse_once: set[str] = set()

    def receive(self, count: int) -> Sequence[DeadLetter]:
        self.receives += 1
        taken, self.waiting = self.waiting[:count], self.waiting[count:]
        self.held.update({letter.handle: letter for letter in taken})
        return taken

    def move_back(self, letter: DeadLetter) -> None:
        if letter.message_id in self.refuse_once:
            self.refuse_once.discard(letter.message_id)
            raise RetryableFailure("SQS refused to send")
        self.moved_back.append(letter.body)
        del self.held[letter.handle]

    def discard(self, letter: DeadLetter) -> None:
        self.discarded.append(letter.message_id)
        del self.held[letter.handle]

    def keep(self, letter: DeadLetter) -> None:
        self.waiting.append(self.held.pop(letter.handle))

    def drained(self) -> bool:
        return not self.waiting and not self.held

    def __len__(self) -> int:
        return len(self.waiting) + len(self.held)


class MemoryStream:
    def __init__(self, batches: dict[str, list[str]] | None = None) -> None:
        # By shard: the outbox messages of the batch starting there (absent: the stream no longer holds it).
        self.batches = batches or {}

    def outbox_messages(self, batch: StreamBatch) -> Sequence[str] | None:
        return self.batches.get(batch.shard_id)


class Outlets:
    def __init__(self, queue: RedriveQueue, dead_letters: MemoryDeadLetters, stream: MemoryStream | None = None):
        self.queues = {queue: dead_letters}
        self.published = Published()
        self.stream = stream or MemoryStream()

    @property
    def outlets(self) -> RedriveOutlets:
        return RedriveOutlets(dead_letters=self.queues.__getitem__, publisher=self.published, stream=self.stream)


def run(records: MemoryRecords, outlets: Outlets, pages: int | None = None) -> RedriveJob:
    """One run of the reconciler's redrive step; with ``pages``, only time for that many receives."""
    (dead_letters,) = outlets.queues.values()
    budget = dead_letters.receives + pages if pages is not None else None
    command = WorkRedrives(time_left=lambda: 1.0 if budget is None or dead_letters.receives < budget else 0.0)
    (job,) = work_redrives(command, records.uow(), outlets.outlets).jobs
    return job


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords(FixedClock(AT))


def started(records: MemoryRecords, queue: RedriveQueue) -> RedriveJob:
    return start_redrive(StartRedrive(party(OPS), queue), records.uow())


# -- starting, reading, listing -----------------------------------------------------------------------------------


def test_operations_start_a_job_that_is_stored_running_and_listed(records: MemoryRecords) -> None:
    first = started(records, RedriveQueue.DELIVERIES)
    records.clock.advance(timedelta(seconds=1))
    second = started(records, RedriveQueue.STREAM_FAILURES)

    assert read_redrive(party(OPS), first.id, records.uow()) == first
    assert [job.id for job in list_redrives(party(OPS), 10, records.uow())] == [second.id, first.id]
    assert [job.id for job in records.uow().redrives.running(10)] == [first.id, second.id]
    assert first.requested_by == "ops"


@pytest.mark.parametrize("client_id", [ISSUING_BODY, CN_CUSTOMS])
def test_redrives_are_not_there_for_anyone_but_operations(records: MemoryRecords, client_id: str) -> None:
    job = started(records, RedriveQueue.DELIVERIES)

    with pytest.raises(NotFound):
        start_redrive(StartRedrive(party(client_id), RedriveQueue.DELIVERIES), records.uow())
    with pytest.raises(NotFound):
        read_redrive(party(client_id), job.id, records.uow())
    with pytest.raises(NotFound):
        list_redrives(party(client_id), 10, records.uow())
    assert [each.id for each in list_redrives(party(OPS), 10, records.uow())] == [job.id]


# -- deliveries ---------------------------------------------------------------------------------------------------

BUSY = Decision(Outcome.RETRY, "HTTP 503")
NUMBERS = ["11.1234.20001", "11.1234.20002", "11.1234.20003"]


class Busy:
    def send(self, body: bytes, idempotency_key: str) -> Decision:
        return BUSY


def parked_messages(records: MemoryRecords) -> list[DeliverToChina]:
    """Three certificates issued, each delivery parked after its last receive (China down)."""
    for number in NUMBERS:
        submit_certificate(
            SubmitCertificate(party(ISSUING_BODY), certificate(certificate_number=number)), records.uow()
        )
    messages = sorted((m for m in records.outbox() if isinstance(m, DeliverToChina)), key=lambda m: m.history_of or "")
    for message in messages:
        # The test puts the messages in the dead-letter queue itself (among others): the dispatcher's copy is dropped.
        dispatch(Attempt(message, receive_count=5, max_receives=5), records.uow(), Busy(), ParkingLot())
    return messages


def delivery_state(records: MemoryRecords, message: DeliverToChina) -> DeliveryState:
    found = records.uow().deliveries.get(message)
    assert found is not None
    return found.state


def test_a_deliveries_redrive_resumes_each_parked_delivery_moves_it_back_and_quarantines_the_malformed(
    records: MemoryRecords,
) -> None:
    messages = parked_messages(records)
    documents = MakeDocuments(certificate_number=NUMBERS[0], version=1, created_at=AT).model_dump_json()
    bodies = [messages[0].model_dump_json(), '{"kind": "china.delivery", "body": ', documents]
    dead_letters = MemoryDeadLetters(*bodies, *(message.model_dump_json() for message in messages[1:]))
    outlets = Outlets(RedriveQueue.DELIVERIES, dead_letters)
    job = started(records, RedriveQueue.DELIVERIES)
    records.clock.advance(timedelta(minutes=1))

    worked = run(records, outlets)

    # Every good message went back, its delivery PENDING again with a sealed DELIVERY_RESUMED event naming the job
    assert sorted(dead_letters.moved_back) == sorted(message.model_dump_json() for message in messages)
    assert {delivery_state(records, message) for message in messages} == {DeliveryState.PENDING}
    for number in NUMBERS:
        history = stored_history(records, number)
        assert history[-1].type is EventType.DELIVERY_RESUMED
        assert history[-1].details["redrive"] == job.id
        assert history[-1].actor == "ops"
        assert verify_chain(history, stored_certificate(records, number).history_head).valid
    # The two malformed ones (not JSON; a message of another queue) are kept and reported, and left the queue
    assert (worked.status, worked.moved, worked.pages, worked.quarantined_count) == (RedriveStatus.DONE, 3, 1, 2)
    assert [kept.message_id for kept in worked.quarantined] == ["m-1", "m-2"]
    assert sorted(dead_letters.discarded) == ["m-1", "m-2"]
    assert len(dead_letters) == 0
    stored = {letter.message_id: letter for letter in records.uow().redrives.kept(job.id)}
    assert stored["m-1"].body == bodies[1]
    assert stored["m-2"].body == documents
    assert stored["m-2"].attributes == {"kind": "x"}
    assert read_redrive(party(OPS), job.id, records.uow()) == worked


def test_a_quarantine_says_where_and_why_a_message_does_not_parse_never_what_it_holds(records: MemoryRecords) -> None:
    (message, *_) = parked_messages(records)
    document = json.loads(message.model_dump_json())
    document["body"]["certificate"]["items"][0]["hs_code"] = "Whole milk powder, Kauri Dairy's recipe"
    dead_letters = MemoryDeadLetters(json.dumps(document), "not JSON")
    started(records, RedriveQueue.DELIVERIES)

    worked = run(records, Outlets(RedriveQueue.DELIVERIES, dead_letters))

    reasons = [kept.reason for kept in worked.quarantined]
    assert reasons[0].startswith("does not parse: body.certificate.issued.certificate.items.0.hs_code: ")
    assert "Kauri" not in reasons[0]
    assert reasons[1].startswith("does not parse: the message: Invalid JSON")


def test_a_dead_letter_whose_delivery_jevs_does_not_hold_is_quarantined(records: MemoryRecords) -> None:
    (unknown, *_) = parked_messages(MemoryRecords(FixedClock(AT)))  # parked in another table altogether
    dead_letters = MemoryDeadLetters(unknown.model_dump_json())
    started(records, RedriveQueue.DELIVERIES)

    worked = run(records, Outlets(RedriveQueue.DELIVERIES, dead_letters))

    assert (worked.moved, worked.quarantined_count) == (0, 1)
    assert "no delivery of this message is stored" in worked.quarantined[0].reason
    assert dead_letters.moved_back == []


def test_a_delivery_no_longer_parked_is_still_moved_back_for_the_dispatcher_to_settle(records: MemoryRecords) -> None:
    messages = parked_messages(records)
    dead_letters = MemoryDeadLetters(messages[0].model_dump_json(), messages[0].model_dump_json())
    started(records, RedriveQueue.DELIVERIES)

    worked = run(records, Outlets(RedriveQueue.DELIVERIES, dead_letters))

    # The second copy finds the delivery PENDING already: no second event, the message goes back all the same
    assert (worked.moved, worked.quarantined_count) == (2, 0)
    events = [event.type for event in stored_history(records, NUMBERS[0])]
    assert events.count(EventType.DELIVERY_RESUMED) == 1


# -- pages, time and failures ----------------------------------------------------------------------------------


def declarations(count: int) -> list[str]:
    return [
        MatchDeclaration(
            declaration_id=f"CNIM-{n:018d}", certificate_number=NUMBERS[0], created_at=AT
        ).model_dump_json()
        for n in range(count)
    ]


def test_a_job_is_worked_a_page_at_a_time_and_its_progress_committed_after_each(records: MemoryRecords) -> None:
    dead_letters = MemoryDeadLetters(*declarations(25))
    outlets = Outlets(RedriveQueue.DECLARATIONS, dead_letters)
    job = started(records, RedriveQueue.DECLARATIONS)

    first = run(records, outlets, pages=2)

    assert (first.status, first.moved, first.pages) == (RedriveStatus.RUNNING, 20, 2)
    assert read_redrive(party(OPS), job.id, records.uow()) == first
    assert len(dead_letters) == 5

    second = run(records, outlets)

    assert (second.status, second.moved, second.pages) == (RedriveStatus.DONE, 25, 3)
    assert len(dead_letters.moved_back) == 25


def test_a_refused_move_leaves_the_message_and_the_rest_of_its_page_for_the_next_run(records: MemoryRecords) -> None:
    dead_letters = MemoryDeadLetters(*declarations(4))
    dead_letters.refuse_once.add("m-2")
    outlets = Outlets(RedriveQueue.DECLARATIONS, dead_letters)
    started(records, RedriveQueue.DECLARATIONS)

    first = run(records, outlets)

    assert (first.status, first.moved, first.pages) == (RedriveStatus.RUNNING, 2, 1)
    assert len(dead_letters.waiting) == 2
    assert not dead_letters.held

    second = run(records, outlets)

    assert (second.status, second.moved) == (RedriveStatus.DONE, 4)


def test_a_job_whose_queue_still_holds_messages_out_of_sight_keeps_running(records: MemoryRecords) -> None:
    dead_letters = MemoryDeadLetters(*declarations(1))
    dead_letters.receive(1)  # held by a run that crashed: it comes back after its hold
    started(records, RedriveQueue.DECLARATIONS)

    worked = run(records, Outlets(RedriveQueue.DECLARATIONS, dead_letters))

    assert (worked.status, worked.pages) == (RedriveStatus.RUNNING, 0)


def test_a_page_another_run_recorded_first_puts_its_kept_letters_back_in_the_queue(records: MemoryRecords) -> None:
    dead_letters = MemoryDeadLetters("not a declaration")
    job = started(records, RedriveQueue.DECLARATIONS)
    outlets = Outlets(RedriveQueue.DECLARATIONS, dead_letters)

    def receive(count: int) -> Sequence[DeadLetter]:
        taken = MemoryDeadLetters.receive(dead_letters, count)
        uow = records.uow()
        uow.redrives.replace(job, job.paged(PageWorked(moved=1), AT))
        uow.commit()
        return taken

    # The other run records a page of the same job while this one works its own.
    dead_letters.receive = receive  # type: ignore[method-assign]
    command = WorkRedrives(time_left=lambda: 1.0 if dead_letters.receives < 1 else 0.0)
    (worked,) = work_redrives(command, records.uow(), outlets.outlets).jobs

    # Nothing of this page was recorded: the malformed message is back in the queue, not deleted, not kept
    assert worked == job
    assert [letter.message_id for letter in dead_letters.waiting] == ["m-0"]
    assert dead_letters.discarded == []
    assert records.uow().redrives.kept(job.id) == []
    assert read_redrive(party(OPS), job.id, records.uow()).moved == 1


# -- notifications and stream failures ---------------------------------------------------------------------------


def test_a_notifications_redrive_sends_notifications_back_and_quarantines_a_declaration(
    records: MemoryRecords,
) -> None:
    documents = MakeDocuments(certificate_number=NUMBERS[0], version=1, created_at=AT).model_dump_json()
    dead_letters = MemoryDeadLetters(documents, declarations(1)[0], documents)
    started(records, RedriveQueue.NOTIFICATIONS)

    worked = run(records, Outlets(RedriveQueue.NOTIFICATIONS, dead_letters))

    assert dead_letters.moved_back == [documents, documents]
    assert (worked.status, worked.moved, worked.quarantined_count) == (RedriveStatus.DONE, 2, 1)
    assert worked.quarantined[0].message_id == "m-1"


def test_a_stream_failures_redrive_publishes_the_batchs_outbox_records_again_and_reports_what_is_gone(
    records: MemoryRecords,
) -> None:
    documents = MakeDocuments(certificate_number=NUMBERS[0], version=1, created_at=AT)
    match = MatchDeclaration(declaration_id="CNIM-1", certificate_number=NUMBERS[0], created_at=AT)
    stream = MemoryStream(
        {
            shard("found"): [documents.model_dump_json(), match.model_dump_json()],
            shard("half"): [documents.model_dump_json(), '{"kind": "nothing we know"}'],
        }
    )
    dead_letters = MemoryDeadLetters(
        json.dumps(on_failure_record(shard("found"), sequence(10), sequence(11))),
        "{not an on-failure record",
        json.dumps(on_failure_record(shard("gone"), sequence(20), sequence(21))),
        json.dumps(on_failure_record(shard("half"), sequence(30), sequence(31))),
    )
    outlets = Outlets(RedriveQueue.STREAM_FAILURES, dead_letters, stream)
    job = started(records, RedriveQueue.STREAM_FAILURES)

    worked = run(records, outlets)

    # The batch the stream holds: both its records published again, the failure handled
    assert outlets.published.messages == [documents, match, documents]
    assert (worked.status, worked.moved, worked.republished) == (RedriveStatus.DONE, 1, 3)
    # The malformed one and the batch half unreadable: quarantined; the batch the stream no longer holds: reported
    assert [kept.message_id for kept in worked.quarantined] == ["m-1", "m-3"]
    assert "1 of 2 outbox records do not parse" in worked.quarantined[1].reason
    assert worked.batches_not_found_count == 1
    gone = worked.batches_not_found[0]
    assert (gone.message_id, gone.batch.shard_id if gone.batch else None) == ("m-2", shard("gone"))
    assert dead_letters.moved_back == []
    assert sorted(dead_letters.discarded) == ["m-0", "m-1", "m-2", "m-3"]
    dispositions = {letter.message_id: letter.disposition for letter in records.uow().redrives.kept(job.id)}
    assert dispositions == {
        "m-1": Disposition.QUARANTINED,
        "m-2": Disposition.BATCH_NOT_FOUND,
        "m-3": Disposition.QUARANTINED,
    }
