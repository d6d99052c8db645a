"""The local gateway's throttle of each party, as API Gateway applies a usage plan's: a token bucket per client,
``burst`` deep, refilled at ``rate_per_second``, with the wait until the next request would pass; and the local
stack reads the one definition the CDK stack's usage plans are made from (Build 5 of issue 14)."""

from __future__ import annotations

import pytest

from infrastructure.local.gateway import PartyThrottle
from infrastructure.local.stack import PARTY_THROTTLE_SCALE_VARIABLE, configured_party_throttles
from jevs.domain.parties import PartyType
from jevs.resources import PARTY_THROTTLES, ThrottleDefinition

pytestmark = pytest.mark.unit

TWO_A_SECOND = ThrottleDefinition(rate_per_second=2, burst=4)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_party_may_burst_then_is_refused_and_told_to_wait_a_second() -> None:
    throttle = PartyThrottle({"kauri": TWO_A_SECOND}, Clock())
    # Four at once (the burst) pass; the fifth finds the bucket empty.
    assert [throttle.admit("kauri") for _ in range(4)] == [None] * 4
    assert throttle.admit("kauri") == 1


def test_the_bucket_refills_at_the_rate_and_no_deeper_than_the_burst() -> None:
    clock = Clock()
    throttle = PartyThrottle({"kauri": TWO_A_SECOND}, clock)
    for _ in range(4):
        throttle.admit("kauri")
    # Half a second at two a second: one token back, one request passes, the next does not.
    clock.now += 0.5
    assert [throttle.admit("kauri"), throttle.admit("kauri")] == [None, 1]
    # An hour of quiet refills the bucket to the burst, not to 7,200.
    clock.now += 3600
    assert [throttle.admit("kauri") for _ in range(5)] == [None, None, None, None, 1]


def test_a_slow_rate_says_how_many_seconds_until_a_token_is_back() -> None:
    throttle = PartyThrottle({"ops": ThrottleDefinition(rate_per_second=0.1, burst=1)}, Clock())
    assert [throttle.admit("ops"), throttle.admit("ops")] == [None, 10]


def test_each_party_has_a_bucket_of_its_own_and_a_client_with_no_plan_is_not_throttled() -> None:
    throttle = PartyThrottle({"kauri": TWO_A_SECOND, "tui": TWO_A_SECOND}, Clock())
    for _ in range(4):
        throttle.admit("kauri")
    assert throttle.admit("kauri") == 1
    assert throttle.admit("tui") is None
    assert all(throttle.admit("unplanned") is None for _ in range(100))


def test_every_party_type_has_a_usage_plan_throttle() -> None:
    assert set(PARTY_THROTTLES) == {party_type.value for party_type in PartyType}


def test_the_local_stack_throttles_each_party_as_aws_does_unless_scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARTY_THROTTLE_SCALE_VARIABLE, raising=False)
    assert configured_party_throttles() == PARTY_THROTTLES
    assert configured_party_throttles(100)["exporter"] == ThrottleDefinition(rate_per_second=500, burst=1000)
    monkeypatch.setenv(PARTY_THROTTLE_SCALE_VARIABLE, "0.5")
    assert configured_party_throttles()["ops"] == ThrottleDefinition(rate_per_second=2.5, burst=5)


@pytest.mark.parametrize("raw", ["fast", "0", "-1"])
def test_a_scale_that_is_not_a_positive_number_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(PARTY_THROTTLE_SCALE_VARIABLE, raw)
    with pytest.raises(ValueError, match=PARTY_THROTTLE_SCALE_VARIABLE if raw == "fast" else "above 0"):
        configured_party_throttles()
