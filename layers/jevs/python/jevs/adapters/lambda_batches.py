"""Lambda's SQS batches, the inbound side of every queue consumer: each record parsed into the consumer's model and
handled in turn, and each one that fails (unreadable, or its handler raised) reported as a batch item failure so
only it comes back (the infrastructure turns ``ReportBatchItemFailures`` on), logged with why
(``jevs.adapters.lambda_logs``), with the function's logger context and metrics around each invocation. (The
stream's relay handles its batch whole: ``functions/outbox_relay``.)

This is what Powertools' ``BatchProcessor`` does for SQS, in the few lines SQS needs: its module imports Powertools'
data classes of every event source, JMESPath and asyncio, 45 ms of each consumer's cold start (measured).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from jevs.adapters.lambda_logs import correlating, failure_fields

# A Lambda handler: (event, context) -> response.
Handler = Callable[[dict[str, Any], Any], Any]
# What a queue consumer answers: the message ids of the records that failed, which SQS hands out again.
BatchResponse = dict[str, list[dict[str, str]]]


class SqsAttributes(BaseModel):
    """The system attributes of an SQS record that a consumer reads."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    ApproximateReceiveCount: int


class SqsRecord(BaseModel):
    """An SQS record as Lambda hands it over, with what the consumers read; each consumer types ``body`` with its
    own message (``body: Json[ToChina]``). Powertools' ``SqsRecordModel`` would do as well, but it is the door to
    Powertools' parser package and its models of every event source (150 ms more of a cold start, measured): no
    handler goes through it (``tests/unit/test_cold_start_imports.py``)."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    messageId: str  # noqa: N815  # Lambda's name for it
    receiptHandle: str  # noqa: N815
    body: Any
    attributes: SqsAttributes


def _record_ids(record: SqsRecord) -> dict[str, object]:
    """The ids of a failed record: the queue's message id, and the JEVS message's own id."""
    ids: dict[str, object] = {"record": record.messageId}
    message_id = getattr(record.body, "message_id", None)
    if isinstance(message_id, str):
        ids["message_id"] = message_id
    return ids


def _correlation_of(record: SqsRecord) -> str | None:
    """The correlation id of the JEVS message a record's body holds."""
    found = getattr(record.body, "correlation_id", None)
    return found if isinstance(found, str) else None


def batch_handler(
    *,
    logger: Logger,
    metrics: Metrics,
    record_handler: Callable[[Any], None] | Callable[[Any, LambdaContext], None],  # of ``model``'s records
    model: type[SqsRecord],
) -> Handler:
    """A Lambda handler that parses each record into ``model`` and hands it to ``record_handler`` (with the Lambda
    context too when its signature has a ``lambda_context`` parameter), under its message's correlation id. Every
    record failing is still a partial response (all reported), not a function error: retries stay per record, and
    the failures are logged by the service's logger, by the records' ids and the errors' kinds, never their
    content."""
    takes_context = "lambda_context" in inspect.signature(record_handler).parameters

    def handle_record(record: SqsRecord, context: LambdaContext) -> None:
        with correlating(logger, _correlation_of(record)):
            if takes_context:
                cast(Callable[[Any, LambdaContext], None], record_handler)(record, context)
            else:
                cast(Callable[[Any], None], record_handler)(record)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
        failed: list[dict[str, str]] = []
        for raw in event.get("Records", []):
            try:
                record = model.model_validate(raw)
            except ValidationError as error:  # unreadable: it comes back, and in the end goes to the DLQ
                message_id = str(raw.get("messageId")) if isinstance(raw, dict) else ""
                logger.warning("record failed", extra={"record": message_id, **failure_fields(error)})
                failed.append({"itemIdentifier": message_id})
                continue
            try:
                handle_record(record, context)
            except Exception as error:  # this record comes back; the others of the batch are done
                logger.warning("record failed", extra={**_record_ids(record), **failure_fields(error)})
                failed.append({"itemIdentifier": record.messageId})
        return {"batchItemFailures": failed}

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed
