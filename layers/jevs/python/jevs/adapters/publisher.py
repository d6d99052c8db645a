"""Publishing outbox messages to the queue of their channel (DESIGN.md §6.1): each as it was stored, with its
business key and kind as message attributes, ten to a call where a batch is published."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jevs.domain.errors import RetryableFailure
from jevs.domain.outbox import OutboxChannel, Outgoing

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


# What one SendMessageBatch call takes: ten messages, and 256 KiB of them in all (bodies and attributes).
SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 256 * 1024
# A message, with what SQS is sent of it (``_entry``): made once, measured and sent.
Entry = tuple[Outgoing, dict[str, Any]]


class SqsPublisher:
    """Sends each outbox message to its channel's queue, with its business key as a message attribute so a
    consumer deduplicates the (rare) second copy a retried stream batch sends."""

    def __init__(self, client: SQSClient, queue_urls: Mapping[OutboxChannel, str]) -> None:
        self._client = client
        self._queue_urls = dict(queue_urls)

    def publish(self, message: Outgoing) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_urls[message.channel], **_entry(message))
        except ClientError as error:
            # Every SQS failure is worth a retry of the record: the stream keeps it until it goes through.
            raise RetryableFailure(f"SQS refused {message.message_id}: {error.response['Error']['Code']}") from error

    def publish_all(self, messages: Sequence[Outgoing]) -> Mapping[str, str]:
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


def _entry(message: Outgoing) -> dict[str, Any]:
    """What SQS is sent of ``message``: its JSON, and its id and kind as attributes."""
    return {
        "MessageBody": message.body,
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
