"""New Zealand working days, and when an application for a certificate is due (DESIGN.md §2: "Applications are
processed within one working day (New Zealand working days, public holidays excluded)").

Rules, and why:

- A working day is a Monday to Friday that is not a New Zealand public holiday, either national or in the
  issuing body's region. Nothing else is excluded: the quiet days between Christmas and New Year are
  working days, because the commitment names public holidays and nothing more.
- Public holidays come from the ``holidays`` library, which follows the Holidays Act 2003: it carries the
  Mondayised days (Waitangi Day, ANZAC Day, Christmas, Boxing Day and the two New Year days observed on the
  next working weekday when they fall on a weekend), Matariki, the one-off days declared by statute, and
  each region's anniversary day, which is a public holiday in that region only.
- ``region`` is the issuing body's region as one of the library's New Zealand subdivision codes (``REGIONS``:
  the ISO 3166-2:NZ codes such as ``AUK``, ``WGN``, ``CAN``, ``STL``, and the sub-region ``South Canterbury``). ``None``
  means national holidays only. Anything else raises ``ValueError``, aliases such as ``Auckland``
  included: one spelling per region keeps the cache and the stored data unambiguous, and a typo must not
  silently drop the anniversary day.
- Every region, the Chatham Islands included, keeps New Zealand time (Pacific/Auckland): the system has one
  clock, and the Chatham Islands' 45 minutes would move a deadline by less than the working day it measures.
- An application lodged on a working day is due at the same New Zealand clock time on the next working
  day: one whole working day, whatever the hour of lodgement. One lodged on a non-working day (a weekend or
  a public holiday) starts its clock at 00:00 of the next working day and is due at 00:00 of the working day
  after that, so the whole first working day is allowed.
- Daylight saving: the due time is built from the New Zealand wall clock, so a lodgement at 10:00 on the
  Friday before the clocks change is due at 10:00 on the Monday, 71 or 73 hours later. A wall-clock time
  that does not exist (the spring-forward gap) resolves forward by the length of the gap (02:30 becomes
  03:30 NZDT); one that occurs twice (autumn) is its first occurrence. New Zealand changes its clocks on a
  Sunday, which is never a working day, so neither case arises for a due time today; the rule is there so
  that a change of law cannot produce a nonexistent datetime.
- The longest wait, from lodgement to due time: in 2025–2030 it is seven days in Southland, whose anniversary
  day is Easter Tuesday: lodged at 00:00 on Good Friday 19 April 2030, the clock starts on Wednesday 24
  April and, ANZAC Day being Thursday 25 April, the application is due at 00:00 on Friday 26 April.
  Nationally it is five days (lodged on New Year's Day 2025, due at 00:00 on Monday 6 January), five days
  and one hour elapsed when the Easter weekend ends daylight saving (2026); in later years such as 2057,
  when ANZAC Day is the Wednesday after Easter, it reaches six. Christmas and New Year, though they hold the
  most holidays, never make a wait longer than five days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from jevs.domain.new_zealand import NEW_ZEALAND

# The library's New Zealand subdivision codes (``holidays.list_supported_countries()["NZ"]``), the only accepted
# values of ``region`` besides ``None``. Written out rather than asked of the library: ``holidays`` takes a cold
# start's fifth of a second to import, and checking a region (every party registry has one) must not pay it. A
# unit test holds this list to the library's, so an upgrade that adds or renames a subdivision fails there.
REGIONS: frozenset[str] = frozenset(
    {
        "AUK", "BOP", "CAN", "CIT", "GIS", "HKB", "MBH", "MWT", "NSN", "NTL", "OTA", "STL", "South Canterbury", "TAS",
        "TKI", "WGN", "WKO", "WTC",
    }
)  # fmt: skip

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


def _check_region(region: str | None) -> None:
    if region is not None and region not in REGIONS:
        raise ValueError(f"unknown New Zealand region {region!r}: expected one of {sorted(REGIONS)} or None")


def _check_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")


# Built once per region and year: every due time consults them, and building a calendar costs far more
# than looking a date up. The key is a validated region, so the cache holds at most len(REGIONS) + 1 regions.
@lru_cache(maxsize=1024)
def _public_holidays(region: str | None, year: int) -> frozenset[date]:
    import holidays  # here: only a due time needs the calendar (see REGIONS)

    calendar = holidays.country_holidays("NZ", subdiv=region, years=year, observed=True)
    return frozenset(calendar.keys())


def is_working_day(day: date, region: str | None) -> bool:
    """Monday to Friday, and not a public holiday in New Zealand or in ``region``."""
    _check_region(region)
    return day.weekday() < _SATURDAY and day not in _public_holidays(region, day.year)


def next_working_day(day: date, region: str | None) -> date:
    """The first working day strictly after ``day``."""
    _check_region(region)
    candidate = day + _ONE_DAY
    while not is_working_day(candidate, region):
        candidate += _ONE_DAY
    return candidate


def new_zealand_datetime(day: date, clock: time) -> datetime:
    """The instant at which New Zealand's wall clock shows ``clock`` on ``day``.

    A time in the spring-forward gap resolves forward by the length of the gap; a time that occurs twice
    is its first occurrence. Whatever ``clock`` carries (a time zone, a fold) is ignored.
    """
    wall = datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=NEW_ZEALAND)
    # With fold=0, zoneinfo reads a gap time with the offset in force before the gap; the round trip through
    # UTC turns that into the real instant, shown on the clock as the time after the gap.
    return wall.astimezone(UTC).astimezone(NEW_ZEALAND)


def due_at(lodged_at: datetime, region: str | None) -> datetime:
    """When an application lodged at ``lodged_at`` (aware) must be decided, in New Zealand time.

    Lodged on a working day: the same clock time on the next working day. Lodged on a non-working day:
    00:00 of the second working day after it, as the clock starts at 00:00 of the first.
    """
    _check_aware(lodged_at, "lodged_at")
    _check_region(region)
    lodged = lodged_at.astimezone(NEW_ZEALAND)
    if is_working_day(lodged.date(), region):
        return new_zealand_datetime(next_working_day(lodged.date(), region), lodged.time())
    clock_starts = next_working_day(lodged.date(), region)
    return new_zealand_datetime(next_working_day(clock_starts, region), time(0, 0))


def working_days_late(due: datetime, decided_at: datetime, region: str | None) -> int:
    """0 when decided by ``due``; otherwise the number of working days by which the decision was late.

    Each further working day of grace moves the deadline to the same clock time on the next working day, the
    same step as ``due_at`` takes: a decision a minute late is one working day late, and so is one made on
    the following Saturday.
    """
    _check_aware(due, "due")
    _check_aware(decided_at, "decided_at")
    _check_region(region)
    # Compared in UTC: two datetimes that share a tzinfo compare by wall clock, which is wrong in the hour that
    # occurs twice.
    decided = decided_at.astimezone(UTC)
    deadline = due.astimezone(NEW_ZEALAND)
    clock = deadline.time()
    late = 0
    while decided > deadline.astimezone(UTC):
        deadline = new_zealand_datetime(next_working_day(deadline.date(), region), clock)
        late += 1
    return late
