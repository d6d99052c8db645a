"""The production stack: one construct per concern, wired together here and nowhere else."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infrastructure.cdk.acknowledgements import acknowledge
from infrastructure.cdk.api import ApiConstruct
from infrastructure.cdk.config import read_config
from infrastructure.cdk.data import DataConstruct, partitions_only
from infrastructure.cdk.delivery import DeliveryConstruct
from infrastructure.cdk.exchange import NzCustomsExchangeConstruct
from infrastructure.cdk.functions import JevsFunction, Layers
from infrastructure.cdk.identity import IdentityConstruct
from infrastructure.cdk.issuing import IssuingConstruct
from infrastructure.cdk.keys import KeysConstruct, grant_signing
from infrastructure.cdk.matching import MatchingConstruct
from infrastructure.cdk.messaging import MessagingConstruct
from infrastructure.cdk.monitoring import MonitoringConstruct
from infrastructure.cdk.outbox import OutboxConstruct
from infrastructure.cdk.storage import StorageConstruct
from jevs.resources import (
    API_FUNCTION,
    CERTIFICATE_DOCUMENTS_PREFIX,
    CERTIFICATE_PARTITIONS,
    COUNTER_PARTITIONS,
    DECLARATION_PARTITIONS,
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    DOCUMENTS_BUCKET,
    EXCHANGE_BUCKET,
    EXPORTER_PARTITIONS,
    IDEMPOTENCY_PARTITIONS,
    NOTIFICATIONS_QUEUE,
    RECORDS_TABLE,
    REDRIVE_PARTITIONS,
    SIGNING_KEY,
    VERIFICATION_ATTACHMENTS_PREFIX,
    VERIFICATION_PARTITIONS,
)


class JevsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = read_config(self.node)
        self.keys = KeysConstruct(self, "Keys")
        key = self.keys.data_key
        self.data = DataConstruct(self, "Data", key=key)
        self.messaging = MessagingConstruct(self, "Messaging", key=key)
        self.storage = StorageConstruct(self, "Storage", key=key)
        self.identity = IdentityConstruct(self, "Identity", config=config)
        layers = Layers(self, "Layers")

        table = self.data.records_table
        documents_bucket = self.storage.buckets[DOCUMENTS_BUCKET.logical_id]
        exchange_bucket = self.storage.buckets[EXCHANGE_BUCKET.logical_id]
        delivery_queue = self.messaging.queues[DELIVERY_QUEUE.logical_id]
        self.api_function = JevsFunction(
            self,
            "ApiFunction",
            definition=API_FUNCTION,
            layers=layers,
            key=key,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                "JEVS_PARTIES": self.identity.party_registry_json,
                # The alias, not the key: the functions follow a rotation (ops rotate-key).
                SIGNING_KEY.environment_variable: SIGNING_KEY.alias,
                "JEVS_SIGNING_KEY_OVERLAP_DAYS": str(SIGNING_KEY.overlap_days),
                DOCUMENTS_BUCKET.environment_variable: documents_bucket.bucket_name,
                EXCHANGE_BUCKET.environment_variable: exchange_bucket.bucket_name,
                "JEVS_DOCS_URL": config.docs_url,
                # Cognito's token endpoint, which the OpenAPI document the API serves names for the OAuth2 flow.
                "JEVS_TOKEN_URL": self.identity.token_url,
            },
        )
        # Exactly what the API's store calls: reads and queries, of the table and its listing indexes ...
        table.grant(self.api_function.role, "dynamodb:GetItem", "dynamodb:Query")
        # ... and the conditional puts of a request's transaction, on the table itself and within the partitions
        # the API writes: certificates' (their records, events, deliveries, outbox), declarations' (lodged, and a
        # result's delivery a redrive resumes), exporters' (hosted issuing), verification requests', the number
        # counters (certification), the idempotent requests' answers and redrive jobs (started here, worked by the
        # reconciler). It never updates nor deletes.
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
                resources=[table.table_arn],
                conditions=partitions_only(
                    CERTIFICATE_PARTITIONS,
                    DECLARATION_PARTITIONS,
                    EXPORTER_PARTITIONS,
                    VERIFICATION_PARTITIONS,
                    COUNTER_PARTITIONS,
                    IDEMPOTENCY_PARTITIONS,
                    REDRIVE_PARTITIONS,
                ),
            )
        )
        key.grant(self.api_function.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        # The history route signs a verified head; /.well-known/jwks.json publishes the signing key's public half
        # and those of the keys retired from it within the overlap period.
        grant_signing(self.api_function.role, sign=True, publish=True)
        # GET /v1/certificates/{number}/document serves the PDFs the notifier stored; it reads nothing else there.
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[documents_bucket.arn_for_objects(f"{CERTIFICATE_DOCUMENTS_PREFIX}*")],
            )
        )
        # Verification answers: the API stores each document of an answer and serves it to those involved.
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[documents_bucket.arn_for_objects(f"{VERIFICATION_ATTACHMENTS_PREFIX}*")],
            )
        )
        # A PDF not rendered yet must read as missing (S3's NoSuchKey, answered 404) rather than as denied: S3 tells
        # the two apart only for a caller that may list the bucket. The keys there are certificate numbers and
        # versions, which the API reads from the table anyway.
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[documents_bucket.bucket_arn])
        )

        self.api = ApiConstruct(
            self, "Api", config=config, identity=self.identity, function=self.api_function.invoked, key=key
        )
        self.outbox = OutboxConstruct(
            self,
            "Outbox",
            table=table,
            queues=self.messaging.queues,
            failures=self.messaging.stream_failures,
            layers=layers,
            key=key,
        )
        self.delivery = DeliveryConstruct(
            self,
            "Delivery",
            config=config,
            table=table,
            queue=delivery_queue,
            messaging=self.messaging,
            data_key=key,
            layers=layers,
        )
        self.matching = MatchingConstruct(
            self,
            "Matching",
            table=table,
            declarations=self.messaging.queues[DECLARATIONS_QUEUE.logical_id],
            notifications=self.messaging.queues[NOTIFICATIONS_QUEUE.logical_id],
            exchange_bucket=exchange_bucket,
            data_key=key,
            layers=layers,
        )
        # The PDF's QR code opens the public verification endpoint: through the custom domain when there is one
        # (the execute-api endpoint is then disabled), else the stage's own URL.
        verification_base_url = (
            f"https://{config.custom_domain.name}" if config.custom_domain is not None else self.api.api.url
        )
        self.issuing = IssuingConstruct(
            self,
            "Issuing",
            config=config,
            table=table,
            notifier=self.matching.notifier,
            documents_bucket=documents_bucket,
            exchange_bucket=exchange_bucket,
            verification_base_url=verification_base_url,
            data_key=key,
            layers=layers,
            schedule_failures=self.messaging.schedule_failures,
        )
        self.exchange = NzCustomsExchangeConstruct(
            self,
            "NzCustomsExchange",
            exchange_bucket=exchange_bucket,
            data_key=key,
            notifier=self.matching.notifier.role,
            api=self.api_function.role,
            nz_customs_account_id=config.nz_customs_account_id,
        )
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            key=key,
            alarm_email=config.alarm_email,
            api=self.api.api,
            functions=[
                self.api_function,
                self.outbox.relay,
                self.delivery.dispatcher,
                self.delivery.reconciler,
                self.matching.matcher,
                self.matching.notifier,
                self.issuing.overseer,
            ],
            queues=self.messaging.queues,
            dead_letter_queues=self.messaging.dead_letter_queues,
            stream_failures=self.messaging.stream_failures,
        )
        CfnOutput(self, "ApiUrl", value=self.api.api.url, description="The API (execute-api endpoint)")
        CfnOutput(self, "TokenUrl", value=self.identity.token_url, description="OAuth2 token endpoint for partners")
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        acknowledge(self)
