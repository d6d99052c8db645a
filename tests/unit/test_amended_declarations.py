"""Declarations after their first decision (DESIGN.md §3): amended by a new revision, decided again with what the
previous revision drew released in the same commit; and decided again, by themselves, when the certificate they
quoted before it existed is issued within 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from jevs.domain.declarations import (
    AmendedRevision,
    DeclarationContent,
    DeclarationStatus,
    LedgerSide,
    MatchResult,
)
from jevs.domain.messages import DeliverToChina, MatchAwaiting, MatchDeclaration
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.declarations import LodgeDeclaration, lodge_declaration, match_awaiting, match_declaration
from tests.factories import CN_CUSTOMS, ISSUING_BODY, NZ_CUSTOMS, declaration_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.matching_support import CN, NZ, ledger, lodged
from tests.unit.support import certificate, party

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
CN_ID = "CNIM-223320261000123456"
# 2026-12-06 in New Zealand: the example certificate (issued 2026-11-20) is current, the declaration dated 12-05.
NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)


def result(status: DeclarationStatus) -> MatchResult:
    return MatchResult(
        declaration_number="223320261000123456", certificate_number=NUMBER, status=status, decided_at=NOW
    )


# -- the ledger and the record ------------------------------------------------------------------------------------


def test_releasing_a_matched_revision_takes_off_what_it_drew_and_its_use() -> None:
    declaration = lodged(CN)
    amended = AmendedRevision(revision=1, content=declaration.content, result=result(DeclarationStatus.MATCHED))
    used = ledger(used_by=declaration.id, used_certificate=NUMBER, imported={1: "25000"})

    released = used.released(declaration.id, CN, amended)

    assert (released.used, released.drawn_quantity(LedgerSide.IMPORT, 1)) == (False, Decimal(0))
    assert released.revision == used.revision  # moved by the write that stores it, not here


def test_releasing_a_revision_that_did_not_match_takes_off_nothing() -> None:
    declaration = lodged(NZ)
    amended = AmendedRevision(revision=1, content=declaration.content, result=result(DeclarationStatus.MISMATCHED))
    drawn = ledger(export={1: "25000"})

    assert drawn.released(declaration.id, NZ, amended) == drawn


def test_releasing_leaves_another_declarations_use_alone() -> None:
    declaration = lodged(CN)
    amended = AmendedRevision(revision=1, content=declaration.content, result=result(DeclarationStatus.MATCHED))
    used = ledger(used_by="CNIM-OTHER", used_certificate=NUMBER, imported={1: "25000"})

    assert used.released(declaration.id, CN, amended).used_by_declaration == "CNIM-OTHER"


def test_an_amended_revision_is_received_again_and_keeps_what_to_release() -> None:
    decided = lodged(CN).decided(result(DeclarationStatus.MATCHED))
    content = DeclarationContent.model_validate(declaration_payload(declared_on="2026-12-06"))

    amended = decided.amended(content, "digest-2", NOW)

    assert (amended.revision, amended.status, amended.result, amended.decision) == (
        2,
        DeclarationStatus.RECEIVED,
        None,
        1,
    )
    assert amended.amends == AmendedRevision(revision=1, content=decided.content, result=decided.result)


# -- the use cases ----------------------------------------------------------------------------------------------


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords(FixedClock(NOW))


def lodge(records: MemoryRecords, client_id: str = CN_CUSTOMS, **overrides: object) -> str:
    content = DeclarationContent.model_validate(declaration_payload(**overrides))
    lodged_declaration = lodge_declaration(LodgeDeclaration(party(client_id), content), records.uow())
    return lodged_declaration.declaration.id


def decide(records: MemoryRecords, declaration_id: str) -> DeclarationStatus:
    message = MatchDeclaration(declaration_id=declaration_id, certificate_number=NUMBER, created_at=NOW)
    return match_declaration(message, records.uow()).status


def submit(records: MemoryRecords) -> None:
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())


def test_the_same_declaration_again_is_the_stored_one_and_other_content_its_next_revision(
    records: MemoryRecords,
) -> None:
    lodge(records)
    again = lodge_declaration(
        LodgeDeclaration(party(CN_CUSTOMS), DeclarationContent.model_validate(declaration_payload())), records.uow()
    )
    amended = lodge_declaration(
        LodgeDeclaration(
            party(CN_CUSTOMS), DeclarationContent.model_validate(declaration_payload(declared_on="2026-12-06"))
        ),
        records.uow(),
    )

    assert (again.created, again.declaration.revision) == (False, 1)
    assert (amended.created, amended.declaration.revision) == (True, 2)
    queued = sorted(m.revision for m in records.outbox() if isinstance(m, MatchDeclaration))
    assert queued == [1, 2]


def test_an_amended_export_entry_draws_what_it_now_declares_not_both(records: MemoryRecords) -> None:
    submit(records)
    line = {
        **declaration_payload()["lines"][0],
        "hs_code": "04022100000",
        "quantity": {"value": "15000", "unit": "KGM"},
    }
    entry = lodge(records, NZ_CUSTOMS, declaration_number="EX1", lines=[line])
    assert decide(records, entry) is DeclarationStatus.MATCHED

    lodge(
        records, NZ_CUSTOMS, declaration_number="EX1", lines=[{**line, "quantity": {"value": "20000", "unit": "KGM"}}]
    )
    assert decide(records, entry) is DeclarationStatus.MATCHED

    stored = records.uow().ledgers.get(NUMBER)
    assert stored is not None
    assert (stored.drawn_quantity(LedgerSide.EXPORT, 1), stored.revision) == (Decimal(20000), 2)


def test_a_declaration_waiting_for_its_certificate_is_decided_again_when_it_is_issued(records: MemoryRecords) -> None:
    lodge(records)
    assert decide(records, CN_ID) is DeclarationStatus.CERTIFICATE_NOT_FOUND

    submit(records)
    (decided,) = match_awaiting(MatchAwaiting(certificate_number=NUMBER, created_at=NOW), records.uow())

    assert (decided.status, decided.decision, decided.revision) == (DeclarationStatus.MATCHED, 2, 1)
    results = sorted(m.delivery_key for m in records.outbox() if isinstance(m, DeliverToChina) and m.declaration_id)
    assert results == [f"{CN_ID}/result/1", f"{CN_ID}/result/2"]


def test_a_declaration_waits_for_its_certificate_thirty_days_and_no_longer(records: MemoryRecords) -> None:
    lodge(records)
    decide(records, CN_ID)
    records.clock.advance(timedelta(days=30, minutes=1))

    submit(records)

    assert match_awaiting(MatchAwaiting(certificate_number=NUMBER, created_at=NOW), records.uow()) == []
    stored = records.uow().declarations.get(CN_ID)
    assert stored is not None
    assert stored.status is DeclarationStatus.CERTIFICATE_NOT_FOUND
