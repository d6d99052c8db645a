"""One repository per aggregate over the records table: reads go to the table, writes are staged in the unit of
work as named writes (``model.Write``) and stored by its commit. Keys and items come from ``items``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TypeVar

from jevs.adapters.table import items
from jevs.adapters.table.listing import list_certificates
from jevs.adapters.table.model import (
    Absent,
    AllOf,
    AnyOf,
    Before,
    BeginsWith,
    Below,
    Between,
    Condition,
    Equals,
    Item,
    Key,
    Put,
    Query,
    Table,
    Unset,
    Update,
    Write,
    WriteName,
)
from jevs.adapters.table.outbox import OPEN_OUTBOX, OPEN_SINCE, OPEN_WORK, TableOutboxNotes, closed, outgoing_of
from jevs.domain.access import ListingConstraints
from jevs.domain.applications import Application
from jevs.domain.breaker import Circuit
from jevs.domain.declarations import DeclarationRecord, UsageLedger
from jevs.domain.delivery import Delivery
from jevs.domain.history import ChainEvent, HistoryEvent, statement_bytes
from jevs.domain.messages import DeliverToChina, OutboxMessage
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.outbox import Outgoing
from jevs.domain.preferences import PreferenceDecision
from jevs.domain.record_history import Recorded, RecordEvent
from jevs.domain.records import (
    CertificateChange,
    CertificateMatch,
    CertificateRecord,
    Issue,
    NumberCounter,
    StoredVersion,
)
from jevs.domain.recovery import KeptLetter, RedriveJob
from jevs.domain.registrations import GoodsRegistration, RegistrationKind, Signatory, exporter_of
from jevs.domain.verification import VerificationRequest, VerificationStatus
from jevs.resources import RECORDS_TABLE
from jevs.service.idempotency import IdempotencyRecord
from jevs.service.ports import Signer
from jevs.service.unit_of_work import (
    CertificatePage,
    InvalidCursor,
    RecordPage,
    VerificationPage,
    VersionKey,
    cursor_document,
)

Stage = Callable[[Write], None]
Now = Callable[[], datetime]
Event = TypeVar("Event", bound=ChainEvent)


class Sealing:
    """Seals each event as it is staged (DESIGN.md §6.4): JEVS's signature over the head the event makes, which
    whoever can only write to the table cannot make. Without a signer (tests of other concerns) events are stored
    unsealed, and a history read with JEVS's keys reports them."""

    def __init__(self, signer: Signer | None) -> None:
        self._signer = signer

    def __call__(self, event: Event) -> Event:
        if self._signer is None:
            return event
        seal = self._signer.sign_detached(statement_bytes(event.seal_statement()))
        return event.model_copy(update={"seal": seal})


def _all(table: Table, query: Query, limit: int | None = None) -> Iterator[Item]:
    """Every item a query finds, page after page (at most ``limit``)."""
    found = 0
    while True:
        page = table.query(query)
        for item in page.items:
            if limit is not None and found >= limit:
                return
            found += 1
            yield item
        if page.last_key is None:
            return
        query = Query(**{**vars(query), "start_after": page.last_key})


def _partition(table: Table, partition: str, prefix: str) -> Iterator[Item]:
    return _all(table, Query(partition=partition, sort=BeginsWith(prefix)))


def _put_new(kind: str, id_: str, item: Item) -> Put:
    return Put(WriteName(kind, id_), item, Absent())


def _open_before(table: Table, kind: str, moment: datetime, limit: int) -> Iterator[Item]:
    """Open work of a kind (``items.OPEN_*``) open since before ``moment``, oldest first."""
    query = Query(partition=kind, index="by-open-work", sort=Before(items.instant(moment)), limit=limit)
    return _all(table, query, limit)


def _reopened(name: WriteName, key: Key, at: datetime, still: Condition) -> Update:
    """The work is open since ``at`` (reconciliation queued it again), while ``still`` holds."""
    return Update(name, key, {OPEN_SINCE: items.instant(at)}, still)


class TableCertificates:
    def __init__(self, table: Table, stage: Stage, now: Now, sealed: Sealing) -> None:
        self._table, self._stage, self._now, self._sealed = table, stage, now, sealed

    def get(self, number: str) -> CertificateRecord | None:
        item = self._table.get(items.head_key(number))
        return items.certificate_of(item) if item else None

    def history(self, number: str) -> Sequence[HistoryEvent]:
        return [
            items.event_of(item)
            for item in _partition(self._table, items.certificate_partition(number), items.EVENT_PREFIX)
        ]

    def versions(self, number: str) -> Sequence[StoredVersion]:
        return [
            items.version_of(item)
            for item in _partition(self._table, items.certificate_partition(number), items.VERSION_PREFIX)
        ]

    def matches(self, number: str) -> Sequence[CertificateMatch]:
        found = [
            items.match_of(item)
            for item in _partition(self._table, items.certificate_partition(number), items.MATCH_PREFIX)
        ]
        return sorted(found, key=lambda match: match.result.decided_at)

    def preferences(self, number: str) -> Sequence[PreferenceDecision]:
        found = [
            items.preference_of(item)
            for item in _partition(self._table, items.certificate_partition(number), items.PREFERENCE_PREFIX)
        ]
        return sorted(found, key=lambda decision: decision.decided_at)

    def page(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        return list_certificates(self._table, constraints, limit, cursor, new_zealand_date(self._now()))

    def add(self, issue: Issue) -> None:
        record = issue.record
        self._stage(_put_new("certificate", record.number, items.head_item(record)))
        self._stage(_put_new("version", f"{record.number}/v{record.version}", items.version_item(record)))
        self._stage_event(issue.event)

    def change(self, change: CertificateChange) -> None:
        record = change.record
        self._stage(
            Put(
                WriteName("certificate", record.number),
                items.head_item(record),
                Equals("history_sequence", change.sequence_before),
            )
        )
        if change.new_version:
            self._stage(_put_new("version", f"{record.number}/v{record.version}", items.version_item(record)))
        self._stage_event(change.event)

    def _stage_event(self, event: HistoryEvent) -> None:
        item = items.event_item(self._sealed(event))
        self._stage(_put_new("event", f"{event.certificate_number}#{event.sequence}", item))

    def keep_match(self, number: str, match: CertificateMatch) -> None:
        self._stage(_put_new("match", f"{match.declaration_id}#{match.decision}", items.match_item(number, match)))

    def keep_preference(self, decision: PreferenceDecision) -> None:
        name = f"{decision.certificate_number}/{decision.declaration_id}"
        self._stage(_put_new("preference", name, items.preference_item(decision)))

    def undocumented_before(self, moment: datetime, limit: int) -> Sequence[VersionKey]:
        found = _open_before(self._table, items.OPEN_DOCUMENTS, moment, limit)
        return [VersionKey(*items.version_key_of(item)) for item in found]

    def documents_made(self, version: VersionKey) -> None:
        name = WriteName("documents", f"{version.number}/v{version.version}")
        key = items.version_key(version.number, version.version)
        self._stage(closed(name, key, Equals("version", version.version)))

    def documents_requeued(self, version: VersionKey, at: datetime) -> None:
        name = WriteName("requeued", f"{version.number}/v{version.version}")
        key = items.version_key(version.number, version.version)
        self._stage(_reopened(name, key, at, Equals(OPEN_WORK, items.OPEN_DOCUMENTS)))


class TableDeclarations:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, declaration_id: str) -> DeclarationRecord | None:
        item = self._table.get(items.declaration_key(declaration_id))
        return items.declaration_of(item) if item else None

    def add(self, declaration: DeclarationRecord) -> None:
        self._stage(_put_new("declaration", declaration.id, items.declaration_item(declaration)))
        self._stage(_put_new("revision", f"{declaration.id}#{declaration.revision}", items.revision_item(declaration)))

    def amend(self, read: DeclarationRecord, amended: DeclarationRecord) -> None:
        self._stage(Put(WriteName("declaration", amended.id), items.declaration_item(amended), _unchanged(read)))
        self._stage(_put_new("revision", f"{amended.id}#{amended.revision}", items.revision_item(amended)))

    def decide(self, read: DeclarationRecord, decided: DeclarationRecord) -> None:
        # A second matcher on the same message decides nothing twice; a new revision lodged meanwhile is decided
        # by its own message.
        self._stage(Put(WriteName("declaration", decided.id), items.declaration_item(decided), _unchanged(read)))

    def awaiting(self, certificate_number: str, now: datetime) -> Sequence[DeclarationRecord]:
        """Declarations decided before the certificate existed, still waiting for it at ``now``."""
        query = Query(
            partition=certificate_number,
            index="by-awaited-certificate",
            sort=Between(items.instant(now), "9999"),
        )
        return [items.declaration_of(item) for item in _all(self._table, query)]

    def unmatched_before(self, moment: datetime, limit: int) -> Sequence[DeclarationRecord]:
        return [items.declaration_of(item) for item in _open_before(self._table, items.OPEN_MATCHING, moment, limit)]

    def requeued(self, read: DeclarationRecord, at: datetime) -> None:
        # Still the revision read, still waiting: a decision or an amendment meanwhile has its own way forward.
        still = AllOf((Equals(OPEN_WORK, items.OPEN_MATCHING), Equals("revision", read.revision)))
        self._stage(_reopened(WriteName("requeued", read.id), items.declaration_key(read.id), at, still))


def _unchanged(read: DeclarationRecord) -> AllOf:
    """The declaration is still the revision read, decided as often as when read."""
    return AllOf((Equals("revision", read.revision), Equals("decision", read.decision)))


class TableUsageLedgers:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, root_number: str) -> UsageLedger | None:
        item = self._table.get(items.ledger_key(root_number))
        return items.ledger_of(item) if item else None

    def put(self, ledger: UsageLedger, *, revision_read: int) -> None:
        # Two declarations racing for one certificate (or for a certified true copy and its original) cannot
        # both draw on it, nor draw more than it certifies.
        condition = Absent() if revision_read == 0 else Equals("revision", revision_read)
        self._stage(Put(WriteName("ledger", ledger.root_number), items.ledger_item(ledger), condition))


_KIND_OF_ID = {kind.value: kind for kind in RegistrationKind}


def _hosted(table: Table, kind: RegistrationKind, record_id: str) -> items.HostedRecord | None:
    business_number = exporter_of(record_id)
    if business_number is None or not record_id.startswith(f"{kind.value}-"):
        return None
    item = table.get(items.hosted_key(kind, business_number, record_id))
    return items.hosted_of(kind, item) if item else None


def _hosted_page(
    table: Table, kind: RegistrationKind, index: str, partition: str, limit: int, cursor: str | None
) -> tuple[list[items.HostedRecord], str | None]:
    """A page of hosted records from one partition of ``index`` (oldest first), at most ``limit``, from ``cursor``:
    DynamoDB's own Limit and ExclusiveStartKey, so a page costs what it holds, however long the queue grows."""
    definition = RECORDS_TABLE.index(index)
    start_after = _decoded_cursor(cursor, definition.partition_key.name, definition.sort_key.name, partition)
    found: list[items.HostedRecord] = []
    while True:
        query = Query(partition=partition, index=index, limit=limit - len(found), start_after=start_after)
        page = table.query(query)
        found.extend(items.hosted_of(kind, item) for item in page.items)
        start_after = page.last_key
        if start_after is None or len(found) >= limit:
            return found, _encoded_cursor(start_after) if start_after is not None else None


def _of_exporter(
    table: Table, kind: RegistrationKind, business_number: str, limit: int, cursor: str | None
) -> tuple[list[items.HostedRecord], str | None]:
    partition = items.exporter_work(business_number, kind)
    return _hosted_page(table, kind, "by-exporter-work", partition, limit, cursor)


def _lodged_with(
    table: Table, kind: RegistrationKind, issuing_body: str, limit: int, cursor: str | None
) -> tuple[list[items.HostedRecord], str | None]:
    return _hosted_page(table, kind, "by-work-queue", items.work_queue(issuing_body, kind), limit, cursor)


def _history(table: Table, record_id: str) -> list[RecordEvent]:
    business_number = exporter_of(record_id)
    if business_number is None:
        return []
    partition = items.exporter_partition(business_number)
    return [items.record_event_of(item) for item in _partition(table, partition, items.record_events_prefix(record_id))]


HostedChange = Recorded[GoodsRegistration] | Recorded[Signatory] | Recorded[Application]


def _stage_new(stage: Stage, sealed: Sealing, kind: str, lodged: HostedChange) -> None:
    record = lodged.record
    stage(_put_new(kind, record.id, items.hosted_item(record)))
    _stage_event(stage, record, sealed(lodged.event))


def _stage_replace(
    stage: Stage, sealed: Sealing, kind: str, previous: items.HostedRecord, updated: HostedChange
) -> None:
    record = updated.record
    # Stored only over the revision it was read at: the same status and the same history head. A record lodged
    # before records kept a history was read with no head, and holds one as soon as anything is recorded of it (the
    # overseer's past-due flag starts its history): the write then needs the head still absent, or a decision read
    # before the flag would be stored over it, the flag lost, refused only by its event's place (#1, which the flag
    # took) under a name the use case does not decide again on.
    head = (
        Unset("history_sequence")
        if previous.history_head is None
        else Equals("history_sequence", updated.sequence_before)
    )
    condition = AllOf((Equals("status", previous.status.value), head))
    stage(Put(WriteName(kind, record.id), items.hosted_item(record), condition))
    _stage_event(stage, record, sealed(updated.event))


def _stage_event(stage: Stage, record: items.HostedRecord, event: RecordEvent) -> None:
    # Never overwritten: an event is written once, under its sequence number.
    item = items.record_event_item(record.exporter_business_number, event)
    stage(_put_new("event", f"{record.id}#{event.sequence}", item))


class TableRegistrations:
    def __init__(self, table: Table, stage: Stage, sealed: Sealing) -> None:
        self._table, self._stage, self._sealed = table, stage, sealed

    def get(self, registration_id: str) -> GoodsRegistration | Signatory | None:
        kind = _KIND_OF_ID.get(registration_id.split("-", 1)[0])
        if kind not in (RegistrationKind.GOODS, RegistrationKind.SIGNATORY):
            return None
        found = _hosted(self._table, kind, registration_id)
        return found if isinstance(found, GoodsRegistration | Signatory) else None

    def history(self, registration_id: str) -> Sequence[RecordEvent]:
        return _history(self._table, registration_id)

    def of_exporter(
        self,
        kind: type[GoodsRegistration] | type[Signatory],
        exporter_business_number: str,
        limit: int,
        cursor: str | None = None,
    ) -> RecordPage[GoodsRegistration | Signatory]:
        found, next_cursor = _of_exporter(
            self._table, items.HOSTED_KINDS[kind], exporter_business_number, limit, cursor
        )
        return RecordPage(
            [record for record in found if isinstance(record, GoodsRegistration | Signatory)], next_cursor
        )

    def lodged_with(
        self, kind: type[GoodsRegistration] | type[Signatory], issuing_body: str, limit: int, cursor: str | None = None
    ) -> RecordPage[GoodsRegistration | Signatory]:
        found, next_cursor = _lodged_with(self._table, items.HOSTED_KINDS[kind], issuing_body, limit, cursor)
        return RecordPage(
            [record for record in found if isinstance(record, GoodsRegistration | Signatory)], next_cursor
        )

    def add(self, lodged: Recorded[GoodsRegistration] | Recorded[Signatory]) -> None:
        _stage_new(self._stage, self._sealed, "registration", lodged)

    def replace(
        self, previous: GoodsRegistration | Signatory, updated: Recorded[GoodsRegistration] | Recorded[Signatory]
    ) -> None:
        _stage_replace(self._stage, self._sealed, "registration", previous, updated)


class TableApplications:
    def __init__(self, table: Table, stage: Stage, sealed: Sealing) -> None:
        self._table, self._stage, self._sealed = table, stage, sealed

    def get(self, application_id: str) -> Application | None:
        found = _hosted(self._table, RegistrationKind.APPLICATION, application_id)
        return found if isinstance(found, Application) else None

    def history(self, application_id: str) -> Sequence[RecordEvent]:
        return _history(self._table, application_id)

    def of_exporter(
        self, exporter_business_number: str, limit: int, cursor: str | None = None
    ) -> RecordPage[Application]:
        found, next_cursor = _of_exporter(
            self._table, RegistrationKind.APPLICATION, exporter_business_number, limit, cursor
        )
        return RecordPage([record for record in found if isinstance(record, Application)], next_cursor)

    def lodged_with(self, issuing_body: str, limit: int, cursor: str | None = None) -> RecordPage[Application]:
        found, next_cursor = _lodged_with(self._table, RegistrationKind.APPLICATION, issuing_body, limit, cursor)
        return RecordPage([record for record in found if isinstance(record, Application)], next_cursor)

    def open_due_before(self, moment: datetime, limit: int) -> Sequence[Application]:
        query = Query(partition=items.OPEN, index="by-open-application", sort=Before(items.instant(moment)))
        found = [items.hosted_of(RegistrationKind.APPLICATION, item) for item in _all(self._table, query, limit)]
        return [record for record in found if isinstance(record, Application)]

    def add(self, lodged: Recorded[Application]) -> None:
        _stage_new(self._stage, self._sealed, "application", lodged)

    def replace(self, previous: Application, updated: Recorded[Application]) -> None:
        _stage_replace(self._stage, self._sealed, "application", previous, updated)


class TableCounters:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, issuing_body: str, year: int) -> NumberCounter:
        item = self._table.get(items.counter_key(issuing_body, year))
        return NumberCounter(issuing_body=issuing_body, year=year, last=int(item["last"]) if item else 0)

    def advance(self, read: NumberCounter) -> NumberCounter:
        advanced = read.next()
        # Nobody allocated a number since it was read: two certifications never share one, none is skipped.
        condition = Absent() if read.last == 0 else Equals("last", read.last)
        name = WriteName("counter", f"{read.issuing_body}/{read.year}")
        self._stage(Put(name, items.counter_item(advanced), condition))
        return advanced


class TableDeliveries:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, message: DeliverToChina) -> Delivery | None:
        item = self._table.get(items.delivery_key(message))
        return items.delivery_of(item) if item else None

    def of_certificate(self, number: str) -> Sequence[Delivery]:
        return [
            items.delivery_of(item)
            for item in _partition(self._table, items.certificate_partition(number), items.DELIVERY_PREFIX)
        ]

    def pending_before(self, moment: datetime, limit: int) -> Sequence[Delivery]:
        query = Query(
            partition=items.PENDING, index="by-pending-delivery", sort=Before(items.instant(moment)), limit=limit
        )
        return [items.delivery_of(item) for item in _all(self._table, query, limit)]

    def add(self, delivery: Delivery) -> None:
        self._stage(_put_new("delivery", delivery.idempotency_key, items.delivery_item(delivery)))

    def replace(self, previous: Delivery, updated: Delivery) -> None:
        # Another dispatcher (a duplicate message) recorded an attempt since this one read the delivery.
        condition = AllOf((Equals("attempts", previous.attempts), Equals("state", previous.state.value)))
        self._stage(Put(WriteName("delivery", updated.idempotency_key), items.delivery_item(updated), condition))

    def requeued(self, delivery: Delivery, at: datetime) -> None:
        self._stage(self._pending_since("requeued", delivery, at))

    def waited(self, delivery: Delivery, at: datetime) -> None:
        self._stage(self._pending_since("waited", delivery, at))

    @staticmethod
    def _pending_since(kind: str, delivery: Delivery, at: datetime) -> Update:
        # Only while still pending: a delivery that completed meanwhile stays out of the index.
        return Update(
            WriteName(kind, delivery.idempotency_key),
            items.delivery_key(delivery.message),
            {"pending_since": items.instant(at)},
            Equals("pending_delivery", items.PENDING),
        )


class TableCircuits:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, destination: str) -> Circuit | None:
        item = self._table.get(items.circuit_key(destination))
        return items.circuit_of(item) if item else None

    def put(self, read: Circuit | None, updated: Circuit) -> None:
        # Every dispatcher reads and changes the one circuit: a change is stored only over what it read.
        condition = Absent() if read is None else Equals("revision", read.revision)
        self._stage(Put(WriteName("circuit", updated.destination), items.circuit_item(updated), condition))


class TableVerificationRequests:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, request_id: str) -> VerificationRequest | None:
        item = self._table.get(items.verification_key(request_id))
        return items.verification_of(item) if item else None

    def page(
        self, issuing_body: str | None, status: VerificationStatus | None, limit: int, cursor: str | None
    ) -> VerificationPage:
        if issuing_body is None:
            index, partition = "by-verification-request", items.EVERY_VERIFICATION
        else:
            index, partition = "by-work-queue", f"{issuing_body}#{items.VERIFICATION_QUEUE}"
        definition = RECORDS_TABLE.index(index)
        start_after = _decoded_cursor(cursor, definition.partition_key.name, definition.sort_key.name, partition)
        found: list[VerificationRequest] = []
        while True:
            query = Query(
                partition=partition,
                index=index,
                matching={"status": status.value} if status is not None else {},
                newest_first=True,
                limit=limit - len(found),
                start_after=start_after,
            )
            page = self._table.query(query)
            found.extend(items.verification_of(item) for item in page.items)
            start_after = page.last_key
            if start_after is None or len(found) >= limit:
                break
        return VerificationPage(found, _encoded_cursor(start_after) if start_after is not None else None)

    def unanswered_due_before(self, day: date, limit: int) -> Sequence[VerificationRequest]:
        query = Query(
            partition=items.UNANSWERED_VERIFICATION, index="by-open-application", sort=Before(day.isoformat())
        )
        return [items.verification_of(item) for item in _all(self._table, query, limit)]

    def add(self, request: VerificationRequest) -> None:
        self._stage(_put_new("verification", request.id, items.verification_item(request)))

    def replace(self, read: VerificationRequest, updated: VerificationRequest) -> None:
        # Answered, closed or flagged by someone else since it was read: decided again on what is stored.
        name = WriteName("verification", updated.id)
        self._stage(Put(name, items.verification_item(updated), Equals("revision", read.revision)))


def _encoded_cursor(last_key: Item) -> str:
    document = json.dumps(last_key, separators=(",", ":"), sort_keys=True, default=str)
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def _decoded_cursor(cursor: str | None, partition_key: str, sort_key: str, partition: str) -> Item | None:
    """The key a cursor this listing issued starts after; ``InvalidCursor`` for any other."""
    if cursor is None:
        return None
    key = cursor_document(cursor)
    if (
        not isinstance(key, dict)
        or set(key) != {"pk", "sk", partition_key, sort_key}
        # DynamoDB refuses an empty key attribute with a ValidationException, which would be a 500.
        or not all(isinstance(value, str) and value for value in key.values())
        or key[partition_key] != partition
    ):
        raise InvalidCursor("the cursor belongs to another listing")
    return key


class TableRedrives:
    def __init__(self, table: Table, stage: Stage) -> None:
        self._table, self._stage = table, stage

    def get(self, job_id: str) -> RedriveJob | None:
        item = self._table.get(items.redrive_key(job_id))
        return items.redrive_of(item) if item else None

    def recent(self, limit: int) -> Sequence[RedriveJob]:
        query = Query(partition=items.REDRIVES, index="by-work-queue", newest_first=True, limit=limit)
        return [items.redrive_of(item) for item in _all(self._table, query, limit)]

    def running(self, limit: int) -> Sequence[RedriveJob]:
        query = Query(partition=items.REDRIVES, index="by-open-application", limit=limit)
        return [items.redrive_of(item) for item in _all(self._table, query, limit)]

    def kept(self, job_id: str) -> Sequence[KeptLetter]:
        return [
            items.kept_letter_of(item)
            for item in _partition(self._table, items.redrive_partition(job_id), items.LETTER_PREFIX)
        ]

    def add(self, job: RedriveJob) -> None:
        self._stage(_put_new("redrive", job.id, items.redrive_item(job)))

    def replace(self, read: RedriveJob, updated: RedriveJob) -> None:
        # Another run recorded a page of this job since it was read: this one stops working it.
        self._stage(
            Put(WriteName("redrive", updated.id), items.redrive_item(updated), Equals("revision", read.revision))
        )

    def keep(self, letter: KeptLetter) -> None:
        # The same letter kept again (its deletion lost to a crash) is the same item again.
        name = WriteName("letter", f"{letter.job_id}/{letter.message_id}")
        self._stage(Put(name, items.kept_letter_item(letter)))


class TableOutbox(TableOutboxNotes):
    def add(self, message: OutboxMessage) -> None:
        self._stage(_put_new("outbox", message.message_id, items.outbox_item(message)))

    def unpublished_before(self, moment: datetime, limit: int) -> Sequence[Outgoing]:
        found = _open_before(self._table, OPEN_OUTBOX, moment, limit)
        return [message for item in found if (message := outgoing_of(item)) is not None]


class TableAnswers:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, party_id: str, key: str) -> IdempotencyRecord | None:
        item = self._table.get(items.idempotency_key(party_id, key))
        return items.idempotency_record_of(item) if item else None

    @staticmethod
    def first(record: IdempotencyRecord) -> Write:
        """The write that stores a request's first answer: refused while a live record holds the key (one past
        its time to live may linger until DynamoDB deletes it, and counts as gone)."""
        free = AnyOf((Absent(), Below("expires_at", int(record.created_at.timestamp()) + 1)))
        return Put(WriteName("idempotency", f"{record.party_id}/{record.key}"), items.idempotency_item(record), free)
