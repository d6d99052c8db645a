"""S3 and SES behind the ports of the documents use cases (``jevs.service.ports``: ObjectStore, Mailer).

Objects get the bucket's default encryption (the data key, with an S3 bucket key): nothing is set per object.
Throttling and service faults become ``RetryableFailure``; anything else is raised as it is, and the
notification is retried either way (the batch reports it as failed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from jevs.domain.errors import RetryableFailure
from jevs.service.ports import ObjectPage, StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client

_RETRYABLE_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
}


def _translated(error: ClientError, what: str) -> Exception:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _RETRYABLE_CODES:
        return RetryableFailure(f"{what}: {code}")
    return error


class S3ObjectStore:
    """One bucket. ``exists`` lists the key as a prefix rather than reading it: a missing object then answers
    "absent" with ``s3:ListBucket`` limited to that prefix, where a HEAD would need the right to list the
    whole bucket to tell a missing object (404) from a denied one (403)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as error:
            raise _translated(error, f"storing {key}") from error

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none (the reader may list the bucket, so a missing key
        answers NoSuchKey rather than AccessDenied)."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise _translated(error, f"reading {key}") from error
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            listed = self._client.list_objects_v2(Bucket=self._bucket, Prefix=key, MaxKeys=1)
        except ClientError as error:
            raise _translated(error, f"looking for {key}") from error
        return any(found.get("Key") == key for found in listed.get("Contents", []))

    def list_after(self, prefix: str, start_after: str | None, max_keys: int) -> ObjectPage:
        """One ListObjectsV2 call: up to ``max_keys`` objects under ``prefix`` after ``start_after``, in key order."""
        arguments = {"Bucket": self._bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if start_after is not None:
            arguments["StartAfter"] = start_after
        try:
            listed = self._client.list_objects_v2(**arguments)  # type: ignore[arg-type]
        except ClientError as error:
            raise _translated(error, f"listing {prefix}") from error
        objects = [
            StoredObject(found["Key"], found["Size"], found["LastModified"]) for found in listed.get("Contents", [])
        ]
        return ObjectPage(objects, bool(listed.get("IsTruncated")))


class SesMailer:
    """SES v2's SendEmail with raw content: the MIME message goes out as built, attachment and all."""

    def __init__(self, client: SESV2Client) -> None:
        self._client = client

    def send(self, raw: bytes, *, sender: str, recipient: str) -> str:
        try:
            sent = self._client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [recipient]},
                Content={"Raw": {"Data": raw}},
            )
        except ClientError as error:
            raise _translated(error, "sending an email") from error
        return sent["MessageId"]
