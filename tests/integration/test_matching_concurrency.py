"""Two declarations racing for one certificate (DESIGN.md §4): both matchers read the certificate unused, both
decide MATCHED, and the usage ledger's conditional write lets exactly one of them record it. The loser reads
again and is decided CERTIFICATE_ALREADY_USED. Runs on the real DynamoDB store, against moto."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from jevs.adapters.clock import SystemClock
from jevs.adapters.table.items import ledger_key
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus
from jevs.domain.messages import MatchDeclaration
from jevs.service.declarations import match_declaration
from tests.factories import ISSUING_BODY, NZ_CUSTOMS
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import lodge, submit_certificate
from tests.integration.racing import RacingTable, race

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def race_matchers(table: RacingTable, declaration_ids: list[str]) -> dict[str, DeclarationRecord]:
    def decide(declaration_id: str) -> DeclarationRecord:
        message = MatchDeclaration(declaration_id=declaration_id, certificate_number=NUMBER, created_at=NOW)
        return match_declaration(message, TableUnitOfWork(table, SystemClock()))

    decided = race([functools.partial(decide, declaration_id) for declaration_id in declaration_ids])
    return {record.id: record for record in decided}


def _ledger_read(key: tuple[str, str]) -> bool:
    return key == ledger_key(NUMBER)


def test_two_import_declarations_for_one_certificate_exactly_one_wins(
    call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    for number in ("223320261000000001", "223320261000000002"):
        assert lodge(call_api, declaration_number=number)["statusCode"] == 202
    table = RacingTable(racers=2, held_at=_ledger_read)

    decided = race_matchers(table, ["CNIM-223320261000000001", "CNIM-223320261000000002"])

    statuses = sorted(record.status for record in decided.values())
    assert statuses == sorted([DeclarationStatus.MATCHED, DeclarationStatus.CERTIFICATE_ALREADY_USED])
    # Both decided MATCHED from the same read: the ledger's condition, not luck, chose the winner.
    assert table.lost_races == 1
    winner = next(record for record in decided.values() if record.status is DeclarationStatus.MATCHED)
    ledger = records.ledgers.get(NUMBER)
    assert ledger is not None
    assert (ledger.used_by_declaration, ledger.revision) == (winner.id, 1)


def test_a_declaration_on_the_original_and_one_on_its_copy_at_the_same_moment_exactly_one_wins(
    call_api: ApiCall, records: TableUnitOfWork
) -> None:
    # Given a certificate whose original was lost and copied: the copy is its next version, under its number
    submit_certificate(call_api)
    copied = call_api(
        "POST",
        f"/v1/certificates/{NUMBER}/certified-true-copy",
        body={"reason": "Original lost in transit"},
        client_id=ISSUING_BODY,
        headers={"Idempotency-Key": "copy"},
    )
    assert copied["statusCode"] == 201
    # When two import declarations, one presenting the original and one the copy, are decided at once
    for number in ("223320261000000001", "223320261000000002"):
        assert lodge(call_api, declaration_number=number)["statusCode"] == 202
    table = RacingTable(racers=2, held_at=_ledger_read)

    decided = race_matchers(table, ["CNIM-223320261000000001", "CNIM-223320261000000002"])

    # Then exactly one matches: the original and its copy share one usage, written under one condition
    statuses = sorted(record.status for record in decided.values())
    assert statuses == sorted([DeclarationStatus.MATCHED, DeclarationStatus.CERTIFICATE_ALREADY_USED])
    assert table.lost_races == 1
    certificate = records.certificates.get(NUMBER)
    assert certificate is not None
    assert (certificate.version, certificate.usage.value) == (2, "USED")


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
    table = RacingTable(racers=2, held_at=_ledger_read)

    decided = race_matchers(table, ["NZEX-EX-A", "NZEX-EX-B"])

    statuses = sorted(record.status for record in decided.values())
    assert statuses == [DeclarationStatus.MATCHED, DeclarationStatus.MISMATCHED]
    loser = next(record for record in decided.values() if record.status is DeclarationStatus.MISMATCHED)
    assert loser.result is not None
    assert [(d.field, d.certificate_value) for d in loser.result.discrepancies] == [("quantity", "10000")]
    assert table.lost_races == 1
