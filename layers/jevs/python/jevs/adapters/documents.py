"""S3 and SES behind the ports of the documents use cases (``jevs.service.ports``: ObjectStore, Mailer).

Objects get the bucket's default encryption (the data key, with an S3 bucket key): nothing is set per object.
Throttling and service faults become ``RetryableFailure``; anything else is raised as it is, and the
notification is retried either way (the batch reports it as failed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as NeverConnected

from jevs.domain.errors import RetryableFailure
from jevs.service.ports import MailNotSent, ObjectPage, StoredObject, TaggedObject

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
    # A conditional write raced another write of the same key: S3 asks for the request again.
    "ConditionalRequestConflict",
}
# A conditional write whose condition did not hold.
_PRECONDITION_FAILED = "PreconditionFailed"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _translated(error: ClientError, what: str) -> Exception:
    code = _code(error)
    if code in _RETRYABLE_CODES:
        return RetryableFailure(f"{what}: {code}")
    return error


class S3ObjectStore:
    """One bucket. Conditional writes (``create``, ``swap``) are S3's own (``If-None-Match: *``, ``If-Match``):
    of two writers, exactly one sees its condition hold."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as error:
            raise _translated(error, f"storing {key}") from error

    def get(self, key: str) -> bytes | None:
        found = self.read(key)
        return found.body if found is not None else None

    def create(self, key: str, body: bytes, content_type: str) -> str | None:
        try:
            written = self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*"
            )
        except ClientError as error:
            if _code(error) == _PRECONDITION_FAILED:
                return None
            raise _translated(error, f"creating {key}") from error
        return written["ETag"]

    def read(self, key: str) -> TaggedObject | None:
        """The object's bytes and ETag, or None when there is none (the reader may list the key's prefix, so a
        missing key answers NoSuchKey rather than AccessDenied)."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _code(error) in ("NoSuchKey", "404"):
                return None
            raise _translated(error, f"reading {key}") from error
        return TaggedObject(response["Body"].read(), response["ETag"])

    def swap(self, key: str, body: bytes, content_type: str, etag: str) -> str | None:
        try:
            written = self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, IfMatch=etag
            )
        except ClientError as error:
            # S3 answers a changed object 412, and one no longer there 404.
            if _code(error) in (_PRECONDITION_FAILED, "NoSuchKey"):
                return None
            raise _translated(error, f"replacing {key}") from error
        return written["ETag"]

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
    """SES v2's SendEmail with raw content: the MIME message goes out as built, attachment and all.

    SendEmail takes no idempotency token (SES v2's request has none), so a request repeated after its answer was
    lost may send the email twice: the client must make one attempt only (``AwsClients.sesv2``), and what is known
    of a failure is said: SES answered an error, or was never reached (``MailNotSent``: send again), or the answer
    was lost (a read timeout, a dropped connection: raised as it is, the email may have gone)."""

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
            raise MailNotSent(f"SES did not send the email: {_code(error)}") from error
        except NeverConnected as error:
            raise MailNotSent(f"SES was not reached: {error}") from error
        return sent["MessageId"]
