"""AWS round trips per operation (DESIGN.md §8): a submission is one DynamoDB write, a replay one more read; a
lodged declaration is one write, and matching it three reads and one write, however large the table."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infrastructure.local.functions import FunctionSet, build_functions
from infrastructure.local.provision import Provisioned
from jevs.adapters.aws import AwsClients
from tests.factories import CN_CUSTOMS, ISSUING_BODY, certificate_payload, item_payload
from tests.integration.conftest import ApiCall, local_options
from tests.integration.declarations_support import lodge, run_matcher

pytestmark = pytest.mark.integration


@pytest.fixture
def dynamodb_calls() -> Counter[str]:
    """Every DynamoDB API call the functions make, by operation name."""
    return Counter()


@pytest.fixture
def functions(aws_resources: Provisioned, dynamodb_calls: Counter[str]) -> FunctionSet:
    """The functions, over AWS clients that count each DynamoDB call into ``dynamodb_calls``."""

    def count(model: Any, **_: Any) -> None:
        dynamodb_calls[model.name] += 1

    aws = AwsClients()
    aws.dynamodb.meta.events.register("before-call.dynamodb.*", count)
    return build_functions(aws_resources, local_options(), aws)


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


# -- matching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stored_certificates", "lines"), [(1, 1), (30, 1), (30, 20)])
def test_matching_a_declaration_costs_three_reads_and_one_write_whatever_the_table_or_its_size(
    functions: FunctionSet, call_api: ApiCall, dynamodb_calls: Counter[str], stored_certificates: int, lines: int
) -> None:
    # Given a table holding many certificates, and a declaration of one or twenty lines quoting one of them
    items = [item_payload(n, quantity={"value": "100", "unit": "KGM"}) for n in range(1, lines + 1)]
    for serial in range(stored_certificates):
        submit(call_api, certificate_payload(certificate_number=f"11.1234.{serial:05d}", items=items), f"c-{serial}")
    declaration_lines = [
        {
            "line_number": n,
            "certificate_item_number": n,
            "hs_code": "0402211000",
            "origin_country": "NZ",
            "quantity": {"value": "100", "unit": "KGM"},
            "invoice_number": "INV-2026-0042",
        }
        for n in range(1, lines + 1)
    ]
    lodge(call_api, certificate_number="11.1234.00000", lines=declaration_lines)
    dynamodb_calls.clear()

    # When the matching function decides it
    assert run_matcher(functions, "CNIM-223320261000123456") == {"batchItemFailures": []}

    # Then it read the declaration, the certificate and its ledger, and wrote one transaction
    assert dynamodb_calls == Counter({"GetItem": 3, "TransactWriteItems": 1})
    assert (
        call_api("GET", "/v1/declarations/CNIM-223320261000123456", client_id=CN_CUSTOMS)["json"]["status"] == "MATCHED"
    )


def test_lodging_a_declaration_costs_one_transactional_write(call_api: ApiCall, dynamodb_calls: Counter[str]) -> None:
    assert lodge(call_api)["statusCode"] == 202

    assert dynamodb_calls == Counter({"TransactWriteItems": 1})
