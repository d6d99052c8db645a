"""The past-due check through its function, against the table in moto (DESIGN.md §2): the scheduled event in,
undecided applications past their due time flagged once through the sparse index, the list out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infrastructure.local.functions import FunctionSet
from jevs.adapters.kms_signer import KmsSigner
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.history import EventType, statement_bytes
from jevs.domain.registrations import RegistrationKind, new_id
from jevs.resources import SIGNING_KEY
from tests.factories import LambdaContext, application_payload

pytestmark = pytest.mark.integration

NZBN = "9429041234563"


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "ap-southeast-2",
        "resources": ["arn:aws:events:ap-southeast-2:123456789012:rule/jevs-past-due"],
        "detail": {},
    }


def lodged(
    records: TableUnitOfWork, *, due_in: timedelta, status: ApplicationStatus = ApplicationStatus.SUBMITTED
) -> Application:
    now = datetime.now(UTC)
    payload = application_payload(new_id(RegistrationKind.SIGNATORY, NZBN), [new_id(RegistrationKind.GOODS, NZBN)])
    decided = status is not ApplicationStatus.SUBMITTED
    application = Application(
        id=new_id(RegistrationKind.APPLICATION, NZBN),
        exporter=f"exp-{NZBN}",
        exporter_business_number=NZBN,
        issuing_body="akl-chamber",
        status=status,
        lodged_at=now + due_in - timedelta(days=1),
        due_at=now + due_in,
        application=ApplicationLodgement.model_validate(payload),
        applicant_email="aroha.ngata@kauri-dairy.example.nz",
        decided_at=now if decided else None,
        decided_by="akl-chamber" if decided else None,
    )
    records.applications.add(application.lodged())
    records.commit()
    return application


def run(functions: FunctionSet) -> dict[str, Any]:
    result: dict[str, Any] = functions.overseer(scheduled_event(), LambdaContext("jevs-overseer"))
    return result


def test_undecided_applications_past_due_are_flagged_once_and_listed(
    functions: FunctionSet, records: TableUnitOfWork
) -> None:
    late = lodged(records, due_in=-timedelta(hours=2))
    later = lodged(records, due_in=-timedelta(minutes=10))
    lodged(records, due_in=timedelta(hours=3))  # not due yet
    lodged(records, due_in=-timedelta(hours=5), status=ApplicationStatus.CERTIFIED)  # decided, late or not

    first = run(functions)
    second = run(functions)

    assert first["count"] == 2
    assert [entry["application"] for entry in first["past_due"]] == [late.id, later.id]  # most overdue first
    assert first["past_due"][0] == {
        "application": late.id,
        "issuing_body": "akl-chamber",
        "due_at": late.due_at.isoformat(),
    }
    assert first["flagged"] == [late.id, later.id]
    assert (second["count"], second["flagged"]) == (2, [])
    flagged = records.applications.get(late.id)
    assert flagged is not None
    assert flagged.flagged_past_due_at is not None
    assert flagged.status is ApplicationStatus.SUBMITTED
    # The flag is an event of the application's history, sealed by the overseer with JEVS's key.
    (flag,) = [e for e in records.applications.history(late.id) if e.type is EventType.APPLICATION_FLAGGED_PAST_DUE]
    assert flag.seal is not None
    assert (
        KmsSigner(boto3.client("kms"), SIGNING_KEY.alias).check_seal(statement_bytes(flag.seal_statement()), flag.seal)
        is None
    )


def test_with_nothing_past_due_the_check_reports_zero(functions: FunctionSet, records: TableUnitOfWork) -> None:
    lodged(records, due_in=timedelta(minutes=30))

    result = run(functions)

    assert (result["count"], result["past_due"], result["flagged"]) == (0, [], [])
