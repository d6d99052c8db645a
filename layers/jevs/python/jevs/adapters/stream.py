"""The records table's stream, read back for a redrive of a stream failure (DESIGN.md §6.1, §6.2): the outbox
records a batch the relay gave up on inserted, found by the shard and sequence numbers Lambda's on-failure record
names. The stream keeps records 24 hours; past that, or for a shard or stream that is not there, the batch is
reported as not found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError, ParamValidationError

from jevs.adapters.table.outbox import OUTBOX_PREFIX
from jevs.domain.errors import RetryableFailure
from jevs.domain.recovery import StreamBatch

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

# What the stream answers for a batch it no longer holds, or never held.
_GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ValidationException", "AccessDeniedException"}
# A batch is at most a few thousand records; these many reads of up to 1000 records each find its end, or give up.
_MAX_READS = 20
_DESERIALIZE = TypeDeserializer()


class DynamoOutboxStream:
    def __init__(self, client: DynamoDBStreamsClient) -> None:
        self._client = client

    def outbox_messages(self, batch: StreamBatch) -> Sequence[str] | None:
        try:
            return self._read(batch)
        except ParamValidationError:
            # Coordinates no stream ever had (the domain checks their shape; the API's own rules are stricter).
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] in _GONE:
                return None
            raise RetryableFailure(f"the stream refused a read: {error.response['Error']['Code']}") from error

    def _read(self, batch: StreamBatch) -> list[str] | None:
        iterator: str | None = self._client.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start_sequence_number,
        )["ShardIterator"]
        messages: list[str] = []
        found = False
        for _ in range(_MAX_READS):
            if iterator is None:
                break
            page = self._client.get_records(ShardIterator=iterator, Limit=1000)
            for record in page.get("Records", []):
                sequence = record.get("dynamodb", {}).get("SequenceNumber", "")
                if not batch.covers(sequence):
                    return messages if found else None
                found = True
                message = _inserted_outbox_message(record)
                if message is not None:
                    messages.append(message)
            iterator = page.get("NextShardIterator")
            if not page.get("Records"):
                # At the shard's end, or nothing more yet: the batch's records all came before.
                break
        return messages if found else None


def _inserted_outbox_message(record: Any) -> str | None:
    """The stored message of an outbox record the stream record inserted; None for any other record."""
    if record.get("eventName") != "INSERT":
        return None
    image = {name: _DESERIALIZE.deserialize(value) for name, value in record["dynamodb"].get("NewImage", {}).items()}
    if not str(image.get("sk", "")).startswith(OUTBOX_PREFIX) or not isinstance(image.get("message"), str):
        return None
    return str(image["message"])
