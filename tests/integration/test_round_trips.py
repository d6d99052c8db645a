"""AWS round trips per operation (DESIGN §8): a submission is one DynamoDB write, a replay one more read."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from jevs.adapters import aws
from tests.factories import ISSUING_BODY, certificate_payload, item_payload
from tests.integration.conftest import ApiCall

pytestmark = pytest.mark.integration


@pytest.fixture
def dynamodb_calls(call_api: ApiCall) -> Counter[str]:
    """Counts every DynamoDB API call the functions make, by operation name."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    aws.dynamodb().meta.events.register("before-call.dynamodb.*", count)
    return calls


def submit(call_api: ApiCall, body: dict[str, Any], key: str) -> int:
    response = call_api("POST", "/v1/certificates", body=body, client_id=ISSUING_BODY, headers={"Idempotency-Key": key})
    return int(response["statusCode"])


@pytest.mark.parametrize("items", [1, 20])
def test_a_submission_costs_one_transactional_write_whatever_its_size(
    call_api: ApiCall, dynamodb_calls: Counter[str], items: int
) -> None:
    body = certificate_payload(items=[item_payload(n) for n in range(1, items + 1)])

    assert submit(call_api, body, "key-1") == 201

    assert dynamodb_calls == Counter({"TransactWriteItems": 1})


def test_a_replay_costs_the_write_attempt_and_one_read(call_api: ApiCall, dynamodb_calls: Counter[str]) -> None:
    submit(call_api, certificate_payload(), "key-1")
    dynamodb_calls.clear()

    assert submit(call_api, certificate_payload(), "key-1") == 201

    assert dynamodb_calls == Counter({"TransactWriteItems": 1, "GetItem": 1})


def test_the_cost_of_a_submission_does_not_grow_with_the_table(call_api: ApiCall, dynamodb_calls: Counter[str]) -> None:
    for serial in range(30):
        submit(call_api, certificate_payload(certificate_number=f"11.1234.{serial:05d}"), f"key-{serial}")
    dynamodb_calls.clear()

    assert submit(call_api, certificate_payload(certificate_number="11.1234.99999"), "key-last") == 201

    assert dynamodb_calls == Counter({"TransactWriteItems": 1})
