"""The outbox relay function, fed by the records table's stream (DESIGN.md §6.1).

Each new outbox record becomes a message on its channel's queue, and is then noted published (it leaves the open
work reconciliation watches). A record that cannot be published is reported as a batch item failure, so Lambda
retries from it (halving the batch to isolate it) and, once its retries are spent, sends its coordinates to the
stream's failure queue; reconciliation publishes it then: no outbox record is skipped.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from jevs import bootstrap
from jevs.adapters.lambda_batches import batch_handler, correlating
from jevs.adapters.table.items import outbox_message_of
from jevs.bootstrap import Handler, RelayDependencies
from jevs.service.outbox import publish
from jevs.settings import RelaySettings

logger = Logger(service="jevs-outbox-relay")
metrics = Metrics(namespace="JEVS", service="jevs-outbox-relay")


def make_handler(dependencies: RelayDependencies) -> Handler:
    def relay(record: DynamoDBRecord) -> None:
        # Only INSERTs count: an outbox record is written once (the note that it was published is a MODIFY), and
        # its removal must not publish it again.
        if record.raw_event.get("eventName") != "INSERT" or record.dynamodb is None:
            return
        message = outbox_message_of(record.dynamodb.new_image)
        if message is None:
            return
        with correlating(logger, message.correlation_id):
            publish(message, dependencies.unit_of_work(None), dependencies.publisher)
            metrics.add_metric(name="OutboxMessagesRelayed", unit=MetricUnit.Count, value=1)
            logger.info("relayed", extra={"message_id": message.message_id, "channel": message.channel})

    return batch_handler(logger=logger, metrics=metrics, event_type=EventType.DynamoDBStreams, record_handler=relay)


handler = bootstrap.lambda_entry(RelaySettings, bootstrap.relay, make_handler)
