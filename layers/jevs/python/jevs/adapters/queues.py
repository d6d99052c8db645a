"""SQS behind the use cases' ports: holding a message back for its backoff, parking a delivery, and the dead letters
of every queue, for a redrive (DESIGN.md §6.2). Publishing is ``jevs.adapters.publisher``'s."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from jevs.adapters.publisher import SqsPublisher
from jevs.domain.errors import RetryableFailure
from jevs.domain.outbox import OutboxChannel
from jevs.service.ports import DeadLetter

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    from jevs.domain.messages import ToChina

Result = TypeVar("Result")


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
        self._publisher.publish(message.outgoing())


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
