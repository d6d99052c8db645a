"""The local stack's patch of moto (``infrastructure.local.moto_speedup``): a query answers what moto answers without
it, without sorting every item of the table first (which made each query cost more as the table grew); a queue
counts and hands out what moto's does, without reading the clock for each message queued or building every
attribute of the queue for each message received (which made each send and receive cost more as a queue grew)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from infrastructure.local import moto_speedup
from infrastructure.local.provision import create_resources
from jevs.resources import RECORDS_TABLE

pytestmark = pytest.mark.contract

AWAITED = "by-awaited-certificate"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A fresh moto account with the records table, and 60 items in 20 partitions: every third partition
    awaits one of two certificates (in the sparse index ``by-awaited-certificate``)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-2")
        create_resources(lambda service: boto3.client(service, region_name="ap-southeast-2"))  # type: ignore[call-overload]
        for partition in range(20):
            for sort in range(3):
                item = {"pk": {"S": f"DECLARATION#{partition:02d}"}, "sk": {"S": f"PART#{sort}"}}
                if sort == 0 and partition % 3 == 0:
                    item["awaited_certificate"] = {"S": f"11.1234.0000{partition % 2}"}
                    item["awaited_until"] = {"S": f"2026-12-{28 - partition:02d}"}
                client.put_item(TableName=RECORDS_TABLE.name, Item=item)
        yield client


def queries(client: Any) -> list[dict[str, Any]]:
    """The answers to a query of the table and of the index, forwards, backwards, in pages of 2."""
    answers = []
    for forward in (True, False):
        answers.append(
            client.query(
                TableName=RECORDS_TABLE.name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "DECLARATION#03"}},
                ScanIndexForward=forward,
            )
        )
        request = {
            "TableName": RECORDS_TABLE.name,
            "IndexName": AWAITED,
            "KeyConditionExpression": "awaited_certificate = :number AND awaited_until < :until",
            "ExpressionAttributeValues": {":number": {"S": "11.1234.00000"}, ":until": {"S": "2026-12-28"}},
            "ScanIndexForward": forward,
            "Limit": 2,
        }
        while True:
            page = client.query(**request)
            answers.append(page)
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for answer in answers:
        answer.pop("ResponseMetadata")
    return answers


def test_the_patched_queries_answer_as_moto_does_without_sorting_the_whole_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched = queries(dynamodb)
    assert [item["pk"]["S"] for item in unpatched[1]["Items"]] == ["DECLARATION#18", "DECLARATION#12"]
    sorted_whole_table = 0
    all_items = Table.all_items

    def counted(self: Table) -> Any:
        nonlocal sorted_whole_table
        sorted_whole_table += 1
        return all_items(self)

    monkeypatch.setattr(Table, "all_items", counted)
    with moto_speedup.applied():
        patched = queries(dynamodb)
    assert patched == unpatched
    assert sorted_whole_table == 0


# -- SQS: the same messages, counts and refusals, without reading every attribute or the clock per message -------

QUEUE = "speedup-queue"


def _sqs_scenario() -> dict[str, Any]:
    """Messages sent (one delayed, one past the queue's retention period), some received and in flight: the queue's
    counts and what each receive gave, as moto answers them in a fresh account."""
    from moto.sqs.models import sqs_backends

    sqs: Any = boto3.client("sqs", region_name="ap-southeast-2")
    url = sqs.create_queue(QueueName=QUEUE, Attributes={"MessageRetentionPeriod": "120"})["QueueUrl"]
    for number in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"message {number}", DelaySeconds=60 if number == 5 else 0)
    # The first message was sent longer ago than the queue keeps messages: moto refuses to hand it out.
    queue: Any
    (queue,) = (queue for backend in sqs_backends.values() for queue in backend["ap-southeast-2"].queues.values())
    queue._messages[0].sent_timestamp -= 121_000
    answers: dict[str, Any] = {}
    counted = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    answers["before"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counted)["Attributes"]
    for attempt in range(3):
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
        answers[f"receive {attempt}"] = sorted(message["Body"] for message in received.get("Messages", []))
    answers["after"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counted)["Attributes"]
    return answers


def test_the_patched_queues_answer_as_moto_does() -> None:
    with mock_aws():
        unpatched = _sqs_scenario()
    with mock_aws(), moto_speedup.applied():
        patched = _sqs_scenario()

    assert patched == unpatched
    # moto stops a receive at a message past its retention period: the first receive gives nothing.
    assert unpatched["receive 0"] == []
    assert unpatched["before"] == {
        "ApproximateNumberOfMessages": "5",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


def _clock_reads(queued: int, monkeypatch: pytest.MonkeyPatch, *, patched: bool) -> int:
    """How often moto reads its clock to count a queue of ``queued`` messages and receive ten of them."""
    from moto.core.utils import unix_time_millis as clock
    from moto.sqs import models as sqs_models

    reads = 0

    def counted(*arguments: Any) -> float:
        nonlocal reads
        reads += 1
        return clock(*arguments)

    with monkeypatch.context() as patch, mock_aws(), moto_speedup.applied() if patched else nullcontext():
        patch.setattr(sqs_models, "unix_time_millis", counted)
        sqs: Any = boto3.client("sqs", region_name="ap-southeast-2")
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        for start in range(0, queued, 10):
            entries = [{"Id": str(number), "MessageBody": str(number)} for number in range(start, start + 10)]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        reads = 0
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert attributes["ApproximateNumberOfMessages"] == str(queued)
    assert len(received) == 10
    return reads


def test_a_patched_queue_reads_the_clock_once_per_pass_not_once_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # Unpatched, every message queued is judged with a clock read of its own, many times over.
    assert _clock_reads(200, monkeypatch, patched=False) > _clock_reads(20, monkeypatch, patched=False) + 180
    # Patched, the reads are those of the messages received (moto stamps each), whatever the queue holds.
    assert _clock_reads(200, monkeypatch, patched=True) == _clock_reads(20, monkeypatch, patched=True)


def test_a_patched_receive_reads_no_attributes_of_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import SQSBackend

    asked: list[list[str]] = []
    original = SQSBackend.get_queue_attributes

    def counted(self: SQSBackend, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        asked.append(attribute_names)
        return original(self, queue_name, attribute_names)

    monkeypatch.setattr(SQSBackend, "get_queue_attributes", counted)
    with mock_aws(), moto_speedup.applied():
        sqs: Any = boto3.client("sqs", region_name="ap-southeast-2")
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(10)])
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    assert len(received) == 10
    # Unpatched: ["MessageRetentionPeriod"] once for each message received.
    assert asked == []
