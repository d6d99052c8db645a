"""Integration tier: the real handlers with real-shaped events, against moto in process. Every function is built
by the composition root from settings of its own, exactly as the local stack builds them
(``infrastructure.local.functions``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infrastructure.local.functions import FunctionSet, LocalOptions, build_functions
from infrastructure.local.provision import Provisioned, create_resources
from jevs.adapters.aws import AwsClients
from jevs.adapters.clock import SystemClock
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.bootstrap import Handler
from jevs.resources import RECORDS_TABLE
from tests.factories import LambdaContext, api_event, parties_json

ApiCall = Callable[..., dict[str, Any]]
# The public API's base URL the notifier puts in each PDF's QR code (the local stack gives its gateway's).
VERIFICATION_BASE_URL = "https://jevs.example.test/live"
# No test of this tier reaches China: the dispatcher's own tests use the e2e tier's simulator.
CHINA_CUSTOMS_ENDPOINT = "https://china-customs.example.test/jevs/v1/certificates"


def _client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]  # any service of jevs.resources


@pytest.fixture
def aws_resources() -> Iterator[Provisioned]:
    """Fresh moto state with every resource of the shared definition."""
    with mock_aws():
        yield create_resources(_client)


def local_options() -> LocalOptions:
    return LocalOptions(
        parties=parties_json(),
        china_customs_endpoint=CHINA_CUSTOMS_ENDPOINT,
        verification_base_url=VERIFICATION_BASE_URL,
    )


@pytest.fixture
def functions(aws_resources: Provisioned) -> FunctionSet:
    """Every function's handler, built from its own settings against moto in process."""
    return build_functions(aws_resources, local_options(), AwsClients())


@pytest.fixture
def records(aws_resources: Provisioned) -> TableUnitOfWork:
    """A unit of work over the records table in moto, for tests that read (or plant) records directly."""
    return TableUnitOfWork(
        DynamoTable(boto3.client("dynamodb"), RECORDS_TABLE, aws_resources.records_table), SystemClock()
    )


def api_caller(api: Handler) -> ApiCall:
    """Invoke the API function with a proxy event; the response body is decoded when it is JSON."""

    def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        event = api_event(method, path, **kwargs)
        response: dict[str, Any] = api(event, LambdaContext())
        # API Gateway's id of the request: the problem's instance, the log lines' correlation id.
        response["request_id"] = event["requestContext"]["requestId"]
        headers = {name.lower(): values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
        headers.update({name.lower(): value for name, value in (response.get("headers") or {}).items()})
        response["headers"] = headers
        if "json" in headers.get("content-type", ""):
            response["json"] = json.loads(response["body"])
        return response

    return call


@pytest.fixture
def call_api(functions: FunctionSet) -> ApiCall:
    """Invoke the API function with a proxy event; the response body is decoded when it is JSON."""
    return api_caller(functions.api)


def emitted_metrics(printed: str, name: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric documents Powertools printed that carry ``name``."""
    documents = []
    for line in printed.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            metric_names = {
                metric["Name"] for directive in document["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]
            }
            if name in metric_names:
                documents.append(document)
    return documents


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The parser properties' counts (tests/integration/test_parser_properties.py), when that module ran."""
    module = sys.modules.get("tests.integration.test_parser_properties")
    line = module.summary() if module is not None else None
    if line:
        terminalreporter.write_sep("-", line)
