"""Delivery to China Customs: the dispatcher on the delivery queue and the scheduled reconciliation.

The dispatcher signs with the signing key and posts to the China Customs endpoint (a setting); its queue's
event source mapping reports partial batch failures and caps concurrency so China's endpoint is not
flooded. The reconciler runs every minute: it queues again what China has not acknowledged, and every other
piece of work left open too long (declarations to match, documents to make, outbox records to publish), and works
the redrive jobs operations started (every dead-letter queue back into the system, a page at a time).
"""

from __future__ import annotations

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
from infrastructure.cdk.messaging import MessagingConstruct
from jevs.resources import (
    CERTIFICATE_PARTITIONS,
    CIRCUIT_PARTITIONS,
    DECLARATION_PARTITIONS,
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    DISPATCHER_FUNCTION,
    DISPATCHER_MAX_CONCURRENCY,
    NOTIFICATIONS_QUEUE,
    RECONCILER_FUNCTION,
    RECONCILIATION_SCHEDULE_MINUTES,
    RECORDS_TABLE,
    REDRIVE_PARTITIONS,
    SIGNING_KEY,
    STREAM_FAILURES_QUEUE,
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
        messaging: MessagingConstruct,
        data_key: kms.IKey,
        layers: Layers,
    ) -> None:
        """``messaging``: every queue, its dead-letter queue and the stream's failures, which the dispatcher parks in
        and the reconciler sends open work to and redrives from."""
        super().__init__(scope, construct_id)
        dead_letters = messaging.dead_letter_queues[DELIVERY_QUEUE.logical_id]
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
        # Through the alias: SnapStart restores only published versions (JevsFunction.invoked).
        self.dispatcher.invoked.add_event_source(
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
            dead_letter_queue=messaging.schedule_failures,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                DELIVERY_QUEUE.environment_variable: queue.queue_url,
                **self._redrive_environment(messaging),
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
        self._grant_redrives(self.reconciler.role, table, messaging)
        # Every minute, not every five: the reconciler also works redrive jobs, and an operator who starts one
        # sees it move within a minute, and a large dead-letter queue drains a run's worth of pages each minute.
        # A run with nothing to do is one query of each sparse index.
        self.schedule = events.Rule(
            self,
            "ReconciliationSchedule",
            description="JEVS: queue again deliveries China has not acknowledged and work left open too long, and "
            "work redrives",
            schedule=events.Schedule.rate(Duration.minutes(RECONCILIATION_SCHEDULE_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    self.reconciler.function, retry_attempts=2, dead_letter_queue=messaging.schedule_failures
                )
            ],
        )

    @staticmethod
    def _redrive_environment(messaging: MessagingConstruct) -> dict[str, str]:
        """Redrive jobs: every dead-letter queue, the queue each goes back to, the key that seals a resumption."""
        environment = {
            # The alias, not the key: the reconciler follows a rotation (ops rotate-key).
            SIGNING_KEY.environment_variable: SIGNING_KEY.alias,
            STREAM_FAILURES_QUEUE.environment_variable: messaging.stream_failures.queue_url,
        }
        for definition in (DELIVERY_QUEUE, DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE):
            environment[definition.environment_variable] = messaging.queues[definition.logical_id].queue_url
            dead_letters = messaging.dead_letter_queues[definition.logical_id]
            environment[definition.dead_letter_environment_variable] = dead_letters.queue_url
        return environment

    @staticmethod
    def _grant_redrives(role: iam.IRole, table: dynamodb.Table, messaging: MessagingConstruct) -> None:
        """What working a redrive job calls: the job (read, its page recorded, its running jobs found), a parked
        delivery resumed (its delivery and certificate read, written with the sealed DELIVERY_RESUMED event), each
        dead-letter queue taken from, each work queue sent back to, and the stream read for a failed batch."""
        open_index = RECORDS_TABLE.index("by-open-application").name
        role.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.table_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{open_index}"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
                resources=[table.table_arn],
                conditions=partitions_only(CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS, REDRIVE_PARTITIONS),
            )
        )
        grant_signing(role, sign=True)
        taken_from = [*messaging.dead_letter_queues.values(), messaging.stream_failures]
        for dead_letters in taken_from:
            dead_letters.grant(
                role,
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            )
        for definition in (DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE):
            messaging.queues[definition.logical_id].grant(role, "sqs:SendMessage")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetShardIterator", "dynamodb:GetRecords"], resources=[table.table_stream_arn or ""]
            )
        )
