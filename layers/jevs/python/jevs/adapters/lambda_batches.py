"""Lambda's batches, the inbound side of every function fed by one (the SQS consumers and the stream's relay):
Powertools' ``BatchProcessor``, reporting each record that fails as a batch item failure so only it comes back
(the infrastructure turns ``ReportBatchItemFailures`` on), logging why, with the function's logger context and
metrics around each invocation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

# A Lambda handler: (event, context) -> response.
Handler = Callable[[dict[str, Any], Any], Any]


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
    processor = BatchProcessor(
        event_type=event_type,
        model=model,  # type: ignore[arg-type]  # Powertools types it as a union of its own record models
        raise_on_entire_batch_failure=False,
        logger=logging.getLogger(logger.service),
    )

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed
