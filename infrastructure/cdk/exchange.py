"""NZ Customs' files in the exchange bucket (DESIGN.md §5): who writes under its prefix, who reads it.

- The notifier files China's preference decisions under ``nz-customs/preference-decisions/`` (it already files
  certificate versions and match results under their own prefixes, granted by their constructs).
- The API lists and reads NZ Customs' prefix for ``GET /v1/exchange/nz-customs/files``.
- NZ Customs' own AWS account reads the same files directly: a role it assumes from its account (context
  ``jevs:nzCustomsAccountId``), allowed ``s3:GetObject`` under its prefix, ``s3:ListBucket`` of its prefix only,
  and ``kms:Decrypt`` with the data key only through S3 and only for this bucket's objects.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from jevs.resources import NZ_CUSTOMS_PREFERENCES_PREFIX, NZ_CUSTOMS_PREFIX

# A partner's session with the role lasts an hour at most: long enough for a batch of downloads.
READ_SESSION = Duration.hours(1)


def _prefix_listing(bucket: s3.IBucket) -> iam.PolicyStatement:
    """``s3:ListBucket`` of the bucket, for keys under NZ Customs' prefix only."""
    return iam.PolicyStatement(
        actions=["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{NZ_CUSTOMS_PREFIX}*"]}},
    )


def _prefix_reading(bucket: s3.IBucket) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{NZ_CUSTOMS_PREFIX}*")])


def _decrypting_through_s3(bucket: s3.IBucket, key: kms.IKey) -> iam.PolicyStatement:
    """The data key decrypts for this bucket's objects, asked by S3 only. The bucket uses an S3 Bucket Key, so the
    encryption context S3 gives KMS is the bucket's ARN."""
    return iam.PolicyStatement(
        actions=["kms:Decrypt"],
        resources=[key.key_arn],
        conditions={
            "StringEquals": {
                "kms:ViaService": f"s3.{bucket.stack.region}.amazonaws.com",
                "kms:EncryptionContext:aws:s3:arn": bucket.bucket_arn,
            }
        },
    )


class NzCustomsExchangeConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        exchange_bucket: s3.IBucket,
        data_key: kms.IKey,
        notifier: iam.IRole,
        api: iam.IRole,
        nz_customs_account_id: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        notifier.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[exchange_bucket.arn_for_objects(f"{NZ_CUSTOMS_PREFERENCES_PREFIX}*")],
            )
        )
        # GET /v1/exchange/nz-customs/files lists and reads NZ Customs' prefix, nothing else of the bucket. The data
        # key's decrypt the API holds already (it reads the table and the PDFs with it).
        api.add_to_principal_policy(_prefix_listing(exchange_bucket))
        api.add_to_principal_policy(_prefix_reading(exchange_bucket))

        self.read_role: iam.Role | None = None
        if nz_customs_account_id is None:
            return
        self.read_role = iam.Role(
            self,
            "NzCustomsReadRole",
            description="Assumed from NZ Customs' AWS account: read its data files in the JEVS exchange bucket.",
            assumed_by=iam.AccountPrincipal(nz_customs_account_id),
            max_session_duration=READ_SESSION,
        )
        for statement in (
            _prefix_listing(exchange_bucket),
            _prefix_reading(exchange_bucket),
            _decrypting_through_s3(exchange_bucket, data_key),
        ):
            self.read_role.add_to_policy(statement)
        CfnOutput(
            self,
            "NzCustomsReadRoleArn",
            value=self.read_role.role_arn,
            description="The role NZ Customs assumes to read its files in the exchange bucket",
        )
