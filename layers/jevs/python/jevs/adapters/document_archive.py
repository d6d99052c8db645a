"""Reading a certificate version's PDF from the documents bucket, for the API (the notifier writes it:
``jevs.adapters.documents``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from jevs.domain.errors import RetryableFailure
from jevs.resources import certificate_document_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3DocumentArchive:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def get_pdf(self, number: str, version: int) -> bytes | None:
        """The PDF, or None while it is not rendered yet."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=certificate_document_key(number, version))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise RetryableFailure(
                f"the documents bucket answered {error.response.get('Error', {}).get('Code')}"
            ) from error
        return response["Body"].read()
