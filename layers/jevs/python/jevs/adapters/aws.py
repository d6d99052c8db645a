"""boto3 clients, built lazily and once per process (never at import time), with strict timeouts.

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` setting, which is how the local stack points
every function at its moto server.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    # Account-based endpoints do not exist under moto; a regional endpoint serves both.
    account_id_endpoint_mode="disabled",
)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


@cache
def kms() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=_CONFIG)


@cache
def secretsmanager() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_CONFIG)


@cache
def sesv2() -> SESV2Client:
    return boto3.client("sesv2", config=_CONFIG)


def forget_clients() -> None:
    """Build clients afresh on next use (a process whose AWS endpoint changed: tests, the local stack)."""
    for factory in (dynamodb, sqs, kms, s3, secretsmanager, sesv2):
        factory.cache_clear()
