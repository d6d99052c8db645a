"""The outbox relay function, fed the records table's stream (DESIGN.md §6.1).

The new outbox records of a batch become messages on their channels' queues (SendMessageBatch, ten at a time per
queue) and are then noted published together (one commit), so they leave the open work reconciliation watches. A
record that cannot be read or published is reported as a batch item failure, so Lambda retries from it (halving
the batch to isolate it) and, once its retries are spent, sends its coordinates to the stream's failure queue;
reconciliation publishes it then: no outbox record is skipped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs import bootstrap
from jevs.adapters.lambda_logs import correlating, failure_fields
from jevs.adapters.table.outbox import outbox_image, outgoing_of
from jevs.bootstrap import Handler, RelayDependencies
from jevs.domain.outbox import Outgoing
from jevs.service.outbox import publish_all
from jevs.settings import RelaySettings

logger = Logger(service="jevs-outbox-relay")
metrics = Metrics(namespace="JEVS", service="jevs-outbox-relay")


def outbox_messages(event: dict[str, Any]) -> tuple[dict[str, Outgoing], list[str]]:
    """The outbox messages of a stream batch by the sequence number of their record, and the sequence numbers of
    the records that could not be read. Only INSERTs count: an outbox record is written once (the note that it was
    published is a MODIFY), and its removal must not publish it again. Each message is published as it was stored:
    the relay reads where it goes and its id, and leaves the message to its consumer (``jevs.domain.outbox``)."""
    found: dict[str, Outgoing] = {}
    unreadable: list[str] = []
    for raw in event.get("Records", []):
        change = raw.get("dynamodb")
        if raw.get("eventName") != "INSERT" or not isinstance(change, dict):
            continue
        sequence = str(change.get("SequenceNumber"))
        try:
            message = outgoing_of(outbox_image(change["NewImage"]))
        except Exception as error:  # a record we cannot read waits for reconciliation, logged
            logger.warning("record failed", extra={"record": sequence, **failure_fields(error)})
            unreadable.append(sequence)
            continue
        if message is not None:
            found[sequence] = message
    return found, unreadable


def make_handler(dependencies: RelayDependencies) -> Handler:
    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def relay(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
        messages, failed = outbox_messages(event)
        try:
            relayed = publish_all(list(messages.values()), dependencies.unit_of_work, dependencies.publisher)
        except Exception as error:  # not noted: every message of the batch is tried again
            logger.warning("batch failed", extra={"records": len(messages), **failure_fields(error)})
            failed.extend(messages)
        else:
            for message in relayed.published:
                with correlating(logger, message.correlation_id):
                    logger.info("relayed", extra={"message_id": message.message_id, "channel": message.channel})
            for sequence, message in messages.items():
                if message.message_id in relayed.refused:
                    with correlating(logger, message.correlation_id):
                        logger.warning(
                            "record failed",
                            extra={
                                "record": sequence,
                                "message_id": message.message_id,
                                "refused": relayed.refused[message.message_id],
                            },
                        )
                    failed.append(sequence)
            if relayed.published:
                metrics.add_metric(name="OutboxMessagesRelayed", unit=MetricUnit.Count, value=len(relayed.published))
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}

    typed: Handler = relay  # the decorators leave it untyped; this is its Lambda signature
    return typed


handler = bootstrap.lambda_entry(RelaySettings, bootstrap.relay, make_handler)
