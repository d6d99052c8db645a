"""Bodies, cursors and methods that are not what they claim (issue 14, findings 3 and 9): each is a 4xx problem the
caller can act on, never an unhandled error (a 502 from API Gateway, a 500 from the function)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.factories import EXPORTER, ISSUING_BODY, NZ_CUSTOMS
from tests.integration.conftest import ApiCall
from tests.integration.test_listing import certificates  # noqa: F401  # the fixture, by name
from tests.problems import problem_type, request_instance

pytestmark = pytest.mark.integration

# A lodging route and a decision route, the two kinds the finding was reproduced on.
ROUTES = [("/v1/signatories", EXPORTER), ("/v1/signatories/sig-1/approval", ISSUING_BODY)]
SINCE = "2026-01-01T00:00:00+00:00"


def post(call_api: ApiCall, path: str, client_id: str, body: str, **event: Any) -> dict[str, Any]:
    return call_api("POST", path, body=body, client_id=client_id, headers={"Idempotency-Key": "unreadable-1"}, **event)


def refused(response: dict[str, Any], status: int, code: str) -> str:
    """The one message of the problem's ``errors``, after checking the problem is ``status`` of kind ``code``."""
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["content-type"] == "application/problem+json"
    problem = response["json"]
    assert (problem["type"], problem["status"]) == (problem_type(code), status)
    assert [error["field"] for error in problem["errors"]] == ["body" if code != "invalid-cursor" else "query.cursor"]
    message: str = problem["errors"][0]["message"]
    return message


@pytest.mark.parametrize(("path", "client_id"), ROUTES)
def test_a_body_nested_fifty_thousand_deep_is_a_400_not_a_crash(call_api: ApiCall, path: str, client_id: str) -> None:
    response = post(call_api, path, client_id, "[" * 50_000)

    assert refused(response, 400, "malformed-json") == "arrays and objects nest 50000 deep (at most 32)"


@pytest.mark.parametrize(("path", "client_id"), ROUTES)
def test_a_body_of_invalid_utf8_is_a_400_not_a_crash(call_api: ApiCall, path: str, client_id: str) -> None:
    # API Gateway passes a body that is not UTF-8 text base64-encoded.
    response = post(call_api, path, client_id, base64.b64encode(b'{"name": "\xff\xfe"}').decode(), base64_body=True)

    assert refused(response, 400, "malformed-json") == "not UTF-8 text"


@pytest.mark.parametrize(("path", "client_id"), ROUTES)
@pytest.mark.parametrize(
    ("body", "kind"), [('"approve"', "a string"), ("42", "a number"), ("[]", "an array"), ("null", "null")]
)
def test_a_body_that_is_not_an_object_is_a_422_saying_what_it_is(
    call_api: ApiCall, path: str, client_id: str, body: str, kind: str
) -> None:
    response = post(call_api, path, client_id, body)

    assert refused(response, 422, "validation-error") == f"expected a JSON object, got {kind}"


@pytest.mark.parametrize(("path", "client_id"), ROUTES)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            '{"decision": "APPROVED", "decision": "REFUSED"}',
            'the key "decision" appears twice in one object',
            id="a-key-twice-not-whichever-copy-a-parser-keeps",
        ),
        pytest.param(
            '{"valid_until": ' + "1" * 5000 + "}",
            "a number of 5000 characters (at most 100)",
            id="a-number-past-pythons-digit-limit-not-a-crash",
        ),
        pytest.param('{"valid_until": 1e999999}', "the number 1e999999 is too large", id="a-number-read-as-infinity"),
        pytest.param(
            '{"reasons": ["\\ud800"], "name": "\\udfff"}',
            "a string holds a lone UTF-16 surrogate, which is no character",
            id="a-lone-surrogate-no-encoder-writes-back",
        ),
    ],
)
def test_json_that_readers_could_take_differently_or_crash_on_is_a_400_saying_why(
    call_api: ApiCall, path: str, client_id: str, body: str, message: str
) -> None:
    response = post(call_api, path, client_id, body)

    assert refused(response, 400, "malformed-json") == message


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/certificates", "GET, POST"),
        ("TRACE", "/v1/certificates", "GET, POST"),
        ("PUT", "/v1/certificates/11.1234.00001", "GET"),
        ("GET", "/v1/signatories/sig-1/approval", "POST"),
    ],
)
def test_a_method_a_route_lacks_is_a_405_naming_the_methods_it_has(
    call_api: ApiCall, method: str, path: str, allowed: str
) -> None:
    response = call_api(method, path, client_id=ISSUING_BODY)

    assert response["statusCode"] == 405, response["body"]
    assert response["headers"]["content-type"] == "application/problem+json"
    assert response["headers"]["allow"] == allowed
    assert response["json"] == {
        "type": problem_type("method-not-allowed"),
        "title": "Method not allowed",
        "status": 405,
        "detail": f"This resource does not take {method}.",
        "instance": request_instance(response),
    }


def test_a_path_no_route_has_is_still_a_404(call_api: ApiCall) -> None:
    response = call_api("DELETE", "/v1/no-such-things", client_id=ISSUING_BODY)

    assert (response["statusCode"], response["json"]["type"]) == (404, problem_type("not-found"))
    assert "allow" not in response["headers"]


def _cursor(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


LISTINGS = [
    ("/v1/certificates", {}),
    ("/v1/verification-requests", {}),
    ("/v1/exchange/nz-customs/files", {"since": SINCE}),
]


@pytest.mark.parametrize(("path", "query"), LISTINGS)
def test_a_cursor_nested_deep_is_a_400_not_a_crash(call_api: ApiCall, path: str, query: dict[str, str]) -> None:
    # 1,500 brackets fit the cursor's 2,048 characters and are past Python's recursion limit.
    cursor = base64.urlsafe_b64encode(b"[" * 1500).decode()

    response = call_api("GET", path, client_id=NZ_CUSTOMS, query=query | {"cursor": cursor})

    assert refused(response, 400, "invalid-cursor") == "the cursor is not one this API issued"


def _first_certificate_cursor(call_api: ApiCall) -> dict[str, Any]:
    listing = call_api("GET", "/v1/certificates", client_id=NZ_CUSTOMS, query={"limit": "1"})["json"]
    cursor = listing["next_cursor"]
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return document


@pytest.mark.usefixtures("certificates")
@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        # A number, an empty string: DynamoDB refuses either in a start key (ValidationException, a 500).
        ("pk", 5),
        ("sk", ""),
        ("issue_year", 2026),
        # A sort key outside the query's bounds: "The provided starting key is outside query boundaries".
        ("listing_key", "zzzz"),
        ("listing_key", ""),
    ],
)
def test_a_certificate_cursor_edited_to_a_start_key_dynamodb_refuses_is_a_400_not_a_500(
    call_api: ApiCall, attribute: str, value: object
) -> None:
    document = _first_certificate_cursor(call_api)
    document["k"][attribute] = value

    response = call_api(
        "GET", "/v1/certificates", client_id=NZ_CUSTOMS, query={"limit": "1", "cursor": _cursor(document)}
    )

    assert refused(response, 400, "invalid-cursor") == "the cursor belongs to another listing"


@pytest.mark.usefixtures("certificates")
@pytest.mark.parametrize("value", [5, None, ["2026"], {"p": "2026"}])
def test_a_certificate_cursor_with_another_type_where_its_partition_belongs_is_a_400(
    call_api: ApiCall, value: object
) -> None:
    document = _first_certificate_cursor(call_api)
    document["p"] = value

    response = call_api(
        "GET", "/v1/certificates", client_id=NZ_CUSTOMS, query={"limit": "1", "cursor": _cursor(document)}
    )

    assert refused(response, 400, "invalid-cursor") == "the cursor belongs to another listing"


@pytest.mark.parametrize(
    "document",
    [
        {"pk": 5, "sk": "x", "gsi_pk": "x", "gsi_sk": "x"},
        {"after": 5, "since": SINCE},
        {"after": "nz-customs/x", "since": 20260101},
        ["after", "since"],
        "after",
    ],
)
@pytest.mark.parametrize(("path", "query"), LISTINGS[1:])
def test_a_cursor_of_the_wrong_shape_is_a_400(
    call_api: ApiCall, path: str, query: dict[str, str], document: object
) -> None:
    response = call_api("GET", path, client_id=NZ_CUSTOMS, query=query | {"cursor": _cursor(document)})

    assert response["statusCode"] == 400, response["body"]
    assert response["json"]["type"] == problem_type("invalid-cursor")
