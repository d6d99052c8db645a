"""The reconciliation function, run by an EventBridge schedule (DESIGN.md §6.1, §6.2): every delivery still PENDING a
bound after it was queued is queued again; so is every other piece of open work (a declaration not matched, a
version's documents not made, an outbox record not published) past its own bound. Each kind is counted in a metric
and listed in the log and in the function's answer, as a report. Then, in a step of its own, it works the redrive
jobs operations started (``jevs.service.recovery``), a page at a time, until the run's time is nearly up."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs import bootstrap
from jevs.bootstrap import Handler, ReconcilerDependencies
from jevs.service.delivery import Reconcile, reconcile
from jevs.service.reconciliation import reconcile_open_work
from jevs.service.recovery import WorkRedrives, work_redrives
from jevs.settings import ReconcilerSettings

logger = Logger(service="jevs-reconciler")
metrics = Metrics(namespace="JEVS", service="jevs-reconciler")

# The metric counting each kind of open work queued again, by the report's name for the kind.
OPEN_WORK_METRICS = {
    "declarations": "DeclarationsRequeued",
    "documents": "DocumentsRequeued",
    "outbox": "OutboxRecordsRequeued",
}


def _open_work(dependencies: ReconcilerDependencies) -> dict[str, list[str]]:
    """Queue again the open work past its bounds: the message ids of each kind, each kind counted."""
    report = reconcile_open_work(dependencies.open_work, dependencies.unit_of_work(None), dependencies.publisher)
    requeued = {
        "declarations": list(report.declarations),
        "documents": list(report.documents),
        "outbox": list(report.outbox),
    }
    for kind, message_ids in requeued.items():
        metrics.add_metric(name=OPEN_WORK_METRICS[kind], unit=MetricUnit.Count, value=len(message_ids))
    # All kinds at once, for the one alarm (jevs-open-work-requeued): each means something was lost on the way.
    total = sum(len(message_ids) for message_ids in requeued.values())
    metrics.add_metric(name="OpenWorkRequeued", unit=MetricUnit.Count, value=total)
    logger.info("open work reconciled", extra={"open_work": requeued})
    return requeued


# A page is started only while more than this is left of the run: ten messages, each a few calls to DynamoDB, KMS
# and SQS (each with its timeouts and retries), then the page's commit. What one page did is never left half
# recorded by Lambda's timeout; the next run goes on.
REDRIVE_MARGIN_MILLIS = 20_000


def work_redrive_jobs(dependencies: ReconcilerDependencies, context: LambdaContext) -> dict[str, Any]:
    """The redrive step: every running job, as far as this run's time allows."""
    command = WorkRedrives(time_left=lambda: (context.get_remaining_time_in_millis() - REDRIVE_MARGIN_MILLIS) / 1000)
    worked = work_redrives(command, dependencies.unit_of_work(None), dependencies.redrive)
    jobs = [
        {
            "id": job.id,
            "queue": job.queue.value,
            "status": job.status.value,
            "moved": job.moved,
            "pages": job.pages,
            "quarantined": job.quarantined_count,
        }
        for job in worked.jobs
    ]
    for job in jobs:
        logger.info("redrive worked", extra=job)
    return {"redrives": jobs}


def make_handler(dependencies: ReconcilerDependencies) -> Handler:
    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        report = reconcile(Reconcile(bound=dependencies.bound), dependencies.unit_of_work(None), dependencies.publisher)
        metrics.add_metric(name="DeliveriesRequeued", unit=MetricUnit.Count, value=report.count)
        requeued = [delivery.idempotency_key for delivery in report.requeued]
        logger.info("reconciled", extra={"requeued": requeued, "count": report.count})
        open_work = _open_work(dependencies)
        return {
            "requeued": requeued,
            "count": report.count,
            "open_work": open_work,
            **work_redrive_jobs(dependencies, context),
        }

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed


handler = bootstrap.lambda_entry(ReconcilerSettings, bootstrap.reconciler, make_handler)
