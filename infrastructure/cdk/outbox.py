"""The outbox relay: the records table's stream feeds it; it publishes each new outbox record to its queue, then
notes the record published (an update of that record, which takes it out of the open work reconciliation reads).

The stream is read with bisection on error (a poison record is isolated), bounded retries and record age,
partial batch responses, and an on-failure destination that keeps the coordinates of any record given up on.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.cdk.data import writes_within
from infrastructure.cdk.functions import JevsFunction, Layers
from jevs.resources import (
    CERTIFICATE_PARTITIONS,
    DECLARATION_PARTITIONS,
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    NOTIFICATIONS_QUEUE,
    OUTBOX_RELAY_FUNCTION,
    RECORDS_TABLE,
    STREAM_BATCH_SIZE,
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_MAX_RETRIES,
)

# The queues the relay publishes to, one per jevs.domain.messages.OutboxChannel (jevs.settings.RelaySettings).
RELAYED_QUEUES = (DELIVERY_QUEUE, DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE)


class OutboxConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.Table,
        queues: dict[str, sqs.Queue],
        failures: sqs.Queue,
        layers: Layers,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # One queue per outbox channel: deliveries to China, declarations to match, notifications to partners.
        channels = [(definition, queues[definition.logical_id]) for definition in RELAYED_QUEUES]
        self.relay = JevsFunction(
            self,
            "Relay",
            definition=OUTBOX_RELAY_FUNCTION,
            layers=layers,
            key=key,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                **{definition.environment_variable: queue.queue_url for definition, queue in channels},
            },
        )
        for _, queue in channels:
            queue.grant(self.relay.role, "sqs:SendMessage")
        # Notes each record published: an UpdateItem of the record itself, in the partitions outbox records live in
        # (a certificate's or a declaration's); it reads nothing from the table (the stream brings the record).
        self.relay.role.add_to_principal_policy(
            writes_within(table, ["dynamodb:UpdateItem"], CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS)
        )
        key.grant(self.relay.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        self.relay.function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=STREAM_BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=STREAM_MAX_RETRIES,
                max_record_age=Duration.seconds(STREAM_MAX_RECORD_AGE_SECONDS),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(failures),
                # Only outbox records interest the relay; the rest of the stream never invokes it.
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"Keys": {"sk": {"S": lambda_.FilterRule.begins_with("OUTBOX#")}}},
                        }
                    )
                ],
            )
        )
