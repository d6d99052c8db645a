"""API Gateway's rule for binary answers, from the one definition the CDK stack and the local gateway read
(``jevs.resources.BINARY_MEDIA_TYPES``): a base64-encoded proxy response is sent as bytes only when the request's
first Accept media type matches a binary media type, and as the base64 text otherwise."""

from __future__ import annotations

import base64

import pytest

from functions.api.negotiation import asks_first_for
from infrastructure.local.gateway import http_response
from jevs.resources import delivers_binary, first_accepted_media_type

pytestmark = pytest.mark.unit

PDF_BYTES = b"%PDF-1.7\x00\xff"
PDF_BASE64 = base64.b64encode(PDF_BYTES).decode()
BASE64_ANSWER = {
    "statusCode": 200,
    "headers": {"Content-Type": "application/pdf"},
    "body": PDF_BASE64,
    "isBase64Encoded": True,
}


@pytest.mark.parametrize(
    ("accept", "first"),
    [
        ("application/pdf", "application/pdf"),
        ("Application/PDF;q=0.5, */*", "application/pdf"),
        (" */* , application/pdf", "*/*"),
        ("", None),
        (None, None),
    ],
)
def test_the_first_accepted_media_type_is_the_first_range_without_its_parameters(
    accept: str | None, first: str | None
) -> None:
    assert first_accepted_media_type(accept) == first


@pytest.mark.parametrize(
    ("accept", "binary"),
    [
        ("application/pdf", True),
        ("image/png, */*;q=0.1", True),
        ("image/jpeg", True),
        ("*/*", False),
        ("application/*", False),
        ("*/*, application/pdf", False),
        ("application/json, application/pdf", False),
        (None, False),
    ],
)
def test_only_a_first_accept_media_type_among_the_binary_media_types_gets_bytes(
    accept: str | None, binary: bool
) -> None:
    assert delivers_binary(accept) is binary


def test_a_wildcard_binary_media_type_covers_every_first_accept_media_type() -> None:
    assert delivers_binary("text/html, application/pdf", ("*/*",))
    assert delivers_binary("image/webp", ("image/*",))
    assert not delivers_binary("text/html", ("image/*",))


@pytest.mark.parametrize(("accept", "body"), [("application/pdf", PDF_BYTES), ("*/*", PDF_BASE64.encode())])
def test_the_local_gateway_sends_a_base64_answer_as_api_gateway_does(accept: str, body: bytes) -> None:
    assert http_response(BASE64_ANSWER, accept).body == body


def test_a_text_answer_is_sent_as_it_is_whatever_the_request_accepts() -> None:
    answer = {"statusCode": 200, "body": '{"a": 1}', "isBase64Encoded": False}

    assert http_response(answer, "application/pdf").body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("accept", "asks"),
    [("application/pdf", True), ("application/pdf, */*", True), ("*/*", False), ("image/png", False), (None, False)],
)
def test_the_binary_routes_answer_only_a_request_that_asks_first_for_their_media_type(
    accept: str | None, asks: bool
) -> None:
    assert asks_first_for(accept, "application/pdf") is asks
