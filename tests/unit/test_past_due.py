"""The past-due check of the one-working-day promise (DESIGN §2), with the in-memory store and a fixed clock:
which applications it flags, which it reports, and what it leaves alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import count

import pytest

from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.overseeing import flag_past_due
from jevs.domain.records import IdempotencyRecord, StoredAnswer
from jevs.domain.registrations import RegistrationKind, new_id
from tests.factories import application_payload
from tests.fakes import FixedClock, InMemoryCertificateStore

pytestmark = pytest.mark.unit

NZBN = "9429041234563"
_keys = count(1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> InMemoryCertificateStore:
    return InMemoryCertificateStore()


def stored(
    store: InMemoryCertificateStore,
    clock: FixedClock,
    *,
    due_in: timedelta,
    status: ApplicationStatus = ApplicationStatus.SUBMITTED,
    flagged_at: datetime | None = None,
) -> Application:
    """An application of the demo exporter lodged with the Auckland chamber, due ``due_in`` from now."""
    now = clock.now()
    due_at = now + due_in
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
    store.add_registration(
        application,
        IdempotencyRecord(
            party_id=f"exp-{NZBN}",
            key=f"k-{next(_keys)}",
            request_digest="0" * 64,
            answer=StoredAnswer(status_code=201, body={"id": application.id}),
            created_at=now,
            expires_at=now + timedelta(days=1),
        ),
    )
    return application


def test_an_application_undecided_past_its_due_time_is_flagged_and_reported(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    late = stored(store, clock, due_in=-timedelta(minutes=5))

    report = flag_past_due(store, clock)

    assert report.checked_at == clock.now()
    assert [application.id for application in report.past_due] == [late.id]
    assert [application.id for application in report.newly_flagged] == [late.id]
    flagged = store.get_application(late.id)
    assert flagged is not None
    assert flagged.flagged_past_due_at == clock.now()
    assert flagged.status is ApplicationStatus.SUBMITTED  # flagged, not decided: the issuing body still must
    assert report.count == 1


def test_an_application_not_yet_due_is_left_alone(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    on_time = stored(store, clock, due_in=timedelta(minutes=5))

    report = flag_past_due(store, clock)

    assert (report.count, report.newly_flagged) == (0, ())
    stored_now = store.get_application(on_time.id)
    assert stored_now is not None
    assert stored_now.flagged_past_due_at is None


def test_an_application_flagged_before_is_still_reported_but_not_flagged_again(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    first_seen = clock.now() - timedelta(minutes=15)
    late = stored(store, clock, due_in=-timedelta(hours=1), flagged_at=first_seen)
    writes = store.writes

    report = flag_past_due(store, clock)

    assert [application.id for application in report.past_due] == [late.id]
    assert report.newly_flagged == ()
    assert store.writes == writes
    again = store.get_application(late.id)
    assert again is not None
    assert again.flagged_past_due_at == first_seen


@pytest.mark.parametrize(
    "status", [ApplicationStatus.CERTIFIED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN]
)
def test_a_decided_application_is_never_past_due(
    store: InMemoryCertificateStore, clock: FixedClock, status: ApplicationStatus
) -> None:
    stored(store, clock, due_in=-timedelta(hours=3), status=status)

    report = flag_past_due(store, clock)

    assert (report.count, report.newly_flagged) == (0, ())


class _DecidedMeanwhile:
    """A store where the issuing body certifies each application between the check's read and its write."""

    def __init__(self, store: InMemoryCertificateStore) -> None:
        self.store = store

    def open_applications_due_before(self, moment: datetime, limit: int) -> Sequence[Application]:
        found = self.store.open_applications_due_before(moment, limit)
        for application in found:
            certified = application.model_copy(update={"status": ApplicationStatus.CERTIFIED})
            self.store.replace_registration(application, certified)
        return found

    def replace_registration(self, previous: Application, updated: Application) -> None:
        self.store.replace_registration(previous, updated)


def test_an_application_decided_between_the_read_and_the_flag_is_left_as_decided(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    late = stored(store, clock, due_in=-timedelta(minutes=30))

    report = flag_past_due(_DecidedMeanwhile(store), clock)

    assert (report.count, report.newly_flagged) == (0, ())
    decided = store.get_application(late.id)
    assert decided is not None
    assert decided.status is ApplicationStatus.CERTIFIED
    assert decided.flagged_past_due_at is None


def test_the_most_overdue_come_first_and_a_run_takes_at_most_its_limit(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    hours_late = [1, 5, 3]
    late = {hours: stored(store, clock, due_in=-timedelta(hours=hours)) for hours in hours_late}

    first = flag_past_due(store, clock, limit=2)
    clock.advance(timedelta(minutes=15))
    second = flag_past_due(store, clock, limit=5)

    assert [application.id for application in first.newly_flagged] == [late[5].id, late[3].id]
    assert [application.id for application in second.newly_flagged] == [late[1].id]
    assert [application.id for application in second.past_due] == [late[5].id, late[3].id, late[1].id]
