"""The local stack itself: its token endpoint, its gateway (the authorizer's refusals, the proxy event it
builds, the proxy response it sends), the public documentation routes and the demo walkthrough."""

from __future__ import annotations

import base64
import http.client
import io
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from infrastructure.local.demo import run_walkthrough
from infrastructure.local.gateway import MAX_BODY_BYTES, Gateway
from infrastructure.local.stack import LocalStack, banner
from infrastructure.local.tokens import TOKEN_PATH, TokenService, load_clients
from jevs.domain.parties import PartyType
from jevs.resources import party_scope
from tests.problems import problem_type

pytestmark = pytest.mark.e2e

ISSUING_BODY = "local-akl-chamber"
ISSUING_BODY_SECRET = "local-secret-akl-chamber"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    return body


# -- the token endpoint ---------------------------------------------------------------------------------


def test_a_client_with_valid_basic_credentials_gets_a_cognito_shaped_access_token(stack: LocalStack) -> None:
    response = httpx.post(stack.token_url, data=CLIENT_CREDENTIALS, auth=(ISSUING_BODY, ISSUING_BODY_SECRET))

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = stack.gateway.tokens.verify(body["access_token"])
    assert claims is not None
    assert claims["sub"] == claims["client_id"] == ISSUING_BODY
    assert claims["token_use"] == "access"
    assert claims["scope"] == "jevs/issuing_body"
    assert claims["iss"] == f"{stack.api_url}/oauth2"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]


def test_a_client_may_send_its_credentials_in_the_form_body_as_cognito_allows(stack: LocalStack) -> None:
    form = {**CLIENT_CREDENTIALS, "client_id": ISSUING_BODY, "client_secret": ISSUING_BODY_SECRET}

    response = httpx.post(stack.token_url, data=form)

    assert response.status_code == 200


def test_a_wrong_secret_is_refused_as_invalid_client(stack: LocalStack) -> None:
    response = httpx.post(stack.token_url, data=CLIENT_CREDENTIALS, auth=(ISSUING_BODY, "not-the-secret"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_a_grant_other_than_client_credentials_is_unsupported(stack: LocalStack) -> None:
    response = httpx.post(stack.token_url, data={"grant_type": "password"}, auth=(ISSUING_BODY, ISSUING_BODY_SECRET))

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_request_without_grant_type_is_invalid(stack: LocalStack) -> None:
    response = httpx.post(
        stack.token_url, data={"scope": "jevs/issuing_body"}, auth=(ISSUING_BODY, ISSUING_BODY_SECRET)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_scope_the_client_is_not_allowed_is_refused(stack: LocalStack) -> None:
    response = httpx.post(
        stack.token_url, data={**CLIENT_CREDENTIALS, "scope": "jevs/admin"}, auth=(ISSUING_BODY, ISSUING_BODY_SECRET)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_token_no_longer_verifies_after_its_hour() -> None:
    now = [1_800_000_000.0]
    tokens = TokenService(load_clients(), issuer="http://issuer.test/oauth2", clock=lambda: now[0])
    token = tokens.issue(ISSUING_BODY)
    assert tokens.verify(token) is not None

    now[0] += 3601

    assert tokens.verify(token) is None


# -- the authorizer's refusals --------------------------------------------------------------------------


def test_a_protected_route_without_a_token_is_refused_before_the_function(api: httpx.Client) -> None:
    response = api.get("/v1/certificates")

    assert response.status_code == 401
    assert _problem(response)["type"] == problem_type("unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def _unverifiable_authorization(kind: str) -> str:
    if kind == "not-a-jwt":
        return "Bearer garbage"
    if kind == "signed-by-another-key":
        return "Bearer " + TokenService(load_clients(), issuer="http://elsewhere.test/oauth2").issue(ISSUING_BODY)
    return "Basic " + base64.b64encode(f"{ISSUING_BODY}:{ISSUING_BODY_SECRET}".encode()).decode()


@pytest.mark.parametrize("kind", ["not-a-jwt", "signed-by-another-key", "basic-credentials"])
def test_a_protected_route_with_a_token_it_cannot_verify_is_refused(api: httpx.Client, kind: str) -> None:
    response = api.get("/v1/certificates", headers={"Authorization": _unverifiable_authorization(kind)})

    assert response.status_code == 401
    _problem(response)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_each_client_gets_the_one_scope_cognito_grants_its_party_type(stack: LocalStack) -> None:
    granted = {}
    for client in load_clients():
        response = httpx.post(stack.token_url, data=CLIENT_CREDENTIALS, auth=(client.client_id, client.client_secret))
        claims = stack.gateway.tokens.verify(response.json()["access_token"])
        assert claims is not None
        granted[client.party["type"]] = claims["scope"]

    assert granted == {party_type.value: f"jevs/{party_type.value}" for party_type in PartyType}


def test_a_token_verified_by_the_gateway_but_with_another_party_types_scope_is_a_401(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given a token the gateway's authorizer accepts, for the issuing body's client with an exporter's scope
    token = stack.gateway.tokens.issue(ISSUING_BODY, scopes=[party_scope(PartyType.EXPORTER)])
    assert stack.gateway.tokens.verify(token) is not None
    # When it calls the API, Then the function refuses it as it refuses any invalid token
    response = api.get("/v1/certificates", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert _problem(response)["type"] == problem_type("unauthenticated")


def test_a_valid_token_reaches_the_function(api: httpx.Client, token_for: Callable[[str], str]) -> None:
    response = api.get("/v1/certificates", headers={"Authorization": f"Bearer {token_for(ISSUING_BODY)}"})

    assert response.status_code == 200
    assert response.headers["x-amzn-requestid"]


# -- public documentation -------------------------------------------------------------------------------


def test_docs_is_the_swagger_ui_without_a_token(api: httpx.Client) -> None:
    response = api.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()


def test_openapi_json_is_an_openapi_3_1_document_without_a_token(api: httpx.Client) -> None:
    response = api.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/certificates" in document["paths"]


def test_the_token_signing_keys_are_published_under_the_issuer(api: httpx.Client) -> None:
    response = api.get("/oauth2/.well-known/jwks.json")

    assert response.status_code == 200
    assert [key["kty"] for key in response.json()["keys"]] == ["EC"]
    assert all("d" not in key for key in response.json()["keys"])


# -- the walkthrough ------------------------------------------------------------------------------------


def test_every_step_of_the_demo_walkthrough_gets_what_it_expects(stack: LocalStack) -> None:
    printed = io.StringIO()

    results = run_walkthrough(stack.api_url, out=printed)

    failed = [f"{result.title}: {result.problem}" for result in results if not result.passed]
    assert not failed, printed.getvalue()
    assert len(results) >= 15


# -- the proxy event and response, seen by a function that echoes them ----------------------------------


def _echo(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    """A stand-in function: answers with the event and context it got, as the tests tell it to."""
    path = event["path"]
    if path == "/fail":
        raise RuntimeError("the function broke")
    if path == "/malformed":
        return {"body": "no status code"}
    if path == "/binary":
        return {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    seen = {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(seen),
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def echo_gateway() -> Iterator[Gateway]:
    gateway = Gateway(_echo, load_clients(), port=0)
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture
def echo(echo_gateway: Gateway) -> Iterator[httpx.Client]:
    token = echo_gateway.tokens.issue(ISSUING_BODY)
    with httpx.Client(
        base_url=echo_gateway.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


def test_the_function_gets_a_rest_api_proxy_event_with_the_cognito_claims(echo: httpx.Client) -> None:
    response = echo.get("/v1/certificates/11.1234.12345?status=ISSUED&x=1&x=2")

    event = response.json()["event"]
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/v1/certificates/11.1234.12345"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "v1/certificates/11.1234.12345"}
    assert event["queryStringParameters"] == {"status": "ISSUED", "x": "2"}
    assert event["multiValueQueryStringParameters"] == {"status": ["ISSUED"], "x": ["1", "2"]}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/{proxy+}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert {"accountId", "apiId", "stage", "requestId", "protocol", "requestTimeEpoch"} <= context.keys()
    claims = context["authorizer"]["claims"]
    assert claims["client_id"] == ISSUING_BODY
    assert claims["token_use"] == "access"
    assert all(isinstance(value, str) for value in claims.values())


def test_the_function_gets_a_lambda_like_context(echo: httpx.Client) -> None:
    response = echo.get("/anything")

    body = response.json()
    assert body["context"]["function_name"] == "jevs-api"
    assert body["context"]["aws_request_id"] == body["event"]["requestContext"]["requestId"]
    assert body["context"]["invoked_function_arn"].startswith("arn:aws:lambda:")
    assert 0 < body["context"]["remaining_ms"] <= 29_000


def test_headers_keep_every_value_of_a_repeated_name(echo: httpx.Client) -> None:
    response = echo.get("/anything", headers=[("X-Repeated", "one"), ("X-Repeated", "two")])

    event = response.json()["event"]
    assert event["multiValueHeaders"]["X-Repeated"] == ["one", "two"]
    assert event["headers"]["X-Repeated"] == "two"


def test_a_body_that_is_not_utf8_arrives_base64_encoded(echo: httpx.Client) -> None:
    response = echo.post("/anything", content=b"\xff\xfe\x00", headers={"Content-Type": "application/octet-stream"})

    event = response.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


def test_a_text_body_arrives_as_it_was_sent(echo: httpx.Client) -> None:
    response = echo.post("/anything", json={"remarks": "Tēnā koe"})

    event = response.json()["event"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"remarks": "Tēnā koe"}


def test_the_root_path_is_its_own_resource(echo: httpx.Client) -> None:
    event = echo.get("/").json()["event"]

    assert event["resource"] == "/"
    assert event["pathParameters"] is None


def test_a_public_path_reaches_the_function_without_claims(echo_gateway: Gateway) -> None:
    response = httpx.get(f"{echo_gateway.base_url}/v1/verify/11.1234.12345")

    assert response.status_code == 200
    assert "authorizer" not in response.json()["event"]["requestContext"]


def test_the_proxy_response_becomes_the_http_response(echo: httpx.Client) -> None:
    response = echo.get("/anything")

    assert response.status_code == 200
    assert response.headers["x-single"] == "one"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        # API Gateway reads the first Accept media type only, and sends bytes when it is a binary media type.
        ("application/pdf", b"\x00\xff"),
        ("image/png;q=0.9, */*", b"\x00\xff"),
        ("*/*", b"AP8="),
        ("*/*, application/pdf", b"AP8="),
        ("application/*", b"AP8="),
        ("application/json", b"AP8="),
        (None, b"AP8="),
    ],
)
def test_a_base64_proxy_response_is_sent_as_bytes_only_to_a_request_that_accepts_a_binary_media_type_first(
    echo: httpx.Client, accept: str | None, body: bytes
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    request = echo.build_request("GET", "/binary", headers=headers)
    if accept is None:
        del request.headers["Accept"]

    response = echo.send(request)

    assert response.content == body


@pytest.mark.parametrize("path", ["/fail", "/malformed"])
def test_a_failing_or_malformed_function_answer_is_a_502(echo: httpx.Client, path: str) -> None:
    response = echo.get(path)

    assert response.status_code == 502
    assert _problem(response)["type"] == problem_type("bad-gateway")


def test_a_body_over_api_gateways_limit_is_refused_unread(echo_gateway: Gateway) -> None:
    connection = http.client.HTTPConnection(echo_gateway.host, echo_gateway.port, timeout=10)
    try:
        # Only the headers: the gateway must answer from Content-Length alone.
        connection.putrequest("POST", "/v1/certificates")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders()
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()

    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    assert body["type"] == problem_type("payload-too-large")


def test_the_token_endpoint_takes_post_only(echo_gateway: Gateway) -> None:
    response = httpx.get(f"{echo_gateway.base_url}{TOKEN_PATH}")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_the_banner_make_run_prints_offers_the_example_certificate_that_exists(stack: LocalStack) -> None:
    # The example moved into the API's document (functions/api/examples/) and the banner still read the old place:
    # `make run` stopped with FileNotFoundError once the stack was up.
    printed = banner(stack)

    assert "--data @functions/api/examples/certificate.json" in printed
    assert f"{stack.api_url}/v1/certificates/11.1234.12345" in printed
