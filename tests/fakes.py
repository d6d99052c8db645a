"""In-memory stand-ins for the domain's ports, with the same all-or-nothing semantics as DynamoDB."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from jevs.domain.history import HistoryEvent
from jevs.domain.ports import (
    CertificateNumberTaken,
    CertificatePage,
    IdempotencyKeyTaken,
    InvalidCursor,
    ListingConstraints,
)
from jevs.domain.records import CertificateIssue, CertificateRecord, IdempotencyRecord, StoredVersion


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
