"""Two certifications at once (issue 6): both read the issuing body's counter at the same value, and the
counter's conditional write lets one take the number; the other reads again and takes the next. Never the
same number, none skipped. Runs on the real DynamoDB table, against moto."""

from __future__ import annotations

import pytest

from jevs.adapters.clock import SystemClock
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.service.applications import DecideApplication, certify_application
from tests.factories import ISSUING_BODY, registered_clients, today_in_new_zealand
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import lodged_application
from tests.integration.racing import RacingTable, race

pytestmark = pytest.mark.integration


def test_two_certifications_at_once_never_get_the_same_number(call_api: ApiCall) -> None:
    applications = [lodged_application(call_api), lodged_application(call_api)]
    issuer = next(client.party for client in registered_clients() if client.client_id == ISSUING_BODY)
    table = RacingTable(racers=2, held_at=lambda key: key[0].startswith("COUNTER#"))

    def certify(application_id: str) -> str:
        uow = TableUnitOfWork(table, SystemClock())
        return certify_application(DecideApplication(issuer, application_id), uow).submitted.record.number

    numbers = race([lambda: certify(applications[0]), lambda: certify(applications[1])])

    year = today_in_new_zealand().year
    assert sorted(numbers) == [f"11.{year}.00001", f"11.{year}.00002"]
    # Both read the counter at 0: its condition, not luck, kept the numbers apart.
    assert table.lost_races == 1
