"""Lambda's SQS batches, the inbound side of every queue consumer: Powertools' ``BatchProcessor``, reporting each
record that fails as a batch item failure so only it comes back (the infrastructure turns
``ReportBatchItemFailures`` on), logging why (``jevs.adapters.lambda_logs``), with the function's logger context
and metrics around each invocation. (The stream's relay handles its batch whole: ``functions/outbox_relay``.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from jevs.adapters.lambda_logs import correlating, failure_fields

# A Lambda handler: (event, context) -> response.
Handler = Callable[[dict[str, Any], Any], Any]


class SqsAttributes(BaseModel):
    """The system attributes of an SQS record that a consumer reads."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    ApproximateReceiveCount: int


class SqsRecord(BaseModel):
    """An SQS record as Lambda hands it over, with what the consumers read; each consumer types ``body`` with its
    own message (``body: Json[ToChina]``). Powertools' ``SqsRecordModel`` would do as well, but it is the door to
    Powertools' parser package, whose models of every event source Powertools' batch module imports whenever
    pydantic was imported first (150 ms more of a cold start, measured): no handler goes through it
    (``tests/unit/test_cold_start_imports.py``)."""

    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    messageId: str  # noqa: N815  # Lambda's name for it
    receiptHandle: str  # noqa: N815
    body: Any
    attributes: SqsAttributes


def _record_ids(record: Any) -> dict[str, object]:
    """The ids of a failed record, parsed or not: the queue's message id, and the JEVS message's own id."""
    ids: dict[str, object] = {}
    for name in ("messageId", "message_id", "eventID", "event_id"):
        value = getattr(record, name, None)
        if isinstance(value, str):
            ids["record"] = value
            break
    message_id = getattr(getattr(record, "body", None), "message_id", None)
    if isinstance(message_id, str):
        ids["message_id"] = message_id
    return ids


class _IdsOnlyBatchProcessor(BatchProcessor):
    """Powertools' processor, logging each failure through ``failure_fields`` rather than with its traceback
    and message (which Powertools logs when given a logger: this one is given none)."""

    def __init__(self, *, event_type: EventType, model: type[BaseModel] | None, logger: Logger) -> None:
        super().__init__(
            event_type=event_type,
            model=model,  # type: ignore[arg-type]  # Powertools types it as a union of its own record models
            raise_on_entire_batch_failure=False,
            logger=None,
        )
        self._failures = logger

    def failure_handler(self, record: Any, exception: Any) -> Any:
        error = exception[1]
        self._failures.warning("record failed", extra={**_record_ids(record), **failure_fields(error)})
        return super().failure_handler(record, exception)


def _correlation_of(record: Any) -> str | None:
    """The correlation id of a record parsed into a model whose body is a JEVS message (the SQS consumers')."""
    found = getattr(getattr(record, "body", None), "correlation_id", None)
    return found if isinstance(found, str) else None


def _correlated(
    record_handler: Callable[[Any], None] | Callable[[Any, LambdaContext], None], logger: Logger
) -> Callable[[Any], None] | Callable[[Any, LambdaContext], None]:
    """``record_handler`` with each record handled under its message's correlation id. Keeps its signature's
    ``lambda_context`` parameter, by which Powertools decides whether to pass the context."""
    if "lambda_context" in inspect.signature(record_handler).parameters:
        with_context = cast(Callable[[Any, LambdaContext], None], record_handler)

        def handle_with_context(record: Any, lambda_context: LambdaContext) -> None:
            with correlating(logger, _correlation_of(record)):
                with_context(record, lambda_context)

        return handle_with_context
    alone = cast(Callable[[Any], None], record_handler)

    def handle(record: Any) -> None:
        with correlating(logger, _correlation_of(record)):
            alone(record)

    return handle


def batch_handler(
    *,
    logger: Logger,
    metrics: Metrics,
    event_type: EventType,
    record_handler: Callable[[Any], None] | Callable[[Any, LambdaContext], None],
    model: type[BaseModel] | None = None,
) -> Handler:
    """A Lambda handler that hands each record (parsed into ``model`` when given) to ``record_handler``, and the
    Lambda context too when its signature has a ``lambda_context`` parameter (Powertools looks for that name)."""
    # Every record failing is still a partial response (all reported), not a function error: retries stay
    # per record, and the failures are logged (without the records' content) by the service's logger.
    processor = _IdsOnlyBatchProcessor(event_type=event_type, model=model, logger=logger)
    record_handler = _correlated(record_handler, logger)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed
