"""Builders for the matching tests: certificate records with their real validity, declarations as the two
customs lodge them (DESIGN.md §5), and usage ledgers."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import (
    Declarant,
    DeclarationContent,
    DeclarationRecord,
    DeclarationStatus,
    LedgerSide,
    UsageLedger,
    declaration_id,
)
from jevs.domain.issuance import assess_validity
from jevs.domain.records import CertificateRecord, CertificateStatus
from tests.factories import CN_CUSTOMS, ISSUING_BODY, NZ_CUSTOMS, certificate_payload, item_payload
from tests.unit.support import certificate, party, record_of

CN = Declarant.CN_IMPORT_DECLARATION
NZ = Declarant.NZ_EXPORT_ENTRY

# The example certificate of DESIGN.md §5: issued 2026-11-20, shipped 2026-11-22, so valid 2026-11-20 to 2027-11-19.
NUMBER = "11.1234.12345"
REPLACEMENT_NUMBER = "11.1234.12346"
COPY_NUMBER = "11.1234.12399"
DECIDED_AT = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
RECEIVED_AT = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)

_DECLARATION: dict[str, Any] = {
    "declaration_number": "223320261000123456",
    "certificate_number": NUMBER,
    "declared_on": "2026-12-05",
    "exporter_name": "KAURI DAIRY CO-OPERATIVE LTD",
    "importer_name": "Shanghai Harbour Foods Co Ltd",
    "lines": [],
}
_LINE: dict[str, Any] = {
    "line_number": 1,
    "certificate_item_number": 1,
    "hs_code": "0402211000",
    "origin_country": "NZ",
    "quantity": {"value": "25000", "unit": "KGM"},
    "invoice_number": "INV-2026-0042",
}


def line_payload(line_number: int = 1, **overrides: Any) -> dict[str, Any]:
    """The example declaration line of DESIGN.md §5 (all of item 1), numbered ``line_number``."""
    line = copy.deepcopy(_LINE)
    line["line_number"] = line_number
    line.update(overrides)
    return line


def declaration_payload(**overrides: Any) -> dict[str, Any]:
    """The example declaration of DESIGN.md §5 as a fresh dict; top-level fields replaced by ``overrides``."""
    payload = copy.deepcopy(_DECLARATION)
    payload["lines"] = [line_payload()]
    payload.update(overrides)
    return payload


def lodged(declarant: Declarant = CN, payload: dict[str, Any] | None = None, **overrides: Any) -> DeclarationRecord:
    """A declaration as stored on receipt, lodged by ``declarant``'s customs: the example, or ``payload``."""
    content = DeclarationContent.model_validate(payload if payload is not None else declaration_payload(**overrides))
    return DeclarationRecord(
        id=declaration_id(declarant, content.declaration_number),
        declarant=declarant,
        declarant_party=party(CN_CUSTOMS if declarant is CN else NZ_CUSTOMS).id,
        content=content,
        content_hash=digest(content),
        status=DeclarationStatus.RECEIVED,
        received_at=RECEIVED_AT,
    )


def record(content: CertificateContent | None = None, **fields: Any) -> CertificateRecord:
    """The record of ``content`` (default: the example) with the validity issue gives it, and ``fields``."""
    content = content if content is not None else certificate()
    validity = assess_validity(content, today_in_new_zealand=content.issue_date)
    issued = record_of(content, party(ISSUING_BODY))
    return issued.model_copy(
        update={
            "retrospective": validity.retrospective,
            "valid_from": validity.valid_from,
            "valid_until": validity.valid_until,
            **fields,
        }
    )


def retrospective_record(*, issued: date, departed: date) -> CertificateRecord:
    transport = certificate_payload()["transport"] | {"departure_date": departed.isoformat()}
    return record(certificate(issue_date=issued.isoformat(), transport=transport))


def two_item_record() -> CertificateRecord:
    """The example with a second item: 12 tonnes of butter under its own invoice."""
    butter = item_payload(
        2,
        hs_code="040510",
        description="Butter, 82% fat, in 25 kg cartons",
        quantity={"value": "12", "unit": "TNE"},
        invoice={"number": "INV-2026-0043", "date": "2026-11-18"},
    )
    return record(certificate(items=[item_payload(1), butter]))


def copy_record() -> CertificateRecord:
    """A certificate under its own number that draws on the example's usage ledger, as a replacement does."""
    return record(certificate(certificate_number=COPY_NUMBER), ledger_root=NUMBER)


def revoked_record() -> CertificateRecord:
    return record(status=CertificateStatus.REVOKED)


def replaced_record() -> CertificateRecord:
    return record(status=CertificateStatus.REPLACED, replaced_by=REPLACEMENT_NUMBER)


def ledger(
    *,
    revision: int = 1,
    used_by: str | None = None,
    used_certificate: str | None = None,
    export: dict[int, str] | None = None,
    imported: dict[int, str] | None = None,
    root: str = NUMBER,
) -> UsageLedger:
    """A usage ledger of the example certificate; quantities as strings per item number."""
    drawn: dict[LedgerSide, dict[int, Decimal]] = {}
    if export is not None:
        drawn[LedgerSide.EXPORT] = {item: Decimal(value) for item, value in export.items()}
    if imported is not None:
        drawn[LedgerSide.IMPORT] = {item: Decimal(value) for item, value in imported.items()}
    return UsageLedger(
        root_number=root,
        revision=revision,
        used_by_declaration=used_by,
        used_certificate_number=used_certificate,
        drawn=drawn,
    )
