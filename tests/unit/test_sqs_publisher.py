"""The SQS publisher's batches (``jevs.adapters.publisher.SqsPublisher.publish_all``): each queue's messages in
calls of at most ten and at most 256 KiB together, in order, and every message a call or SQS refused named with
why. Against a stand-in for the SQS client that keeps every call; moto's answers are in the integration tier."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from jevs.adapters import publisher
from jevs.adapters.publisher import SqsPublisher
from jevs.domain.outbox import OutboxChannel, Outgoing
from tests.fakes import MemoryRecords
from tests.unit.support import issued_outbox as issued

pytestmark = pytest.mark.unit

URLS = {channel: f"https://sqs.local/{channel.value}" for channel in OutboxChannel}


class Sqs:
    """Keeps each SendMessageBatch; fails the entries whose message ids are in ``failing``, or the whole call for a
    queue in ``missing``."""

    def __init__(self, failing: set[str] | None = None, missing: set[str] | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.entries: list[dict[str, Any]] = []
        self.failing, self.missing = failing or set(), missing or set()

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        ids = [entry["MessageAttributes"]["message_id"]["StringValue"] for entry in Entries]
        self.calls.append((QueueUrl, ids))
        self.entries.extend(Entries)
        if QueueUrl in self.missing:
            raise ClientError({"Error": {"Code": "QueueDoesNotExist", "Message": ""}}, "SendMessageBatch")
        failed = [
            {"Id": entry["Id"], "Code": "InternalError", "SenderFault": False}
            for entry, message_id in zip(Entries, ids, strict=True)
            if message_id in self.failing
        ]
        return {"Successful": [], "Failed": failed}


def delivery_messages(count: int) -> list[Outgoing]:
    messages = issued(MemoryRecords(), count)
    return [message for message in messages if message.channel is OutboxChannel.DELIVERY_TO_CHINA]


def test_a_queues_messages_go_ten_to_a_call_in_order() -> None:
    sqs = Sqs()
    messages = delivery_messages(23)

    refused = SqsPublisher(sqs, URLS).publish_all(messages)  # type: ignore[arg-type]

    assert refused == {}
    ids = [message.message_id for message in messages]
    url = URLS[OutboxChannel.DELIVERY_TO_CHINA]
    assert sqs.calls == [(url, ids[:10]), (url, ids[10:20]), (url, ids[20:])]


def test_a_call_holds_no_more_bytes_than_sqs_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    sqs = Sqs()
    messages = delivery_messages(4)
    one = len(messages[0].body)
    # Room for two of these messages (and their attributes) in a call, not three.
    monkeypatch.setattr(publisher, "SQS_BATCH_BYTES", 2 * one + 200)

    SqsPublisher(sqs, URLS).publish_all(messages)  # type: ignore[arg-type]

    assert [len(ids) for _, ids in sqs.calls] == [2, 2]


def test_each_channel_goes_to_its_own_queue() -> None:
    sqs = Sqs()
    messages = issued(MemoryRecords(), 2)

    SqsPublisher(sqs, URLS).publish_all(messages)  # type: ignore[arg-type]

    sent = {url: sorted(ids) for url, ids in sqs.calls}
    expected = {
        URLS[channel]: sorted(message.message_id for message in messages if message.channel is channel)
        for channel in OutboxChannel
        if any(message.channel is channel for message in messages)
    }
    assert sent == expected


def test_what_sqs_refused_is_named_with_why_and_the_rest_went() -> None:
    messages = issued(MemoryRecords(), 2)
    delivery = [message for message in messages if message.channel is OutboxChannel.DELIVERY_TO_CHINA]
    documents = [message for message in messages if message.channel is OutboxChannel.NOTIFICATIONS]
    sqs = Sqs(failing={documents[0].message_id}, missing={URLS[OutboxChannel.DELIVERY_TO_CHINA]})

    refused = SqsPublisher(sqs, URLS).publish_all(messages)  # type: ignore[arg-type]

    assert refused == {
        **{message.message_id: "SQS refused the batch: QueueDoesNotExist" for message in delivery},
        documents[0].message_id: "SQS refused it: InternalError",
    }


def test_a_message_goes_as_its_outbox_record_stored_it_with_its_id_and_kind_beside_it() -> None:
    records = MemoryRecords()
    (message, *_) = issued(records, 1)
    sqs = Sqs()

    SqsPublisher(sqs, URLS).publish_all([message])  # type: ignore[arg-type]

    assert message.record_key is not None
    stored = records.table.get(message.record_key)
    assert stored is not None
    (entry,) = sqs.entries
    assert entry["MessageBody"] == stored["message"]
    assert entry["MessageAttributes"] == {
        "message_id": {"DataType": "String", "StringValue": stored["message_id"]},
        "kind": {"DataType": "String", "StringValue": json.loads(stored["message"])["kind"]},
    }
