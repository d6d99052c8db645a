"""Two certifications at once (issue 6): both read the issuing body's counter at the same value, and the
counter's conditional write lets one take the number; the other reads again and takes the next. Never the
same number, none skipped. Runs on the real DynamoDB store, against moto."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import boto3
import pytest

from functions.api.dependencies import dependencies
from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.domain.errors import RetryableFailure
from jevs.domain.hosted_issuing import certify_application
from jevs.domain.records import CertificateIssue, CertificateRecord, StoredAnswer
from jevs.resources import RECORDS_TABLE
from tests.factories import ISSUING_BODY, today_in_new_zealand
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import lodged_application

pytestmark = pytest.mark.integration

T = TypeVar("T")


class RacingStore(DynamoCertificateStore):
    """The real store; both certifications are held after their first read of the counter until both have read
    it. Calls to moto are made one at a time (moto is not thread-safe): the race is in what each read."""

    def __init__(self) -> None:
        super().__init__(boto3.client("dynamodb"), RECORDS_TABLE.name, SystemClock())
        self._both_read = threading.Barrier(2, timeout=10)
        self._moto = threading.RLock()
        self._held: set[int] = set()
        self.lost_races = 0

    def _serially(self, call: Callable[[], T]) -> T:
        with self._moto:
            return call()

    def last_serial(self, issuing_body: str, year: int) -> int:
        serial = self._serially(lambda: super(RacingStore, self).last_serial(issuing_body, year))
        if threading.get_ident() not in self._held:
            self._held.add(threading.get_ident())
            self._both_read.wait()
        return serial

    def create_certificate(self, issue: CertificateIssue) -> None:
        try:
            self._serially(lambda: super(RacingStore, self).create_certificate(issue))
        except RetryableFailure:
            self.lost_races += 1
            raise


def test_two_certifications_at_once_never_get_the_same_number(call_api: ApiCall) -> None:
    applications = [lodged_application(call_api), lodged_application(call_api)]
    issuer = dependencies().parties.party_for_client(ISSUING_BODY)
    assert issuer is not None
    store = RacingStore()
    numbers: list[str] = []
    failures: list[BaseException] = []

    def answer(record: CertificateRecord, created: bool) -> StoredAnswer:
        return StoredAnswer(status_code=201, body={"number": record.number})

    def certify(application_id: str) -> None:
        try:
            result = certify_application(
                party=issuer,
                application_id=application_id,
                idempotency_key=f"certify-{application_id}",
                store=store,
                clock=SystemClock(),
                answer_for=answer,
            )
            numbers.append(str(result.answer.body["number"]))
        except BaseException as error:  # reported below: a thread's failure must fail the test
            failures.append(error)

    threads = [threading.Thread(target=certify, args=(application_id,)) for application_id in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not failures, failures
    year = today_in_new_zealand().year
    assert sorted(numbers) == [f"11.{year}.00001", f"11.{year}.00002"]
    # Both read the counter at 0: its condition, not luck, kept the numbers apart.
    assert store.lost_races == 1
