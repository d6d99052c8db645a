"""Each function's settings (``jevs.settings``): read from the environment as Lambda gives them, each value made its
setting's type and held to its rule, and every problem reported at once, by name, when a function starts."""

from __future__ import annotations

import dataclasses

import pytest

from jevs.settings import DispatcherSettings, OverseerSettings, RelaySettings, SettingsError

pytestmark = pytest.mark.unit

DISPATCHER = {
    "JEVS_RECORDS_TABLE": "jevs-records",
    "JEVS_SIGNING_KEY_ID": "alias/jevs-signing",
    "JEVS_CHINA_CUSTOMS_ENDPOINT": "https://cn-customs.example.cn/jevs/v1/certificates",
    "JEVS_DELIVERY_QUEUE_URL": "https://sqs.ap-southeast-2.amazonaws.com/123456789012/jevs-delivery",
    "JEVS_DELIVERY_DEAD_LETTER_QUEUE_URL": "https://sqs.ap-southeast-2.amazonaws.com/123456789012/jevs-delivery-dlq",
}


def test_text_from_the_environment_becomes_each_settings_type() -> None:
    environment = DISPATCHER | {"JEVS_CHINA_READ_TIMEOUT_SECONDS": "2.5", "JEVS_DELIVERY_MAX_RECEIVES": "7"}

    settings = DispatcherSettings.from_environment(environment)

    assert settings.china_read_timeout_seconds == 2.5
    assert settings.delivery_max_receives == 7
    # Unset: the default, of its type.
    assert settings.china_circuit_cooldown_seconds == 30.0
    assert isinstance(settings.china_circuit_cooldown_seconds, float)
    assert settings.china_client_certificate_secret is None


def test_every_problem_is_reported_at_once_each_by_its_setting() -> None:
    environment = DISPATCHER | {
        "JEVS_RECORDS_TABLE": "j",
        "JEVS_DELIVERY_MAX_RECEIVES": "0",
        "JEVS_CHINA_READ_TIMEOUT_SECONDS": "soon",
        "JEVS_CHINA_CONNECT_TIMEOUT_SECONDS": "nan",
    }

    with pytest.raises(SettingsError) as refused:
        DispatcherSettings.from_environment(environment)

    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        "records_table",
        "china_connect_timeout_seconds",
        "china_read_timeout_seconds",
        "delivery_max_receives",
    ]


def test_a_missing_setting_or_one_no_function_reads_is_refused() -> None:
    with pytest.raises(SettingsError) as refused:
        RelaySettings.of({"records_table": "jevs-records", "delivery_queue_url": "https://sqs.local/d", "tint": "red"})

    assert refused.value.problems == [
        "tint: not a setting of RelaySettings",
        "declarations_queue_url: missing",
        "notifications_queue_url: missing",
    ]


@pytest.mark.parametrize("value", [True, 2.5, "2.5", None])
def test_a_value_not_of_the_settings_type_is_refused(value: object) -> None:
    with pytest.raises(SettingsError, match="past_due_limit"):
        OverseerSettings.of({"records_table": "jevs-records", "signing_key_id": "alias/k", "past_due_limit": value})


def test_settings_are_frozen_and_say_which_are_required_and_which_have_defaults() -> None:
    settings = OverseerSettings(records_table="jevs-records", signing_key_id="alias/k")

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.past_due_limit = 1  # type: ignore[misc]
    assert OverseerSettings.required() == {"records_table", "signing_key_id"}
    assert OverseerSettings.defaults() == {"past_due_limit": 500}
    assert OverseerSettings.variables()["past_due_limit"] == "JEVS_PAST_DUE_LIMIT"
    assert settings.values() == {"records_table": "jevs-records", "signing_key_id": "alias/k", "past_due_limit": 500}
