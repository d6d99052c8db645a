"""The China Customs simulator's faults on their own: the settings, what each call uses up, what they count,
and how an injected failure reads to a sender."""

from __future__ import annotations

import json

import pytest

from infrastructure.local.china_customs.faults import (
    Arrival,
    Faults,
    FaultSettings,
    HangUp,
    InjectedCounts,
    InjectedFailure,
    InvalidFaults,
)
from infrastructure.local.china_customs.receiver import BusinessRefusal

pytestmark = pytest.mark.unit

A_MESSAGE = {"message_id": "msg-1"}


def test_failing_the_next_calls_uses_them_up_in_order() -> None:
    faults = Faults().fail_next(2, status=429, retry_after=7)

    taken = [faults.take_arrival().failure for _ in range(3)]

    assert taken == [InjectedFailure(429, 7), InjectedFailure(429, 7), None]
    assert faults.settings.fail_next == 0
    assert faults.injected == InjectedCounts(failed=2)


def test_a_drop_comes_before_a_failure_and_is_counted_as_both() -> None:
    faults = Faults().fail_next(1).drop_next(1)

    assert faults.take_arrival().failure == InjectedFailure(None, None)
    assert faults.take_arrival().failure == InjectedFailure(503, None)
    assert faults.injected == InjectedCounts(failed=2, dropped=1)


def test_a_call_is_held_back_and_failed_as_the_settings_said_when_it_arrived() -> None:
    faults = Faults().delay(2.0).fail_next(1, status=429)

    assert faults.take_arrival() == Arrival(delay_seconds=2.0, failure=InjectedFailure(429, None))
    assert faults.injected == InjectedCounts(failed=1, delayed=1)


def test_an_injected_failure_is_a_problem_with_retry_after_or_a_hang_up() -> None:
    throttled = InjectedFailure(429, 3).answer("injected failure")
    hang_up = InjectedFailure(None, 3).answer("injected drop")

    assert not isinstance(throttled, HangUp)
    assert throttled.status == 429
    assert ("Retry-After", "3") in throttled.headers
    assert json.loads(throttled.body)["type"] == "urn:cn-customs-simulator:problem:injected-failure"
    assert throttled.note == "injected failure"
    assert hang_up == HangUp("injected drop")


def test_a_failure_without_retry_after_says_nothing_about_when() -> None:
    answer = InjectedFailure(503, None).answer("injected failure")

    assert not isinstance(answer, HangUp)
    assert all(name != "Retry-After" for name, _ in answer.headers)


def test_the_same_seed_draws_the_same_failures() -> None:
    def draws(faults: Faults) -> list[bool]:
        return [faults.take_arrival().failure is not None for _ in range(40)]

    first = draws(Faults().fail_fraction(0.5, seed=2026))
    second = draws(Faults().fail_fraction(0.5, seed=2026))

    assert first == second
    assert 0 < sum(first) < 40


def test_a_delay_applies_to_its_fraction_of_calls_and_is_counted() -> None:
    faults = Faults().delay(0.25, fraction=0.5, seed=7)

    delays = [faults.take_arrival().delay_seconds for _ in range(20)]

    assert set(delays) == {0.0, 0.25}
    assert faults.injected.delayed == delays.count(0.25)


def test_rejections_are_business_refusals_of_the_next_new_messages() -> None:
    faults = Faults().reject_next(1, reason="quota exhausted", status=403)

    assert faults.take_rejection(A_MESSAGE) == BusinessRefusal(403, "quota exhausted")
    assert faults.take_rejection(A_MESSAGE) is None
    assert faults.injected.rejected == 1


def test_a_lost_answer_is_a_failure_or_a_hang_up_with_the_retry_after_in_force() -> None:
    faults = Faults().update(retry_after=5).accept_then_fail(1, status=500)

    assert faults.take_lost_answer() == InjectedFailure(500, 5)
    faults.accept_then_fail(1, drop=True)
    assert faults.take_lost_answer() == InjectedFailure(None, 5)
    assert faults.take_lost_answer() is None
    assert faults.injected == InjectedCounts(failed=2, dropped=1)


def test_clearing_keeps_the_counts_and_resetting_the_counts_keeps_the_faults() -> None:
    faults = Faults().fail_next(2)
    faults.take_arrival()

    faults.clear()
    assert faults.settings == FaultSettings()
    assert faults.injected.failed == 1

    faults.fail_next(1).reset_counts()
    assert faults.injected == InjectedCounts()
    assert faults.settings.fail_next == 1


@pytest.mark.parametrize(
    "document",
    [{"drop_next": -1}, {"delay_fraction": 1.5}, {"accept_then_fail_status": 404}, {"retry_after": -2}, {"seed": "x"}],
)
def test_settings_that_make_no_sense_are_refused_and_change_nothing(document: dict[str, object]) -> None:
    faults = Faults().fail_next(1)

    with pytest.raises(InvalidFaults):
        faults.update_from_json(document)

    assert faults.settings == FaultSettings(fail_next=1)


def test_a_setting_can_be_set_back_to_none() -> None:
    faults = Faults().fail_next(1, retry_after=9)

    assert faults.update_from_json({"retry_after": None}).retry_after is None


@pytest.mark.parametrize("status", [401, 403, 404, 405, 413, 415])
def test_fail_may_answer_that_a_configuration_is_wrong(status: int) -> None:
    assert FaultSettings.from_json({"fail_status": status}).fail_status == status


@pytest.mark.parametrize("status", [400, 418, 422, 302])
def test_fail_refuses_a_status_that_is_neither_transient_nor_a_configuration_error(status: int) -> None:
    with pytest.raises(InvalidFaults):
        FaultSettings.from_json({"fail_status": status})
