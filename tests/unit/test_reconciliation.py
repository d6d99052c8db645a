"""Reconciliation of open work (``jevs.service.reconciliation``, DESIGN.md §6.1) over the records table in memory:
each kind is queued again only once past its own bound, then waits another bound; work finished is left alone, and
a message queued again is harmless to its consumer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jevs.domain.declarations import DeclarationContent, DeclarationStatus
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchAwaiting, MatchDeclaration
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.declarations import LodgeDeclaration, lodge_declaration, match_declaration
from jevs.service.outbox import publish
from jevs.service.reconciliation import OpenWorkReport, ReconcileOpenWork, reconcile_open_work
from jevs.service.unit_of_work import VersionKey
from tests.factories import CN_CUSTOMS, ISSUING_BODY, declaration_payload
from tests.fakes import FixedClock, MemoryRecords, Published
from tests.unit.support import RivalFirst, certificate, party

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
CN_ID = "CNIM-223320261000123456"
# 2026-12-06 in New Zealand: the example certificate (issued 2026-11-20) is current, the declaration dated 12-05.
NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
# The defaults of jevs.settings.ReconcilerSettings.
BOUNDS = ReconcileOpenWork(declarations=5 * MINUTE, documents=15 * MINUTE, outbox=5 * MINUTE, limit=200)


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords(FixedClock(NOW))


def submit(records: MemoryRecords) -> None:
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())


def lodge(records: MemoryRecords, declaration_number: str = "223320261000123456") -> str:
    content = DeclarationContent.model_validate(declaration_payload(declaration_number=declaration_number))
    return lodge_declaration(LodgeDeclaration(party(CN_CUSTOMS), content), records.uow()).declaration.id


def relay_everything(records: MemoryRecords) -> None:
    """The outbox relay on every record written so far: each published (to nowhere) and noted so."""
    for message in records.outgoing():
        publish(message, records.uow(), Published())


def run(
    records: MemoryRecords, published: Published | None = None, bounds: ReconcileOpenWork = BOUNDS
) -> OpenWorkReport:
    return reconcile_open_work(bounds, records.uow(), published or Published())


def nothing(report: OpenWorkReport) -> bool:
    return not (report.declarations or report.documents or report.outbox)


def test_each_kind_is_queued_again_once_past_its_own_bound_then_waits_another(records: MemoryRecords) -> None:
    # Given a certificate submitted and a declaration quoting it lodged, nothing relayed or consumed since
    submit(records)
    lodge(records)
    records.clock.advance(5 * MINUTE)
    # Then nothing has waited past its bound yet
    assert nothing(run(records))

    # When reconciliation runs past the declarations' and the outbox's bound
    records.clock.advance(SECOND)
    published = Published()
    report = run(records, published)
    # Then the declaration's MatchDeclaration and every outbox record are published again; the documents wait
    assert report.declarations == [f"{CN_ID}/declarations"]
    assert sorted(report.outbox) == sorted(message.message_id for message in records.outbox())
    assert report.documents == []
    kinds = sorted(type(message).__name__ for message in published.messages)
    assert kinds == sorted(["MatchDeclaration", "MatchDeclaration", "MakeDocuments", "DeliverToChina", "MatchAwaiting"])
    # And run again at once, it queues nothing: the declaration waits another bound, the outbox records are published
    assert nothing(run(records))

    # When the documents' bound has passed too
    records.clock.advance(10 * MINUTE)
    report = run(records, published := Published())
    # Then the version's documents are queued again, and the declaration, a bound after its last requeue, again
    assert report.documents == [f"{NUMBER}/v1/notifications"]
    assert published.messages[-1] == MakeDocuments(certificate_number=NUMBER, version=1, created_at=records.clock.now())
    assert report.declarations == [f"{CN_ID}/declarations"]
    assert report.outbox == []


def test_the_message_queued_again_for_a_declaration_is_the_one_its_lodging_wrote(records: MemoryRecords) -> None:
    lodge(records)
    records.clock.advance(BOUNDS.declarations + SECOND)
    published = Published()

    run(records, published, ReconcileOpenWork(BOUNDS.declarations, BOUNDS.documents, timedelta(days=1), 200))

    (lodging,) = [message for message in records.outbox() if isinstance(message, MatchDeclaration)]
    assert published.messages == [lodging]


def test_only_what_has_waited_past_its_bound_is_queued_again_oldest_first_up_to_the_limit(
    records: MemoryRecords,
) -> None:
    # Given three declarations lodged a minute apart, their outbox records relayed
    for serial in range(3):
        lodge(records, f"22332026100000000{serial}")
        records.clock.advance(MINUTE)
    relay_everything(records)
    # When reconciliation runs when the first two are past their bound, queuing at most one a run
    records.clock.advance(BOUNDS.declarations - 2 * MINUTE + SECOND)
    bounds = ReconcileOpenWork(BOUNDS.declarations, BOUNDS.documents, BOUNDS.outbox, limit=1)
    first, second, third = (run(records, bounds=bounds) for _ in range(3))
    # Then one run queues the oldest, the next the second, and the third is not due yet
    assert (first.declarations, second.declarations, third.declarations) == (
        ["CNIM-223320261000000000/declarations"],
        ["CNIM-223320261000000001/declarations"],
        [],
    )


def test_work_finished_is_not_queued_again(records: MemoryRecords) -> None:
    # Given a declaration matched, its outbox records relayed, and the version's documents made
    submit(records)
    declaration_id = lodge(records)
    relay_everything(records)
    match_declaration(
        MatchDeclaration(declaration_id=declaration_id, certificate_number=NUMBER, created_at=NOW), records.uow()
    )
    relay_everything(records)
    made = records.uow()
    made.certificates.documents_made(VersionKey(NUMBER, 1))
    made.commit()
    # When reconciliation runs long after every bound
    records.clock.advance(timedelta(days=1))
    # Then there is nothing to queue again
    assert nothing(run(records))


def test_a_declaration_decided_while_reconciliation_queued_it_again_stays_decided(records: MemoryRecords) -> None:
    submit(records)
    declaration_id = lodge(records)
    relay_everything(records)
    records.clock.advance(BOUNDS.declarations + SECOND)

    def matcher() -> None:
        message = MatchDeclaration(declaration_id=declaration_id, certificate_number=NUMBER, created_at=NOW)
        match_declaration(message, records.uow())

    # The matcher decides it between reconciliation's read and its note: the note is refused, nothing else
    report = reconcile_open_work(BOUNDS, RivalFirst(records, matcher), Published())

    assert report.declarations == [f"{CN_ID}/declarations"]
    decided = records.uow().declarations.get(declaration_id)
    assert decided is not None
    assert (decided.status, decided.decision) == (DeclarationStatus.MATCHED, 1)
    records.clock.advance(timedelta(days=1))
    assert run(records).declarations == []


def test_a_declaration_queued_again_after_its_first_message_was_only_late_is_decided_once(
    records: MemoryRecords,
) -> None:
    """Both copies reach the matcher: the second finds the revision decided and changes nothing."""
    submit(records)
    lodge(records)
    relay_everything(records)
    records.clock.advance(BOUNDS.declarations + SECOND)
    published = Published()
    run(records, published)
    (requeued,) = published.messages
    assert isinstance(requeued, MatchDeclaration)

    first = match_declaration(requeued, records.uow())
    second = match_declaration(requeued, records.uow())

    assert (first.status, first.decision) == (DeclarationStatus.MATCHED, 1)
    assert second == first
    results = [m for m in records.outbox() if isinstance(m, DeliverToChina) and m.declaration_id == CN_ID]
    assert len(results) == 1
    ledger = records.uow().ledgers.get(NUMBER)
    assert ledger is not None
    assert (ledger.used_by_declaration, ledger.revision) == (CN_ID, 1)


def test_an_outbox_record_never_relayed_is_published_on_its_channel_and_then_no_longer_open(
    records: MemoryRecords,
) -> None:
    submit(records)
    records.clock.advance(BOUNDS.outbox + SECOND)
    published = Published()

    report = run(records, published)

    assert sorted(report.outbox) == sorted(message.message_id for message in records.outbox())
    assert {type(message) for message in published.messages} == {MakeDocuments, DeliverToChina, MatchAwaiting}
    assert records.uow().outbox.unpublished_before(records.clock.now() + timedelta(days=1), 10) == []
