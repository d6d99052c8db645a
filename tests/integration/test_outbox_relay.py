"""The outbox relay, fed the records table's real stream records, publishes each new outbox record once
to its queue, and reports a record it could not publish as a batch item failure."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infrastructure.local.functions import FunctionSet
from jevs.resources import DELIVERY_QUEUE
from tests.factories import ISSUING_BODY, LambdaContext, certificate_payload
from tests.integration.conftest import ApiCall
from tests.integration.messaging_support import stream_event

pytestmark = pytest.mark.integration


def delivery_messages() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=DELIVERY_QUEUE.name)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [
        {**json.loads(message["Body"]), "message_id": message["MessageAttributes"]["message_id"]["StringValue"]}
        for message in messages.get("Messages", [])
    ]


def submit(call_api: ApiCall, number: str) -> None:
    response = call_api(
        "POST",
        "/v1/certificates",
        body=certificate_payload(certificate_number=number),
        client_id=ISSUING_BODY,
        headers={"Idempotency-Key": number},
    )
    assert response["statusCode"] == 201


def test_each_new_outbox_record_becomes_one_message_on_its_queue(functions: FunctionSet, call_api: ApiCall) -> None:
    submit(call_api, "11.1234.00001")
    submit(call_api, "11.1234.00002")

    result = functions.relay(stream_event(), LambdaContext(function_name="jevs-outbox-relay"))

    assert result == {"batchItemFailures": []}
    messages = delivery_messages()
    # Each carries its business key as an attribute, so a consumer deduplicates a second copy.
    assert sorted(message["message_id"] for message in messages) == [
        "11.1234.00001/v1/delivery-to-china",
        "11.1234.00002/v1/delivery-to-china",
    ]
    assert all(message["kind"] == "china.delivery" for message in messages)
    assert all(message["body"]["message_type"] == "certificate.issued" for message in messages)
    assert all(message["body"]["version"] == 1 for message in messages)


def test_a_record_that_cannot_be_published_is_reported_for_retry(functions: FunctionSet, call_api: ApiCall) -> None:
    submit(call_api, "11.1234.00003")
    event = stream_event()
    # The delivery queue is gone: SQS refuses, and that record must not be acknowledged (the documents
    # message, on the notifications queue, goes through).
    sqs = boto3.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=DELIVERY_QUEUE.name)["QueueUrl"])

    result = functions.relay(event, LambdaContext(function_name="jevs-outbox-relay"))

    outbox = [
        record["dynamodb"]["SequenceNumber"]
        for record in event["Records"]
        if record["dynamodb"]["Keys"]["sk"]["S"].startswith("OUTBOX#")
        and record["dynamodb"]["Keys"]["sk"]["S"].endswith("/delivery-to-china")
    ]
    assert len(outbox) == 1
    assert result == {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in outbox]}
