"""Builders the unit tests share: the demo parties, certificates and the records JEVS keeps about them, and
what the tests read back from the records table in memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jevs.adapters.table import items
from jevs.adapters.table.outbox import outgoing_of
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.history import GENESIS_HASH, ChainHead, EventType, HistoryEvent, new_event
from jevs.domain.issuance import add_years
from jevs.domain.outbox import Outgoing
from jevs.domain.parties import Party, PartyType
from jevs.domain.records import CertificateRecord, CertificateStatus, Usage
from jevs.service.certificates import SubmitCertificate, Submitted, submit_certificate
from tests.factories import ISSUING_BODY, certificate_payload, registered_clients
from tests.fakes import MemoryRecords

# An issuing body that is registered nowhere in the demo: it issued none of the demo certificates.
OTHER_ISSUING_BODY = Party(
    type=PartyType.ISSUING_BODY,
    id="wlg-chamber",
    name="Wellington Chamber of Commerce",
    place="Wellington",
    certificate_prefix="22",
)

# A consignee outside China: its business number is whatever its own country uses.
AUSTRALIAN_CONSIGNEE: dict[str, Any] = {
    "name": "Sydney Fine Foods Pty Ltd",
    "address": "1 George Street, Sydney NSW 2000",
    "country": "AU",
    "business_number": "ABN 51 824 753 556",
}


def party(client_id: str) -> Party:
    """The party a demo OAuth2 client stands for (infrastructure/local/parties.json)."""
    for client in registered_clients():
        if client.client_id == client_id:
            return client.party
    raise LookupError(client_id)


def certificate(**overrides: Any) -> CertificateContent:
    """The example certificate of DESIGN.md §5, validated, with top-level fields replaced by ``overrides``."""
    return CertificateContent.model_validate(certificate_payload(**overrides))


def dated_certificate(*, issued: date, departed: date, remarks: str = "") -> CertificateContent:
    transport = certificate_payload()["transport"] | {"departure_date": departed.isoformat()}
    return certificate(issue_date=issued.isoformat(), transport=transport, remarks=remarks)


def record_of(content: CertificateContent, issued_by: Party) -> CertificateRecord:
    """The record of ``content`` as first issued by ``issued_by``, with its one history event."""
    assert issued_by.place is not None
    recorded_at = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    content_hash = digest(content)
    record = CertificateRecord(
        number=content.certificate_number,
        version=1,
        status=CertificateStatus.ISSUED,
        usage=Usage.UNUSED,
        issuing_body=issued_by.id,
        issuing_body_name=issued_by.name,
        place_of_issue=issued_by.place,
        content=content,
        content_hash=content_hash,
        retrospective=False,
        valid_from=content.issue_date,
        valid_until=add_years(content.issue_date, 1) - timedelta(days=1),
        recorded_at=recorded_at,
        history_head=ChainHead(sequence=0, hash=GENESIS_HASH),
    )
    event = new_event(
        after=None,
        certificate_number=content.certificate_number,
        type=EventType.CERTIFICATE_ISSUED,
        occurred_at=recorded_at,
        actor=issued_by.id,
        version=1,
        details={"content_hash": content_hash, "status": CertificateStatus.ISSUED, "retrospective": False},
        state_hash=record.state_hash,
    )
    return record.model_copy(update={"history_head": event.head})


def simple_answer(result: Submitted) -> dict[str, Any]:
    """What the API would answer for a submission, reduced to what the tests compare: 201 on creation, else 200."""
    return {"status_code": 201 if result.created else 200, "body": {"n": result.record.number}}


# -- reading the records table back --------------------------------------------------------------------------


def certificate_numbers(records: MemoryRecords) -> list[str]:
    """The number of every certificate stored, in order."""
    return sorted(items.certificate_of(item).number for item in records.table.items() if item["sk"] == items.HEAD)


def stored_certificate(records: MemoryRecords, number: str) -> CertificateRecord:
    found = records.uow().certificates.get(number)
    assert found is not None, f"certificate {number} is not stored"
    return found


def stored_history(records: MemoryRecords, number: str) -> list[HistoryEvent]:
    return list(records.uow().certificates.history(number))


def without(records: MemoryRecords, key: tuple[str, str]) -> MemoryRecords:
    """The same records, at the same clock, less the item under ``key``: a record removed behind JEVS's back."""
    copy = MemoryRecords(records.clock)
    for item in records.table.items():
        if (item["pk"], item["sk"]) != key:
            copy.table.put_raw(item)
    return copy


class RivalFirst(TableUnitOfWork):
    """A unit of work over ``records`` whose first commit comes just after ``rival`` ran (in units of work of its
    own): what a use case read changes between its read and its write, as when two requests race."""

    def __init__(self, records: MemoryRecords, rival: Callable[[], object]) -> None:
        super().__init__(records.table, records.clock)
        self._rival: Callable[[], object] | None = rival

    def commit(self, answering: object | None = None) -> None:
        rival, self._rival = self._rival, None
        if rival is not None:
            rival()
        super().commit(answering)


def issued_outbox(records: MemoryRecords, count: int) -> list[Outgoing]:
    """The outbox of ``count`` example certificates submitted (11.1234.00001 on), as the relay reads it, by message
    id."""
    for serial in range(1, count + 1):
        content = certificate(certificate_number=f"11.1234.{serial:05d}")
        submit_certificate(SubmitCertificate(party(ISSUING_BODY), content), records.uow())
    outgoing = [message for item in records.table.items() if (message := outgoing_of(item)) is not None]
    return sorted(outgoing, key=lambda message: message.message_id)
