"""The dispatcher function, on the delivery queue (DESIGN §6.2).

Each SQS record is one (certificate, version) to deliver. The outcome is stored before the record is
acknowledged. A transient failure leaves the message on the queue, hidden for the backoff the domain chose,
and reports it as a batch item failure; on the queue's last receive it parks the delivery, and the next
receive moves the message to the dead-letter queue, where an alarm waits for it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs.adapters.aws import dynamodb, kms, secretsmanager, sqs
from jevs.adapters.china_sender import HttpChinaSender
from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.adapters.kms_signer import KmsSigner
from jevs.domain.delivery import DeliveryState
from jevs.domain.dispatch import dispatch
from jevs.domain.records import OutboxMessage
from jevs.settings import dispatcher_settings

logger = Logger(service="jevs-dispatcher")
metrics = Metrics(namespace="JEVS", service="jevs-dispatcher")
# Every record failing is still a partial response (all reported), not a function error: retries stay per record.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class DeliveryNotSettled(Exception):
    """The attempt failed in a way that may pass; the message stays on the queue."""


@dataclass(frozen=True)
class Dependencies:
    store: DynamoCertificateStore
    sender: HttpChinaSender
    clock: SystemClock
    max_receives: int
    queue_url: str
    backoff_base_seconds: int


@cache
def dependencies() -> Dependencies:
    settings = dispatcher_settings()
    clock = SystemClock()
    sender = HttpChinaSender(
        endpoint=settings.china_customs_endpoint,
        signer=KmsSigner(kms(), settings.signing_key_id),
        connect_timeout=settings.china_connect_timeout_seconds,
        read_timeout=settings.china_read_timeout_seconds,
        client_certificate=_client_certificate(settings.china_client_certificate_secret),
    )
    return Dependencies(
        store=DynamoCertificateStore(dynamodb(), settings.records_table, clock),
        sender=sender,
        clock=clock,
        max_receives=settings.delivery_max_receives,
        queue_url=settings.delivery_queue_url,
        backoff_base_seconds=settings.delivery_backoff_base_seconds,
    )


def _client_certificate(secret_id: str | None) -> tuple[str, str] | None:
    """Mutual TLS to China: the secret's PEMs, written once per container to files httpx can load."""
    if secret_id is None:
        return None
    secret = json.loads(secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"])
    folder = Path(tempfile.mkdtemp(prefix="china-mtls-"))
    certificate, key = folder / "certificate.pem", folder / "key.pem"
    certificate.write_text(secret["certificate"], encoding="ascii")
    key.write_text(secret["private_key"], encoding="ascii")
    key.chmod(0o600)
    return str(certificate), str(key)


def deliver(record: SQSRecord) -> None:
    deps = dependencies()
    message = OutboxMessage.model_validate_json(record.body)
    receive_count = int(record.attributes.approximate_receive_count)
    result = dispatch(
        message,
        receive_count=receive_count,
        max_receives=deps.max_receives,
        store=deps.store,
        sender=deps.sender,
        clock=deps.clock,
        backoff_base_seconds=deps.backoff_base_seconds,
    )
    delivery = result.delivery
    log = {"delivery": delivery.idempotency_key, "state": delivery.state, "attempts": delivery.attempts}
    if result.settled:
        if delivery.state is DeliveryState.DELIVERED and delivery.delivered_at is not None:
            latency = (delivery.delivered_at - delivery.created_at).total_seconds() * 1000
            metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Milliseconds, value=latency)
            metrics.add_metric(name="DeliveriesDelivered", unit=MetricUnit.Count, value=1)
        elif delivery.state is DeliveryState.REJECTED:
            metrics.add_metric(name="DeliveriesRejected", unit=MetricUnit.Count, value=1)
            logger.warning("China rejected", extra={**log, "reason": delivery.rejection_reason})
        logger.info("settled", extra=log)
        return
    metrics.add_metric(name="DeliveryRetries", unit=MetricUnit.Count, value=1)
    if delivery.state is DeliveryState.PARKED:
        metrics.add_metric(name="DeliveriesParked", unit=MetricUnit.Count, value=1)
        logger.error("parked", extra={**log, "error": delivery.last_error})
    else:
        # Back off: the message reappears after the chosen delay, not after the queue's long visibility.
        sqs().change_message_visibility(
            QueueUrl=deps.queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=result.retry_in_seconds or 0,
        )
        logger.info("will retry", extra={**log, "error": delivery.last_error, "in_seconds": result.retry_in_seconds})
    raise DeliveryNotSettled(delivery.last_error or "not delivered")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)


def reset() -> None:
    dependencies.cache_clear()
