"""The reconciliation function, run by an EventBridge schedule (DESIGN.md §6.2): every delivery still PENDING a
bound after it was queued is queued again, counted in a metric and listed in the log as a report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs import bootstrap
from jevs.bootstrap import Handler, ReconcilerDependencies
from jevs.service.delivery import Reconcile, reconcile
from jevs.settings import ReconcilerSettings

logger = Logger(service="jevs-reconciler")
metrics = Metrics(namespace="JEVS", service="jevs-reconciler")


def make_handler(dependencies: ReconcilerDependencies) -> Handler:
    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        report = reconcile(Reconcile(bound=dependencies.bound), dependencies.unit_of_work(None), dependencies.publisher)
        metrics.add_metric(name="DeliveriesRequeued", unit=MetricUnit.Count, value=report.count)
        requeued = [delivery.idempotency_key for delivery in report.requeued]
        logger.info("reconciled", extra={"requeued": requeued, "count": report.count})
        return {"requeued": requeued, "count": report.count}

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed


handler = bootstrap.lambda_entry(ReconcilerSettings, bootstrap.reconciler, make_handler)
