"""The past-due check, run by an EventBridge schedule (DESIGN.md §2: applications are processed within one New
Zealand working day). Every application still undecided after its due time is flagged once; the count of those
waiting is a metric the stack alarms on, and the log lists them (ids, issuing body, due time).

The same run flags verification requests China raised that are still unanswered after their due date (DESIGN.md
§3): ``VerificationRequestsOverdue`` counts those waiting, and the stack alarms on it too."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs import bootstrap
from jevs.bootstrap import Handler, OverseerDependencies
from jevs.service.applications import flag_past_due
from jevs.service.verification import flag_overdue
from jevs.settings import OverseerSettings

logger = Logger(service="jevs-overseer")
metrics = Metrics(namespace="JEVS", service="jevs-overseer")


def make_handler(dependencies: OverseerDependencies) -> Handler:
    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        report = flag_past_due(dependencies.unit_of_work(None), dependencies.past_due_limit)
        # Emitted on every run, zero included: the alarm clears on a zero, not on missing data.
        metrics.add_metric(name="ApplicationsPastDue", unit=MetricUnit.Count, value=report.count)
        metrics.add_metric(name="ApplicationsFlaggedPastDue", unit=MetricUnit.Count, value=len(report.newly_flagged))
        past_due = [
            {
                "application": application.id,
                "issuing_body": application.issuing_body,
                "due_at": application.due_at.isoformat(),
            }
            for application in report.past_due
        ]
        flagged = [application.id for application in report.newly_flagged]
        logger.info("past due", extra={"past_due": past_due, "count": report.count, "flagged": flagged})
        overdue = flag_overdue(dependencies.unit_of_work(None))
        metrics.add_metric(name="VerificationRequestsOverdue", unit=MetricUnit.Count, value=overdue.count)
        waiting = [
            {
                "verification": request.id,
                "certificate_number": request.certificate_number,
                "issuing_body": request.issuing_body,
                "due_date": request.due_date.isoformat(),
            }
            for request in overdue.overdue
        ]
        newly = [request.id for request in overdue.newly_flagged]
        logger.info("verification overdue", extra={"overdue": waiting, "count": overdue.count, "flagged": newly})
        return {
            "checked_at": report.checked_at.isoformat(),
            "count": report.count,
            "past_due": past_due,
            "flagged": flagged,
            "verification_overdue": {"count": overdue.count, "overdue": waiting, "flagged": newly},
        }

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed


handler = bootstrap.lambda_entry(OverseerSettings, bootstrap.overseer, make_handler)
