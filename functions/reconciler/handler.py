"""The reconciliation function, run by an EventBridge schedule (DESIGN §6.2): every delivery still PENDING
a bound after it was queued is queued again, counted in a metric and listed in the log as a report."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs.adapters.aws import dynamodb, sqs
from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.adapters.outbox import SqsOutboxPublisher
from jevs.domain.dispatch import reconcile
from jevs.domain.records import OutboxChannel
from jevs.settings import reconciler_settings

logger = Logger(service="jevs-reconciler")
metrics = Metrics(namespace="JEVS", service="jevs-reconciler")


@cache
def _parts() -> tuple[DynamoCertificateStore, SqsOutboxPublisher, SystemClock, timedelta]:
    settings = reconciler_settings()
    clock = SystemClock()
    return (
        DynamoCertificateStore(dynamodb(), settings.records_table, clock),
        SqsOutboxPublisher(sqs(), {OutboxChannel.DELIVERY_TO_CHINA: settings.delivery_queue_url}),
        clock,
        timedelta(seconds=settings.reconciliation_bound_seconds),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store, publisher, clock, bound = _parts()
    report = reconcile(store=store, publisher=publisher, clock=clock, bound=bound)
    metrics.add_metric(name="DeliveriesRequeued", unit=MetricUnit.Count, value=report.count)
    requeued = [delivery.idempotency_key for delivery in report.requeued]
    logger.info("reconciled", extra={"requeued": requeued, "count": report.count})
    return {"requeued": requeued, "count": report.count}


def reset() -> None:
    _parts.cache_clear()
