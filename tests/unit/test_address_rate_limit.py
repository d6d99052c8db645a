"""The local gateway's throttle of public verification per client address, as the deployed API's WAF rule does it:
a sliding window, counted per address, with the wait until the next request would pass."""

from __future__ import annotations

import pytest

from infrastructure.local.gateway import AddressRateLimit
from infrastructure.local.stack import VERIFY_RATE_LIMIT_VARIABLE, configured_verify_rate_limit
from jevs.resources import VERIFY_RATE_LIMIT, RateLimitDefinition

pytestmark = pytest.mark.unit

THREE_A_MINUTE = RateLimitDefinition(requests=3, window_seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_once_it_has_used_its_window_and_told_how_long_to_wait() -> None:
    clock = Clock()
    limit = AddressRateLimit(THREE_A_MINUTE, clock)
    admitted = []
    for _ in range(3):
        admitted.append(limit.admit("192.0.2.1"))
        clock.now += 10

    assert admitted == [None, None, None]
    # The first request was at 1000 s; now is 1030 s: it leaves the window at 1060 s.
    assert limit.admit("192.0.2.1") == 30


def test_another_address_has_a_window_of_its_own() -> None:
    limit = AddressRateLimit(THREE_A_MINUTE, Clock())
    for _ in range(3):
        limit.admit("192.0.2.1")

    assert limit.admit("192.0.2.1") is not None
    assert limit.admit("198.51.100.7") is None


def test_the_window_slides_one_request_at_a_time() -> None:
    clock = Clock()
    limit = AddressRateLimit(THREE_A_MINUTE, clock)
    for offset in (0, 20, 40):
        clock.now = 1000 + offset
        limit.admit("192.0.2.1")

    clock.now = 1060.5  # the first request has left the window, the second has not
    assert limit.admit("192.0.2.1") is None
    assert limit.admit("192.0.2.1") == 20  # the second leaves at 1080 s


def test_a_refused_request_does_not_count_against_the_address() -> None:
    clock = Clock()
    limit = AddressRateLimit(THREE_A_MINUTE, clock)
    for _ in range(3):
        limit.admit("192.0.2.1")
    for _ in range(50):
        limit.admit("192.0.2.1")

    clock.now += 60
    assert [limit.admit("192.0.2.1") for _ in range(3)] == [None, None, None]


def test_the_wait_is_at_least_a_second() -> None:
    clock = Clock()
    limit = AddressRateLimit(THREE_A_MINUTE, clock)
    for _ in range(3):
        limit.admit("192.0.2.1")

    clock.now += 59.9
    assert limit.admit("192.0.2.1") == 1


def test_the_deployed_limit_is_one_wafs_rate_based_rule_can_enforce() -> None:
    # WAF's rate-based rules count over 60, 120, 300 or 600 s and limit at 10 requests or more.
    assert VERIFY_RATE_LIMIT.window_seconds in (60, 120, 300, 600)
    assert VERIFY_RATE_LIMIT.requests >= 10


def test_the_local_stack_allows_ten_times_the_deployed_limit_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Locally every client (browser, demo, tests) is the one address 127.0.0.1.
    monkeypatch.delenv(VERIFY_RATE_LIMIT_VARIABLE, raising=False)

    assert configured_verify_rate_limit() == RateLimitDefinition(
        requests=10 * VERIFY_RATE_LIMIT.requests, window_seconds=VERIFY_RATE_LIMIT.window_seconds
    )


def test_the_local_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VERIFY_RATE_LIMIT_VARIABLE, "5")

    assert configured_verify_rate_limit().requests == 5


@pytest.mark.parametrize("raw", ["0", "-3", "many"])
def test_a_local_limit_that_is_no_number_of_requests_fails_loudly(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(VERIFY_RATE_LIMIT_VARIABLE, raw)

    with pytest.raises(ValueError, match=VERIFY_RATE_LIMIT_VARIABLE):
        configured_verify_rate_limit()
