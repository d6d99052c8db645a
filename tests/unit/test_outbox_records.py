"""Outbox records as the outbox relay reads them (``jevs.adapters.table.outbox``): the message as it was stored,
byte for byte, with where it goes, its id and kind read beside it; an item JEVS did not write as an outbox record
is refused, and any other item is not one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from jevs.adapters.table.items import outbox_item, outbox_key
from jevs.adapters.table.outbox import outbox_image, outgoing_of
from jevs.domain import correlation
from jevs.domain.messages import MakeDocuments
from jevs.domain.outbox import OutboxChannel

pytestmark = pytest.mark.unit

MESSAGE = MakeDocuments(certificate_number="11.1234.00001", version=2, created_at=datetime(2026, 12, 7, tzinfo=UTC))


def test_an_outbox_record_is_read_as_stored_with_where_it_goes_its_id_kind_and_place() -> None:
    with correlation.correlated("req-7"):
        message = MakeDocuments(certificate_number="11.1234.00001", version=2, created_at=MESSAGE.created_at)
    item = outbox_item(message)

    outgoing = outgoing_of(item)

    assert outgoing is not None
    assert outgoing.body == item["message"]
    assert (outgoing.message_id, outgoing.channel, outgoing.kind) == (
        message.message_id,
        OutboxChannel.NOTIFICATIONS,
        "certificate.documents",
    )
    assert outgoing.correlation_id == "req-7"
    assert outgoing.record_key == outbox_key(message)
    assert outgoing == replace(message.outgoing(), record_key=outbox_key(message))


def test_an_item_that_is_not_an_outbox_record_is_none() -> None:
    assert outgoing_of({"pk": "CERTIFICATE#11.1234.00001", "sk": "HEAD", "message": "{}"}) is None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"message": "not json"}, "Expecting value"),
        ({"message": json.dumps(["a", "list"])}, "not a JSON object naming its kind"),
        ({"message": json.dumps({"no": "kind"})}, "not a JSON object naming its kind"),
        ({"channel": "nowhere"}, "'nowhere' is not a valid OutboxChannel"),
        ({"channel": None}, "'None' is not a valid OutboxChannel"),
        ({"message_id": None}, "no message or no id"),
    ],
    ids=["not JSON", "not an object", "no kind", "no channel of ours", "no channel", "no id"],
)
def test_an_outbox_record_jevs_did_not_write_is_refused(change: dict[str, Any], why: str) -> None:
    item = {**outbox_item(MESSAGE), **change}
    item = {name: value for name, value in item.items() if value is not None}

    with pytest.raises(ValueError, match=why):
        outgoing_of(item)


def test_a_stream_image_reads_as_the_item_it_stored() -> None:
    item = outbox_item(MESSAGE)
    serialize = TypeSerializer().serialize
    image = {name: serialize(value) for name, value in item.items()}

    assert outgoing_of(outbox_image(image)) == outgoing_of(item)
