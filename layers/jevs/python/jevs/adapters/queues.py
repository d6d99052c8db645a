"""SQS behind the use cases' ports: publishing outbox messages to the queue of their channel (DESIGN.md §6.1),
holding a message back for its backoff, and the dead letters of every queue, for a redrive (DESIGN.md §6.2)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from jevs.domain.errors import RetryableFailure
from jevs.domain.messages import OutboxChannel, OutboxMessage, ToChina
from jevs.service.ports import DeadLetter

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

Result = TypeVar("Result")


# What one SendMessageBatch call takes: ten messages, and 256 KiB of them in all (bodies and attributes).
SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 256 * 1024
# A message, with what SQS is sent of it (``_entry``): made once, measured and sent.
Entry = tuple[OutboxMessage, dict[str, Any]]


class SqsPublisher:
    """Sends each outbox message to its channel's queue, with its business key as a message attribute so a
    consumer deduplicates the (rare) second copy a retried stream batch sends."""

    def __init__(self, client: SQSClient, queue_urls: Mapping[OutboxChannel, str]) -> None:
        self._client = client
        self._queue_urls = dict(queue_urls)

    def publish(self, message: OutboxMessage) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_urls[message.channel], **_entry(message))
        except ClientError as error:
            # Every SQS failure is worth a retry of the record: the stream keeps it until it goes through.
            raise RetryableFailure(f"SQS refused {message.message_id}: {error.response['Error']['Code']}") from error

    def publish_all(self, messages: Sequence[OutboxMessage]) -> Mapping[str, str]:
        refused: dict[str, str] = {}
        for channel in OutboxChannel:
            entries = [(message, _entry(message)) for message in messages if message.channel is channel]
            for batch in _sqs_batches(entries):
                refused |= self._send_batch(self._queue_urls[channel], batch)
        return refused

    def _send_batch(self, queue_url: str, batch: Sequence[Entry]) -> dict[str, str]:
        """Why each message of ``batch`` that SQS did not take was refused: a refused call refuses them all."""
        entries = [{"Id": str(index), **entry} for index, (_, entry) in enumerate(batch)]
        try:
            answer = self._client.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        except ClientError as error:
            reason = f"SQS refused the batch: {error.response['Error']['Code']}"
            return {message.message_id: reason for message, _ in batch}
        return {
            batch[int(failed["Id"])][0].message_id: f"SQS refused it: {failed['Code']}" for failed in answer["Failed"]
        }


def _entry(message: OutboxMessage) -> dict[str, Any]:
    """What SQS is sent of ``message``: its JSON, and its id and kind as attributes."""
    return {
        "MessageBody": message.model_dump_json(),
        "MessageAttributes": {
            "message_id": {"DataType": "String", "StringValue": message.message_id},
            "kind": {"DataType": "String", "StringValue": message.kind},
        },
    }


def _sqs_bytes(entry: dict[str, Any]) -> int:
    """What an entry counts towards a batch's 256 KiB: its body, and each attribute's name, type and value."""
    return len(entry["MessageBody"].encode()) + sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in entry["MessageAttributes"].items()
    )


def _sqs_batches(entries: Sequence[Entry]) -> Iterator[list[Entry]]:
    """``entries`` in order, in batches SendMessageBatch takes: at most ten, at most 256 KiB together."""
    batch: list[Entry] = []
    size = 0
    for entry in entries:
        length = _sqs_bytes(entry[1])
        if batch and (len(batch) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += length
    if batch:
        yield batch


class SqsBackoff:
    """Holds a received message back: it reappears after the chosen delay, not after the queue's long visibility."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def hold(self, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


class SqsParking:
    """Puts a parked delivery's message in the delivery queue's dead-letter queue, as the publisher would have
    sent it to the delivery queue: a redrive moves it back unchanged."""

    def __init__(self, client: SQSClient, dead_letter_url: str) -> None:
        self._publisher = SqsPublisher(client, {OutboxChannel.DELIVERY_TO_CHINA: dead_letter_url})

    def park(self, message: ToChina) -> None:
        self._publisher.publish(message)


# A received dead letter stays hidden this long: longer than a reconciler's run, so one that crashed mid-page leaves
# its messages to reappear for the next run, never to be worked twice at once.
DEAD_LETTER_HOLD_SECONDS = 120
# Short polls (no wait, which would hold a serial moto server) sample part of SQS's hosts and may come back empty
# while messages wait: asked again this many times while SQS counts messages waiting.
_SHORT_POLLS = 5


def _attribute_text(value: Mapping[str, Any]) -> str:
    if "StringValue" in value:
        return str(value["StringValue"])
    binary = value.get("BinaryValue")
    return base64.b64encode(binary).decode("ascii") if isinstance(binary, bytes) else ""


class SqsDeadLetters:
    """One dead-letter queue, and the queue its messages go back to (none for the stream failures queue, whose
    messages are handled where they are). Moving a message back sends first, then deletes: a crash in between
    leaves a duplicate on the source queue, which its consumer recognises by its business key; never a lost
    message. (SQS's own StartMessageMoveTask does the same move in AWS but not under moto, and knows no
    quarantine.)"""

    def __init__(self, client: SQSClient, *, dead_letter_url: str, source_url: str | None) -> None:
        self._client = client
        self._dead_letter_url = dead_letter_url
        self._source_url = source_url
        # The attributes received with each letter, as SQS gave them, so a move sends exactly what was parked.
        self._attributes: dict[str, dict[str, Any]] = {}

    def receive(self, count: int) -> Sequence[DeadLetter]:
        for _ in range(_SHORT_POLLS):
            received = self._sqs(
                "receive",
                lambda: self._client.receive_message(
                    QueueUrl=self._dead_letter_url,
                    MaxNumberOfMessages=count,
                    WaitTimeSeconds=0,
                    VisibilityTimeout=DEAD_LETTER_HOLD_SECONDS,
                    MessageAttributeNames=["All"],
                ),
            ).get("Messages", [])
            if received:
                return [self._letter(message) for message in received]
            if self._count("ApproximateNumberOfMessages") == 0:
                break
        return []

    def _letter(self, message: Mapping[str, Any]) -> DeadLetter:
        attributes = dict(message.get("MessageAttributes", {}))
        self._attributes[message["ReceiptHandle"]] = attributes
        return DeadLetter(
            message_id=message["MessageId"],
            body=message["Body"],
            attributes={name: _attribute_text(value) for name, value in attributes.items()},
            handle=message["ReceiptHandle"],
        )

    def move_back(self, letter: DeadLetter) -> None:
        if self._source_url is None:
            raise ValueError("this dead-letter queue has no source queue to move a message back to")
        source_url = self._source_url
        attributes = self._attributes.get(letter.handle, {})
        self._sqs(
            f"send {letter.message_id}",
            lambda: self._client.send_message(
                QueueUrl=source_url,
                MessageBody=letter.body,
                MessageAttributes=attributes,
            ),
        )
        self.discard(letter)

    def discard(self, letter: DeadLetter) -> None:
        self._sqs(
            f"delete {letter.message_id}",
            lambda: self._client.delete_message(QueueUrl=self._dead_letter_url, ReceiptHandle=letter.handle),
        )
        self._attributes.pop(letter.handle, None)

    def keep(self, letter: DeadLetter) -> None:
        self._attributes.pop(letter.handle, None)
        self._sqs(
            f"keep {letter.message_id}",
            lambda: self._client.change_message_visibility(
                QueueUrl=self._dead_letter_url, ReceiptHandle=letter.handle, VisibilityTimeout=0
            ),
        )

    def drained(self) -> bool:
        return self._count("ApproximateNumberOfMessages") == 0 == self._count("ApproximateNumberOfMessagesNotVisible")

    def _count(self, attribute: QueueAttributeNameType) -> int:
        found = self._sqs(
            "count",
            lambda: self._client.get_queue_attributes(QueueUrl=self._dead_letter_url, AttributeNames=[attribute]),
        )
        return int(found.get("Attributes", {}).get(attribute, "0"))

    def _sqs(self, what: str, call: Callable[[], Result]) -> Result:
        try:
            return call()
        except ClientError as error:
            # The message stays where it is; the redrive tries again on its next run.
            raise RetryableFailure(f"SQS refused to {what}: {error.response['Error']['Code']}") from error
