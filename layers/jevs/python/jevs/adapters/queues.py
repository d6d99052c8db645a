"""SQS behind the use cases' ports: publishing outbox messages to the queue of their channel (DESIGN.md §6.1),
holding a message back for its backoff, and the delivery queue's dead letters (DESIGN.md §6.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import ValidationError

from jevs.domain.errors import RetryableFailure
from jevs.domain.messages import TO_CHINA, OutboxChannel, OutboxMessage, ToChina
from jevs.service.ports import DeadLetter

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsPublisher:
    """Sends each outbox message to its channel's queue, with its business key as a message attribute so a
    consumer deduplicates the (rare) second copy a retried stream batch sends."""

    def __init__(self, client: SQSClient, queue_urls: Mapping[OutboxChannel, str]) -> None:
        self._client = client
        self._queue_urls = dict(queue_urls)

    def publish(self, message: OutboxMessage) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue_urls[message.channel],
                MessageBody=message.model_dump_json(),
                MessageAttributes={
                    "message_id": {"DataType": "String", "StringValue": message.message_id},
                    "kind": {"DataType": "String", "StringValue": message.kind},
                },
            )
        except ClientError as error:
            # Every SQS failure is worth a retry of the record: the stream keeps it until it goes through.
            raise RetryableFailure(f"SQS refused {message.message_id}: {error.response['Error']['Code']}") from error


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


class SqsDeadLetters:
    """The delivery queue's dead-letter queue. Moving a message back sends first, then deletes: a crash in
    between leaves a duplicate on the source queue, which the dispatcher recognises by its business key; never a
    lost message. (SQS's own StartMessageMoveTask does the same move in AWS but not under moto.)"""

    def __init__(self, client: SQSClient, *, dead_letter_url: str, source_url: str) -> None:
        self._client = client
        self._dead_letter_url = dead_letter_url
        self._source_url = source_url
        # Bodies received with a letter, so a move sends exactly what was parked.
        self._raw: dict[str, tuple[str, dict[str, object]]] = {}

    def receive(self, count: int) -> Sequence[DeadLetter]:
        letters: list[DeadLetter] = []
        while not letters:
            received = self._client.receive_message(
                QueueUrl=self._dead_letter_url,
                MaxNumberOfMessages=count,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            for message in received:
                handle, body = message["ReceiptHandle"], message["Body"]
                try:
                    parsed = TO_CHINA.validate_json(body)
                except ValidationError:
                    # Not a message this queue ever carried: it stays parked (hidden for a while, then visible
                    # again) for a person to look at; the messages behind it are still redriven.
                    continue
                self._raw[handle] = (body, dict(message.get("MessageAttributes", {})))
                letters.append(DeadLetter(parsed, handle))
        return letters

    def move_back(self, letter: DeadLetter) -> None:
        body, attributes = self._raw.pop(letter.handle)
        self._client.send_message(QueueUrl=self._source_url, MessageBody=body, MessageAttributes=attributes)  # type: ignore[arg-type]
        self._client.delete_message(QueueUrl=self._dead_letter_url, ReceiptHandle=letter.handle)

    def keep(self, letter: DeadLetter) -> None:
        self._raw.pop(letter.handle, None)
        self._client.change_message_visibility(
            QueueUrl=self._dead_letter_url, ReceiptHandle=letter.handle, VisibilityTimeout=0
        )
