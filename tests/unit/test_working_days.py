"""New Zealand working days and the due time of an application (DESIGN.md §2: processed within one working day).

Every expected date was checked against the ``holidays`` library and the official New Zealand calendar
(employment.govt.nz): Mondayised days, Easter, anniversary days and daylight saving changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevs.domain.new_zealand import NEW_ZEALAND
from jevs.domain.working_days import (
    REGIONS,
    due_at,
    is_working_day,
    new_zealand_datetime,
    next_working_day,
    working_days_late,
)

pytestmark = pytest.mark.unit


def at(text: str) -> datetime:
    """An aware datetime from ISO 8601 with its offset, e.g. ``2026-03-10T10:15+13:00``."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


@pytest.mark.parametrize(
    ("day", "region", "working"),
    [
        pytest.param(date(2026, 3, 10), None, True, id="an ordinary Tuesday"),
        pytest.param(date(2026, 3, 13), None, True, id="an ordinary Friday"),
        pytest.param(date(2026, 3, 14), None, False, id="Saturday"),
        pytest.param(date(2026, 3, 15), None, False, id="Sunday"),
        pytest.param(date(2026, 2, 6), None, False, id="Waitangi Day on a Friday (2026)"),
        pytest.param(date(2027, 2, 6), None, False, id="Waitangi Day on a Saturday (2027)"),
        pytest.param(date(2027, 2, 8), None, False, id="Waitangi Day Mondayised to 8 Feb 2027"),
        pytest.param(date(2027, 2, 5), None, True, id="the Friday before the Mondayised Waitangi Day"),
        pytest.param(date(2027, 3, 26), None, False, id="Good Friday 2027"),
        pytest.param(date(2027, 3, 29), None, False, id="Easter Monday 2027"),
        pytest.param(date(2027, 3, 30), None, True, id="Easter Tuesday 2027 nationally"),
        pytest.param(date(2027, 3, 30), "STL", False, id="Easter Tuesday 2027 in Southland (anniversary)"),
        pytest.param(date(2026, 4, 27), None, False, id="ANZAC Day Mondayised to 27 Apr 2026"),
        pytest.param(date(2027, 4, 26), None, False, id="ANZAC Day Mondayised to 26 Apr 2027"),
        pytest.param(date(2028, 4, 25), None, False, id="ANZAC Day on a Tuesday (2028)"),
        pytest.param(date(2026, 6, 1), None, False, id="King's Birthday 2026"),
        pytest.param(date(2026, 7, 10), None, False, id="Matariki 2026"),
        pytest.param(date(2026, 10, 26), None, False, id="Labour Day 2026"),
        pytest.param(date(2026, 12, 25), None, False, id="Christmas Day on a Friday (2026)"),
        pytest.param(date(2026, 12, 28), None, False, id="Boxing Day Mondayised to 28 Dec 2026"),
        pytest.param(date(2026, 12, 29), None, True, id="between Christmas and New Year is a working day"),
        pytest.param(date(2027, 1, 4), None, False, id="2 January Mondayised to 4 Jan 2027"),
        pytest.param(date(2027, 12, 27), None, False, id="Christmas Day Mondayised to 27 Dec 2027"),
        pytest.param(date(2027, 12, 28), None, False, id="Boxing Day Tuesdayised to 28 Dec 2027"),
        pytest.param(date(2027, 12, 29), None, True, id="29 Dec 2027"),
        pytest.param(date(2028, 1, 3), None, False, id="New Year's Day Mondayised to 3 Jan 2028"),
        pytest.param(date(2028, 1, 4), None, False, id="2 January Tuesdayised to 4 Jan 2028"),
        pytest.param(date(2028, 1, 5), None, True, id="5 Jan 2028"),
        pytest.param(date(2026, 1, 26), "AUK", False, id="Auckland Anniversary Day 2026 in Auckland"),
        pytest.param(date(2026, 1, 26), "CAN", True, id="Auckland Anniversary Day 2026 in Canterbury"),
        pytest.param(date(2026, 1, 26), None, True, id="Auckland Anniversary Day 2026 with no region"),
        pytest.param(date(2027, 2, 1), "AUK", False, id="Auckland Anniversary Day 2027 (Monday nearest 29 Jan)"),
        pytest.param(date(2026, 11, 13), "CAN", False, id="Canterbury show day 2026 in Canterbury"),
        pytest.param(date(2026, 11, 13), "AUK", True, id="Canterbury show day 2026 in Auckland"),
        pytest.param(date(2026, 1, 19), "WGN", False, id="Wellington Anniversary Day 2026 in Wellington"),
        pytest.param(date(2026, 1, 19), "AUK", True, id="Wellington Anniversary Day 2026 in Auckland"),
    ],
)
def test_a_working_day_is_a_weekday_that_is_not_a_public_holiday(day: date, region: str | None, working: bool) -> None:
    # Given a day and the issuing body's region, When asked, Then weekends and public holidays are not working days
    assert is_working_day(day, region) is working


@pytest.mark.parametrize(
    ("day", "region", "expected"),
    [
        pytest.param(date(2026, 3, 10), None, date(2026, 3, 11), id="strictly after a working day"),
        pytest.param(date(2026, 3, 13), None, date(2026, 3, 16), id="Friday to Monday"),
        pytest.param(date(2026, 3, 14), None, date(2026, 3, 16), id="Saturday to Monday"),
        pytest.param(date(2027, 12, 24), None, date(2027, 12, 29), id="over Christmas 2027"),
        pytest.param(date(2027, 12, 31), None, date(2028, 1, 5), id="over New Year 2028"),
        pytest.param(date(2026, 1, 23), "AUK", date(2026, 1, 27), id="over Auckland Anniversary Day"),
        pytest.param(date(2026, 1, 23), "CAN", date(2026, 1, 26), id="Auckland Anniversary Day in Canterbury"),
    ],
)
def test_the_next_working_day_skips_weekends_and_holidays(day: date, region: str | None, expected: date) -> None:
    # Given a day, When the next working day is asked for, Then it is the first working day after it
    assert next_working_day(day, region) == expected


@pytest.mark.parametrize(
    ("lodged", "region", "due"),
    [
        # On a working day: the same New Zealand clock time on the next working day.
        pytest.param("2026-03-10T10:15+13:00", None, "2026-03-11T10:15:00+13:00", id="an ordinary Tuesday"),
        pytest.param("2026-03-13T14:30+13:00", None, "2026-03-16T14:30:00+13:00", id="Friday to Monday"),
        pytest.param("2026-03-10T21:45+13:00", None, "2026-03-11T21:45:00+13:00", id="in the evening"),
        pytest.param("2026-03-10T08:45Z", None, "2026-03-11T21:45:00+13:00", id="in the evening, given in UTC"),
        pytest.param("2026-03-10T17:00+08:00", None, "2026-03-11T22:00:00+13:00", id="given in Beijing time"),
        # On a non-working day: the clock starts at 00:00 of the next working day, so 00:00 of the one after.
        pytest.param("2026-03-14T09:00+13:00", None, "2026-03-17T00:00:00+13:00", id="Saturday"),
        pytest.param("2026-03-15T23:59+13:00", None, "2026-03-17T00:00:00+13:00", id="late on Sunday"),
        pytest.param(
            "2026-03-13T11:30Z", None, "2026-03-17T00:00:00+13:00", id="Friday in UTC is already Saturday in NZ"
        ),
        pytest.param("2026-02-05T11:00+13:00", None, "2026-02-09T11:00:00+13:00", id="the day before Waitangi Day"),
        pytest.param("2026-02-06T10:00+13:00", None, "2026-02-10T00:00:00+13:00", id="on Waitangi Day"),
        pytest.param(
            "2027-02-05T15:00+13:00", None, "2027-02-09T15:00:00+13:00", id="before the Mondayised Waitangi Day"
        ),
        pytest.param("2027-03-25T16:00+13:00", None, "2027-03-30T16:00:00+13:00", id="over Easter 2027"),
        pytest.param("2027-03-26T10:00+13:00", None, "2027-03-31T00:00:00+13:00", id="on Good Friday 2027"),
        pytest.param("2027-03-25T16:00+13:00", "STL", "2027-03-31T16:00:00+13:00", id="over Easter in Southland"),
        pytest.param("2026-04-24T09:30+12:00", None, "2026-04-28T09:30:00+12:00", id="before the Mondayised ANZAC Day"),
        pytest.param("2026-04-25T10:00+12:00", None, "2026-04-29T00:00:00+12:00", id="on ANZAC Day, a Saturday"),
        pytest.param("2026-12-24T12:00+13:00", None, "2026-12-29T12:00:00+13:00", id="over Christmas 2026"),
        pytest.param("2026-12-31T12:00+13:00", None, "2027-01-05T12:00:00+13:00", id="over New Year 2027"),
        pytest.param("2027-12-24T17:00+13:00", None, "2027-12-29T17:00:00+13:00", id="over Christmas 2027"),
        pytest.param("2027-12-31T17:00+13:00", None, "2028-01-05T17:00:00+13:00", id="over New Year 2028"),
        pytest.param("2028-01-01T10:00+13:00", None, "2028-01-06T00:00:00+13:00", id="on New Year's Day 2028"),
        pytest.param("2026-01-23T10:00+13:00", "AUK", "2026-01-27T10:00:00+13:00", id="Auckland over its anniversary"),
        pytest.param("2026-01-23T10:00+13:00", "CAN", "2026-01-26T10:00:00+13:00", id="Canterbury on AKL anniversary"),
        pytest.param("2026-01-26T10:00+13:00", "AUK", "2026-01-28T00:00:00+13:00", id="Auckland on its anniversary"),
        pytest.param("2026-01-26T10:00+13:00", "CAN", "2026-01-27T10:00:00+13:00", id="Canterbury lodged that day"),
        pytest.param("2026-11-12T10:00+13:00", "CAN", "2026-11-16T10:00:00+13:00", id="Canterbury over show day"),
        pytest.param("2026-11-12T10:00+13:00", "AUK", "2026-11-13T10:00:00+13:00", id="Auckland on CHC show day"),
        pytest.param(
            "2026-01-16T10:00+13:00", "WGN", "2026-01-20T10:00:00+13:00", id="Wellington over its anniversary"
        ),
        pytest.param("2026-01-16T10:00+13:00", "AUK", "2026-01-19T10:00:00+13:00", id="Auckland on WLG anniversary"),
        # Daylight saving: the wall clock is kept, and the offset is the one in force on the due day.
        pytest.param("2026-09-25T10:00+12:00", None, "2026-09-28T10:00:00+13:00", id="Friday before spring forward"),
        pytest.param("2026-09-26T10:00+12:00", None, "2026-09-29T00:00:00+13:00", id="Saturday before spring forward"),
        pytest.param("2026-09-27T01:30+12:00", None, "2026-09-29T00:00:00+13:00", id="just before the gap"),
        pytest.param("2025-04-04T16:00+13:00", None, "2025-04-07T16:00:00+12:00", id="Friday before fall back"),
        pytest.param("2026-04-02T14:00+13:00", None, "2026-04-07T14:00:00+12:00", id="Easter that ends DST"),
        pytest.param("2026-04-02T14:00+13:00", "STL", "2026-04-08T14:00:00+12:00", id="the same in Southland"),
    ],
)
def test_an_application_is_due_one_new_zealand_working_day_after_lodgement(
    lodged: str, region: str | None, due: str
) -> None:
    # Given an application lodged at a moment, with an issuing body in a region
    # When its due time is computed
    result = due_at(at(lodged), region)
    # Then it is the expected New Zealand wall-clock time and offset, in Pacific/Auckland
    assert result.tzinfo is NEW_ZEALAND
    assert result.isoformat() == due


@pytest.mark.parametrize(
    ("lodged", "region", "wait"),
    [
        pytest.param(
            "2030-04-19T00:00+12:00", "STL", timedelta(days=7), id="Southland Good Friday 2030, ANZAC on Thursday"
        ),
        pytest.param("2025-01-01T00:00+13:00", None, timedelta(days=5), id="New Year's Day 2025"),
        pytest.param("2028-01-01T00:00+13:00", None, timedelta(days=5), id="New Year's Day 2028, Mondayised"),
        pytest.param("2026-04-02T00:00+13:00", None, timedelta(days=5, hours=1), id="Easter 2026, DST ends"),
        pytest.param("2026-04-03T00:00+13:00", "STL", timedelta(days=6, hours=1), id="Southland Easter 2026"),
    ],
)
def test_the_longest_waits_of_2025_to_2030(lodged: str, region: str | None, wait: timedelta) -> None:
    # Given a lodgement at the start of the longest runs of non-working days
    # When its due time is computed
    due = due_at(at(lodged), region)
    # Then the elapsed time is the bound the module documents
    assert due.astimezone(UTC) - at(lodged).astimezone(UTC) == wait


@pytest.mark.parametrize(
    ("day", "clock", "expected"),
    [
        pytest.param(date(2026, 3, 10), time(10, 15), "2026-03-10T10:15:00+13:00", id="an ordinary time"),
        pytest.param(date(2026, 9, 27), time(2, 30), "2026-09-27T03:30:00+13:00", id="in the gap: forward"),
        pytest.param(date(2026, 4, 5), time(2, 30), "2026-04-05T02:30:00+13:00", id="twice: the first"),
        pytest.param(date(2026, 4, 5), time(2, 30, fold=1), "2026-04-05T02:30:00+13:00", id="fold is ignored"),
        pytest.param(
            date(2026, 3, 10), time(10, 15, tzinfo=ZoneInfo("UTC")), "2026-03-10T10:15:00+13:00", id="zone ignored"
        ),
    ],
)
def test_a_new_zealand_wall_clock_time_is_a_real_instant(day: date, clock: time, expected: str) -> None:
    # Given a wall-clock time on a day, When it is made an instant, Then gaps resolve forward and repeats to the first
    assert new_zealand_datetime(day, clock).isoformat() == expected


@pytest.mark.parametrize(
    ("due", "decided", "region", "late"),
    [
        pytest.param("2026-03-11T10:15+13:00", "2026-03-11T09:00+13:00", None, 0, id="early"),
        pytest.param("2026-03-11T10:15+13:00", "2026-03-11T10:15+13:00", None, 0, id="at the due time"),
        pytest.param("2026-03-11T10:15+13:00", "2026-03-10T21:15Z", None, 0, id="at the due time, in UTC"),
        pytest.param("2026-03-11T10:15+13:00", "2026-03-11T10:16+13:00", None, 1, id="a minute late"),
        pytest.param("2026-03-11T10:15+13:00", "2026-03-12T10:15+13:00", None, 1, id="a working day late"),
        pytest.param("2026-03-11T10:15+13:00", "2026-03-12T10:16+13:00", None, 2, id="a working day and a minute"),
        pytest.param("2026-03-13T10:15+13:00", "2026-03-14T12:00+13:00", None, 1, id="on the Saturday after"),
        pytest.param("2026-03-13T10:15+13:00", "2026-03-16T10:15+13:00", None, 1, id="by Monday over the weekend"),
        pytest.param("2026-01-23T10:00+13:00", "2026-01-26T12:00+13:00", "AUK", 1, id="on Auckland's anniversary"),
        pytest.param("2026-01-23T10:00+13:00", "2026-01-26T12:00+13:00", "CAN", 2, id="the same day in Canterbury"),
        pytest.param("2026-03-17T00:00+13:00", "2026-03-17T09:00+13:00", None, 1, id="a midnight deadline"),
    ],
)
def test_a_late_decision_counts_the_working_days_it_is_late(
    due: str, decided: str, region: str | None, late: int
) -> None:
    # Given a due time and the moment of decision, When lateness is measured, Then it counts working days
    assert working_days_late(at(due), at(decided), region) == late


def test_the_library_regions_include_those_of_the_issuing_bodies() -> None:
    assert {"AUK", "WGN", "CAN", "STL", "OTA"} <= REGIONS


def test_the_regions_written_out_are_the_librarys_new_zealand_subdivisions() -> None:
    # REGIONS is written out so that checking a region needs no import of holidays; it must stay the library's list.
    import holidays

    assert frozenset(holidays.list_supported_countries(include_aliases=False)["NZ"]) == REGIONS


@pytest.mark.parametrize(
    "region",
    [
        pytest.param("XYZ", id="unknown code"),
        pytest.param("Auckland", id="an alias, not the code"),
        pytest.param("auk", id="lower case"),
        pytest.param("", id="empty"),
    ],
)
def test_an_unknown_region_is_refused_everywhere(region: str) -> None:
    # Given a region that is not one of the library's codes, When any function is called, Then it raises
    lodged = at("2026-03-10T10:15+13:00")
    with pytest.raises(ValueError, match="unknown New Zealand region"):
        is_working_day(date(2026, 3, 10), region)
    with pytest.raises(ValueError, match="unknown New Zealand region"):
        next_working_day(date(2026, 3, 10), region)
    with pytest.raises(ValueError, match="unknown New Zealand region"):
        due_at(lodged, region)
    with pytest.raises(ValueError, match="unknown New Zealand region"):
        working_days_late(lodged, lodged, region)


def test_a_naive_datetime_is_refused() -> None:
    # Given a lodgement time with no zone, When its due time is computed, Then it raises rather than guess
    naive = datetime(2026, 3, 10, 10, 15)  # noqa: DTZ001 - the naive datetime under test
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(naive, None)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_late(naive, at("2026-03-10T10:15+13:00"), None)


_REGIONS = st.sampled_from([None, "AUK", "WGN", "CAN", "STL"])
_LODGEMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive; the zone comes from timezones
    max_value=datetime(2030, 12, 31, 23, 59, 59, 999999),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, NEW_ZEALAND, ZoneInfo("Asia/Shanghai")]),
    allow_imaginary=False,
)


@settings(max_examples=300, deadline=None)
@given(lodged_at=_LODGEMENTS, region=_REGIONS)
def test_the_due_time_is_after_lodgement_on_a_working_day_within_the_bound(
    lodged_at: datetime, region: str | None
) -> None:
    # Given any lodgement in 2025–2030, in any zone, for an issuing body in one of a few regions
    lodged = lodged_at.astimezone(NEW_ZEALAND)
    lodged_on_a_working_day = is_working_day(lodged.date(), region)
    # When its due time is computed
    due = due_at(lodged_at, region)
    # Then it is in New Zealand time, strictly later, and on a working day
    assert due.tzinfo is NEW_ZEALAND
    assert due.astimezone(UTC) > lodged_at.astimezone(UTC)
    assert is_working_day(due.date(), region)
    # And it keeps the wall clock of a working-day lodgement, or is 00:00 after a non-working one
    assert due.time() == (lodged.time() if lodged_on_a_working_day else time(0, 0))
    # And exactly one whole working day lies between them when the clock started at midnight, none otherwise
    between = [
        lodged.date() + timedelta(days=offset)
        for offset in range(1, (due.date() - lodged.date()).days)
        if is_working_day(lodged.date() + timedelta(days=offset), region)
    ]
    assert len(between) == (0 if lodged_on_a_working_day else 1)
    # And it is at most the documented bound later: seven days in Southland (Easter Tuesday), else five and an hour
    bound = timedelta(days=7) if region == "STL" else timedelta(days=5, hours=1)
    assert due.astimezone(UTC) - lodged_at.astimezone(UTC) <= bound
