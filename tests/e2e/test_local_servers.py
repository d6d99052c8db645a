"""What the two local HTTP servers (the gateway and the China Customs simulator) share, over real sockets:
the body framing they accept, one log line per request and no other, answers that end the connection,
a port in use reported as an error, and a hang-up that sends nothing."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from infrastructure.local.china_customs import ENDPOINT_PATH, MAX_BODY_BYTES, ChinaCustomsSimulator
from infrastructure.local.gateway import Gateway
from infrastructure.local.serving import BackgroundServer
from infrastructure.local.tokens import load_clients

pytestmark = pytest.mark.e2e

PUBLIC_PATH = "/v1/verify/11.1234.12345"


@pytest.fixture(autouse=True)
def _functions_fed() -> None:
    """Overrides the e2e tier's autouse fixture: these servers need none of the local stack."""


def _function(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event["path"].endswith("/line-break"):
        return {"statusCode": 200, "headers": {"X-Note": "one\r\nSet-Cookie: injected=1"}, "body": ""}
    if event["path"].endswith("/untyped"):
        return {"statusCode": 200, "body": "no content type"}
    seen = {"method": event["httpMethod"], "body": event["body"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(seen)}


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    running = Gateway(_function, load_clients(), port=0)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def simulator() -> Iterator[ChinaCustomsSimulator]:
    # Keys are never needed: every request here is refused before a signature is checked, or is no delivery.
    with ChinaCustomsSimulator(lambda: {"keys": []}) as running:
        yield running


@pytest.fixture(params=["gateway", "simulator"])
def server(request: pytest.FixtureRequest) -> tuple[str, int, str]:
    """Host, port and a path that takes a POST, of each server in turn."""
    if request.param == "gateway":
        gateway: Gateway = request.getfixturevalue("gateway")
        return gateway.host, gateway.port, PUBLIC_PATH
    simulator: ChinaCustomsSimulator = request.getfixturevalue("simulator")
    return simulator.host, simulator.port, ENDPOINT_PATH


def exchange(host: str, port: int, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def status_and_document(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\ncontent-type: application/problem+json" in head.lower()
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_chunked_body_is_refused_as_length_required(server: tuple[str, int, str]) -> None:
    host, port, path = server
    request = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"

    status, document = status_and_document(exchange(host, port, request.encode()))

    assert (status, document["status"]) == (411, 411)


@pytest.mark.parametrize("length", ["abc", "-1", "1_0"])
def test_a_content_length_that_is_no_length_is_a_bad_request(server: tuple[str, int, str], length: str) -> None:
    host, port, path = server

    status, document = status_and_document(
        exchange(host, port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
    )

    assert status == 400
    assert repr(length) in document["detail"]


def test_a_body_over_the_simulators_limit_is_refused_from_the_header_alone(simulator: ChinaCustomsSimulator) -> None:
    request = f"POST {ENDPOINT_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"

    status, document = status_and_document(exchange(simulator.host, simulator.port, request.encode()))

    assert status == 413
    assert document["type"] == "urn:cn-customs-simulator:problem:too-large"
    assert simulator.stats.requests == 0


def test_a_client_that_keeps_connections_alive_gets_every_answer(server: tuple[str, int, str]) -> None:
    host, port, path = server

    with httpx.Client(base_url=f"http://{host}:{port}", timeout=5) as client:
        answers = [client.post(path, content=b"{}") for _ in range(5)]

    assert len({answer.status_code for answer in answers}) == 1
    # werkzeug's server closes after each answer, and says so: the client opens a new connection.
    assert all(answer.headers["connection"] == "close" for answer in answers)


def test_each_request_is_logged_once_by_the_server_and_never_by_werkzeug(
    server: tuple[str, int, str], caplog: pytest.LogCaptureFixture
) -> None:
    host, port, path = server

    with caplog.at_level(logging.DEBUG):
        httpx.post(f"http://{host}:{port}{path}", content=b"{}", timeout=5)

    assert [record for record in caplog.records if record.name.startswith("werkzeug")] == []
    assert len([record for record in caplog.records if f"POST {path} " in record.getMessage()]) == 1


def test_a_port_in_use_is_an_os_error_not_an_exit(gateway: Gateway) -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        raise AssertionError("never served")

    with pytest.raises(OSError, match="in use"):
        BackgroundServer(app, host=gateway.host, port=gateway.port, name="second")


def test_every_method_reaches_the_function_as_any_does(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=5) as client:
        methods = {method: client.request(method, PUBLIC_PATH) for method in ("OPTIONS", "PATCH", "DELETE", "HEAD")}

    assert {method: answer.status_code for method, answer in methods.items()} == dict.fromkeys(methods, 200)
    assert methods["OPTIONS"].json()["method"] == "OPTIONS"
    # HEAD: the function's answer without its body, but with its length.
    assert methods["HEAD"].content == b""
    assert int(methods["HEAD"].headers["content-length"]) > 0
    assert all("x-amzn-requestid" in answer.headers for answer in methods.values())


def test_a_function_header_with_a_line_break_is_a_bad_gateway_not_a_second_header(gateway: Gateway) -> None:
    answer = httpx.get(f"{gateway.base_url}/v1/verify/line-break", timeout=5)

    assert answer.status_code == 502
    assert "set-cookie" not in answer.headers


def test_an_answer_without_a_content_type_gets_none_made_up(gateway: Gateway) -> None:
    answer = httpx.get(f"{gateway.base_url}/v1/verify/untyped", timeout=5)

    assert answer.text == "no content type"
    assert "content-type" not in answer.headers


def test_a_dropped_connection_ends_without_a_single_byte(simulator: ChinaCustomsSimulator) -> None:
    simulator.faults.drop_next(1)
    request = f"POST {ENDPOINT_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}"

    try:
        answer = exchange(simulator.host, simulator.port, request.encode())
    except ConnectionResetError:
        answer = b""

    assert answer == b""
    assert simulator.stats.dropped_injected == 1


def test_other_methods_on_the_endpoint_are_told_to_post(simulator: ChinaCustomsSimulator) -> None:
    for method in ("GET", "HEAD", "OPTIONS", "PUT"):
        answer = httpx.request(method, simulator.endpoint_url, timeout=5)

        assert answer.status_code == 405
        assert answer.headers["allow"] == "POST"
