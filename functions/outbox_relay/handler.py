"""The outbox relay function, fed by the records table's stream (DESIGN §6.1).

Each new outbox record becomes a message on its channel's queue. A record that cannot be published is
reported as a batch item failure, so Lambda retries from it (halving the batch to isolate it) and, once its
retries are spent, sends its coordinates to the stream's failure queue: no outbox record is skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs import bootstrap
from jevs.adapters.table.items import outbox_message_of
from jevs.bootstrap import Handler, RelayDependencies
from jevs.settings import RelaySettings

logger = Logger(service="jevs-outbox-relay")
metrics = Metrics(namespace="JEVS", service="jevs-outbox-relay")


def make_handler(dependencies: RelayDependencies) -> Handler:
    # Every record failing is still a partial response (all reported), not a function error.
    processor = BatchProcessor(
        event_type=EventType.DynamoDBStreams,
        raise_on_entire_batch_failure=False,
        logger=logging.getLogger("jevs-outbox-relay"),
    )

    def relay(record: DynamoDBRecord) -> None:
        # Only INSERTs count: an outbox record is written once and never changed, and its removal (by time to
        # live) must not publish it again.
        if record.raw_event.get("eventName") != "INSERT" or record.dynamodb is None:
            return
        message = outbox_message_of(record.dynamodb.new_image)
        if message is None:
            return
        dependencies.publisher.publish(message)
        metrics.add_metric(name="OutboxMessagesRelayed", unit=MetricUnit.Count, value=1)
        logger.info("relayed", extra={"message_id": message.message_id, "channel": message.channel})

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(event=event, record_handler=relay, processor=processor, context=context)

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed


handler = bootstrap.lambda_entry(RelaySettings, bootstrap.relay, make_handler)
