"""Buckets: certificate documents and the NZ Customs exchange, encrypted with the data key, TLS only, never
public, versioned, with lifecycle rules and server access logs to a bucket of their own."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from jevs.resources import BUCKETS, BucketDefinition


class StorageConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        # Server access logs cannot go to a KMS-encrypted bucket; S3-managed keys are what AWS supports.
        # ACLs stay off: S3's log delivery is allowed by the bucket policy (cdk.json's
        # @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy), for each source bucket's own prefix only.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(400), noncurrent_version_expiration=Duration.days(30))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.buckets = {definition.logical_id: self._bucket(definition, key) for definition in BUCKETS}

    def _bucket(self, definition: BucketDefinition, key: kms.IKey) -> s3.Bucket:
        return s3.Bucket(
            self,
            definition.logical_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{definition.local_name}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(definition.noncurrent_version_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
