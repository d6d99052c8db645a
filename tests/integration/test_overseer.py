"""The past-due check through its function, against the table in moto (DESIGN §2): the scheduled event in,
undecided applications past their due time flagged once through the sparse index, the list out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import boto3
import pytest

from functions.overseer.handler import handler as overseer
from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.records import IdempotencyRecord, StoredAnswer
from jevs.domain.registrations import RegistrationKind, new_id
from jevs.resources import RECORDS_TABLE
from tests.factories import LambdaContext, application_payload

pytestmark = pytest.mark.integration

NZBN = "9429041234563"
_keys = count(1)


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


def store() -> DynamoCertificateStore:
    return DynamoCertificateStore(boto3.client("dynamodb"), RECORDS_TABLE.name, SystemClock())


def lodged(*, due_in: timedelta, status: ApplicationStatus = ApplicationStatus.SUBMITTED) -> Application:
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
    store().add_registration(
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


def run() -> dict[str, Any]:
    result: dict[str, Any] = overseer(scheduled_event(), LambdaContext("jevs-overseer"))
    return result


def test_undecided_applications_past_due_are_flagged_once_and_listed(aws_resources: None) -> None:
    late = lodged(due_in=-timedelta(hours=2))
    later = lodged(due_in=-timedelta(minutes=10))
    lodged(due_in=timedelta(hours=3))  # not due yet
    lodged(due_in=-timedelta(hours=5), status=ApplicationStatus.CERTIFIED)  # decided, late or not

    first = run()
    second = run()

    assert first["count"] == 2
    assert [entry["application"] for entry in first["past_due"]] == [late.id, later.id]  # most overdue first
    assert first["past_due"][0] == {
        "application": late.id,
        "issuing_body": "akl-chamber",
        "due_at": late.due_at.isoformat(),
    }
    assert first["flagged"] == [late.id, later.id]
    assert (second["count"], second["flagged"]) == (2, [])
    flagged = store().get_application(late.id)
    assert flagged is not None
    assert flagged.flagged_past_due_at is not None
    assert flagged.status is ApplicationStatus.SUBMITTED


def test_with_nothing_past_due_the_check_reports_zero(aws_resources: None) -> None:
    lodged(due_in=timedelta(minutes=30))

    result = run()

    assert (result["count"], result["past_due"], result["flagged"]) == (0, [], [])
