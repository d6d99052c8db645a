"""Redrives through the API function and the reconciler function against moto (DESIGN.md §6.2): operations start a
job on any of the four dead-letter queues, the scheduled reconciler works it a page at a time, and each queue's
good messages go back while a malformed one is quarantined: kept in the table, reported, gone from the queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.reconciler.handler import REDRIVE_MARGIN_MILLIS
from infrastructure.local.functions import FunctionSet
from infrastructure.local.provision import Provisioned
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.delivery import Decision, DeliveryState, Outcome
from jevs.domain.history import EventType
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchDeclaration
from jevs.domain.recovery import Disposition
from jevs.resources import RECORDS_TABLE
from jevs.service.delivery import Attempt, dispatch
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    NZ_CUSTOMS,
    OPS,
    LambdaContext,
    stream_failure_record,
)
from tests.fakes import ParkingLot
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import submit_certificate
from tests.problems import slug_of

pytestmark = pytest.mark.integration

QUEUED_AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
MALFORMED = '{"kind": "china.delivery", "body": '


@dataclass
class Budget(LambdaContext):
    """A run with time for ``pages`` pages: the redrive step asks for the time left before each job and each page."""

    pages: int = 100
    asked: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return REDRIVE_MARGIN_MILLIS + (1_000 if self.asked <= self.pages + 1 else 0)


def reconcile(functions: FunctionSet, pages: int = 100) -> dict[str, Any]:
    """One scheduled run of the reconciler, as EventBridge invokes it."""
    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    result: dict[str, Any] = functions.reconciler(event, Budget(function_name="jevs-reconciler", pages=pages))
    return result


def start(call_api: ApiCall, queue: str, key: str = "redrive-1") -> dict[str, Any]:
    response = call_api(
        "POST", "/v1/ops/redrives", body={"queue": queue}, client_id=OPS, headers={"Idempotency-Key": key}
    )
    assert response["statusCode"] == 202, response
    assert response["headers"]["location"] == f"/v1/ops/redrives/{response['json']['id']}"
    job: dict[str, Any] = response["json"]
    assert (job["queue"], job["status"], job["moved"], job["pages"]) == (queue, "RUNNING", 0, 0)
    return job


def job_of(call_api: ApiCall, job: dict[str, Any]) -> dict[str, Any]:
    response = call_api("GET", job["links"]["self"], client_id=OPS)
    assert response["statusCode"] == 200, response
    found: dict[str, Any] = response["json"]
    return found


def park(url: str, *bodies: str) -> list[str]:
    """Messages as a queue moves them to its dead-letter queue (the relay's attributes with them); their ids."""
    sqs = boto3.client("sqs")
    return [
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"message_id": {"DataType": "String", "StringValue": f"parked-{n}"}},
        )["MessageId"]
        for n, body in enumerate(bodies)
    ]


def drain(url: str) -> list[str]:
    """Every message body waiting in a queue (each received once and deleted)."""
    sqs = boto3.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def waiting(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


class Busy:
    def send(self, body: bytes, idempotency_key: str) -> Decision:
        return Decision(Outcome.RETRY, "HTTP 503")


def parked_deliveries(call_api: ApiCall, records: TableUnitOfWork, numbers: list[str]) -> list[DeliverToChina]:
    """Certificates issued whose deliveries China never took: each PARKED on its message's last receive."""
    for number in numbers:
        submit_certificate(call_api, certificate_number=number)
    messages = []
    for number in numbers:
        (delivery,) = records.deliveries.of_certificate(number)
        # The test puts the messages in the dead-letter queue itself (among others): the dispatcher's copy is dropped.
        dispatch(Attempt(delivery.message, receive_count=5, max_receives=5), records, Busy(), ParkingLot())
        messages.append(delivery.message)
    return messages


# -- deliveries ---------------------------------------------------------------------------------------------------


def test_a_deliveries_redrive_resumes_each_parked_delivery_and_quarantines_the_malformed_message(
    functions: FunctionSet, call_api: ApiCall, aws_resources: Provisioned, records: TableUnitOfWork
) -> None:
    # Given three deliveries parked, their messages in the delivery queue's dead letters with a malformed one
    numbers = ["11.1234.30001", "11.1234.30002", "11.1234.30003"]
    messages = parked_deliveries(call_api, records, numbers)
    dead_letters = aws_resources.delivery.dead_letters
    bodies = [message.model_dump_json() for message in messages]
    ids = park(dead_letters, bodies[0], MALFORMED, *bodies[1:])

    # When operations start a redrive and the reconciler runs
    job = start(call_api, "deliveries")
    reconcile(functions)

    # Then each delivery is PENDING again, with a DELIVERY_RESUMED event naming the job, and its message is back
    for number, message in zip(numbers, messages, strict=True):
        delivery = records.deliveries.get(message)
        assert delivery is not None
        assert delivery.state is DeliveryState.PENDING
        shown = call_api("GET", f"/v1/certificates/{number}/delivery", client_id=OPS)["json"]
        assert shown["deliveries"][0]["state"] == "PENDING"
        last = records.certificates.history(number)[-1]
        assert (last.type, last.details["redrive"], last.actor) == (EventType.DELIVERY_RESUMED, job["id"], "ops")
        assert last.seal is not None  # sealed by the reconciler with the signing key
    assert sorted(drain(aws_resources.delivery.queue)) == sorted(bodies)
    # And the malformed one is quarantined: reported by the job, kept in the table, gone from the queue
    done = job_of(call_api, job)
    assert (done["status"], done["moved"], done["pages"], done["quarantined_count"]) == ("DONE", 3, 1, 1)
    assert done["quarantined"][0]["message_id"] == ids[1]
    assert done["finished_at"] is not None
    (kept,) = records.redrives.kept(job["id"])
    assert (kept.body, kept.disposition, kept.attributes) == (
        MALFORMED,
        Disposition.QUARANTINED,
        {"message_id": "parked-1"},
    )
    assert waiting(dead_letters) == 0


def test_the_former_route_starts_a_deliveries_redrive(functions: FunctionSet, call_api: ApiCall) -> None:
    response = call_api("POST", "/v1/ops/deliveries/redrive", client_id=OPS, headers={"Idempotency-Key": "redrive-old"})

    assert response["statusCode"] == 202
    assert (response["json"]["queue"], response["json"]["status"]) == ("deliveries", "RUNNING")
    assert response["headers"]["location"] == f"/v1/ops/redrives/{response['json']['id']}"


# -- declarations and notifications ------------------------------------------------------------------------------


def declaration(n: int) -> str:
    return MatchDeclaration(
        declaration_id=f"CNIM-{n:018d}", certificate_number="11.1234.12345", created_at=QUEUED_AT
    ).model_dump_json()


def documents(n: int) -> str:
    return MakeDocuments(certificate_number=f"11.1234.{n:05d}", version=1, created_at=QUEUED_AT).model_dump_json()


@pytest.mark.parametrize(
    ("queue", "message"), [("declarations", declaration), ("notifications", documents)], ids=lambda value: str(value)
)
def test_a_redrive_sends_its_queues_messages_back_and_quarantines_the_malformed_one(
    functions: FunctionSet,
    call_api: ApiCall,
    aws_resources: Provisioned,
    records: TableUnitOfWork,
    queue: str,
    message: Any,
) -> None:
    urls = aws_resources.declarations if queue == "declarations" else aws_resources.notifications
    # A message of another queue is as malformed here as one that is not JSON at all
    other = documents(1) if queue == "declarations" else declaration(1)
    good = [message(n) for n in range(1, 4)]
    ids = park(urls.dead_letters, good[0], "not JSON", good[1], other, good[2])
    job = start(call_api, queue)

    reconcile(functions)

    assert sorted(drain(urls.queue)) == sorted(good)
    done = job_of(call_api, job)
    assert (done["status"], done["moved"], done["quarantined_count"]) == ("DONE", 3, 2)
    assert sorted(kept["message_id"] for kept in done["quarantined"]) == sorted([ids[1], ids[3]])
    assert sorted(kept.body for kept in records.redrives.kept(job["id"])) == sorted(["not JSON", other])
    assert waiting(urls.dead_letters) == 0


def test_a_redrive_shows_its_progress_while_it_runs_over_several_runs(
    functions: FunctionSet, call_api: ApiCall, aws_resources: Provisioned
) -> None:
    # Given more dead letters than one run has time for (one page of ten in this run)
    urls = aws_resources.declarations
    park(urls.dead_letters, *(declaration(n) for n in range(25)))
    job = start(call_api, "declarations")

    # When the reconciler runs once
    first = reconcile(functions, pages=1)

    # Then the job shows what it did so far, still RUNNING
    assert first["redrives"] == [
        {"id": job["id"], "queue": "declarations", "status": "RUNNING", "moved": 10, "pages": 1, "quarantined": 0}
    ]
    running = job_of(call_api, job)
    assert (running["status"], running["moved"], running["pages"]) == ("RUNNING", 10, 1)
    assert waiting(urls.dead_letters) == 15

    # And the next runs finish it
    reconcile(functions, pages=1)
    reconcile(functions)
    done = job_of(call_api, job)
    assert (done["status"], done["moved"], done["pages"]) == ("DONE", 25, 3)
    assert len(drain(urls.queue)) == 25
    listed = call_api("GET", "/v1/ops/redrives", client_id=OPS)["json"]["items"]
    assert [(each["id"], each["status"]) for each in listed] == [(job["id"], "DONE")]


# -- stream failures ---------------------------------------------------------------------------------------------


def outbox_stream_records() -> tuple[str, str, list[tuple[str, str]]]:
    """The stream's ARN, its shard, and (sequence number, outbox message) of each outbox record it inserted."""
    streams = boto3.client("dynamodbstreams")
    stream_arn = boto3.client("dynamodb").describe_table(TableName=RECORDS_TABLE.name)["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    found = [
        (record["dynamodb"]["SequenceNumber"], record["dynamodb"]["NewImage"]["message"]["S"])
        for record in streams.get_records(ShardIterator=iterator)["Records"]
        if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["sk"]["S"].startswith("OUTBOX#")
    ]
    return stream_arn, shard["ShardId"], found


def on_failure(stream_arn: str, shard_id: str, start: str, end: str) -> str:
    return json.dumps(stream_failure_record(stream_arn, shard_id, start, end))


GONE_STREAM = "arn:aws:dynamodb:ap-southeast-2:123456789012:table/jevs-records-2025/stream/2025-01-01T00:00:00.000"


def test_a_stream_failures_redrive_publishes_the_batchs_outbox_records_again(
    functions: FunctionSet, call_api: ApiCall, aws_resources: Provisioned, records: TableUnitOfWork
) -> None:
    # Given a certificate whose outbox records (to China, its documents, declarations awaiting it) the relay gave up
    submit_certificate(call_api, certificate_number="11.1234.40001")
    stream_arn, shard_id, outbox = outbox_stream_records()
    stored = {json.loads(message)["kind"]: message for _, message in outbox}
    assert set(stored) == {"china.delivery", "certificate.documents", "certificate.awaited"}
    (first, _), (last, _) = outbox[0], outbox[-1]
    ids = park(
        aws_resources.stream_failures,
        on_failure(stream_arn, shard_id, first, last),
        "{ not the on-failure record",
        # A batch the stream no longer holds (the table's stream before it was replaced)
        on_failure(GONE_STREAM, shard_id, first, last),
    )

    # When operations redrive the stream failures
    job = start(call_api, "stream-failures")
    reconcile(functions)

    # Then the batch's outbox records are on their queues again, each as the relay publishes it
    published = [json.loads(body) for body in drain(aws_resources.delivery.queue)]
    assert published == [json.loads(stored["china.delivery"])]
    assert [json.loads(body) for body in drain(aws_resources.notifications.queue)] == [
        json.loads(stored["certificate.documents"])
    ]
    assert [json.loads(body) for body in drain(aws_resources.declarations.queue)] == [
        json.loads(stored["certificate.awaited"])
    ]
    done = job_of(call_api, job)
    assert (done["status"], done["moved"], done["republished"]) == ("DONE", 1, 3)
    # And the malformed one is quarantined, the one whose batch is gone reported with its batch
    assert [kept["message_id"] for kept in done["quarantined"]] == [ids[1]]
    assert done["batches_not_found_count"] == 1
    (gone,) = done["batches_not_found"]
    assert (gone["message_id"], gone["batch"]["stream_arn"]) == (ids[2], GONE_STREAM)
    dispositions = {kept.message_id: kept.disposition for kept in records.redrives.kept(job["id"])}
    assert dispositions == {ids[1]: Disposition.QUARANTINED, ids[2]: Disposition.BATCH_NOT_FOUND}
    assert waiting(aws_resources.stream_failures) == 0


# -- who may -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id", [ISSUING_BODY, EXPORTER, NZ_CUSTOMS, CN_CUSTOMS])
def test_redrives_are_not_there_for_anyone_but_operations(call_api: ApiCall, client_id: str) -> None:
    job = start(call_api, "deliveries")
    key = {"Idempotency-Key": f"redrive-by-{client_id}"}

    answers = [
        call_api("POST", "/v1/ops/redrives", body={"queue": "deliveries"}, client_id=client_id, headers=key),
        call_api("POST", "/v1/ops/deliveries/redrive", client_id=client_id, headers=key),
        call_api("GET", "/v1/ops/redrives", client_id=client_id),
        call_api("GET", f"/v1/ops/redrives/{job['id']}", client_id=client_id),
    ]

    assert [answer["statusCode"] for answer in answers] == [404, 404, 404, 404]
    assert {slug_of(answer["json"]["type"]) for answer in answers} == {"not-found"}
    assert [each["id"] for each in call_api("GET", "/v1/ops/redrives", client_id=OPS)["json"]["items"]] == [job["id"]]


def test_a_queue_jevs_does_not_have_is_refused_naming_the_field(call_api: ApiCall) -> None:
    response = call_api(
        "POST", "/v1/ops/redrives", body={"queue": "everything"}, client_id=OPS, headers={"Idempotency-Key": "k"}
    )

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["queue"]


def test_a_redrive_jevs_never_started_is_not_found(call_api: ApiCall) -> None:
    assert call_api("GET", "/v1/ops/redrives/RD-0000000000000000", client_id=OPS)["statusCode"] == 404
