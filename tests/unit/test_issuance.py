"""Rules of issue that depend on dates (DESIGN.md §2): validity, retrospective issue, no future dating."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    # Given a certificate issued retrospectively on the last day of the year from shipment, and submitted that day
    content = dated_certificate(issued=date(2026, 5, 31), departed=date(2025, 6, 1))
    validity = assess_validity(content, date(2026, 5, 31))
    # Then it is accepted, valid on that one day
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


# -- the validity period: not ended when submitted, and the goods depart within it --------------------------------

# Any day of the certificates a test makes up, and a number of days within one year of a day (never a full year).
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
WITHIN_A_YEAR = st.integers(min_value=0, max_value=364)


def faults(issued: date, departed: date, today: date) -> list[str]:
    """The fields named when a certificate with these dates is submitted ``today``; [] when it is accepted."""
    try:
        assess_validity(dated_certificate(issued=issued, departed=departed), today)
    except RuleViolation as violation:
        return [error.field for error in violation.errors]
    return []


@given(issued=DAYS, departs_after=WITHIN_A_YEAR, submitted_after=WITHIN_A_YEAR)
def test_a_certificate_submitted_and_shipped_within_a_year_of_issue_is_accepted(
    issued: date, departs_after: int, submitted_after: int
) -> None:
    # Given a certificate issued before the goods leave, within a year of both their departure and its submission
    departed, today = issued + timedelta(days=departs_after), issued + timedelta(days=submitted_after)
    # When it is submitted, Then it is accepted, valid on the day of departure and on the day of submission
    validity = assess_validity(dated_certificate(issued=issued, departed=departed), today)
    assert validity.covers(departed)
    assert validity.covers(today)


@given(departed=DAYS, issued_after=st.integers(min_value=1, max_value=364), data=st.data())
def test_a_retrospective_certificate_submitted_within_a_year_of_shipment_is_accepted(
    departed: date, issued_after: int, data: st.DataObject
) -> None:
    # Given a certificate issued after the goods left, and submitted, both within a year of shipment
    issued = departed + timedelta(days=issued_after)
    today = issued + timedelta(days=data.draw(st.integers(min_value=0, max_value=364 - issued_after)))
    # When it is submitted, Then it is accepted, valid from shipment and on the day of submission
    validity = assess_validity(dated_certificate(issued=issued, departed=departed), today)
    assert (validity.retrospective, validity.valid_from) == (True, departed)
    assert validity.covers(today)


@given(issued=DAYS, departs_after=WITHIN_A_YEAR, late_by=st.integers(min_value=0, max_value=3000))
def test_a_certificate_whose_year_from_issue_ended_before_submission_is_refused_at_the_issue_date(
    issued: date, departs_after: int, late_by: int
) -> None:
    # Given a certificate issued before the goods left, submitted on or after the anniversary of its issue
    departed = issued + timedelta(days=departs_after)
    today = add_years(issued, 1) + timedelta(days=late_by)
    # When it is submitted, Then the issue date is named: its validity has ended
    assert faults(issued, departed, today) == ["issue_date"]


@given(departed=DAYS, issued_after=st.integers(min_value=1, max_value=364), late_by=st.integers(0, 3000))
def test_a_retrospective_certificate_whose_year_from_shipment_ended_is_refused_at_both_dates(
    departed: date, issued_after: int, late_by: int
) -> None:
    # Given a certificate issued retrospectively within a year of shipment, submitted after that year ended
    issued = departed + timedelta(days=issued_after)
    today = add_years(departed, 1) + timedelta(days=late_by)
    # When it is submitted, Then the issue date and the departure date are named: its year runs from shipment
    assert faults(issued, departed, today) == ["issue_date", "transport.departure_date"]


@given(issued=DAYS, departs_later_by=st.integers(min_value=0, max_value=3000), submitted_after=WITHIN_A_YEAR)
def test_goods_departing_after_the_certificates_validity_are_refused_at_both_dates(
    issued: date, departs_later_by: int, submitted_after: int
) -> None:
    # Given a certificate submitted while valid, for goods leaving on or after the anniversary of its issue
    departed = add_years(issued, 1) + timedelta(days=departs_later_by)
    today = issued + timedelta(days=submitted_after)
    # When it is submitted, Then the issue date and the departure date are named: the goods depart too late
    assert faults(issued, departed, today) == ["issue_date", "transport.departure_date"]


def test_a_certificate_dated_2020_and_submitted_now_is_refused_with_the_day_its_validity_ended() -> None:
    # Given a certificate issued and shipped in 2020
    content = dated_certificate(issued=date(2020, 3, 2), departed=date(2020, 3, 5))
    # When it is submitted today, Then the issue date is named, with the day its validity ended
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    assert raised.value.errors == [
        FieldError(
            "issue_date",
            "the certificate's validity ended on 2021-03-01 (one year from issue on 2020-03-02), before today "
            "(2026-11-25): a certificate is submitted while it can still be used",
        )
    ]


def test_an_issue_date_two_years_before_departure_is_refused_at_both_dates() -> None:
    # Given a certificate issued two years before the goods leave (a year typed wrong, say)
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2028, 11, 22))
    # When it is submitted, Then the issue date and the departure date are named
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    message = (
        "the goods depart on 2028-11-22, after the certificate's validity ends on 2027-11-19 (one year from issue "
        "on 2026-11-20): they depart while the certificate is valid"
    )
    assert raised.value.errors == [FieldError("issue_date", message), FieldError("transport.departure_date", message)]


@pytest.mark.parametrize(
    ("departed", "today", "expected"),
    [
        (date(2027, 11, 19), TODAY, []),
        (date(2027, 11, 20), TODAY, ["issue_date", "transport.departure_date"]),
        (date(2026, 11, 22), date(2027, 11, 19), []),
        (date(2026, 11, 22), date(2027, 11, 20), ["issue_date"]),
    ],
    ids=["departs on its last day", "departs the day after", "submitted on its last day", "submitted the day after"],
)
def test_the_last_day_of_validity_is_still_valid(departed: date, today: date, expected: list[str]) -> None:
    # Given a certificate issued on 2026-11-20, valid until 2027-11-19
    assert faults(date(2026, 11, 20), departed, today) == expected


def test_a_retrospective_certificate_issued_too_late_is_not_refused_again_for_a_validity_it_never_had() -> None:
    # Given a certificate issued two years after shipment
    # When it is submitted, Then only the retrospective rule names the issue date
    assert faults(date(2026, 11, 20), date(2024, 11, 1), TODAY) == ["issue_date"]


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
        # Submitted the day it is issued: a day later, the one accepted would have expired.
        assess_validity(content, issued)
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
