"""The China endpoint setting (issue 14, finding 7): signed certificates and results travel to China Customs over
TLS; plain HTTP is accepted only on this machine's loopback, where the local stack's simulator listens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from infrastructure.cdk.config import StackConfig
from jevs.settings import DispatcherSettings, SettingsError

pytestmark = pytest.mark.unit

SETTINGS: dict[str, Any] = {
    "records_table": "jevs-records",
    "signing_key_id": "alias/jevs-signing",
    "delivery_queue_url": "https://sqs.ap-southeast-2.amazonaws.com/123456789012/jevs-delivery",
    "delivery_dead_letter_queue_url": "https://sqs.ap-southeast-2.amazonaws.com/123456789012/jevs-delivery-dlq",
}


def settings(endpoint: str) -> DispatcherSettings:
    return DispatcherSettings.from_environment(
        {f"JEVS_{name.upper()}": value for name, value in (SETTINGS | {"china_customs_endpoint": endpoint}).items()}
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://cn-customs.example.cn/jevs/v1/certificates",
        "http://203.0.113.7:8443/jevs/v1/certificates",
        # A name that merely begins like a loopback one is somewhere else.
        "http://localhost.example.cn/jevs/v1/certificates",
        "http://127.0.0.1.example.cn/jevs/v1/certificates",
        "ftp://127.0.0.1/jevs",
    ],
)
def test_a_china_endpoint_in_the_clear_off_this_machine_is_refused_when_the_settings_load(endpoint: str) -> None:
    with pytest.raises(SettingsError, match="china_customs_endpoint"):
        settings(endpoint)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://cn-customs.example.cn/jevs/v1/certificates",
        "http://127.0.0.1:8765/jevs/v1/certificates",
        "http://localhost:8765/jevs/v1/certificates",
        "http://[::1]:8765/jevs/v1/certificates",
    ],
)
def test_a_china_endpoint_over_tls_or_on_the_loopback_of_the_local_stack_is_accepted(endpoint: str) -> None:
    assert settings(endpoint).china_customs_endpoint == endpoint


def test_the_stack_is_not_configured_with_a_china_endpoint_in_the_clear() -> None:
    # Given cdk.json's configuration with China's endpoint over plain http
    context = json.loads((Path(__file__).parents[2] / "cdk.json").read_text(encoding="utf-8"))["context"]
    config = {
        "parties": context["jevs:parties"],
        "auth_domain_prefix": context["jevs:authDomainPrefix"],
        "sender_email": context["jevs:senderEmail"],
    }
    assert StackConfig.model_validate(config | {"china_customs_endpoint": context["jevs:chinaCustomsEndpoint"]})
    # Then the configuration is refused before anything is synthesised
    with pytest.raises(ValidationError, match="china_customs_endpoint"):
        StackConfig.model_validate(config | {"china_customs_endpoint": "http://cn-customs.example.cn/jevs/v1"})
