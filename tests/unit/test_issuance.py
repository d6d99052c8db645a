"""Rules of issue that depend on dates (DESIGN §2): validity, retrospective issue, no future dating."""

from __future__ import annotations

from datetime import date

import pytest

from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.issuance import Validity, add_years, assess_validity, printed_remarks
from tests.unit.support import dated_certificate

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 25)


def issue_date_errors(raised: pytest.ExceptionInfo[RuleViolation]) -> list[FieldError]:
    return [error for error in raised.value.errors if error.field == "issue_date"]


def test_a_certificate_issued_before_departure_is_valid_for_one_year_from_issue() -> None:
    # Given a certificate issued two days before the goods leave
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2026, 11, 22))
    # When its validity is assessed
    validity = assess_validity(content, TODAY)
    # Then it is not retrospective and runs from the issue date to the day before its anniversary
    assert validity == Validity(retrospective=False, valid_from=date(2026, 11, 20), valid_until=date(2027, 11, 19))


def test_a_certificate_issued_on_the_day_of_departure_is_not_retrospective() -> None:
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2026, 11, 20))
    validity = assess_validity(content, TODAY)
    assert not validity.retrospective
    assert validity.valid_until == date(2027, 11, 19)


def test_a_certificate_issued_after_departure_is_retrospective_and_valid_for_one_year_from_shipment() -> None:
    # Given a certificate issued after the goods left
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2026, 6, 1))
    # When its validity is assessed
    validity = assess_validity(content, TODAY)
    # Then it is retrospective, valid from shipment until the day before shipment's anniversary
    assert validity == Validity(retrospective=True, valid_from=date(2026, 6, 1), valid_until=date(2027, 5, 31))


def test_a_retrospective_certificate_issued_the_day_before_the_shipment_anniversary_is_accepted() -> None:
    content = dated_certificate(issued=date(2026, 5, 31), departed=date(2025, 6, 1))
    validity = assess_validity(content, TODAY)
    assert validity.retrospective
    assert validity.covers(date(2026, 5, 31))


def test_a_retrospective_certificate_that_is_accepted_is_valid_on_its_issue_date() -> None:
    # Given a certificate issued on the first anniversary of shipment
    content = dated_certificate(issued=date(2026, 6, 1), departed=date(2025, 6, 1))
    # When its validity is assessed, Then it is either refused or valid on the day it is issued
    try:
        validity = assess_validity(content, TODAY)
    except RuleViolation:
        return
    assert validity.covers(content.issue_date)


@pytest.mark.parametrize(
    ("issued", "departed"),
    [(date(2026, 11, 20), date(2025, 11, 19)), (date(2026, 11, 20), date(2024, 1, 1))],
    ids=["a year and a day", "years"],
)
def test_a_retrospective_certificate_beyond_one_year_of_shipment_is_rejected_at_the_issue_date(
    issued: date, departed: date
) -> None:
    # Given a certificate issued more than a year after the goods left
    content = dated_certificate(issued=issued, departed=departed)
    # When its validity is assessed, Then the issue date is at fault
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    assert len(issue_date_errors(raised)) == 1
    assert "within one year of shipment" in issue_date_errors(raised)[0].message


def test_a_certificate_dated_after_today_in_new_zealand_is_rejected_at_the_issue_date() -> None:
    # Given a certificate dated tomorrow
    content = dated_certificate(issued=date(2026, 11, 26), departed=date(2026, 11, 30))
    # When its validity is assessed on today's New Zealand date, Then the issue date is at fault
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    assert [error.message for error in issue_date_errors(raised)] == [
        "a certificate cannot be dated after today (2026-11-25)"
    ]


def test_a_certificate_dated_today_is_accepted() -> None:
    content = dated_certificate(issued=TODAY, departed=date(2026, 11, 30))
    assert assess_validity(content, TODAY).valid_from == TODAY


def test_a_certificate_both_future_dated_and_too_late_reports_both_faults() -> None:
    # Given an issue date after today that is also over a year after shipment
    content = dated_certificate(issued=date(2026, 11, 26), departed=date(2025, 1, 1))
    # When its validity is assessed, Then both faults are reported on the issue date
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    assert len(issue_date_errors(raised)) == 2


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2026, 11, 20), 1, date(2027, 11, 20)),
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2024, 2, 29), -1, date(2023, 2, 28)),
        (date(2023, 2, 28), 1, date(2024, 2, 28)),
        (date(2023, 3, 1), 1, date(2024, 3, 1)),
        (date(2024, 12, 31), 1, date(2025, 12, 31)),
    ],
)
def test_add_years_keeps_the_calendar_day_and_maps_29_february_to_28_february(
    day: date, years: int, expected: date
) -> None:
    assert add_years(day, years) == expected


def test_a_certificate_issued_on_29_february_is_valid_until_27_february_next_year() -> None:
    # Given a certificate issued on 29 February before departure
    content = dated_certificate(issued=date(2024, 2, 29), departed=date(2024, 3, 1))
    # When its validity is assessed, Then it ends the day before 28 February, its anniversary in a common year
    assert assess_validity(content, date(2024, 3, 1)).valid_until == date(2025, 2, 27)


@pytest.mark.parametrize(
    ("issued", "accepted"),
    [(date(2025, 2, 27), True), (date(2025, 2, 28), False), (date(2025, 3, 1), False)],
    ids=["on 27 February", "on 28 February, the anniversary", "on 1 March"],
)
def test_goods_shipped_on_29_february_may_be_certified_retrospectively_until_27_february(
    issued: date, accepted: bool
) -> None:
    content = dated_certificate(issued=issued, departed=date(2024, 2, 29))
    try:
        assess_validity(content, date(2025, 6, 1))
    except RuleViolation:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize("typed", ["", "Replaces lost certificate"])
def test_printed_remarks_of_a_certificate_issued_in_time_are_what_was_typed(typed: str) -> None:
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2026, 11, 22), remarks=typed)
    assert printed_remarks(content, assess_validity(content, TODAY)) == typed


@pytest.mark.parametrize(
    ("typed", "printed"),
    [
        ("", "ISSUED RETROSPECTIVELY"),
        ("Replaces lost certificate", "ISSUED RETROSPECTIVELY. Replaces lost certificate"),
    ],
)
def test_printed_remarks_of_a_retrospective_certificate_start_with_the_system_marking(typed: str, printed: str) -> None:
    # Given a certificate issued after departure, with or without typed remarks
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2026, 11, 1), remarks=typed)
    # When box 6 is printed, Then the system's marking comes first
    assert printed_remarks(content, assess_validity(content, TODAY)) == printed
