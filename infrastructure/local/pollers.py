"""Feeding the functions on one machine exactly the events Lambda would (DESIGN.md §7): DynamoDB stream
records to the outbox relay, SQS batches with partial failures to the dispatcher, and scheduled events to
the reconciler. Each poller is a thread; ``stop()`` ends it within a poll interval."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
# Longer than any round takes: ten deliveries, each waiting out China's read timeout, and then some.
ROUND_TIMEOUT_SECONDS = 120
ContextFactory = Callable[[str], Any]
# The schedule rule that runs reconciliation (``jevs reconcile`` sends its event too).
RECONCILIATION_RULE = "jevs-reconciliation"


class Poller(ABC):
    def __init__(self, name: str, interval_seconds: float, gate: threading.Event | None = None) -> None:
        self.name = name
        self.interval = interval_seconds
        # Polls only while the gate is open: while the functions' environment is in place.
        self.gate = gate or _always_open()
        self._stopping = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{name}", daemon=True)
        # How many times the function was invoked: tests wait on it.
        self.invocations = 0

    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        """No new round until ``resume()`` (a round under way finishes); as if the function were disabled."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        """No new round; the round under way finishes first (a batch against a slow China takes a while), so no
        function of a stopped stack is still at work afterwards."""
        self._stopping.set()
        self._thread.join(timeout=ROUND_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self.gate.is_set() or self._paused.is_set():
                self._stopping.wait(self.interval)
                continue
            try:
                busy = self.poll_once()
            except Exception:
                # A failing poll must not end local delivery; Lambda would retry too.
                logger.exception("%s poll failed", self.name)
                busy = False
            if not busy:
                self._stopping.wait(self.interval)

    @abstractmethod
    def poll_once(self) -> bool:
        """Do one round; True when there was work (poll again at once)."""


# The most records one read of a shard brings the relay (unfiltered here: Lambda's mapping filters for outbox
# records, in batches of jevs.resources' size).
STREAM_BATCH_LIMIT = 100


class StreamPoller(Poller):
    """Reads every shard of a table's stream and hands the records to a function, as Lambda's event source
    mapping does: in order per shard, retrying from the first failed record a function reports.

    It keeps its place as a sequence number, not as a shard iterator, and asks for a fresh iterator each
    round. moto rolls a failed transaction back by replacing the whole table with a copy, stream shard
    included, and an iterator taken before that keeps reading the discarded shard, which never grows again:
    the relay would stop at the first transaction cancelled by a condition (a replayed submission, a lost
    race). A sequence number means the same place in the live shard.
    """

    def __init__(
        self,
        *,
        streams: Any,
        stream_arn: str,
        handler: Handler,
        context: ContextFactory,
        interval_seconds: float = 0.2,
        gate: threading.Event | None = None,
    ) -> None:
        super().__init__("stream", interval_seconds, gate)
        self._streams = streams
        self._arn = stream_arn
        self._handler = handler
        self._context = context
        # Per shard: where the next read starts, as (iterator type, sequence number); absent: the start.
        self._positions: dict[str, tuple[str, str]] = {}

    def _iterator(self, shard_id: str) -> str:
        position = self._positions.get(shard_id)
        request: dict[str, str] = {"StreamArn": self._arn, "ShardId": shard_id}
        if position is None:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            request["ShardIteratorType"], request["SequenceNumber"] = position
        iterator: str = self._streams.get_shard_iterator(**request)["ShardIterator"]
        return iterator

    def poll_once(self) -> bool:
        """One read of each shard. Busy (read again at once) only when a read came back full: otherwise the next
        round waits the interval, as Lambda's mapping polls a shard a few times a second, so the records written
        meanwhile come in one batch rather than a read (three calls to moto) each."""
        busy = False
        for shard in self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            response = self._streams.get_records(ShardIterator=self._iterator(shard_id), Limit=STREAM_BATCH_LIMIT)
            records = response.get("Records", [])
            if not records:
                continue
            busy = busy or len(records) == STREAM_BATCH_LIMIT
            self._positions[shard_id] = ("AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
            event = {"Records": [{**record, "eventSourceARN": self._arn} for record in records]}
            self.invocations += 1
            result = self._handler(event, self._context("jevs-outbox-relay")) or {}
            failures = [failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])]
            if failures:
                # Lambda starts the next batch at the first failed record.
                self._positions[shard_id] = ("AT_SEQUENCE_NUMBER", min(failures, key=int))
                busy = False
        return busy


class QueuePoller(Poller):
    """Receives batches from a queue and hands them to a function as an SQS event; deletes what the function
    did not report as failed, leaves the rest to reappear (or to dead-letter) as SQS decides. An invocation that
    ran past its context's timeout counts as timed out, as in Lambda: its answer is ignored and nothing of the
    batch is deleted (``timed_out`` counts them)."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function_name: str,
        handler: Handler,
        context: ContextFactory,
        batch_size: int = 10,
        interval_seconds: float = 0.2,
        gate: threading.Event | None = None,
    ) -> None:
        super().__init__(function_name, interval_seconds, gate)
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self._function_name = function_name
        self._handler = handler
        self._context = context
        self._batch_size = batch_size
        self.timed_out = 0

    def poll_once(self) -> bool:
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        event = {"Records": [self._record(message) for message in messages]}
        self.invocations += 1
        context = self._context(self._function_name)
        result = self._handler(event, context) or {}
        if context.get_remaining_time_in_millis() <= 0:
            self.timed_out += 1
            return True
        failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] not in failed
        ]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=done)
        return True

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("MessageAttributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {"stringValue": value.get("StringValue"), "dataType": value.get("DataType", "String")}
                for name, value in attributes.items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._arn.split(":")[3],
        }


class Schedule(Poller):
    """Invokes a function with EventBridge's scheduled event every ``interval_seconds``."""

    def __init__(
        self,
        *,
        rule_name: str,
        function_name: str,
        handler: Handler,
        context: ContextFactory,
        interval_seconds: float,
        account: str,
        region: str,
        gate: threading.Event | None = None,
    ) -> None:
        super().__init__(rule_name, interval_seconds, gate)
        self._function_name = function_name
        self._handler = handler
        self._context = context
        self._account = account
        self._region = region

    def poll_once(self) -> bool:
        self.invocations += 1
        self._handler(self.event(), self._context(self._function_name))
        return False

    def event(self) -> dict[str, Any]:
        return scheduled_event(self.name, self._account, self._region)


def scheduled_event(rule_name: str, account: str, region: str) -> dict[str, Any]:
    """The event EventBridge sends a function when its schedule rule ``rule_name`` fires."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
        "detail": {},
    }


def _always_open() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate


def wait_until(condition: Callable[[], bool], timeout_seconds: float, interval: float = 0.1) -> bool:
    """Poll ``condition`` until it holds or the time is up; whether it held."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
