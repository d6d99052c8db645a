"""Certificates: submitted by an issuing body's own system (``POST /v1/certificates``), read through each
party's view, listed, and checked: the history with its chain, the deliveries to China, the match results, the
public verification (DESIGN.md §1, §5, §6).

``issue`` is the one path every certificate takes, submitted or certified from a hosted application: the
certificate, its first history event, the messages that make its documents and deliver it to China, and its
PENDING delivery are staged together and written by one commit (DESIGN.md §6.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from jevs.domain.access import (
    ListingConstraints,
    View,
    certificate_view,
    check_issue_span,
    may_read_deliveries,
    may_read_history,
    may_read_matches,
    visible_listing,
)
from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.china_message import ChinaMessage, version_issued
from jevs.domain.delivery import Delivery
from jevs.domain.errors import Conflict, NotFound, RuleViolation
from jevs.domain.history import (
    ChainCheck,
    ChainVerification,
    HistoryEvent,
    SignedHead,
    signed_head,
    verify_chain,
    with_seals,
)
from jevs.domain.identifiers import normalise_certificate_number
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchAwaiting
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.parties import Party, PartyType
from jevs.domain.records import CertificateMatch, CertificateRecord, CertificateStatus, Issue, StoredVersion
from jevs.domain.standing import Standing, standing_on
from jevs.service.ports import SealChecker
from jevs.service.unit_of_work import Refused, UnitOfWork

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class SubmitCertificate:
    party: Party
    content: CertificateContent


@dataclass(frozen=True)
class Submitted:
    record: CertificateRecord
    # False when the very same certificate was stored before: the answer is the stored one.
    created: bool


def stage_to_china(
    uow: UnitOfWork, body: ChinaMessage, *, history_of: str | None, at: datetime, declaration_id: str | None = None
) -> None:
    """Stage a message to China Customs with its PENDING delivery (which reconciliation watches): every message
    to China takes this one channel, signed, retried, parked and redriven alike (DESIGN.md §6.2)."""
    message = DeliverToChina(history_of=history_of, declaration_id=declaration_id, body=body, created_at=at)
    uow.outbox.add(message)
    uow.deliveries.add(Delivery.pending(message, at))


def stage_new_version(uow: UnitOfWork, record: CertificateRecord) -> None:
    """What every new version of a certificate sends: its documents (the PDF, NZ Customs' data file, for a hosted
    one the applicant's email) and its message to China."""
    at = record.recorded_at
    uow.outbox.add(MakeDocuments(certificate_number=record.number, version=record.version, created_at=at))
    stage_to_china(uow, version_issued(record), history_of=record.number, at=at)


def stage_issue(uow: UnitOfWork, issue: Issue) -> None:
    """Stage everything one issue writes: the certificate and its first event, what its version sends, and the
    message that decides again any declaration that quoted its number before it existed."""
    uow.certificates.add(issue)
    stage_new_version(uow, issue.record)
    uow.outbox.add(MatchAwaiting(certificate_number=issue.record.number, created_at=issue.record.recorded_at))


def submit_certificate(command: SubmitCertificate, uow: UnitOfWork) -> Submitted:
    """An issuing body's own certificate, stored as version 1. The same certificate submitted again (same
    number, issuer and content) gets the stored one back; the number with other content is a conflict."""
    party, content = command.party, command.content
    if party.type is not PartyType.ISSUING_BODY:
        raise NotFound("certificates")
    try:
        issue = CertificateRecord.issue(content, issuer=party, at=uow.now())
    except RuleViolation:
        # The same certificate sent again once its validity has ended (a late retry) is still the one stored:
        # it gets it back, as any resubmission does, rather than a rule it met on the day it was submitted.
        existing = uow.certificates.get(content.certificate_number)
        if existing is None or existing.content_hash != digest(content) or existing.issuing_body != party.id:
            raise
        return Submitted(existing, created=False)
    stage_issue(uow, issue)
    submitted = Submitted(issue.record, created=True)
    try:
        uow.commit(answering=submitted)
    except Refused as refused:
        existing = uow.certificates.get(content.certificate_number) if refused.of("certificate") else None
        if existing is None:
            raise
        if existing.content_hash != issue.record.content_hash or existing.issuing_body != party.id:
            raise Conflict(
                "certificate-number-exists",
                f"certificate {content.certificate_number} already exists with other content",
            ) from None
        return Submitted(existing, created=False)
    return submitted


# -- reading ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisibleCertificate:
    record: CertificateRecord
    view: View


def stored_certificate(number: str, uow: UnitOfWork, may_see: Callable[[CertificateRecord], bool]) -> CertificateRecord:
    """The certificate ``number`` names (either form), if the caller may see it; NotFound otherwise."""
    try:
        normalised = normalise_certificate_number(number)
    except ValueError:
        raise NotFound(number) from None
    record = uow.certificates.get(normalised)
    if record is None or not may_see(record):
        raise NotFound(number)
    return record


def _with_history(
    number: str, uow: UnitOfWork, may_see: Callable[[CertificateRecord], bool]
) -> tuple[CertificateRecord, list[HistoryEvent]]:
    """The certificate and its events. The dispatcher or the matcher may append an event (in one transaction with the
    record's new head) between the two reads, and an untouched certificate would then read as edited: when the events
    run past the head, the record is read again, once (as ``registrations.verified_history`` does; an event stored
    beyond the head by any other means is still beyond it, and breaks the chain)."""
    record = stored_certificate(number, uow, may_see)
    events = list(uow.certificates.history(record.number))
    if events and events[-1].sequence > record.history_head.sequence:
        record = stored_certificate(number, uow, may_see)
    return record, events


def read_certificate(party: Party, number: str, uow: UnitOfWork) -> VisibleCertificate:
    record = stored_certificate(number, uow, lambda found: certificate_view(party, found) is not None)
    view = certificate_view(party, record)
    assert view is not None  # _stored checked it
    return VisibleCertificate(record, view)


@dataclass(frozen=True)
class ListCertificates:
    party: Party
    filters: ListingConstraints
    limit: int
    cursor: str | None


@dataclass(frozen=True)
class VisiblePage:
    certificates: list[VisibleCertificate]
    next_cursor: str | None


def list_certificates(command: ListCertificates, uow: UnitOfWork) -> VisiblePage:
    party = command.party
    check_issue_span(command.filters)
    constraints = visible_listing(party, command.filters)
    if constraints is None:
        return VisiblePage([], None)
    page = uow.certificates.page(constraints, max(1, min(command.limit, MAX_PAGE_SIZE)), command.cursor)
    visible = []
    for record in page.records:
        # The store applied the constraints; the view check is the domain's own word on every record.
        view = certificate_view(party, record)
        if view is not None:
            visible.append(VisibleCertificate(record, view))
    return VisiblePage(visible, page.next_cursor)


@dataclass(frozen=True)
class VerifiedHistory:
    record: CertificateRecord
    events: list[HistoryEvent]
    verification: ChainVerification
    # None when the chain does not verify: JEVS vouches for no head it could not check.
    signed_head: SignedHead | None = None


def read_history(party: Party, number: str, uow: UnitOfWork, seals: SealChecker | None = None) -> VerifiedHistory:
    """Every event with the chain verified, including that each version's stored content is the content its
    event recorded and the current record is the state its latest event recorded; with ``seals`` (JEVS's keys),
    that every event is the one JEVS sealed when it was written, so a chain rewritten with every hash recomputed
    fails at the first event changed. The latest event's seal is the history's signed head."""
    record, events = _with_history(number, uow, lambda found: may_read_history(party, found))
    verification = verify_chain(events, record.history_head, state_hash=record.state_hash)
    if verification.valid:
        versions = uow.certificates.versions(record.number)
        verification = _versions_match_events(record, events, versions) or verification
    verification = with_seals(verification, events, seals.check_seal if seals else None)
    return VerifiedHistory(record, events, verification, signed_head(events, verification))


def _versions_match_events(
    record: CertificateRecord, events: list[HistoryEvent], versions: Sequence[StoredVersion]
) -> ChainVerification | None:
    """Each version the history recorded is stored with the content it recorded, and the current record is the
    latest of them: rewriting content and its stored hash together is still caught by the chain."""
    recorded = {
        event.version: event for event in events if event.version is not None and "content_hash" in event.details
    }
    current = recorded.get(record.version)
    if current is None or current.details["content_hash"] != digest(record.content):
        return ChainVerification(
            False,
            len(events),
            None,
            "the certificate's current content is not the content its history recorded",
            ChainCheck.CONTENT,
        )
    stored = {version.version: version for version in versions}
    for number, event in recorded.items():
        version = stored.get(number)
        if version is None or digest(version.content) != event.details["content_hash"]:
            return ChainVerification(
                False,
                len(events),
                event.sequence,
                f"version {number}'s stored content is not what its history recorded",
                ChainCheck.CONTENT,
            )
    if set(stored) != set(recorded):
        reason = "a stored version has no event in the history"
        return ChainVerification(False, len(events), None, reason, ChainCheck.CONTENT)
    return None


@dataclass(frozen=True)
class VisibleDeliveries:
    record: CertificateRecord
    deliveries: Sequence[Delivery]


def read_deliveries(party: Party, number: str, uow: UnitOfWork) -> VisibleDeliveries:
    record = stored_certificate(number, uow, lambda found: may_read_deliveries(party, found))
    return VisibleDeliveries(record, uow.deliveries.of_certificate(record.number))


@dataclass(frozen=True)
class VisibleMatches:
    record: CertificateRecord
    matches: Sequence[CertificateMatch]


def read_matches(party: Party, number: str, uow: UnitOfWork) -> VisibleMatches:
    """The match results of every declaration that quoted the certificate, for its owner."""
    record = stored_certificate(number, uow, lambda found: may_read_matches(party, found))
    return VisibleMatches(record, uow.certificates.matches(record.number))


def document_of(party: Party, number: str, uow: UnitOfWork) -> CertificateRecord:
    """The certificate whose PDF the caller may download: its owner and issuing body only (the full view)."""
    return stored_certificate(number, uow, lambda found: certificate_view(party, found) is View.FULL)


@dataclass(frozen=True)
class Verification:
    """What anyone may learn about a certificate (DESIGN.md §5, ``GET /v1/verify/{number}``): nothing commercial."""

    record: CertificateRecord
    currently_valid: bool
    # Whether the digest printed on the paper (its QR code) is the digest of what JEVS holds; None if none given.
    digest_matches: bool | None
    # Valid, used, expired, not yet valid, replaced or revoked: what the person holding the paper needs to know.
    standing: Standing
    # Whether the record is the state its history's latest event recorded, down an unbroken chain: a record edited
    # in the table (an extended validity, a usage reset) is never reported valid.
    history_verified: bool


def verify_certificate(
    number: str,
    printed: str | None,
    uow: UnitOfWork,
    *,
    digest_of: Callable[[CertificateRecord], str],
    seals: SealChecker | None = None,
) -> Verification:
    """What anyone may learn of a certificate: whether it is valid today, its standing, whether a printed digest
    matches, and whether its history verifies (with ``seals``, every event's seal too): a certificate whose record
    or history was edited in the table is never reported valid."""
    record, events = _with_history(number, uow, lambda _: True)
    today = new_zealand_date(uow.now())
    intact = verify_chain(events, record.history_head, state_hash=record.state_hash)
    intact = with_seals(intact, events, seals.check_seal if seals else None)
    valid = (
        intact.valid and record.status is CertificateStatus.ISSUED and record.valid_from <= today <= record.valid_until
    )
    matches = None if printed is None else printed == digest_of(record)
    return Verification(record, valid, matches, standing_on(record, today), intact.valid)
