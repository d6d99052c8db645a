"""A request's id (the gateway's, as API Gateway's) is the correlation id of every log line of that request and of
the work it causes in the other functions: the outbox relay that publishes its messages and the dispatcher that
delivers its certificate to China."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from infrastructure.local.pollers import wait_until
from tests.e2e.conftest import TokenFor
from tests.factories import ISSUING_BODY, certificate_payload
from tests.logs import log_lines

pytestmark = pytest.mark.e2e


def _json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """The functions' lines (Powertools' JSON); the local pieces' plain lines are left out."""
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_requests_id_is_the_correlation_id_of_its_lines_and_of_its_certificates_delivery(
    api: httpx.Client, token_for: TokenFor
) -> None:
    number = f"11.7070.{random.randrange(100_000):05d}"  # a fresh number, not a secret
    delivery = f"{number}/v1"
    headers = {"Authorization": f"Bearer {token_for(ISSUING_BODY)}", "Idempotency-Key": f"correlation-{number}"}

    with log_lines() as logs:
        response = api.post("/v1/certificates", json=certificate_payload(certificate_number=number), headers=headers)
        assert response.status_code == 201, response.text

        def settled() -> bool:
            return any(
                line.get("message") == "settled" and line.get("delivery") == delivery
                for line in _json_lines(list(logs.lines))
            )

        assert wait_until(settled, 30, 0.2)
    request_id = response.headers["x-amzn-RequestId"]
    lines = _json_lines(logs.lines)
    submitted = [line for line in lines if line.get("message") == "certificate submitted"]
    relayed = [line for line in lines if line.get("message") == "relayed" and number in str(line.get("message_id"))]
    dispatched = [line for line in lines if line.get("delivery") == delivery]

    # The only request in the while: its line, and the id the gateway answered in x-amzn-RequestId.
    assert [(line.get("service"), line.get("correlation_id")) for line in submitted] == [("jevs-api", request_id)]
    assert {line.get("service") for line in relayed} == {"jevs-outbox-relay"}
    assert {line.get("correlation_id") for line in relayed} == {request_id}
    assert {line.get("service") for line in dispatched} == {"jevs-dispatcher"}
    assert {line.get("correlation_id") for line in dispatched} == {request_id}
