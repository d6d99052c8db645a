"""Matching of customs declarations (DESIGN.md §4): the matcher on the declarations queue, and the notifier on the
notifications queue, which files each result for NZ Customs in the exchange bucket.

The matcher reads a declaration, its certificate and the certificate's usage ledger, and writes the result,
the usage and its history event in one transaction on the records table; the notifier reads a decided
declaration and writes it as a JSON object under the bucket's ``nz-customs/declaration-results/`` prefix. Both
event source mappings report partial batch failures, so a failed message is retried alone and dead-lettered
alone. The notifier also makes each certificate version's documents: ``IssuingConstruct`` grants it what that
takes.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.cdk.data import partitions_only
from infrastructure.cdk.functions import JevsFunction, Layers
from infrastructure.cdk.keys import grant_signing
from jevs.resources import (
    CERTIFICATE_PARTITIONS,
    DECLARATION_PARTITIONS,
    EXCHANGE_BUCKET,
    MATCHER_FUNCTION,
    MATCHER_MAX_CONCURRENCY,
    NOTIFIER_FUNCTION,
    NOTIFIER_MAX_CONCURRENCY,
    NZ_CUSTOMS_RESULTS_PREFIX,
    RECORDS_TABLE,
    SIGNING_KEY,
)

# Each invocation takes up to this many messages (SQS's maximum without a batching window).
BATCH_SIZE = 10
# Where the notifier files results for NZ Customs in the exchange bucket.
NZ_CUSTOMS_PREFIX = NZ_CUSTOMS_RESULTS_PREFIX


class MatchingConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.Table,
        declarations: sqs.Queue,
        notifications: sqs.Queue,
        exchange_bucket: s3.IBucket,
        data_key: kms.IKey,
        layers: Layers,
    ) -> None:
        super().__init__(scope, construct_id)
        self.matcher = JevsFunction(
            self,
            "Matcher",
            definition=MATCHER_FUNCTION,
            layers=layers,
            key=data_key,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                # The alias, not the key: the matcher follows a rotation (ops rotate-key).
                SIGNING_KEY.environment_variable: SIGNING_KEY.alias,
            },
        )
        # Reads the declaration, the certificate's head and its usage ledger; records the decision, the head,
        # its history event, the usage and the result's outbox messages in one TransactWriteItems of conditional
        # puts (IAM authorises each item by its own action: PutItem). The table itself only, no index: written
        # as a statement because table.grant adds index/* as well.
        self.matcher.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.table_arn])
        )
        # Its writes stay within declarations' and certificates' partitions (a ledger is its certificate's).
        self.matcher.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table.table_arn],
                conditions=partitions_only(DECLARATION_PARTITIONS, CERTIFICATE_PARTITIONS),
            )
        )
        data_key.grant(self.matcher.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        # It appends history events (a declaration decided, in its certificate's) and seals each new head.
        grant_signing(self.matcher.role, sign=True)
        self.matcher.function.add_event_source(
            sources.SqsEventSource(
                declarations,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=MATCHER_MAX_CONCURRENCY,
            )
        )

        self.notifier = JevsFunction(
            self,
            "Notifier",
            definition=NOTIFIER_FUNCTION,
            layers=layers,
            key=data_key,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                EXCHANGE_BUCKET.environment_variable: exchange_bucket.bucket_name,
            },
        )
        # Reads the decided declaration, a certificate and its application.
        self.notifier.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.table_arn])
        )
        # Files the result for NZ Customs, under the results prefix only; never reads, lists or deletes.
        self.notifier.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[exchange_bucket.arn_for_objects(f"{NZ_CUSTOMS_PREFIX}*")]
            )
        )
        # Decrypt: the table's items and the queue's messages; Encrypt: the version items it updates (the note that
        # their documents are made, granted by IssuingConstruct), as every function that writes the table;
        # GenerateDataKey: the object S3 encrypts with the data key (the bucket key
        # is derived from it).
        data_key.grant(self.notifier.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        self.notifier.function.add_event_source(
            sources.SqsEventSource(
                notifications,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=NOTIFIER_MAX_CONCURRENCY,
            )
        )
