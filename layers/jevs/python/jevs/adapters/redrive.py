"""Moving parked messages from a dead-letter queue back to their source queue.

Send first, then delete: a crash in between leaves a duplicate on the source queue, which the consumer
recognises by its business key; never a lost message. (SQS's own StartMessageMoveTask does the same move
in AWS but not under moto; this works in both.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from jevs.domain.records import OutboxMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# A redrive moves at most this many messages per call; run it again for more.
MAX_MESSAGES_PER_REDRIVE = 1000


def redrive(
    client: SQSClient, before_send: Callable[[OutboxMessage], None], *, dead_letter_url: str, source_url: str
) -> list[OutboxMessage]:
    """Move every message (up to MAX_MESSAGES_PER_REDRIVE) back, calling ``before_send`` with each first."""
    moved: list[OutboxMessage] = []
    while len(moved) < MAX_MESSAGES_PER_REDRIVE:
        batch = client.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            outbox = OutboxMessage.model_validate_json(message["Body"])
            try:
                before_send(outbox)
            except Exception:
                # Leave it parked and visible at once, so the next redrive finds it.
                client.change_message_visibility(
                    QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
                raise
            client.send_message(
                QueueUrl=source_url, MessageBody=message["Body"], MessageAttributes=message.get("MessageAttributes", {})
            )
            client.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved.append(outbox)
    return moved
