"""What the domain needs from the outside world, as protocols. Adapters implement them for AWS;
tests implement them in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from jevs.domain.applications import Application
from jevs.domain.declarations import DeclarationRecord, UsageLedger
from jevs.domain.delivery import Decision, Delivery
from jevs.domain.errors import DomainError
from jevs.domain.history import HistoryEvent
from jevs.domain.records import (
    CertificateIssue,
    CertificateMatch,
    CertificateRecord,
    CertificateStatus,
    DeclarationLodgement,
    IdempotencyRecord,
    MatchRecording,
    OutboxMessage,
    StoredVersion,
)
from jevs.domain.registrations import GoodsRegistration, RegistrationKind, Signatory


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class CertificateNumberTaken(DomainError):
    """The number is already stored. Carries the stored certificate so the caller can compare content."""

    def __init__(self, existing: CertificateRecord) -> None:
        super().__init__(existing.number)
        self.existing = existing


class IdempotencyKeyTaken(DomainError):
    """The party already used this idempotency key. Carries the stored record and its first answer."""

    def __init__(self, existing: IdempotencyRecord) -> None:
        super().__init__(existing.key)
        self.existing = existing


@dataclass(frozen=True)
class ListingConstraints:
    """What a listing may return: the caller's visibility joined with its filters, all of which must hold."""

    issuing_body: str | None = None
    exporter_business_number: str | None = None
    importing_country: str | None = None
    status: CertificateStatus | None = None
    issued_from: date | None = None
    issued_to: date | None = None


@dataclass(frozen=True)
class CertificatePage:
    records: Sequence[CertificateRecord]
    # Opaque to the domain: the store encodes where the next page starts.
    next_cursor: str | None


class InvalidCursor(DomainError):
    """A pagination cursor that this store did not issue for this listing."""


class CertificateStore(Protocol):
    def create_certificate(self, issue: CertificateIssue) -> None:
        """Write everything in ``issue`` at once, or nothing.

        Raises ``IdempotencyKeyTaken`` when the party used the key before, else ``CertificateNumberTaken``
        when the number exists; each carries what is stored.
        """
        ...

    def get_certificate(self, number: str) -> CertificateRecord | None: ...

    def get_history(self, number: str) -> Sequence[HistoryEvent]:
        """Every event of the certificate, in sequence order."""
        ...

    def get_versions(self, number: str) -> Sequence[StoredVersion]: ...

    def list_certificates(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        """Certificates meeting every constraint, newest issue date first."""
        ...


class DeclarationNumberTaken(DomainError):
    """The declarant already lodged this declaration number. Carries what is stored."""

    def __init__(self, existing: DeclarationRecord) -> None:
        super().__init__(existing.id)
        self.existing = existing


class DeclarationStore(Protocol):
    def lodge_declaration(self, lodgement: DeclarationLodgement) -> None:
        """Write the lodgement at once, or nothing. Raises ``IdempotencyKeyTaken`` when the party used the key
        before, else ``DeclarationNumberTaken`` when the declaration exists; each carries what is stored."""
        ...

    def get_declaration(self, declaration_id: str) -> DeclarationRecord | None: ...

    def get_usage_ledger(self, root_number: str) -> UsageLedger | None: ...

    def record_match(self, recording: MatchRecording) -> None:
        """Write the decision at once, or nothing. Raises ``RetryableFailure`` when another writer got there
        first (the declaration was decided, the certificate's history or its ledger moved): the caller reads
        again and decides again."""
        ...

    def get_certificate_matches(self, number: str) -> Sequence[CertificateMatch]:
        """The results of every declaration that quoted the certificate, oldest first."""
        ...


HostedRecord = GoodsRegistration | Signatory | Application


class HostedStore(Protocol):
    """Goods registrations, signatories and applications, each under its exporter; what waits for an issuing
    body; and the issuing bodies' number counters."""

    def add_registration(
        self, record: GoodsRegistration | Signatory | Application, idempotency: IdempotencyRecord
    ) -> None:
        """Store a new record with the idempotency record of the request; raises ``IdempotencyKeyTaken``."""
        ...

    def replace_registration(
        self,
        previous: GoodsRegistration | Signatory | Application,
        updated: GoodsRegistration | Signatory | Application,
    ) -> None:
        """Store ``updated`` if the stored record still has ``previous``'s status; else raises ``Conflict``."""
        ...

    def get_goods_registration(self, registration_id: str) -> GoodsRegistration | None: ...

    def get_signatory(self, signatory_id: str) -> Signatory | None: ...

    def get_application(self, application_id: str) -> Application | None: ...

    def exporter_records(self, exporter_business_number: str, kind: RegistrationKind) -> Sequence[object]:
        """Every record of ``kind`` of an exporter, oldest first."""
        ...

    def work_queue(self, issuing_body: str, kind: RegistrationKind) -> Sequence[object]:
        """Every record of ``kind`` lodged with ``issuing_body``, oldest first."""
        ...

    def last_serial(self, issuing_body: str, year: int) -> int:
        """The last certificate serial ``issuing_body`` allocated in ``year`` (0: none yet)."""
        ...

    def open_applications_due_before(self, moment: datetime, limit: int) -> Sequence[Application]:
        """Applications still SUBMITTED whose due time is before ``moment``, most overdue first."""
        ...


class DeliveryStore(Protocol):
    def get_delivery(self, number: str, version: int) -> Delivery | None: ...

    def get_result_delivery(self, declaration_id: str) -> Delivery | None:
        """The delivery of a CN import declaration's match result to China."""
        ...

    def get_deliveries(self, number: str) -> Sequence[Delivery]: ...

    def record_delivery(
        self, previous: Delivery, delivery: Delivery, change: tuple[CertificateRecord, HistoryEvent] | None
    ) -> None:
        """Store ``delivery`` in place of ``previous`` and, with it, the history event of a change of state
        and the record whose chain head it moves; all or nothing. Raises ``RetryableFailure`` when another
        writer changed either first (the caller reads again and decides again)."""
        ...

    def pending_deliveries(self, pending_before: datetime, limit: int) -> Sequence[Delivery]:
        """PENDING deliveries last (re)queued before ``pending_before``, oldest first."""
        ...

    def requeued(self, delivery: Delivery, at: datetime) -> None:
        """Note that reconciliation queued ``delivery`` again at ``at``."""
        ...


class ChinaSender(Protocol):
    def send(self, body: bytes, idempotency_key: str) -> Decision:
        """Sign ``body`` and POST it to China Customs; what the answer (or its absence) means."""
        ...


class OutboxPublisher(Protocol):
    def publish(self, message: OutboxMessage) -> None: ...


class RecordStore(CertificateStore, DeliveryStore, DeclarationStore, HostedStore, Protocol):
    """The records table: certificates, their history, deliveries, declarations, usage and hosted issuing."""
