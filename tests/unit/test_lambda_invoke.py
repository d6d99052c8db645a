"""The local stack's Lambda Invoke API (infrastructure/local/lambda_invoke.py): a function's handler called with the
payload, its answer or its failure in Lambda's shapes, as boto3 reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from infrastructure.local.lambda_invoke import LambdaInvokeServer

pytestmark = pytest.mark.unit

INVOKE = "/2015-03-31/functions/{name}/invocations"


def reconciler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"requeued": ["11.0001.00001/v1"], "count": 1, "source": event["source"], "function": context}


def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the table is not there")


@pytest.fixture
def client() -> Iterator[Client]:
    handlers = {"jevs-reconciler": reconciler, "jevs-overseer": failing}
    # Bound to a free port, never started: the WSGI application is called directly.
    server = LambdaInvokeServer(handlers, lambda name: f"context of {name}", host="127.0.0.1", port=0)
    try:
        yield Client(server.wsgi_app)
    finally:
        server.stop()


def test_the_function_is_called_with_the_payload_and_its_result_is_the_answer(client: Client) -> None:
    response = client.post(INVOKE.format(name="jevs-reconciler"), data=json.dumps({"source": "aws.events"}))
    assert response.status_code == 200
    assert "X-Amz-Function-Error" not in response.headers
    assert response.json == {
        "requeued": ["11.0001.00001/v1"],
        "count": 1,
        "source": "aws.events",
        "function": "context of jevs-reconciler",
    }


def test_a_function_that_raises_answers_200_with_lambdas_unhandled_error(client: Client) -> None:
    response = client.post(INVOKE.format(name="jevs-overseer"), data=b"{}")
    assert (response.status_code, response.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert response.json is not None
    assert (response.json["errorType"], response.json["errorMessage"]) == ("RuntimeError", "the table is not there")
    assert response.json["stackTrace"]


def test_an_unknown_function_is_404_resource_not_found(client: Client) -> None:
    response = client.post(INVOKE.format(name="jevs-nothing"), data=b"{}")
    assert (response.status_code, response.headers["X-Amzn-ErrorType"]) == (404, "ResourceNotFoundException")
    assert response.json == {"Type": "User", "message": "Function not found: jevs-nothing"}


def test_a_payload_that_is_not_json_is_refused_without_calling_the_function(client: Client) -> None:
    response = client.post(INVOKE.format(name="jevs-overseer"), data=b"{not json")
    assert (response.status_code, response.headers["X-Amzn-ErrorType"]) == (400, "InvalidRequestContentException")
