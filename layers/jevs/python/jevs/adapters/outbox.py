"""The outbox on the wire: outbox records as the table's stream delivers them, and their publication to
the queue of their channel (DESIGN §6.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jevs.domain.errors import RetryableFailure
from jevs.domain.records import OutboxChannel, OutboxMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

OUTBOX_PREFIX = "OUTBOX#"


def outbox_message(stream_record: Mapping[str, Any]) -> OutboxMessage | None:
    """The outbox message a DynamoDB stream record carries, or None for every other record.

    Only INSERTs count: an outbox record is written once and never changed, and its removal (by time to
    live) must not publish it again.
    """
    if stream_record.get("eventName") != "INSERT":
        return None
    image = stream_record.get("dynamodb", {}).get("NewImage", {})
    if not image.get("sk", {}).get("S", "").startswith(OUTBOX_PREFIX):
        return None
    return OutboxMessage.model_validate_json(image["message"]["S"])


class SqsOutboxPublisher:
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
