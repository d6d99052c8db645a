"""Over the local gateway, what API Gateway and the function refuse of a request that is not what it claims
(issue 14, findings 3 and 9): a method the ``ANY`` proxy does not pass on, and a body nested past any reader's
depth, are problems a partner can read, never an HTML page or a 502."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import TokenFor
from tests.factories import EXPORTER
from tests.problems import problem_type

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("authorized", [False, True])
def test_trace_is_a_405_problem_not_an_html_501(api: httpx.Client, token_for: TokenFor, authorized: bool) -> None:
    headers = {"Authorization": f"Bearer {token_for(EXPORTER)}"} if authorized else {}

    response = api.request("TRACE", "/v1/certificates", headers=headers)

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": problem_type("method-not-allowed"),
        "title": "Method not allowed",
        "status": 405,
        "detail": "The API takes DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT only.",
        "instance": f"urn:jevs:request:{response.headers['x-amzn-RequestId']}",
    }


def test_a_method_a_route_lacks_is_a_405_with_allow(api: httpx.Client, token_for: TokenFor) -> None:
    response = api.delete("/v1/certificates", headers={"Authorization": f"Bearer {token_for(EXPORTER)}"})

    assert (response.status_code, response.headers["allow"]) == (405, "GET, POST")
    assert response.headers["content-type"] == "application/problem+json"


def test_a_body_nested_fifty_thousand_deep_is_a_400_not_a_502(api: httpx.Client, token_for: TokenFor) -> None:
    response = api.post(
        "/v1/signatories",
        content=b"[" * 50_000,
        headers={
            "Authorization": f"Bearer {token_for(EXPORTER)}",
            "Content-Type": "application/json",
            "Idempotency-Key": "deep-body-1",
        },
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": "body", "message": "arrays and objects nest 50000 deep (at most 32)"}
    ]


def test_a_body_of_invalid_utf8_is_a_400_not_a_502(api: httpx.Client, token_for: TokenFor) -> None:
    response = api.post(
        "/v1/signatories",
        content=b'{"name": "\xff\xfe"}',
        headers={
            "Authorization": f"Bearer {token_for(EXPORTER)}",
            "Content-Type": "application/json",
            "Idempotency-Key": "utf8-body-1",
        },
    )

    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": "body", "message": "not UTF-8 text"}]
