"""boto3 clients for one function, built lazily (never at import time) and once, with strict timeouts.

Where they point is the composition root's choice: in Lambda, boto3's defaults (the function's region and
role); on one machine, the local stack's moto server with its dummy credentials (``AwsEndpoint``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
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
# SES v2's SendEmail takes no idempotency token: the SDK must not send a request again after its answer was lost
# (it would be a second email). The notification's own retry sends again, where the email's marker decides.
_SEND_ONCE = _CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


@dataclass(frozen=True)
class AwsEndpoint:
    """An AWS other than the real one (the local stack's moto server), and the credentials it takes."""

    url: str
    region: str
    # moto takes any credentials: fixed dummies keep a developer's real ones out of every request.
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # noqa: S105


class AwsClients:
    def __init__(self, endpoint: AwsEndpoint | None = None) -> None:
        self._endpoint = endpoint

    def _client(self, service: str, config: Config = _CONFIG) -> Any:
        if self._endpoint is None:
            return boto3.client(service, config=config)  # type: ignore[call-overload]
        return boto3.client(
            service,  # type: ignore[call-overload]
            config=config,
            endpoint_url=self._endpoint.url,
            region_name=self._endpoint.region,
            aws_access_key_id=self._endpoint.access_key_id,
            aws_secret_access_key=self._endpoint.secret_access_key,
        )

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @cached_property
    def dynamodbstreams(self) -> DynamoDBStreamsClient:
        client: DynamoDBStreamsClient = self._client("dynamodbstreams")
        return client

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @cached_property
    def kms(self) -> KMSClient:
        client: KMSClient = self._client("kms")
        return client

    @cached_property
    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client

    @cached_property
    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self._client("secretsmanager")
        return client

    @cached_property
    def sesv2(self) -> SESV2Client:
        client: SESV2Client = self._client("sesv2", _SEND_ONCE)
        return client
