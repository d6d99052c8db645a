"""The local gateway throttles public verification per client address, over real HTTP, as the deployed API's WAF
rate-based rule does: past the limit, 429 problem+json with Retry-After, and the function is not called."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infrastructure.local.gateway import Gateway
from infrastructure.local.tokens import load_clients
from jevs.resources import RateLimitDefinition
from tests.e2e.gateway.conftest import CountingFunction
from tests.problems import problem_type

pytestmark = pytest.mark.e2e

LOW = RateLimitDefinition(requests=3, window_seconds=60)


@pytest.fixture
def gateway(function: CountingFunction) -> Iterator[Gateway]:
    running = Gateway(function, load_clients(), port=0, verify_rate_limit=LOW)
    running.start()
    yield running
    running.stop()


def test_an_address_past_the_limit_gets_429_with_retry_after_and_the_function_is_not_called(
    gateway: Gateway, function: CountingFunction
) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
        admitted = [client.get(f"/v1/verify/11.1234.1234{n}").status_code for n in range(3)]
        refused = client.get("/v1/verify/11.1234.12349", headers={"Accept": "text/html"})

    assert admitted == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    problem = refused.json()
    assert (problem["type"], problem["status"]) == (problem_type("throttled"), 429)
    assert function.calls == 3


def test_other_paths_are_not_counted_against_verification(gateway: Gateway, function: CountingFunction) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
        others = [client.get("/openapi.json").status_code for _ in range(5)]
        verifications = [client.get("/v1/verify/11.1234.12345").status_code for _ in range(3)]

    assert others == [200] * 5
    assert verifications == [200] * 3
