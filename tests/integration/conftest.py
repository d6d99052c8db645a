"""Integration tier: the real handlers with real-shaped events, against moto in process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions import forget_cached_state
from functions.api.handler import handler
from infrastructure.local.provision import create_resources
from tests.factories import LambdaContext, api_event, parties_json

ApiCall = Callable[..., dict[str, Any]]
# The public API's base URL the notifier puts in each PDF's QR code (the local stack gives its gateway's).
VERIFICATION_BASE_URL = "https://jevs.example.test/live"


def _clear_cached_clients() -> None:
    forget_cached_state()


def _client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]  # any service of jevs.resources


@pytest.fixture
def aws_resources(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh moto state with every resource of the shared definition, and the functions' environment."""
    monkeypatch.setenv("JEVS_PARTIES", parties_json())
    monkeypatch.setenv("JEVS_VERIFICATION_BASE_URL", VERIFICATION_BASE_URL)
    _clear_cached_clients()
    with mock_aws():
        for name, value in create_resources(_client).items():
            monkeypatch.setenv(name, value)
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
