"""The local gateway throttles each party by its usage plan, over real HTTP, as API Gateway does in AWS (the one
definition, ``jevs.resources.PARTY_THROTTLES``, here made tiny): past its bucket a party gets a 429 problem with
Retry-After and the function is not called; another party, even of the same type, is not held back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infrastructure.local.gateway import Gateway
from infrastructure.local.tokens import TOKEN_PATH, Client, load_clients
from jevs.resources import PARTY_THROTTLES, ThrottleDefinition
from tests.e2e.gateway.conftest import CountingFunction
from tests.factories import EXPORTER, ISSUING_BODY, OTHER_EXPORTER
from tests.problems import problem_type

pytestmark = pytest.mark.e2e

# Two at once, then one every 100 s: the third request of a test is always refused.
TINY = {party_type: ThrottleDefinition(rate_per_second=0.01, burst=2) for party_type in PARTY_THROTTLES}


@pytest.fixture
def clients() -> dict[str, Client]:
    return {client.client_id: client for client in load_clients()}


@pytest.fixture
def gateway(function: CountingFunction, clients: dict[str, Client]) -> Iterator[Gateway]:
    running = Gateway(function, clients.values(), port=0, party_throttles=TINY)
    running.start()
    yield running
    running.stop()


def bearer(http: httpx.Client, client: Client) -> dict[str, str]:
    # The token endpoint is Cognito's, not the API's: it is not throttled by the usage plans.
    response = http.post(
        TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(client.client_id, client.client_secret)
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_party_past_its_usage_plan_gets_429_with_retry_after_and_the_function_is_not_called(
    gateway: Gateway, function: CountingFunction, clients: dict[str, Client]
) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        exporter = bearer(http, clients[EXPORTER])
        admitted = [http.get("/v1/certificates", headers=exporter).status_code for _ in range(2)]
        refused = http.get("/v1/goods-registrations", headers=exporter)
        # Another exporter and an issuing body have buckets of their own.
        others = [
            http.get("/v1/certificates", headers=bearer(http, clients[client_id])).status_code
            for client_id in (OTHER_EXPORTER, ISSUING_BODY)
        ]

    assert admitted == [200, 200]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 100
    problem = refused.json()
    assert (problem["type"], problem["status"]) == (problem_type("throttled"), 429)
    assert others == [200, 200]
    assert function.calls == 4


def test_a_request_without_a_valid_token_is_401_and_spends_no_party_s_requests(
    gateway: Gateway, function: CountingFunction, clients: dict[str, Client]
) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        anonymous = [http.get("/v1/certificates").status_code for _ in range(3)]
        exporter = bearer(http, clients[EXPORTER])
        admitted = [http.get("/v1/certificates", headers=exporter).status_code for _ in range(2)]

    assert (anonymous, admitted, function.calls) == ([401, 401, 401], [200, 200], 2)
