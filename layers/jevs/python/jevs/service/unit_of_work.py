"""The unit of work: what a use case reads through, what it stages, and the one commit that writes it all.

A use case reads records through the repositories, stages the changes it decides on (each repository's
``add``, ``replace`` ... stage named writes), and calls ``commit`` once: every staged write is stored, or none
is. A write whose condition no longer holds (a number taken meanwhile, an application decided meanwhile)
makes the commit raise ``Refused`` naming it, so the use case can say what happened without knowing how the
table reports it. An idempotent request (``jevs.service.idempotency``) stores its answer in the same commit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from jevs.domain import strict_json
from jevs.domain.errors import DomainError, RetryableFailure

# Only the types of the repositories' methods: the domain is imported by whoever implements or calls them, so a
# function whose unit of work holds a few repositories (the outbox relay's) imports only what those use.
if TYPE_CHECKING:
    from jevs.domain.access import ListingConstraints
    from jevs.domain.applications import Application
    from jevs.domain.breaker import Circuit
    from jevs.domain.declarations import DeclarationRecord, UsageLedger
    from jevs.domain.delivery import Delivery
    from jevs.domain.history import HistoryEvent
    from jevs.domain.messages import DeliverToChina, OutboxMessage
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
    from jevs.domain.registrations import GoodsRegistration, Signatory
    from jevs.domain.verification import VerificationRequest, VerificationStatus
    from jevs.service.idempotency import IdempotencyRecord


class Refused(RetryableFailure):
    """The commit stored nothing: the conditions of these writes did not hold. Each name is ``(kind, id)``,
    e.g. ``("certificate", "11.2026.00001")``: the kinds are named in each repository's docstring.

    A use case catches it to say what happened ("the number was taken"); one it does not expect means what it
    read changed before it wrote, so the same request, tried again, reads again and decides again.
    """

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        self.names = frozenset(names)
        super().__init__(", ".join(sorted(f"{kind} {id_}" for kind, id_ in self.names)))

    def of(self, kind: str, id_: str | None = None) -> bool:
        """Whether a write of ``kind`` (with that id, when given) was refused."""
        return any(name == kind and (id_ is None or found == id_) for name, found in self.names)


class InvalidCursor(DomainError):
    """A pagination cursor that this API did not issue for this listing."""


# Every cursor is a flat object or one holding a key: two levels. More is no cursor of ours.
CURSOR_DEPTH = 4

# The most writes one commit may stage: a commit is one transaction, and DynamoDB's holds at most 100 actions.
MAX_WRITES_PER_COMMIT = 100


def cursor_document(cursor: str) -> object:
    """The JSON a cursor carries (base64url, unpadded); ``InvalidCursor`` for any text that is not, however it was
    made (deeply nested, not UTF-8, a number too large): a cursor is the caller's to edit."""
    try:
        return strict_json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), max_depth=CURSOR_DEPTH)
    except ValueError:  # binascii.Error and strict_json.UnacceptableJson are ValueErrors
        raise InvalidCursor("the cursor is not one this API issued") from None


@dataclass(frozen=True)
class VersionKey:
    """One version of a certificate."""

    number: str
    version: int


@dataclass(frozen=True)
class CertificatePage:
    records: Sequence[CertificateRecord]
    # Opaque outside the storage adapter: where the next page starts.
    next_cursor: str | None


class Certificates(Protocol):
    """Certificates with their versions, history, and the match results they keep. Writes are named
    ``certificate <number>`` (the record), ``version <number>/v<version>``, ``event <number>#<sequence>``,
    ``match <declaration id>`` and ``preference <number>/<declaration id>`` (once only): a number taken refuses the
    certificate, its version and its first event. A version's documents are open work from the commit that adds
    the version until ``documents <number>/v<version>`` notes them made (``requeued <number>/v<version>``: the note
    that reconciliation queued them again)."""

    def get(self, number: str) -> CertificateRecord | None: ...

    def history(self, number: str) -> Sequence[HistoryEvent]:
        """Every event, in sequence order."""
        ...

    def versions(self, number: str) -> Sequence[StoredVersion]: ...

    def matches(self, number: str) -> Sequence[CertificateMatch]:
        """The results of every declaration that quoted the certificate, oldest first."""
        ...

    def preferences(self, number: str) -> Sequence[PreferenceDecision]:
        """China Customs' preference decisions on the certificate, oldest first."""
        ...

    def page(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        """Certificates meeting every constraint, newest issue date first; raises ``InvalidCursor``."""
        ...

    def add(self, issue: Issue) -> None:
        """Stage a new certificate (refused when the number is taken), its first version and event."""
        ...

    def change(self, change: CertificateChange) -> None:
        """Stage the record after an event, and the event: refused if another event was appended meanwhile."""
        ...

    def keep_match(self, number: str, match: CertificateMatch) -> None: ...

    def keep_preference(self, decision: PreferenceDecision) -> None:
        """Stage a preference decision: refused when one was recorded for the same declaration."""
        ...

    def undocumented_before(self, moment: datetime, limit: int) -> Sequence[VersionKey]:
        """Versions whose documents are not made yet, open (or last queued again) since before ``moment``, oldest
        first."""
        ...

    def documents_made(self, version: VersionKey) -> None:
        """Stage the note that the version's documents are made (again, harmlessly): refused if the version is not
        stored."""
        ...

    def documents_requeued(self, version: VersionKey, at: datetime) -> None:
        """Stage the note that reconciliation queued the version's documents again at ``at``: refused once they
        are made."""
        ...


class Declarations(Protocol):
    """Declarations by id, each revision kept; writes named ``declaration <id>`` and ``revision <id>#<n>``
    (``requeued <id>``: the note that reconciliation queued it for matching again)."""

    def get(self, declaration_id: str) -> DeclarationRecord | None: ...

    def add(self, declaration: DeclarationRecord) -> None:
        """Stage a new declaration (its first revision): refused when one with its id exists."""
        ...

    def amend(self, read: DeclarationRecord, amended: DeclarationRecord) -> None:
        """Stage a new revision: refused if the declaration changed since ``read``."""
        ...

    def decide(self, read: DeclarationRecord, decided: DeclarationRecord) -> None:
        """Stage the decided declaration: refused if it was amended or decided since ``read``."""
        ...

    def awaiting(self, certificate_number: str, now: datetime) -> Sequence[DeclarationRecord]:
        """Declarations decided ``CERTIFICATE_NOT_FOUND`` that still wait for ``certificate_number`` at ``now``."""
        ...

    def unmatched_before(self, moment: datetime, limit: int) -> Sequence[DeclarationRecord]:
        """Declarations ``RECEIVED`` (lodged or amended, not decided yet) since before ``moment``, or last queued
        again by reconciliation before it, oldest first."""
        ...

    def requeued(self, read: DeclarationRecord, at: datetime) -> None:
        """Stage the note that reconciliation queued ``read`` for matching again at ``at``: refused once it is
        decided or amended."""
        ...


class UsageLedgers(Protocol):
    """What each original certificate (with its certified true copy) was used for; writes ``ledger <root>``."""

    def get(self, root_number: str) -> UsageLedger | None: ...

    def put(self, ledger: UsageLedger, *, revision_read: int) -> None:
        """Stage the ledger: refused unless the stored revision is still ``revision_read`` (0: none stored)."""
        ...


Listed = TypeVar("Listed", covariant=True)


@dataclass(frozen=True)
class RecordPage(Generic[Listed]):
    """A page of hosted records (goods registrations, signatories, applications), oldest first."""

    records: Sequence[Listed]
    # Opaque outside the storage adapter: where the next page starts; None on the last page.
    next_cursor: str | None


class Registrations(Protocol):
    """Goods registrations and signatories, each under its exporter with its history; writes named
    ``registration <id>`` and ``event <id>#<sequence>``."""

    def get(self, registration_id: str) -> GoodsRegistration | Signatory | None: ...

    def of_exporter(
        self,
        kind: type[GoodsRegistration] | type[Signatory],
        exporter_business_number: str,
        limit: int,
        cursor: str | None = None,
    ) -> RecordPage[GoodsRegistration | Signatory]:
        """A page of the records of the kind the exporter lodged, oldest first, from ``cursor`` (``InvalidCursor``
        for one this listing did not issue)."""
        ...

    def lodged_with(
        self, kind: type[GoodsRegistration] | type[Signatory], issuing_body: str, limit: int, cursor: str | None = None
    ) -> RecordPage[GoodsRegistration | Signatory]:
        """A page of the records of the kind lodged with the issuing body, oldest first, from ``cursor``."""
        ...

    def history(self, registration_id: str) -> Sequence[RecordEvent]:
        """Every event of the record's history, in sequence order."""
        ...

    def add(self, lodged: Recorded[GoodsRegistration] | Recorded[Signatory]) -> None:
        """Stage a new record and its first event: refused when either exists."""
        ...

    def replace(
        self, previous: GoodsRegistration | Signatory, updated: Recorded[GoodsRegistration] | Recorded[Signatory]
    ) -> None:
        """Stage ``updated`` and its event: refused unless the stored record still has ``previous``'s status and
        history head."""
        ...


class Applications(Protocol):
    """Certificate applications, each under its exporter with its history; writes named ``application <id>`` and
    ``event <id>#<sequence>``."""

    def get(self, application_id: str) -> Application | None: ...

    def of_exporter(
        self, exporter_business_number: str, limit: int, cursor: str | None = None
    ) -> RecordPage[Application]:
        """A page of the exporter's applications, oldest first, from ``cursor``."""
        ...

    def lodged_with(self, issuing_body: str, limit: int, cursor: str | None = None) -> RecordPage[Application]:
        """A page of the applications lodged with the issuing body, oldest first, from ``cursor``."""
        ...

    def open_due_before(self, moment: datetime, limit: int) -> Sequence[Application]:
        """Applications still SUBMITTED whose due time is before ``moment``, most overdue first."""
        ...

    def history(self, application_id: str) -> Sequence[RecordEvent]:
        """Every event of the application's history, in sequence order."""
        ...

    def add(self, lodged: Recorded[Application]) -> None:
        """Stage a new application and its first event: refused when either exists."""
        ...

    def replace(self, previous: Application, updated: Recorded[Application]) -> None:
        """Stage ``updated`` and its event: refused unless the stored application still has ``previous``'s status
        and history head."""
        ...


class Counters(Protocol):
    """Each issuing body's certificate number counter per year; writes named ``counter <body>/<year>``."""

    def get(self, issuing_body: str, year: int) -> NumberCounter:
        """The counter as stored (``last`` 0 when none was allocated that year)."""
        ...

    def advance(self, read: NumberCounter) -> NumberCounter:
        """Stage the counter one further: refused if anyone allocated a number since ``read``."""
        ...


class Deliveries(Protocol):
    """Each message's delivery to China; writes named ``delivery <delivery key>`` (``requeued <delivery key>`` for
    the note that reconciliation queued it again)."""

    def get(self, message: DeliverToChina) -> Delivery | None: ...

    def of_certificate(self, number: str) -> Sequence[Delivery]:
        """The deliveries of a certificate's messages: each version's, oldest first, then its replacement's or
        revocation's."""
        ...

    def pending_before(self, moment: datetime, limit: int) -> Sequence[Delivery]:
        """PENDING deliveries last (re)queued before ``moment``, oldest first."""
        ...

    def add(self, delivery: Delivery) -> None: ...

    def replace(self, previous: Delivery, updated: Delivery) -> None:
        """Stage ``updated``: refused if another attempt was recorded since ``previous`` was read."""
        ...

    def requeued(self, delivery: Delivery, at: datetime) -> None:
        """Stage a note that reconciliation queued a still PENDING delivery again: refused if it is not pending."""
        ...

    def waited(self, delivery: Delivery, at: datetime) -> None:
        """Stage a note that a still PENDING delivery's message was seen, waiting for China's circuit to close (so
        reconciliation does not take it for lost): refused if it is not pending."""
        ...


class Circuits(Protocol):
    """The circuit breaker of each destination; writes named ``circuit <destination>``."""

    def get(self, destination: str) -> Circuit | None: ...

    def put(self, read: Circuit | None, updated: Circuit) -> None:
        """Stage ``updated``: refused if the circuit changed since ``read`` (or exists, when ``read`` is None)."""
        ...


@dataclass(frozen=True)
class VerificationPage:
    requests: Sequence[VerificationRequest]
    # Opaque outside the storage adapter: where the next page starts.
    next_cursor: str | None


class VerificationRequests(Protocol):
    """Verification requests by id; writes named ``verification <id>``."""

    def get(self, request_id: str) -> VerificationRequest | None: ...

    def page(
        self, issuing_body: str | None, status: VerificationStatus | None, limit: int, cursor: str | None
    ) -> VerificationPage:
        """Requests newest first: about the certificates of ``issuing_body``, or every one (None); raises
        ``InvalidCursor``."""
        ...

    def unanswered_due_before(self, day: date, limit: int) -> Sequence[VerificationRequest]:
        """Requests still unanswered whose due date is before ``day``, most overdue first."""
        ...

    def add(self, request: VerificationRequest) -> None:
        """Stage a new request: refused when one with its id exists."""
        ...

    def replace(self, read: VerificationRequest, updated: VerificationRequest) -> None:
        """Stage ``updated``: refused if the request changed since ``read``."""
        ...


class Redrives(Protocol):
    """Redrive jobs and the dead letters each kept; writes named ``redrive <id>`` and ``letter <id>/<message id>``."""

    def get(self, job_id: str) -> RedriveJob | None: ...

    def recent(self, limit: int) -> Sequence[RedriveJob]:
        """The latest jobs, newest first."""
        ...

    def running(self, limit: int) -> Sequence[RedriveJob]:
        """The jobs still RUNNING, oldest first (read from an index: a job finished a moment ago may still be there)."""
        ...

    def kept(self, job_id: str) -> Sequence[KeptLetter]:
        """Every dead letter the job kept."""
        ...

    def add(self, job: RedriveJob) -> None:
        """Stage a new job: refused when one with its id exists."""
        ...

    def replace(self, read: RedriveJob, updated: RedriveJob) -> None:
        """Stage ``updated``: refused if another page was recorded since ``read``."""
        ...

    def keep(self, letter: KeptLetter) -> None:
        """Stage a kept dead letter (the same letter again replaces it)."""
        ...


class OutboxNotes(Protocol):
    """The notes that outbox records are published: all the outbox relay's unit of work holds."""

    def published(self, message: Outgoing) -> None:
        """Stage the note that ``message`` (read from its outbox record) is on its queue (noting it again is
        harmless): refused if it was never written."""
        ...


class Outbox(OutboxNotes, Protocol):
    """Messages written with the change that sends them, open work until they are published; writes named
    ``outbox <message id>`` and ``published <message id>``."""

    def add(self, message: OutboxMessage) -> None: ...

    def unpublished_before(self, moment: datetime, limit: int) -> Sequence[Outgoing]:
        """Messages not published yet, written before ``moment``, oldest first, as they are published (never
        parsed: a consumer checks what it receives)."""
        ...


class Answers(Protocol):
    """The stored first answers of idempotent requests."""

    def get(self, party_id: str, key: str) -> IdempotencyRecord | None: ...


class UnitOfWork(Protocol):
    @property
    def certificates(self) -> Certificates: ...

    @property
    def declarations(self) -> Declarations: ...

    @property
    def ledgers(self) -> UsageLedgers: ...

    @property
    def registrations(self) -> Registrations: ...

    @property
    def applications(self) -> Applications: ...

    @property
    def counters(self) -> Counters: ...

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def circuits(self) -> Circuits: ...

    @property
    def verification_requests(self) -> VerificationRequests: ...

    @property
    def redrives(self) -> Redrives: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def answers(self) -> Answers: ...

    def now(self) -> datetime:
        """The time of the change: every timestamp a use case records comes from here."""
        ...

    def commit(self, answering: object | None = None) -> None:
        """Store every staged write at once, or none (raising ``Refused``, or ``RetryableFailure`` when the
        store was busy); staged writes are cleared either way. ``answering``: the result the use case will
        return, stored as the request's answer when the request is idempotent (else ignored). Raises
        ``AlreadyAnswered`` when the request's idempotency key was used before."""
        ...

    def rollback(self) -> None:
        """Forget every staged write."""
        ...
