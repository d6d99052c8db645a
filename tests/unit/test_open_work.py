"""Open work (DESIGN.md §6.1): what a commit leaves to be done asynchronously is marked in that very commit (an
outbox record until it is published, a declaration until it is matched, a version until its documents are made),
and whoever finishes the work clears the mark. Over the records table in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jevs.adapters.table import items
from jevs.adapters.table.outbox import OPEN_OUTBOX, OPEN_SINCE, OPEN_WORK
from jevs.domain.declarations import DeclarationContent, DeclarationStatus
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchAwaiting, MatchDeclaration
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.declarations import LodgeDeclaration, lodge_declaration, match_declaration, matching_message
from jevs.service.outbox import publish
from jevs.service.unit_of_work import VersionKey
from tests.factories import CN_CUSTOMS, ISSUING_BODY, declaration_payload
from tests.fakes import FixedClock, MemoryRecords, Published
from tests.unit.support import certificate, party

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
# 2026-12-06 in New Zealand: the example certificate (issued 2026-11-20) is current, the declaration dated 12-05.
NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords(FixedClock(NOW))


def submit(records: MemoryRecords) -> None:
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())


def lodge(records: MemoryRecords, **overrides: object) -> str:
    content = DeclarationContent.model_validate(declaration_payload(**overrides))
    return lodge_declaration(LodgeDeclaration(party(CN_CUSTOMS), content), records.uow()).declaration.id


def open_since(records: MemoryRecords, kind: str) -> list[str]:
    """When each item of a kind of open work has been open since, as stored."""
    return sorted(str(item[OPEN_SINCE]) for item in records.table.items() if item.get(OPEN_WORK) == kind)


def test_a_submission_marks_its_versions_documents_and_its_outbox_records_open_in_its_one_commit(
    records: MemoryRecords,
) -> None:
    submit(records)

    uow = records.uow()
    assert records.table.commits == 1
    assert uow.certificates.undocumented_before(LATER, 10) == [VersionKey(NUMBER, 1)]
    unpublished = uow.outbox.unpublished_before(LATER, 10)
    assert sorted(message.kind for message in unpublished) == sorted(
        kind.model_fields["kind"].default for kind in (MakeDocuments, DeliverToChina, MatchAwaiting)
    )
    # Each open since the change was stored.
    assert open_since(records, items.OPEN_DOCUMENTS) == [NOW.isoformat()]
    assert open_since(records, OPEN_OUTBOX) == [NOW.isoformat()] * 3
    assert uow.outbox.unpublished_before(NOW, 10) == []


def test_a_lodged_declaration_waits_to_be_matched_from_its_lodging_commit_until_decided(
    records: MemoryRecords,
) -> None:
    submit(records)
    commits = records.table.commits
    declaration_id = lodge(records)

    assert records.table.commits == commits + 1
    (waiting,) = records.uow().declarations.unmatched_before(LATER, 10)
    assert (waiting.id, waiting.status) == (declaration_id, DeclarationStatus.RECEIVED)

    match_declaration(matching_message(waiting), records.uow())

    assert records.uow().declarations.unmatched_before(LATER, 10) == []


def test_a_declaration_decided_before_its_certificate_exists_waits_in_its_own_index_not_as_open_work(
    records: MemoryRecords,
) -> None:
    """Matched again when the certificate is issued (by-awaited-certificate): reconciliation leaves it alone."""
    declaration_id = lodge(records)
    (waiting,) = records.uow().declarations.unmatched_before(LATER, 10)

    decided = match_declaration(matching_message(waiting), records.uow())

    assert decided.status is DeclarationStatus.CERTIFICATE_NOT_FOUND
    assert records.uow().declarations.unmatched_before(LATER, 10) == []
    assert [d.id for d in records.uow().declarations.awaiting(NUMBER, NOW)] == [declaration_id]


def test_an_amendment_waits_to_be_matched_since_it_was_lodged(records: MemoryRecords) -> None:
    submit(records)
    lodge(records)
    (first,) = records.uow().declarations.unmatched_before(LATER, 10)
    match_declaration(matching_message(first), records.uow())
    records.clock.advance(timedelta(hours=1))

    lodge(records, declared_on="2026-12-06")

    (amended,) = records.uow().declarations.unmatched_before(LATER, 10)
    assert (amended.revision, amended.received_at) == (2, NOW + timedelta(hours=1))
    assert open_since(records, items.OPEN_MATCHING) == [(NOW + timedelta(hours=1)).isoformat()]


def test_a_published_outbox_record_is_no_longer_open_and_publishing_it_again_is_harmless(
    records: MemoryRecords,
) -> None:
    lodge(records)
    (message,) = records.uow().outbox.unpublished_before(LATER, 10)
    assert message.kind == MatchDeclaration.model_fields["kind"].default
    published = Published()

    publish(message, records.uow(), published)
    publish(message, records.uow(), published)

    assert published.sent == [message, message]
    assert records.uow().outbox.unpublished_before(LATER, 10) == []
    assert records.outgoing() == [message]
