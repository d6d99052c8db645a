"""Integration tier: the real handlers with real-shaped events, against moto in process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.api import dependencies as api_dependencies
from functions.api.handler import handler
from infrastructure.local.provision import create_resources, function_environment
from jevs.adapters import aws
from jevs.settings import settings
from tests.factories import LambdaContext, api_event, parties_json

ApiCall = Callable[..., dict[str, Any]]


def _clear_cached_clients() -> None:
    api_dependencies.reset()
    aws.dynamodb.cache_clear()
    settings.cache_clear()


@pytest.fixture
def aws_resources(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh moto state with every resource of the shared definition, and the functions' environment."""
    for name, value in function_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JEVS_PARTIES", parties_json())
    _clear_cached_clients()
    with mock_aws():
        create_resources(boto3.client("dynamodb"))
        yield
    _clear_cached_clients()


@pytest.fixture
def call_api(aws_resources: None) -> ApiCall:
    """Invoke the API function with a proxy event; the response body is decoded when it is JSON."""

    def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response: dict[str, Any] = handler(api_event(method, path, **kwargs), LambdaContext())
        headers = {name.lower(): values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
        headers.update({name.lower(): value for name, value in (response.get("headers") or {}).items()})
        response["headers"] = headers
        if "json" in headers.get("content-type", ""):
            response["json"] = json.loads(response["body"])
        return response

    return call
