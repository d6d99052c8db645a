"""The contract tier: one suite, three tables. Every test that takes ``table`` runs against the records table
in memory, against DynamoDB (moto in process, a fresh mock per test, the table created by the local stack's
own provisioning), and against the same with the local stack's patch of moto's transactions
(``infrastructure.local.moto_speedup``), and expects the same outcome from each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infrastructure.local import moto_speedup
from infrastructure.local.provision import create_resources
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.memory import MemoryTable
from jevs.adapters.table.model import Table
from jevs.resources import RECORDS_TABLE
from tests.contract.support import DYNAMODB, LOCAL_STACK_DYNAMODB, MEMORY, Units
from tests.fakes import FixedClock


class _Clients:
    """boto3 clients built once for the whole run: building one costs far more than a test's requests, and
    moto intercepts a client's requests whenever a mock is active, whenever the client was built."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._built:
            self._built[service] = boto3.client(service)  # type: ignore[call-overload]  # any service of provision
        return self._built[service]


@pytest.fixture(scope="session")
def aws_clients() -> _Clients:
    return _Clients()


@pytest.fixture(params=[MEMORY, DYNAMODB, LOCAL_STACK_DYNAMODB])
def backend(request: pytest.FixtureRequest) -> str:
    """Which table the test runs against."""
    return str(request.param)


@pytest.fixture
def table(backend: str, aws_clients: _Clients) -> Iterator[Table]:
    """An empty records table: in memory, or in a fresh moto account provisioned as the local stack is (with the
    local stack's faster transactions, or without)."""
    if backend == MEMORY:
        yield MemoryTable(RECORDS_TABLE)
        return
    with mock_aws(), moto_speedup.applied() if backend == LOCAL_STACK_DYNAMODB else nullcontext():
        provisioned = create_resources(aws_clients)
        assert provisioned.records_table == RECORDS_TABLE.name
        yield DynamoTable(aws_clients("dynamodb"), RECORDS_TABLE, RECORDS_TABLE.name)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def units(table: Table, clock: FixedClock) -> Units:
    return Units(table, clock)
