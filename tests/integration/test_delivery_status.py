"""``GET /v1/ops/deliveries/status`` through the API function against moto (DESIGN.md §6.2): China's circuit
breaker as the dispatchers left it, and what waits to be delivered; for operations only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.breaker import CHINA_CUSTOMS, Circuit, CircuitPolicy
from tests.factories import CN_CUSTOMS, ISSUING_BODY, NZ_CUSTOMS, OPS
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import submit_certificate

pytestmark = pytest.mark.integration


def test_operations_see_a_closed_circuit_and_nothing_pending_on_a_quiet_system(call_api: ApiCall) -> None:
    response = call_api("GET", "/v1/ops/deliveries/status", client_id=OPS)

    assert response["statusCode"] == 200, response
    assert response["json"]["circuit"] == {
        "destination": CHINA_CUSTOMS,
        "state": "CLOSED",
        "consecutive_failures": 0,
        "opened_at": None,
        "retry_at": None,
        "last_error": None,
    }
    assert response["json"]["pending"] == {
        "count": 0,
        "count_is_at_least": False,
        "oldest_delivery": None,
        "oldest_created_at": None,
        "oldest_last_error": None,
    }


def test_operations_see_an_open_circuit_and_the_oldest_delivery_waiting(
    call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    opened_at = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    circuit = Circuit.closed(CHINA_CUSTOMS)
    for _ in range(CircuitPolicy().failures_to_open):
        circuit = circuit.failed(opened_at, "connect timeout", CircuitPolicy(), probe=False)
    records.circuits.put(None, circuit)
    records.commit()

    body = call_api("GET", "/v1/ops/deliveries/status", client_id=OPS)["json"]

    assert (body["circuit"]["state"], body["circuit"]["last_error"]) == ("OPEN", "connect timeout")
    assert body["circuit"]["retry_at"] == "2026-11-24T22:00:30Z"
    assert (body["pending"]["count"], body["pending"]["oldest_delivery"]) == (1, "11.1234.12345/v1")


@pytest.mark.parametrize("client_id", [ISSUING_BODY, NZ_CUSTOMS, CN_CUSTOMS])
def test_anyone_but_operations_gets_404(call_api: ApiCall, client_id: str) -> None:
    assert call_api("GET", "/v1/ops/deliveries/status", client_id=client_id)["statusCode"] == 404
