"""What ``jevs`` asks AWS (or the local stack's moto) directly, where the API has no route: the dead-letter queues'
counts and what waits in them, the signing key's rotation, and a run of reconciliation now. Names come from the
shared resource definitions (jevs.resources), as CDK and the local stack create them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from infrastructure.local.pollers import RECONCILIATION_RULE, scheduled_event
from infrastructure.ops.profiles import Profile
from jevs.domain.recovery import RedriveQueue
from jevs.resources import (
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    NOTIFICATIONS_QUEUE,
    RECONCILER_FUNCTION,
    STREAM_FAILURES_QUEUE,
)

# Each redrive queue's dead-letter queue by name: the stream's failures queue is a dead-letter queue itself.
DEAD_LETTER_QUEUES: dict[RedriveQueue, str] = {
    RedriveQueue.DELIVERIES: DELIVERY_QUEUE.dead_letter_name,
    RedriveQueue.DECLARATIONS: DECLARATIONS_QUEUE.dead_letter_name,
    RedriveQueue.NOTIFICATIONS: NOTIFICATIONS_QUEUE.dead_letter_name,
    RedriveQueue.STREAM_FAILURES: STREAM_FAILURES_QUEUE.name,
}
# SQS hands out at most ten messages a receive.
SQS_MAX_MESSAGES = 10


def client(profile: Profile, service: str) -> Any:
    """A client of AWS itself (your credentials, the profile's region) or of the endpoint the profile names (for
    Lambda, its ``lambda_url`` when it has one)."""
    endpoint_url = profile.lambda_url if service == "lambda" and profile.lambda_url else profile.aws_endpoint_url
    if not endpoint_url:
        return boto3.client(service, region_name=profile.region)  # type: ignore[call-overload]
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=profile.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's, as the local stack's own clients use)
    )


@dataclass(frozen=True)
class DeadLetterCount:
    queue: RedriveQueue
    name: str
    # Waiting to be redriven, and received by someone (a redrive's page) but not yet deleted.
    visible: int
    in_flight: int


def dead_letter_count(sqs: Any, queue: RedriveQueue) -> DeadLetterCount:
    name = DEAD_LETTER_QUEUES[queue]
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return DeadLetterCount(
        queue,
        name,
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def dead_letter_counts(sqs: Any) -> list[DeadLetterCount]:
    return [dead_letter_count(sqs, queue) for queue in DEAD_LETTER_QUEUES]


@dataclass(frozen=True)
class ParkedMessage:
    """A delivery's message waiting in the deliveries' dead-letter queue: what identifies it, never its content."""

    certificate_number: str | None
    declaration_id: str | None
    message_type: str
    version: int | None
    delivery_key: str
    created_at: datetime | None
    parked_at: datetime


def parked_messages(sqs: Any, limit: int) -> list[ParkedMessage]:
    """Up to ``limit`` messages of the deliveries' dead-letter queue, read without taking them: each comes back
    visible at once (visibility timeout 0), so a redrive finds it as before. SQS samples its servers, so a short
    queue may need a second read to show everything; this reads until a read brings nothing new."""
    url = sqs.get_queue_url(QueueName=DELIVERY_QUEUE.dead_letter_name)["QueueUrl"]
    seen: dict[str, ParkedMessage] = {}
    while len(seen) < limit:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(SQS_MAX_MESSAGES, limit - len(seen)),
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["SentTimestamp"],
        )
        fresh = [message for message in answer.get("Messages", []) if message["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = _parked(message)
    return sorted(seen.values(), key=lambda parked: parked.parked_at)


def _parked(message: dict[str, Any]) -> ParkedMessage:
    body = json.loads(message["Body"])
    china = body.get("body") or {}
    attributes = message.get("Attributes", {})
    created = body.get("created_at")
    return ParkedMessage(
        certificate_number=body.get("history_of") or china.get("certificate_number"),
        declaration_id=body.get("declaration_id"),
        message_type=str(china.get("message_type", body.get("kind", "?"))),
        version=china.get("version"),
        delivery_key=str(china.get("message_id", "")),
        created_at=datetime.fromisoformat(created) if created else None,
        parked_at=datetime.fromtimestamp(int(attributes.get("SentTimestamp", "0")) / 1000, UTC),
    )


class FunctionFailed(Exception):
    """The function ran and failed: Lambda's error payload, in words."""


def reconcile_now(lambda_client: Any, account: str, region: str) -> dict[str, Any]:
    """Run the reconciler once, now, as its schedule does: invoked synchronously with the event EventBridge sends.
    Its report: the deliveries and other open work queued again, and the redrive jobs it worked."""
    answer = lambda_client.invoke(
        FunctionName=RECONCILER_FUNCTION.name,
        InvocationType="RequestResponse",
        Payload=json.dumps(scheduled_event(RECONCILIATION_RULE, account, region)).encode(),
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        raise FunctionFailed(f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}")
    report: dict[str, Any] = payload
    return report
