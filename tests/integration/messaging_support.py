"""The records table's stream and the queues as the functions meet them, against moto in process: the stream's
records as Lambda's event source mapping brings them, and what a queue holds, taken off it as an SQS event."""

from __future__ import annotations

from typing import Any

import boto3

from jevs.resources import RECORDS_TABLE, QueueDefinition
from tests.factories import sqs_event


def stream_event(after: dict[str, str] | None = None) -> dict[str, Any]:
    """Every record of the table's stream so far, as Lambda's event source mapping delivers them; with ``after``
    (each shard's last sequence number read), only the records since, and ``after`` moved on past them, as the
    mapping reads on from where it was rather than from the stream's start."""
    streams = boto3.client("dynamodbstreams")
    stream_arn = boto3.client("dynamodb").describe_table(TableName=RECORDS_TABLE.name)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        shard_id = shard["ShardId"]
        last = (after or {}).get(shard_id)
        start: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
            if last
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **start)["ShardIterator"]
        # A page at a time (GetRecords gives at most 1,000): a long run's stream holds more.
        while page := streams.get_records(ShardIterator=iterator):
            records += page["Records"]
            if not page["Records"]:
                break
            if after is not None:
                after[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
            iterator = page["NextShardIterator"]
    # Lambda adds the stream's ARN to each record; GetRecords does not carry it.
    return {"Records": [{**record, "eventSourceARN": stream_arn} for record in records]}


def queue_url(queue: QueueDefinition) -> str:
    return str(boto3.client("sqs").get_queue_url(QueueName=queue.name)["QueueUrl"])


def taken(queue: QueueDefinition) -> dict[str, Any]:
    """Every message on the queue, taken off it (received and deleted), as one SQS event for its consumer."""
    sqs, url = boto3.client("sqs"), queue_url(queue)
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sqs_event(bodies)


def lost(queue: QueueDefinition) -> None:
    """Every message on the queue gone, as if SQS had lost them."""
    boto3.client("sqs").purge_queue(QueueUrl=queue_url(queue))
