"""The walk that captures the OpenAPI document's response examples (``make examples``), run against the session's
stack: it reaches every operation, its answers are bodies their schemas accept, and the committed examples are
exactly what it captures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # it ships no types

from infrastructure.local.response_examples import NOT_CAPTURED, RESPONSES_FOLDER, Numbers, capture
from infrastructure.local.stack import LocalStack
from tests.e2e.conftest import e2e_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A stack of its own: the walk starts redrives, which resume every parked delivery of the stack they run on,
    and on the session's stack would send other tests' deliveries to China in the middle of their faults."""
    with e2e_stack() as running:
        yield running


def test_the_walk_captures_a_valid_answer_of_every_operation_and_status_the_committed_examples_show(
    stack: LocalStack,
) -> None:
    document: dict[str, Any] = httpx.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    operations = {
        operation["operationId"]: operation for methods in document["paths"].values() for operation in methods.values()
    }

    captured = capture(stack, Numbers.fresh())

    assert {operation for operation, _ in captured} == set(operations) - NOT_CAPTURED
    committed = {tuple(path.stem.rsplit(".", 1)) for path in RESPONSES_FOLDER.glob("*.json")}
    assert {(operation, str(status)) for operation, status in captured} == committed
    for (operation, status), example in captured.items():
        content = operations[operation]["responses"][str(status)]["content"]
        schema = next(value["schema"] for media_type, value in content.items() if media_type.endswith("json"))
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [error.message for error in validator.iter_errors(example["value"])]
        assert errors == [], f"{operation} {status}: {errors}"
