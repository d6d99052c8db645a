"""Create every resource of ``jevs.resources`` in whatever AWS the clients point at: the local moto
server, or moto in process for the integration tests. The CDK stack builds the same definitions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jevs.resources import (
    BUCKETS,
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    DOCUMENTS_BUCKET,
    EXCHANGE_BUCKET,
    NOTIFICATIONS_QUEUE,
    QUEUES,
    RECORDS_TABLE,
    SCHEDULE_FAILURES_QUEUE,
    SIGNING_KEY,
    STREAM_FAILURES_QUEUE,
    TABLES,
    QueueDefinition,
    TableDefinition,
)

DAY = 24 * 3600
# The address certificates are emailed from on one machine (the CDK stack takes jevs:senderEmail): verified in
# moto's SES, which then accepts mail from it and keeps every message it was given (nothing leaves the machine).
LOCAL_SENDER_EMAIL = "certificates@jevs.localhost"
SENDER_EMAIL_VARIABLE = "JEVS_SENDER_EMAIL"
# Builds a boto3 client for a service name ("dynamodb", "sqs", ...), pointed where the caller wants.
ClientFactory = Callable[[str], Any]


def create_table_arguments(table: TableDefinition) -> dict[str, Any]:
    """The CreateTable request for a table definition (on-demand capacity, as in AWS)."""
    attributes = {table.partition_key, table.sort_key}
    for index in table.indexes:
        attributes |= {index.partition_key, index.sort_key}
    arguments: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": attribute.name, "AttributeType": attribute.type}
            for attribute in sorted(attributes, key=lambda attribute: attribute.name)
        ],
        "KeySchema": [
            {"AttributeName": table.partition_key.name, "KeyType": "HASH"},
            {"AttributeName": table.sort_key.name, "KeyType": "RANGE"},
        ],
    }
    if table.indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key.name, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key.name, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    if table.stream_view:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
    return arguments


def queue_attributes(queue: QueueDefinition, dead_letter_arn: str) -> dict[str, str]:
    return {
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(queue.retention_days * DAY),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": queue.max_receive_count}
        ),
    }


def _create_tables(dynamodb: Any) -> dict[str, str]:
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in TABLES:
        if table.name in existing:
            continue
        dynamodb.create_table(**create_table_arguments(table))
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    return {table.environment_variable: table.name for table in TABLES}


def _create_queues(sqs: Any) -> dict[str, str]:
    environment = {}
    for queue in QUEUES:
        dead_letter_url = sqs.create_queue(
            QueueName=queue.dead_letter_name,
            Attributes={"MessageRetentionPeriod": str(queue.dead_letter_retention_days * DAY)},
        )["QueueUrl"]
        dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(QueueName=queue.name, Attributes=queue_attributes(queue, dead_letter_arn))["QueueUrl"]
        environment[queue.environment_variable] = url
        environment[queue.dead_letter_environment_variable] = dead_letter_url
    for failures in (STREAM_FAILURES_QUEUE, SCHEDULE_FAILURES_QUEUE):
        # The local stack runs its schedules in process and never fills the schedule failures queue; it exists
        # so that the two stacks hold the same queues.
        environment[failures.environment_variable] = sqs.create_queue(
            QueueName=failures.name, Attributes={"MessageRetentionPeriod": str(failures.retention_days * DAY)}
        )["QueueUrl"]
    return environment


def _create_buckets(s3: Any) -> dict[str, str]:
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for bucket in BUCKETS:
        if bucket.local_name not in existing:
            s3.create_bucket(
                Bucket=bucket.local_name,
                CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name},
            )
            s3.put_bucket_versioning(Bucket=bucket.local_name, VersioningConfiguration={"Status": "Enabled"})
    return {bucket.environment_variable: bucket.local_name for bucket in BUCKETS}


def _create_signing_key(kms: Any) -> dict[str, str]:
    aliases = {alias["AliasName"] for alias in kms.list_aliases()["Aliases"]}
    if SIGNING_KEY.alias not in aliases:
        key = kms.create_key(
            KeySpec=SIGNING_KEY.key_spec, KeyUsage="SIGN_VERIFY", Description="JEVS: signs what is sent to China"
        )
        kms.create_alias(AliasName=SIGNING_KEY.alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    return {SIGNING_KEY.environment_variable: SIGNING_KEY.alias}


def _verify_sender(sesv2: Any) -> dict[str, str]:
    identities = {identity["IdentityName"] for identity in sesv2.list_email_identities().get("EmailIdentities", [])}
    if LOCAL_SENDER_EMAIL not in identities:
        sesv2.create_email_identity(EmailIdentity=LOCAL_SENDER_EMAIL)
    return {SENDER_EMAIL_VARIABLE: LOCAL_SENDER_EMAIL}


@dataclass(frozen=True)
class QueueUrls:
    queue: str
    dead_letters: str


@dataclass(frozen=True)
class Provisioned:
    """Where each resource of ``jevs.resources`` is in the AWS the clients pointed at: what the CDK stack tells
    each function through its environment, and what the local stack builds each function's settings from."""

    records_table: str
    queues: dict[str, QueueUrls]
    # Where the table stream's failed batches are described (in AWS, by the relay's on-failure destination).
    stream_failures: str
    buckets: dict[str, str]
    signing_key_id: str
    sender_email: str

    @property
    def delivery(self) -> QueueUrls:
        return self.queues[DELIVERY_QUEUE.name]

    @property
    def declarations(self) -> QueueUrls:
        return self.queues[DECLARATIONS_QUEUE.name]

    @property
    def notifications(self) -> QueueUrls:
        return self.queues[NOTIFICATIONS_QUEUE.name]

    @property
    def documents_bucket(self) -> str:
        return self.buckets[DOCUMENTS_BUCKET.logical_id]

    @property
    def exchange_bucket(self) -> str:
        return self.buckets[EXCHANGE_BUCKET.logical_id]


def create_resources(client: ClientFactory) -> Provisioned:
    """Create every resource (keeping any that exist) and say where each one is."""
    environment = {
        **_create_tables(client("dynamodb")),
        **_create_queues(client("sqs")),
        **_create_buckets(client("s3")),
        **_create_signing_key(client("kms")),
        **_verify_sender(client("sesv2")),
    }
    return Provisioned(
        records_table=environment[RECORDS_TABLE.environment_variable],
        queues={
            queue.name: QueueUrls(
                environment[queue.environment_variable], environment[queue.dead_letter_environment_variable]
            )
            for queue in QUEUES
        },
        stream_failures=environment[STREAM_FAILURES_QUEUE.environment_variable],
        buckets={bucket.logical_id: environment[bucket.environment_variable] for bucket in BUCKETS},
        signing_key_id=environment[SIGNING_KEY.environment_variable],
        sender_email=environment[SENDER_EMAIL_VARIABLE],
    )
