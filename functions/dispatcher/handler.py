"""The dispatcher function, on the delivery queue (DESIGN.md §6.2).

Each SQS record is one message to China (a certificate version, or a match result). The outcome is committed
before the record is acknowledged. A transient failure holds the message back for the backoff the domain chose
and reports it as a batch item failure; on the queue's last receive it parks the delivery, and the next receive
moves the message to the dead-letter queue, where an alarm waits for it.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from jevs import bootstrap
from jevs.adapters.lambda_batches import batch_handler
from jevs.bootstrap import DispatcherDependencies, Handler
from jevs.domain.delivery import DeliveryState
from jevs.domain.messages import ToChina
from jevs.service.delivery import Attempt, dispatch
from jevs.settings import DispatcherSettings

logger = Logger(service="jevs-dispatcher")
metrics = Metrics(namespace="JEVS", service="jevs-dispatcher")


class DeliveryRecord(SqsRecordModel):
    body: Json[ToChina]


class DeliveryNotSettled(Exception):
    """The attempt failed in a way that may pass; the message stays on the queue."""


def make_handler(dependencies: DispatcherDependencies) -> Handler:
    def deliver(record: DeliveryRecord) -> None:
        attempt = Attempt(
            message=record.body,
            receive_count=int(record.attributes.ApproximateReceiveCount),
            max_receives=dependencies.max_receives,
            backoff_base_seconds=dependencies.backoff_base_seconds,
        )
        result = dispatch(attempt, dependencies.unit_of_work(None), dependencies.sender)
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
            dependencies.backoff.hold(record.receiptHandle, result.retry_in_seconds or 0)
            logger.info(
                "will retry", extra={**log, "error": delivery.last_error, "in_seconds": result.retry_in_seconds}
            )
        raise DeliveryNotSettled(delivery.last_error or "not delivered")

    return batch_handler(
        logger=logger, metrics=metrics, event_type=EventType.SQS, record_handler=deliver, model=DeliveryRecord
    )


handler = bootstrap.lambda_entry(DispatcherSettings, bootstrap.dispatcher, make_handler)
