"""Two declarations racing for one certificate (DESIGN §4): both matchers read the certificate unused, both
decide MATCHED, and the usage ledger's conditional write lets exactly one of them record it. The loser reads
again and is decided CERTIFICATE_ALREADY_USED. Runs on the real DynamoDB store, against moto."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import boto3
import pytest

from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, UsageLedger
from jevs.domain.declaring import match_declaration
from jevs.domain.errors import RetryableFailure
from jevs.domain.records import MatchRecording
from jevs.resources import RECORDS_TABLE
from tests.factories import NZ_CUSTOMS
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import lodge, submit_certificate

pytestmark = pytest.mark.integration

T = TypeVar("T")


class RacingStore(DynamoCertificateStore):
    """The real store, with both matchers held after their first read of the ledger until both have read it,
    so their decisions are made from the same state. moto is not thread-safe, so each call to it is made under
    one lock: the race is in what each decision read, which is exactly what the conditions must catch."""

    def __init__(self, racers: int) -> None:
        super().__init__(boto3.client("dynamodb"), RECORDS_TABLE.name, SystemClock())
        self._both_read = threading.Barrier(racers, timeout=10)
        self._moto = threading.Lock()
        self._held: set[int] = set()
        self.lost_races = 0

    def _serially(self, call: Callable[[], T]) -> T:
        with self._moto:
            return call()

    def get_declaration(self, declaration_id: str) -> DeclarationRecord | None:
        return self._serially(lambda: super(RacingStore, self).get_declaration(declaration_id))

    def get_usage_ledger(self, root_number: str) -> UsageLedger | None:
        ledger = self._serially(lambda: super(RacingStore, self).get_usage_ledger(root_number))
        if threading.get_ident() not in self._held:
            self._held.add(threading.get_ident())
            self._both_read.wait()
        return ledger

    def record_match(self, recording: MatchRecording) -> None:
        try:
            self._serially(lambda: super(RacingStore, self).record_match(recording))
        except RetryableFailure:
            self.lost_races += 1
            raise


def race(store: RacingStore, declaration_ids: list[str]) -> dict[str, DeclarationRecord]:
    decided: dict[str, DeclarationRecord] = {}
    failures: list[BaseException] = []

    def decide(declaration_id: str) -> None:
        try:
            decided[declaration_id] = match_declaration(
                declaration_id, store=store, certificates=store, clock=SystemClock()
            )
        except BaseException as error:  # reported below: a thread's failure must fail the test
            failures.append(error)

    threads = [threading.Thread(target=decide, args=(declaration_id,)) for declaration_id in declaration_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    return decided


def test_two_import_declarations_for_one_certificate_exactly_one_wins(call_api: ApiCall) -> None:
    submit_certificate(call_api)
    for number in ("223320261000000001", "223320261000000002"):
        assert lodge(call_api, declaration_number=number)["statusCode"] == 202
    store = RacingStore(racers=2)

    decided = race(store, ["CNIM-223320261000000001", "CNIM-223320261000000002"])

    statuses = sorted(record.status for record in decided.values())
    assert statuses == sorted([DeclarationStatus.MATCHED, DeclarationStatus.CERTIFICATE_ALREADY_USED])
    # Both decided MATCHED from the same read: the ledger's condition, not luck, chose the winner.
    assert store.lost_races == 1
    winner = next(record for record in decided.values() if record.status is DeclarationStatus.MATCHED)
    ledger = DynamoCertificateStore.get_usage_ledger(store, "11.1234.12345")  # the plain read, not held
    assert ledger is not None
    assert (ledger.used_by_declaration, ledger.revision) == (winner.id, 1)


def test_two_export_entries_never_draw_more_than_the_certificate_certifies(call_api: ApiCall) -> None:
    submit_certificate(call_api)  # item 1: 25000 KGM
    for number in ("EX-A", "EX-B"):
        line = {
            "line_number": 1,
            "certificate_item_number": 1,
            "hs_code": "04022100000",
            "origin_country": "NZ",
            "quantity": {"value": "15000", "unit": "KGM"},
            "invoice_number": "INV-2026-0042",
        }
        assert lodge(call_api, client_id=NZ_CUSTOMS, declaration_number=number, lines=[line])["statusCode"] == 202
    store = RacingStore(racers=2)

    decided = race(store, ["NZEX-EX-A", "NZEX-EX-B"])

    statuses = sorted(record.status for record in decided.values())
    assert statuses == [DeclarationStatus.MATCHED, DeclarationStatus.MISMATCHED]
    loser = next(record for record in decided.values() if record.status is DeclarationStatus.MISMATCHED)
    assert loser.result is not None
    assert [(d.field, d.certificate_value) for d in loser.result.discrepancies] == [("quantity", "10000")]
    assert store.lost_races == 1
