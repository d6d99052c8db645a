"""The matching function, on the declarations queue (DESIGN.md §4).

Each SQS record names one lodged declaration (a revision of it) to decide, or a certificate just issued whose
number declarations were waiting for. The decision, the certificate's usage and history event and the messages
that take the result back to the declarant are committed together before the record is acknowledged; a record
that fails is reported as a batch item failure and comes back, and after the queue's last receive it waits in
the dead-letter queue. A declaration decided before is not decided again.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Json

from jevs import bootstrap
from jevs.adapters.lambda_batches import SqsRecord, batch_handler
from jevs.bootstrap import Handler, MatcherDependencies
from jevs.domain.declarations import DeclarationRecord as Declaration
from jevs.domain.messages import MatchAwaiting, MatchDeclaration, ToDeclarations
from jevs.service.declarations import match_awaiting, match_declaration
from jevs.settings import MatcherSettings

SERVICE = "jevs-matcher"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="JEVS", service=SERVICE)


class DeclarationsRecord(SqsRecord):
    body: Json[ToDeclarations]


def _counted(decided: Declaration) -> None:
    result = decided.result
    assert result is not None  # a decided declaration always has its result
    # Counted by outcome: mismatches are business answers, not faults, and dashboards show their share.
    with single_metric(
        name="DeclarationsDecided",
        unit=MetricUnit.Count,
        value=1,
        namespace="JEVS",
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="status", value=result.status.value)
    latency_ms = (result.decided_at - decided.received_at).total_seconds() * 1000
    metrics.add_metric(name="MatchLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    logger.info(
        "decided",
        extra={
            "declaration": decided.id,
            "revision": decided.revision,
            "certificate": result.certificate_number,
            "status": result.status,
            "discrepancies": len(result.discrepancies),
        },
    )


def make_handler(dependencies: MatcherDependencies) -> Handler:
    def match(record: DeclarationsRecord) -> None:
        # A failure is reported as a batch item failure and the record comes back; the batch's log line names the
        # message and the error's type, never its text (a validation error's quotes the declaration's values).
        message = record.body
        match message:
            case MatchDeclaration():
                decided = [match_declaration(message, dependencies.unit_of_work(None))]
            case MatchAwaiting():
                decided = match_awaiting(message, dependencies.unit_of_work(None))
        for declaration in decided:
            _counted(declaration)

    return batch_handler(logger=logger, metrics=metrics, record_handler=match, model=DeclarationsRecord)


handler = bootstrap.lambda_entry(MatcherSettings, bootstrap.matcher, make_handler)
