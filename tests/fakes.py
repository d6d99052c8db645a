"""In-memory stand-ins for the domain's ports, with the same all-or-nothing semantics as DynamoDB."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from jevs.domain.applications import Application
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, UsageLedger
from jevs.domain.delivery import Delivery, DeliveryState
from jevs.domain.errors import Conflict, RetryableFailure
from jevs.domain.history import HistoryEvent
from jevs.domain.ports import (
    CertificateNumberTaken,
    CertificatePage,
    DeclarationNumberTaken,
    HostedRecord,
    IdempotencyKeyTaken,
    InvalidCursor,
    ListingConstraints,
)
from jevs.domain.records import (
    CertificateIssue,
    CertificateMatch,
    CertificateRecord,
    DeclarationLodgement,
    IdempotencyRecord,
    MatchRecording,
    StoredVersion,
)
from jevs.domain.registrations import GoodsRegistration, RegistrationKind, Signatory


class FixedClock:
    def __init__(self, now: datetime = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class InMemoryCertificateStore:
    def __init__(self) -> None:
        self.records: dict[str, CertificateRecord] = {}
        self.versions: dict[str, list[StoredVersion]] = {}
        self.events: dict[str, list[HistoryEvent]] = {}
        self.outbox: list[object] = []
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.deliveries: dict[tuple[str, int], Delivery] = {}
        self.pending_since: dict[tuple[str, int], datetime] = {}
        self.declarations: dict[str, DeclarationRecord] = {}
        self.ledgers: dict[str, UsageLedger] = {}
        self.matches: dict[str, list[CertificateMatch]] = {}
        self.result_deliveries: dict[str, Delivery] = {}
        self.result_pending_since: dict[str, datetime] = {}
        self.hosted: dict[str, HostedRecord] = {}
        self.counters: dict[tuple[str, int], int] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def create_certificate(self, issue: CertificateIssue) -> None:
        with self._lock:
            key = (issue.idempotency.party_id, issue.idempotency.key)
            existing_key = self.idempotency.get(key)
            if existing_key and existing_key.expires_at > issue.idempotency.created_at:
                raise IdempotencyKeyTaken(existing_key)
            if issue.record.number in self.records:
                raise CertificateNumberTaken(self.records[issue.record.number])
            stored_application = self.hosted.get(issue.application.id) if issue.application is not None else None
            if issue.application is not None and not (
                isinstance(stored_application, Application) and stored_application.open
            ):
                raise Conflict("application-decided", f"{issue.application.id} was decided meanwhile")
            if issue.counter is not None:
                counter = (issue.counter.issuing_body, issue.counter.year)
                if self.counters.get(counter, 0) != issue.counter.previous:
                    raise RetryableFailure("another certification took the number")
                self.counters[counter] = issue.counter.last
            if issue.application is not None:
                self.hosted[issue.application.id] = issue.application
            self.writes += 1
            number = issue.record.number
            self.idempotency[key] = issue.idempotency
            self.records[number] = issue.record
            self.versions[number] = [
                StoredVersion(
                    version=issue.record.version, content_hash=issue.record.content_hash, content=issue.record.content
                )
            ]
            self.events[number] = [issue.event]
            self.outbox.extend(issue.outbox)
            for delivery in issue.deliveries:
                self.deliveries[(number, delivery.version)] = delivery
                self.pending_since[(number, delivery.version)] = delivery.updated_at

    # -- hosted issuing --------------------------------------------------------------------------

    def add_registration(self, record: HostedRecord, idempotency: IdempotencyRecord) -> None:
        with self._lock:
            key = (idempotency.party_id, idempotency.key)
            existing_key = self.idempotency.get(key)
            if existing_key and existing_key.expires_at > idempotency.created_at:
                raise IdempotencyKeyTaken(existing_key)
            self.writes += 1
            self.idempotency[key] = idempotency
            self.hosted[record.id] = record

    def replace_registration(self, previous: HostedRecord, updated: HostedRecord) -> None:
        with self._lock:
            if self.hosted[previous.id].status != previous.status:
                raise Conflict("already-decided", f"{previous.id} changed meanwhile")
            self.writes += 1
            self.hosted[updated.id] = updated

    def get_goods_registration(self, registration_id: str) -> GoodsRegistration | None:
        found = self.hosted.get(registration_id)
        return found if isinstance(found, GoodsRegistration) else None

    def get_signatory(self, signatory_id: str) -> Signatory | None:
        found = self.hosted.get(signatory_id)
        return found if isinstance(found, Signatory) else None

    def get_application(self, application_id: str) -> Application | None:
        found = self.hosted.get(application_id)
        return found if isinstance(found, Application) else None

    def exporter_records(self, exporter_business_number: str, kind: RegistrationKind) -> Sequence[object]:
        return [
            record
            for record in self.hosted.values()
            if record.exporter_business_number == exporter_business_number and record.id.startswith(f"{kind.value}-")
        ]

    def work_queue(self, issuing_body: str, kind: RegistrationKind) -> Sequence[object]:
        return [
            record
            for record in self.hosted.values()
            if record.issuing_body == issuing_body and record.id.startswith(f"{kind.value}-")
        ]

    def last_serial(self, issuing_body: str, year: int) -> int:
        return self.counters.get((issuing_body, year), 0)

    def open_applications_due_before(self, moment: datetime, limit: int) -> Sequence[Application]:
        due = [
            record
            for record in self.hosted.values()
            if isinstance(record, Application) and record.open and record.due_at < moment
        ]
        return sorted(due, key=lambda record: record.due_at)[:limit]

    def get_certificate(self, number: str) -> CertificateRecord | None:
        return self.records.get(number)

    def get_history(self, number: str) -> Sequence[HistoryEvent]:
        return list(self.events.get(number, []))

    def get_versions(self, number: str) -> Sequence[StoredVersion]:
        return list(self.versions.get(number, []))

    def list_certificates(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        def matches(record: CertificateRecord) -> bool:
            issued = record.content.issue_date
            return (
                constraints.issuing_body in (None, record.issuing_body)
                and constraints.exporter_business_number in (None, record.exporter_business_number)
                and constraints.importing_country in (None, record.importing_country)
                and constraints.status in (None, record.status)
                and (constraints.issued_from is None or issued >= constraints.issued_from)
                and (constraints.issued_to is None or issued <= constraints.issued_to)
            )

        ordered = sorted(
            (record for record in self.records.values() if matches(record)),
            key=lambda record: (record.content.issue_date, record.number),
            reverse=True,
        )
        try:
            start = int(cursor) if cursor else 0
        except ValueError:
            raise InvalidCursor(cursor) from None
        page = ordered[start : start + limit]
        following = start + limit
        return CertificatePage(page, str(following) if following < len(ordered) else None)

    def get_delivery(self, number: str, version: int) -> Delivery | None:
        return self.deliveries.get((number, version))

    def get_result_delivery(self, declaration_id: str) -> Delivery | None:
        return self.result_deliveries.get(declaration_id)

    # -- declarations ----------------------------------------------------------------------------

    def lodge_declaration(self, lodgement: DeclarationLodgement) -> None:
        with self._lock:
            key = (lodgement.idempotency.party_id, lodgement.idempotency.key)
            existing_key = self.idempotency.get(key)
            if existing_key and existing_key.expires_at > lodgement.idempotency.created_at:
                raise IdempotencyKeyTaken(existing_key)
            if lodgement.declaration.id in self.declarations:
                raise DeclarationNumberTaken(self.declarations[lodgement.declaration.id])
            self.writes += 1
            self.idempotency[key] = lodgement.idempotency
            self.declarations[lodgement.declaration.id] = lodgement.declaration
            self.outbox.append(lodgement.outbox)

    def get_declaration(self, declaration_id: str) -> DeclarationRecord | None:
        return self.declarations.get(declaration_id)

    def get_usage_ledger(self, root_number: str) -> UsageLedger | None:
        return self.ledgers.get(root_number)

    def record_match(self, recording: MatchRecording) -> None:
        with self._lock:
            declaration = recording.declaration
            if self.declarations[declaration.id].status is not DeclarationStatus.RECEIVED:
                raise RetryableFailure("the declaration was decided meanwhile")
            if recording.certificate is not None:
                record, event, _ = recording.certificate
                if self.records[record.number].history_head.sequence != event.sequence - 1:
                    raise RetryableFailure("the history changed meanwhile")
            if recording.ledger is not None:
                stored = self.ledgers.get(recording.ledger.root_number)
                if (stored.revision if stored else 0) != recording.ledger_revision_read:
                    raise RetryableFailure("the ledger changed meanwhile")
            self.writes += 1
            self.declarations[declaration.id] = declaration
            if recording.certificate is not None:
                record, event, match = recording.certificate
                self.records[record.number] = record
                self.events[record.number].append(event)
                self.matches.setdefault(record.number, []).append(match)
            if recording.ledger is not None:
                self.ledgers[recording.ledger.root_number] = recording.ledger
            self.outbox.extend(recording.outbox)
            for delivery in recording.deliveries:
                assert delivery.declaration_id is not None
                self.result_deliveries[delivery.declaration_id] = delivery
                self.result_pending_since[delivery.declaration_id] = delivery.updated_at

    def get_certificate_matches(self, number: str) -> Sequence[CertificateMatch]:
        return list(self.matches.get(number, []))

    def get_deliveries(self, number: str) -> Sequence[Delivery]:
        return [delivery for (owner, _), delivery in sorted(self.deliveries.items()) if owner == number]

    def record_delivery(
        self, previous: Delivery, delivery: Delivery, change: tuple[CertificateRecord, HistoryEvent] | None
    ) -> None:
        with self._lock:
            if delivery.declaration_id is not None:
                stored_result = self.result_deliveries[delivery.declaration_id]
                if (stored_result.attempts, stored_result.state) != (previous.attempts, previous.state):
                    raise RetryableFailure("the delivery changed meanwhile")
                self.result_deliveries[delivery.declaration_id] = delivery
                self.result_pending_since[delivery.declaration_id] = delivery.updated_at
                return
            key = (delivery.certificate_number, delivery.version)
            stored = self.deliveries[key]
            if (stored.attempts, stored.state) != (previous.attempts, previous.state):
                raise RetryableFailure("the delivery changed meanwhile")
            if change is not None:
                record, event = change
                if self.records[record.number].history_head.sequence != event.sequence - 1:
                    raise RetryableFailure("the history changed meanwhile")
                self.records[record.number] = record
                self.events[record.number].append(event)
            self.deliveries[key] = delivery
            self.pending_since[key] = delivery.updated_at

    def pending_deliveries(self, pending_before: datetime, limit: int) -> Sequence[Delivery]:
        pending = [
            (self.pending_since[key], delivery)
            for key, delivery in self.deliveries.items()
            if delivery.state is DeliveryState.PENDING and self.pending_since[key] < pending_before
        ] + [
            (self.result_pending_since[key], delivery)
            for key, delivery in self.result_deliveries.items()
            if delivery.state is DeliveryState.PENDING and self.result_pending_since[key] < pending_before
        ]
        return [delivery for _, delivery in sorted(pending, key=lambda pair: pair[0])][:limit]

    def requeued(self, delivery: Delivery, at: datetime) -> None:
        if delivery.declaration_id is not None:
            if self.result_deliveries[delivery.declaration_id].state is DeliveryState.PENDING:
                self.result_pending_since[delivery.declaration_id] = at
            return
        key = (delivery.certificate_number, delivery.version)
        if self.deliveries[key].state is DeliveryState.PENDING:
            self.pending_since[key] = at
