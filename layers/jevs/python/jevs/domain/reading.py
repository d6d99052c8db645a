"""Reading certificates, lists of them and their history, each through the caller's view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from jevs.domain.access import (
    View,
    certificate_view,
    may_read_deliveries,
    may_read_history,
    may_read_matches,
    visible_listing,
)
from jevs.domain.canonical import digest
from jevs.domain.delivery import Delivery
from jevs.domain.errors import NotFound
from jevs.domain.history import ChainVerification, HistoryEvent, verify_chain
from jevs.domain.identifiers import normalise_certificate_number
from jevs.domain.parties import Party
from jevs.domain.ports import CertificatePage, CertificateStore, ListingConstraints, RecordStore
from jevs.domain.records import CertificateMatch, CertificateRecord, CertificateStatus

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class VisibleCertificate:
    record: CertificateRecord
    view: View


def _number_or_not_found(number: str) -> str:
    try:
        return normalise_certificate_number(number)
    except ValueError:
        raise NotFound(number) from None


def read_certificate(party: Party, number: str, store: CertificateStore) -> VisibleCertificate:
    record = store.get_certificate(_number_or_not_found(number))
    view = certificate_view(party, record) if record else None
    if record is None or view is None:
        raise NotFound(number)
    return VisibleCertificate(record, view)


@dataclass(frozen=True)
class VisiblePage:
    certificates: list[VisibleCertificate]
    next_cursor: str | None


def list_certificates(
    party: Party, filters: ListingConstraints, limit: int, cursor: str | None, store: CertificateStore
) -> VisiblePage:
    constraints = visible_listing(party, filters)
    if constraints is None:
        return VisiblePage([], None)
    page: CertificatePage = store.list_certificates(constraints, max(1, min(limit, MAX_PAGE_SIZE)), cursor)
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


def read_history(party: Party, number: str, store: CertificateStore) -> VerifiedHistory:
    """Every event with the chain verified, including that each version's stored content is the content
    its event recorded."""
    record = store.get_certificate(_number_or_not_found(number))
    if record is None or not may_read_history(party, record):
        raise NotFound(number)
    events = list(store.get_history(record.number))
    verification = verify_chain(events, record.history_head)
    if verification.valid:
        verification = _versions_match_events(record, events, store) or verification
    return VerifiedHistory(record, events, verification)


def _versions_match_events(
    record: CertificateRecord, events: list[HistoryEvent], store: CertificateStore
) -> ChainVerification | None:
    """Each version the history recorded is stored with the content it recorded, and the current record is
    the latest of them: rewriting content and its stored hash together is still caught by the chain."""
    recorded = {
        event.version: event for event in events if event.version is not None and "content_hash" in event.details
    }
    current = recorded.get(record.version)
    if current is None or current.details["content_hash"] != digest(record.content):
        return ChainVerification(
            False, len(events), None, "the certificate's current content is not the content its history recorded"
        )
    stored = {version.version: version for version in store.get_versions(record.number)}
    for number, event in recorded.items():
        version = stored.get(number)
        if version is None or digest(version.content) != event.details["content_hash"]:
            return ChainVerification(
                False,
                len(events),
                event.sequence,
                f"version {number}'s stored content is not what its history recorded",
            )
    if set(stored) != set(recorded):
        return ChainVerification(False, len(events), None, "a stored version has no event in the history")
    return None


@dataclass(frozen=True)
class VisibleDeliveries:
    record: CertificateRecord
    deliveries: list[Delivery]


def read_deliveries(party: Party, number: str, store: RecordStore) -> VisibleDeliveries:
    record = store.get_certificate(_number_or_not_found(number))
    if record is None or not may_read_deliveries(party, record):
        raise NotFound(number)
    return VisibleDeliveries(record, list(store.get_deliveries(record.number)))


@dataclass(frozen=True)
class VisibleMatches:
    record: CertificateRecord
    matches: Sequence[CertificateMatch]


def read_matches(party: Party, number: str, store: RecordStore) -> VisibleMatches:
    """The match results of every declaration that quoted the certificate, for its owner."""
    record = store.get_certificate(_number_or_not_found(number))
    if record is None or not may_read_matches(party, record):
        raise NotFound(number)
    return VisibleMatches(record, list(store.get_certificate_matches(record.number)))


@dataclass(frozen=True)
class Verification:
    """What anyone may learn about a certificate (DESIGN §5, ``GET /v1/verify/{number}``): nothing commercial."""

    record: CertificateRecord
    currently_valid: bool
    # Whether the digest printed on the paper (its QR code) is the digest of what JEVS holds; None if none given.
    digest_matches: bool | None


def verify_certificate(
    number: str,
    printed: str | None,
    *,
    store: CertificateStore,
    today: date,
    digest_of: Callable[[CertificateRecord], str],
) -> Verification:
    record = store.get_certificate(_number_or_not_found(number))
    if record is None:
        raise NotFound(number)
    valid = record.status is CertificateStatus.ISSUED and record.valid_from <= today <= record.valid_until
    return Verification(record, valid, None if printed is None else printed == digest_of(record))
