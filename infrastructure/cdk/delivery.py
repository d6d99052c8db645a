"""Delivery to China Customs: the dispatcher on the delivery queue and the scheduled reconciliation.

The dispatcher signs with the signing key and posts to the China Customs endpoint (a setting); its queue's
event source mapping reports partial batch failures and caps concurrency so China's endpoint is not
flooded. The reconciler runs every few minutes and queues again what China has not acknowledged, and every other
piece of work left open too long (declarations to match, documents to make, outbox records to publish).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.cdk.config import StackConfig
from infrastructure.cdk.data import partitions_only, writes_within
from infrastructure.cdk.functions import JevsFunction, Layers
from infrastructure.cdk.keys import grant_signing
from jevs.resources import (
    CERTIFICATE_PARTITIONS,
    CIRCUIT_PARTITIONS,
    DECLARATION_PARTITIONS,
    DELIVERY_QUEUE,
    DISPATCHER_FUNCTION,
    DISPATCHER_MAX_CONCURRENCY,
    RECONCILER_FUNCTION,
    RECONCILIATION_SCHEDULE_MINUTES,
    RECORDS_TABLE,
    SIGNING_KEY,
    QueueDefinition,
)


class DeliveryConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        table: dynamodb.Table,
        queue: sqs.Queue,
        dead_letters: sqs.Queue,
        open_work_queues: Sequence[tuple[QueueDefinition, sqs.IQueue]],
        data_key: kms.IKey,
        layers: Layers,
    ) -> None:
        """``open_work_queues``: the other queues reconciliation sends open work to (declarations, notifications)."""
        super().__init__(scope, construct_id)
        environment = {
            RECORDS_TABLE.environment_variable: table.table_name,
            # The alias, not the key: the dispatcher follows a rotation (ops rotate-key).
            SIGNING_KEY.environment_variable: SIGNING_KEY.alias,
            "JEVS_CHINA_CUSTOMS_ENDPOINT": str(config.china_customs_endpoint),
            DELIVERY_QUEUE.environment_variable: queue.queue_url,
            DELIVERY_QUEUE.dead_letter_environment_variable: dead_letters.queue_url,
            "JEVS_DELIVERY_MAX_RECEIVES": str(DELIVERY_QUEUE.max_receive_count),
        }
        secret = None
        if config.china_client_certificate_secret_name:
            secret = secretsmanager.Secret.from_secret_name_v2(
                self, "ChinaClientCertificate", config.china_client_certificate_secret_name
            )
            environment["JEVS_CHINA_CLIENT_CERTIFICATE_SECRET"] = secret.secret_arn
        self.dispatcher = JevsFunction(
            self, "Dispatcher", definition=DISPATCHER_FUNCTION, layers=layers, key=data_key, environment=environment
        )
        role = self.dispatcher.role
        # Reads the certificate and its delivery; records the outcome, its event and the chain head at once.
        # The table itself only (no index): written as a statement because table.grant adds index/* as well.
        # Writes only certificates' and declarations' partitions (a result's delivery is its declaration's), and
        # China's circuit breaker; an Update notes when a waiting delivery's message was seen (pending_since).
        role.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.table_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
                resources=[table.table_arn],
                conditions=partitions_only(CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS, CIRCUIT_PARTITIONS),
            )
        )
        data_key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        grant_signing(role, sign=True)
        queue.grant(role, "sqs:ChangeMessageVisibility")
        # A parked delivery's message is put in the dead-letter queue by the dispatcher itself, before the delivery
        # is recorded PARKED: a redrive answering the alarm finds it (the queue would move it only on a receive).
        dead_letters.grant(role, "sqs:SendMessage")
        if secret is not None:
            secret.grant_read(role)
        self.dispatcher.function.add_event_source(
            # Batches of 10 in a 30 s function (DISPATCHER_FUNCTION): an attempt takes at most 3 s to connect, 10 s
            # for China's answer and about 2 s around them (DispatcherSettings.attempt_seconds), and the dispatcher
            # starts one only with that long left, handing the rest of a slow batch back: no batch times out.
            sources.SqsEventSource(
                queue,
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=DISPATCHER_MAX_CONCURRENCY,
            )
        )

        self.reconciler = JevsFunction(
            self,
            "Reconciler",
            definition=RECONCILER_FUNCTION,
            layers=layers,
            key=data_key,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                DELIVERY_QUEUE.environment_variable: queue.queue_url,
                **{definition.environment_variable: other.queue_url for definition, other in open_work_queues},
            },
        )
        # Reads the sparse indexes of pending deliveries and of open work; notes each requeue (or an outbox record
        # published) on its item: a delivery, a declaration, a version or an outbox record, all in certificates' and
        # declarations' partitions.
        indexes = [RECORDS_TABLE.index(name).name for name in ("by-pending-delivery", "by-open-work")]
        self.reconciler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{index}" for index in indexes]
            )
        )
        self.reconciler.role.add_to_principal_policy(
            writes_within(table, ["dynamodb:UpdateItem"], CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS)
        )
        data_key.grant(self.reconciler.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        queue.grant(self.reconciler.role, "sqs:SendMessage")
        for _, other in open_work_queues:
            other.grant(self.reconciler.role, "sqs:SendMessage")
        self.schedule = events.Rule(
            self,
            "ReconciliationSchedule",
            description="JEVS: queue again deliveries China has not acknowledged and work left open too long",
            schedule=events.Schedule.rate(Duration.minutes(RECONCILIATION_SCHEDULE_MINUTES)),
            targets=[targets.LambdaFunction(self.reconciler.function, retry_attempts=2)],
        )
