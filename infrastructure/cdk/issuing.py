"""Hosted issuing's back office (issue 6): each certificate version's documents, and the one-working-day promise.

- Documents: the notifier (on the notifications queue, created by ``MatchingConstruct``) renders each version's
  PDF into the documents bucket, files NZ Customs' data file in the exchange bucket, and emails a hosted
  certificate's applicant through SES from the sender identity defined here, then notes the version's documents
  made on its item. This construct gives it exactly that: its settings, the bucket prefixes it writes, the one
  prefix it may list (its email markers), the identity it may send from and that update of certificates' items.
- The overseer runs on a schedule, reads the sparse index of undecided applications by due time, and flags
  those past due (a conditional put on the table); ``MonitoringConstruct`` alarms on its metric.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.cdk.config import StackConfig
from infrastructure.cdk.data import partitions_only, writes_within
from infrastructure.cdk.functions import JevsFunction, Layers
from infrastructure.cdk.keys import grant_signing
from jevs.resources import (
    CERTIFICATE_DOCUMENTS_PREFIX,
    CERTIFICATE_PARTITIONS,
    DOCUMENTS_BUCKET,
    EMAIL_MARKERS_PREFIX,
    EXPORTER_PARTITIONS,
    NZ_CUSTOMS_CERTIFICATES_PREFIX,
    OVERSEER_FUNCTION,
    OVERSEER_SCHEDULE_MINUTES,
    RECORDS_TABLE,
    SIGNING_KEY,
    VERIFICATION_PARTITIONS,
)

SENDER_EMAIL_VARIABLE = "JEVS_SENDER_EMAIL"
VERIFICATION_BASE_URL_VARIABLE = "JEVS_VERIFICATION_BASE_URL"
OPEN_APPLICATIONS_INDEX = RECORDS_TABLE.index("by-open-application").name


class IssuingConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        table: dynamodb.Table,
        notifier: JevsFunction,
        documents_bucket: s3.IBucket,
        exchange_bucket: s3.IBucket,
        verification_base_url: str,
        data_key: kms.IKey,
        layers: Layers,
        schedule_failures: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        # An email address identity: SES sends AWS's verification link to it when the stack is deployed, and sends
        # from it once someone has followed the link.
        self.sender = ses.EmailIdentity(self, "Sender", identity=ses.Identity.email(config.sender_email))
        self._documents(notifier, documents_bucket, exchange_bucket, config.sender_email, verification_base_url)
        # Once a version's documents are stored, the notifier notes them made: an UpdateItem of the version's item
        # (which takes it out of the open work reconciliation reads), in certificates' partitions only; its one write.
        notifier.role.add_to_principal_policy(writes_within(table, ["dynamodb:UpdateItem"], CERTIFICATE_PARTITIONS))

        self.overseer = JevsFunction(
            self,
            "Overseer",
            definition=OVERSEER_FUNCTION,
            layers=layers,
            key=data_key,
            dead_letter_queue=schedule_failures,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                # The alias, not the key: the overseer follows a rotation (ops rotate-key).
                SIGNING_KEY.environment_variable: SIGNING_KEY.alias,
            },
        )
        role = self.overseer.role
        # Reads undecided applications from their sparse index only, and flags one with a conditional put (in a
        # TransactWriteItems, which IAM authorises as PutItem); it never reads or writes anything else.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{OPEN_APPLICATIONS_INDEX}"]
            )
        )
        # Applications' and verification requests' partitions, and certificates' (an overdue request is an event in
        # its certificate's history): never idempotency records, counters or declarations.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table.table_arn],
                conditions=partitions_only(EXPORTER_PARTITIONS, VERIFICATION_PARTITIONS, CERTIFICATE_PARTITIONS),
            )
        )
        data_key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        # It appends history events (an application past due, a verification request overdue) and seals each new head.
        grant_signing(role, sign=True)
        self.schedule = events.Rule(
            self,
            "PastDueSchedule",
            description="JEVS: flag applications still undecided past their one-working-day due time",
            schedule=events.Schedule.rate(Duration.minutes(OVERSEER_SCHEDULE_MINUTES)),
            targets=[
                targets.LambdaFunction(self.overseer.function, retry_attempts=2, dead_letter_queue=schedule_failures)
            ],
        )

    def _documents(
        self,
        notifier: JevsFunction,
        documents_bucket: s3.IBucket,
        exchange_bucket: s3.IBucket,
        sender_email: str,
        verification_base_url: str,
    ) -> None:
        notifier.function.add_environment(DOCUMENTS_BUCKET.environment_variable, documents_bucket.bucket_name)
        notifier.function.add_environment(SENDER_EMAIL_VARIABLE, sender_email)
        notifier.function.add_environment(VERIFICATION_BASE_URL_VARIABLE, verification_base_url)
        role = notifier.role
        # Writes each version's PDF; never reads, deletes or overwrites anything else. The bucket's default
        # encryption (the data key) applies: the notifier already holds GenerateDataKey and Decrypt on it.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[documents_bucket.arn_for_objects(f"{CERTIFICATE_DOCUMENTS_PREFIX}*")],
            )
        )
        # Each version's email marker: claimed by a conditional put before the send, read when a claim finds one
        # there (jevs.service.documents._claim), never deleted.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[documents_bucket.arn_for_objects(f"{EMAIL_MARKERS_PREFIX}*")],
            )
        )
        # A read of a marker that is gone answers NoSuchKey rather than AccessDenied only with the right to list it:
        # allowed for the markers' prefix only.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[documents_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{EMAIL_MARKERS_PREFIX}*"]}},
            )
        )
        # NZ Customs' data file of each version, beside the match results MatchingConstruct lets it file.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[exchange_bucket.arn_for_objects(f"{NZ_CUSTOMS_CERTIFICATES_PREFIX}*")],
            )
        )
        # SES v2's SendEmail with raw content is authorised as both actions, on the sender identity.
        self.sender.grant(role, "ses:SendEmail", "ses:SendRawEmail")
