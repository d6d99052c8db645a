"""A declaration is its lodger's alone (issue 14, finding 6), in the use case: another party of the same customs
type that lodges its number is refused with a conflict that names no part of the record, and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jevs.domain.declarations import DeclarationContent
from jevs.domain.errors import Conflict, NotFound
from jevs.domain.parties import Party
from jevs.service.declarations import Lodged, LodgeDeclaration, lodge_declaration, read_declaration
from tests.factories import (
    CN_CUSTOMS,
    NZ_CUSTOMS,
    OTHER_CN_CUSTOMS,
    OTHER_NZ_CUSTOMS,
    SECOND_PARTIES,
    declaration_payload,
)
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import party

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
PAIRS = [
    pytest.param(CN_CUSTOMS, OTHER_CN_CUSTOMS, id="cn_customs"),
    pytest.param(NZ_CUSTOMS, OTHER_NZ_CUSTOMS, id="nz_customs"),
]


def second(client_id: str) -> Party:
    return next(client.party for client in SECOND_PARTIES if client.client_id == client_id)


def lodge(records: MemoryRecords, by: Party, **overrides: object) -> Lodged:
    content = DeclarationContent.model_validate(declaration_payload(**overrides))
    return lodge_declaration(LodgeDeclaration(by, content), records.uow())


@pytest.mark.parametrize(("lodger", "other"), PAIRS)
@pytest.mark.parametrize("amended", [False, True], ids=["same content", "amended"])
def test_another_party_of_the_same_type_lodging_the_number_gets_a_conflict_not_the_record(
    lodger: str, other: str, amended: bool
) -> None:
    records = MemoryRecords(FixedClock(NOW))
    first = lodge(records, party(lodger)).declaration
    commits = records.table.commits

    with pytest.raises(Conflict) as raised:
        lodge(records, second(other), **({"declared_on": "2026-12-06"} if amended else {}))

    assert raised.value.code == "declaration-number-exists"
    assert first.id not in raised.value.detail
    assert records.table.commits == commits
    assert read_declaration(party(lodger), first.id, records.uow()) == first


@pytest.mark.parametrize(("lodger", "other"), PAIRS)
def test_another_party_of_the_same_type_reads_nothing(lodger: str, other: str) -> None:
    records = MemoryRecords(FixedClock(NOW))
    first = lodge(records, party(lodger)).declaration

    with pytest.raises(NotFound):
        read_declaration(second(other), first.id, records.uow())
