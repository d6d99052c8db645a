"""The past-due check of the one-working-day promise (DESIGN.md §2), ``flag_past_due`` of
``jevs.service.applications``, over the records table in memory at a fixed clock: which applications it flags,
which it reports, and what it leaves alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.new_zealand import NEW_ZEALAND
from jevs.domain.registrations import RegistrationKind, new_id
from jevs.service.applications import flag_past_due
from tests.factories import application_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import RivalFirst

pytestmark = pytest.mark.unit

NZBN = "9429041234563"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    return MemoryRecords(clock)


def stored(
    records: MemoryRecords,
    *,
    due_in: timedelta,
    status: ApplicationStatus = ApplicationStatus.SUBMITTED,
    flagged_at: datetime | None = None,
    zone: tzinfo = UTC,
) -> Application:
    """An application of the demo exporter lodged with the Auckland chamber, due ``due_in`` from now (written in
    ``zone``: lodgement writes it in New Zealand time, ``jevs.domain.working_days.due_at``)."""
    now = records.clock.now()
    due_at = (now + due_in).astimezone(zone)
    payload = application_payload(new_id(RegistrationKind.SIGNATORY, NZBN), [new_id(RegistrationKind.GOODS, NZBN)])
    decided = status is not ApplicationStatus.SUBMITTED
    application = Application(
        id=new_id(RegistrationKind.APPLICATION, NZBN),
        exporter=f"exp-{NZBN}",
        exporter_business_number=NZBN,
        issuing_body="akl-chamber",
        status=status,
        lodged_at=due_at - timedelta(days=1),
        due_at=due_at,
        application=ApplicationLodgement.model_validate(payload),
        applicant_email="aroha.ngata@kauri-dairy.example.nz",
        decided_at=now if decided else None,
        decided_by="akl-chamber" if decided else None,
        flagged_past_due_at=flagged_at,
    )
    lodged = application.lodged()
    uow = records.uow()
    uow.applications.add(lodged)
    uow.commit()
    return lodged.record


def stored_application(records: MemoryRecords, application_id: str) -> Application:
    found = records.uow().applications.get(application_id)
    assert found is not None
    return found


def test_an_application_undecided_past_its_due_time_is_flagged_and_reported(
    records: MemoryRecords, clock: FixedClock
) -> None:
    late = stored(records, due_in=-timedelta(minutes=5))

    report = flag_past_due(records.uow())

    assert report.checked_at == clock.now()
    assert [application.id for application in report.past_due] == [late.id]
    assert [application.id for application in report.newly_flagged] == [late.id]
    flagged = stored_application(records, late.id)
    assert flagged.flagged_past_due_at == clock.now()
    assert flagged.status is ApplicationStatus.SUBMITTED  # flagged, not decided: the issuing body still must
    assert report.count == 1


def test_an_application_not_yet_due_is_left_alone(records: MemoryRecords) -> None:
    on_time = stored(records, due_in=timedelta(minutes=5))

    report = flag_past_due(records.uow())

    assert (report.count, report.newly_flagged) == (0, ())
    assert stored_application(records, on_time.id).flagged_past_due_at is None


def test_an_application_flagged_before_is_still_reported_but_not_flagged_again(
    records: MemoryRecords, clock: FixedClock
) -> None:
    first_seen = clock.now() - timedelta(minutes=15)
    late = stored(records, due_in=-timedelta(hours=1), flagged_at=first_seen)
    writes = records.table.commits

    report = flag_past_due(records.uow())

    assert [application.id for application in report.past_due] == [late.id]
    assert report.newly_flagged == ()
    assert records.table.commits == writes
    assert stored_application(records, late.id).flagged_past_due_at == first_seen


@pytest.mark.parametrize(
    "status", [ApplicationStatus.CERTIFIED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN]
)
def test_a_decided_application_is_never_past_due(
    records: MemoryRecords, clock: FixedClock, status: ApplicationStatus
) -> None:
    stored(records, due_in=-timedelta(hours=3), status=status)

    report = flag_past_due(records.uow())

    assert (report.count, report.newly_flagged) == (0, ())


def test_an_application_decided_between_the_read_and_the_flag_is_left_as_decided(records: MemoryRecords) -> None:
    # Given a late application the issuing body certifies between the check's read and its write
    late = stored(records, due_in=-timedelta(minutes=30))

    def certified_meanwhile() -> None:
        uow = records.uow()
        uow.applications.replace(late, late.certified("akl-chamber", uow.now(), "11.2026.00001"))
        uow.commit()

    # When the check runs
    report = flag_past_due(RivalFirst(records, certified_meanwhile))

    # Then it is neither reported nor flagged, and stays as decided
    assert (report.count, report.newly_flagged) == (0, ())
    decided = stored_application(records, late.id)
    assert decided.status is ApplicationStatus.CERTIFIED
    assert decided.flagged_past_due_at is None


def test_the_most_overdue_come_first_and_a_run_takes_at_most_its_limit(
    records: MemoryRecords, clock: FixedClock
) -> None:
    hours_late = [1, 5, 3]
    late = {hours: stored(records, due_in=-timedelta(hours=hours)) for hours in hours_late}

    first = flag_past_due(records.uow(), limit=2)
    clock.advance(timedelta(minutes=15))
    second = flag_past_due(records.uow(), limit=5)

    assert [application.id for application in first.newly_flagged] == [late[5].id, late[3].id]
    assert [application.id for application in second.newly_flagged] == [late[1].id]
    assert [application.id for application in second.past_due] == [late[5].id, late[3].id, late[1].id]


def test_an_application_due_in_new_zealand_time_is_flagged_once_past_it(records: MemoryRecords) -> None:
    # Given an application due 5 minutes ago, its due time in New Zealand time as lodgement computes it
    late = stored(records, due_in=-timedelta(minutes=5), zone=NEW_ZEALAND)
    # When the check runs
    report = flag_past_due(records.uow())
    # Then it is flagged: a due time is an instant, whatever offset it is written with
    assert [application.id for application in report.newly_flagged] == [late.id]
