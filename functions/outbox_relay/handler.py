"""The outbox relay function, fed by the records table's stream (DESIGN §6.1).

Each new outbox record becomes a message on its channel's queue. A record that cannot be published is
reported as a batch item failure, so Lambda retries from it (halving the batch to isolate it) and, once its
retries are spent, sends its coordinates to the stream's failure queue: no outbox record is skipped.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs.adapters.aws import sqs
from jevs.adapters.outbox import SqsOutboxPublisher, outbox_message
from jevs.domain.records import OutboxChannel
from jevs.settings import relay_settings

logger = Logger(service="jevs-outbox-relay")
metrics = Metrics(namespace="JEVS", service="jevs-outbox-relay")
# Every record failing is still a partial response (all reported), not a function error.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@cache
def publisher() -> SqsOutboxPublisher:
    settings = relay_settings()
    # Every channel has its queue (DESIGN §6.1): deliveries to China, declarations to match, notifications.
    queue_urls = {
        OutboxChannel.DELIVERY_TO_CHINA: settings.delivery_queue_url,
        OutboxChannel.DECLARATIONS: settings.declarations_queue_url,
        OutboxChannel.NOTIFICATIONS: settings.notifications_queue_url,
    }
    return SqsOutboxPublisher(sqs(), queue_urls)


def relay(record: DynamoDBRecord) -> None:
    message = outbox_message(record.raw_event)
    if message is None:
        return
    publisher().publish(message)
    metrics.add_metric(name="OutboxMessagesRelayed", unit=MetricUnit.Count, value=1)
    logger.info("relayed", extra={"message_id": message.message_id, "channel": message.channel})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=relay, processor=processor, context=context)


def reset() -> None:
    publisher.cache_clear()
