"""The local gateway on its own, no local stack behind it: a function that counts what the gateway let through."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext


class CountingFunction:
    """An API function that answers 200 to anything and counts its calls: what the gateway let through."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        self.calls += 1
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


@pytest.fixture(autouse=True)
def _functions_fed() -> None:
    """Overrides the e2e tier's autouse fixture: a gateway on its own needs none of the local stack."""


@pytest.fixture
def function() -> CountingFunction:
    return CountingFunction()
