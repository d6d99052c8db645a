"""Matching a declaration against the certificate it quotes (DESIGN.md §4): pure rules, no AWS, no I/O.

``decide_match`` takes the declaration, the certificate it quotes (None when there is none), the usage ledger
of that certificate (None when nothing has used it yet) and the time of the decision, and returns the
result together with the ledger to store with it. The rules, in the order they apply, and where each lives:

Per declaration, each one ending the decision when it fails (no line is looked at):
1. The certificate exists, else ``CERTIFICATE_NOT_FOUND`` (``decide_match``). For a CN import declaration
   it must also be a certificate for goods imported into China: China Customs may not see any other
   (DESIGN.md §1), so it is not found either (``_quoted_certificate``).
2. It is ``ISSUED``: a replaced one is ``CERTIFICATE_NOT_VALID`` and points to its replacement, a revoked
   one is ``CERTIFICATE_NOT_VALID`` (``_status_refusal``; DESIGN.md §2, §3).
3. For a CN import declaration only: the declaration date is within the validity period, which for a
   certificate issued retrospectively starts at shipment (``_validity_refusal``; DESIGN.md §2), and
4. the certificate is not used by another import declaration, counting every certificate that shares its
   ledger: a replacement draws on its original's, and a certified true copy is a later version of the same
   certificate (``_usage_refusal``; DESIGN.md §2 "one certificate per import declaration"). The same
   declaration matched again passes, and gets the same result.
   NZ export entries skip 3 and 4: goods may leave on entries after the certificate's year, and the
   export side never "uses" a certificate in the FTA's sense.

Discrepancies, all collected (DESIGN.md §4):
5. Exporter and importer names agree after normalisation; similar is a warning, different an error
   (``_name_discrepancies``, with the comparison in ``jevs.domain.names``).
6. Per line, in line-number order (``_line_discrepancies``): the item exists (``_unknown_item``, which
   skips the line's other checks); the first 6 digits of the tariff code are the item's HS code
   (``_hs_discrepancy``); the origin is NZ (``_origin_discrepancy``); the quantity is in the item's unit and
   within what remains of it after the ledger and the declaration's earlier lines (``_quantity_discrepancy``);
   the invoice number agrees after normalisation (``_invoice_discrepancy``).

Outcome:
7. ``MATCHED`` when no discrepancy is an error, else ``MISMATCHED`` (``_status_of``).
8. Only ``MATCHED`` draws on the ledger (``_ledger_after``): the lines' quantities are added on the
   declarant's side, and a CN import declaration marks the certificate used. The store writes the ledger
   only if its revision is unchanged, so two declarations racing for one certificate cannot both win.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from jevs.domain.certificate import Item
from jevs.domain.declarations import (
    Declarant,
    DeclarationContent,
    DeclarationLine,
    DeclarationRecord,
    DeclarationStatus,
    Discrepancy,
    LedgerSide,
    MatchResult,
    Severity,
    UsageLedger,
    side_of,
)
from jevs.domain.history import EventType
from jevs.domain.names import NameAgreement, compare_names
from jevs.domain.records import CertificateChange, CertificateRecord, CertificateStatus, Usage

# The country every good on a China–NZ FTA certificate issued in New Zealand originates in.
ORIGIN_COUNTRY = "NZ"
# How many leading digits of a national tariff code are the HS subheading.
HS_DIGITS = 6

# A name that is similar but not the same deserves a look, not a refusal.
_NAME_SEVERITY: Mapping[NameAgreement, Severity] = {
    NameAgreement.SIMILAR: Severity.WARNING,
    NameAgreement.DIFFERENT: Severity.ERROR,
}


@dataclass(frozen=True)
class MatchDecision:
    result: MatchResult
    # The ledger to store with the result (revision + 1), or None when the result uses nothing.
    ledger: UsageLedger | None


@dataclass(frozen=True)
class _Refusal:
    """A per-declaration rule that failed: the status it decides and the one discrepancy that says why."""

    status: DeclarationStatus
    discrepancy: Discrepancy
    replacement_certificate_number: str | None = None


def decide_match(
    declaration: DeclarationRecord,
    certificate: CertificateRecord | None,
    ledger: UsageLedger | None,
    decided_at: datetime,
) -> MatchDecision:
    """Decide what ``declaration`` matches of ``certificate`` (the rules are listed in the module docstring)."""
    content = declaration.content
    certificate = _quoted_certificate(declaration, certificate)
    if certificate is None:
        return MatchDecision(_result(content, DeclarationStatus.CERTIFICATE_NOT_FOUND, (), decided_at), None)
    _check_inputs(content, certificate, ledger)

    refusal = _status_refusal(certificate) or _import_refusal(declaration, certificate, ledger)
    if refusal is not None:
        result = _result(
            content,
            refusal.status,
            (refusal.discrepancy,),
            decided_at,
            replacement_certificate_number=refusal.replacement_certificate_number,
        )
        return MatchDecision(result, None)

    # A CN import declaration matched before already drew on the ledger: it is decided against the ledger
    # as it was, and records nothing new, so matching it again gives the same result and draws nothing twice.
    repeated = _already_used_by(declaration, ledger)
    drawn_before = None if repeated else ledger
    discrepancies = (
        *_name_discrepancies(content, certificate),
        *_line_discrepancies(content.lines, certificate, drawn_before, side_of(declaration.declarant)),
    )
    status = _status_of(discrepancies)
    result = _result(content, status, discrepancies, decided_at)
    if status is not DeclarationStatus.MATCHED or repeated:
        return MatchDecision(result, None)
    return MatchDecision(result, _ledger_after(declaration, certificate, ledger))


def _quoted_certificate(
    declaration: DeclarationRecord, certificate: CertificateRecord | None
) -> CertificateRecord | None:
    """The certificate as far as the declarant may know it: China Customs knows only certificates for China."""
    if (
        certificate is not None
        and declaration.declarant is Declarant.CN_IMPORT_DECLARATION
        and certificate.importing_country != "CN"
    ):
        return None
    return certificate


def _check_inputs(content: DeclarationContent, certificate: CertificateRecord, ledger: UsageLedger | None) -> None:
    """Guard against a caller passing the wrong certificate or ledger: that is a bug, not a mismatch."""
    if certificate.number != content.certificate_number:
        raise ValueError(f"certificate {certificate.number} is not the one quoted ({content.certificate_number})")
    if ledger is not None and ledger.root_number != certificate.usage_root:
        raise ValueError(f"ledger of {ledger.root_number} is not the ledger of {certificate.usage_root}")


def _result(
    content: DeclarationContent,
    status: DeclarationStatus,
    discrepancies: tuple[Discrepancy, ...],
    decided_at: datetime,
    *,
    replacement_certificate_number: str | None = None,
) -> MatchResult:
    return MatchResult(
        declaration_number=content.declaration_number,
        certificate_number=content.certificate_number,
        status=status,
        discrepancies=discrepancies,
        decided_at=decided_at,
        replacement_certificate_number=replacement_certificate_number,
    )


# Rules per declaration (2 to 4) ---------------------------------------------------------------------------


def _status_refusal(certificate: CertificateRecord) -> _Refusal | None:
    """Rule 2: only an ISSUED certificate can be matched; a replaced one names its replacement."""
    if certificate.status is CertificateStatus.ISSUED:
        return None
    replacement = certificate.replaced_by if certificate.status is CertificateStatus.REPLACED else None
    return _Refusal(
        DeclarationStatus.CERTIFICATE_NOT_VALID,
        _error(None, "certificate_status", certificate.status.value, None),
        replacement_certificate_number=replacement,
    )


def _import_refusal(
    declaration: DeclarationRecord, certificate: CertificateRecord, ledger: UsageLedger | None
) -> _Refusal | None:
    """Rules 3 and 4 apply to CN import declarations only (see the module docstring for why)."""
    if declaration.declarant is not Declarant.CN_IMPORT_DECLARATION:
        return None
    return _validity_refusal(declaration.content, certificate) or _usage_refusal(declaration, ledger)


def _validity_refusal(content: DeclarationContent, certificate: CertificateRecord) -> _Refusal | None:
    """Rule 3: declared within [valid_from, valid_until], both days included."""
    if certificate.valid_from <= content.declared_on <= certificate.valid_until:
        return None
    period = f"{certificate.valid_from.isoformat()}/{certificate.valid_until.isoformat()}"
    return _Refusal(
        DeclarationStatus.CERTIFICATE_NOT_VALID, _error(None, "declared_on", period, content.declared_on.isoformat())
    )


def _usage_refusal(declaration: DeclarationRecord, ledger: UsageLedger | None) -> _Refusal | None:
    """Rule 4: used by another import declaration (through this certificate or the copy/original sharing
    its ledger)."""
    if ledger is None or ledger.used_by_declaration in (None, declaration.id):
        return None
    return _Refusal(DeclarationStatus.CERTIFICATE_ALREADY_USED, _error(None, "certificate_usage", "USED", None))


def _already_used_by(declaration: DeclarationRecord, ledger: UsageLedger | None) -> bool:
    return (
        declaration.declarant is Declarant.CN_IMPORT_DECLARATION
        and ledger is not None
        and ledger.used_by_declaration == declaration.id
    )


# Discrepancies (5 and 6) ----------------------------------------------------------------------------------


def _name_discrepancies(content: DeclarationContent, certificate: CertificateRecord) -> Iterator[Discrepancy]:
    """Rule 5: the exporter (box 1) and the importer (box 3, the consignee) as the declaration names them."""
    pairs = (
        ("exporter_name", certificate.content.exporter.name, content.exporter_name),
        ("importer_name", certificate.content.consignee.name, content.importer_name),
    )
    for field, on_certificate, declared in pairs:
        severity = _NAME_SEVERITY.get(compare_names(on_certificate, declared))
        if severity is not None:
            yield Discrepancy(
                line_number=None,
                field=field,
                certificate_value=on_certificate,
                declared_value=declared,
                severity=severity,
            )


def _line_discrepancies(
    lines: Iterable[DeclarationLine], certificate: CertificateRecord, ledger: UsageLedger | None, side: LedgerSide
) -> Iterator[Discrepancy]:
    """Rule 6, line by line in line-number order, so "earlier lines" means lower line numbers."""
    items = {item.item_number: item for item in certificate.content.items}
    # What lines already checked have taken of each item, within what remained.
    claimed: defaultdict[int, Decimal] = defaultdict(Decimal)
    for line in sorted(lines, key=lambda line: line.line_number):
        item = items.get(line.certificate_item_number)
        if item is None:
            yield _unknown_item(line)
            continue
        drawn = ledger.drawn_quantity(side, item.item_number) if ledger is not None else Decimal(0)
        remaining = item.quantity.value - drawn - claimed[item.item_number]
        checks = (
            _hs_discrepancy(line, item),
            _origin_discrepancy(line),
            _quantity_discrepancy(line, item, remaining),
            _invoice_discrepancy(line, item),
        )
        yield from (discrepancy for discrepancy in checks if discrepancy is not None)
        if line.quantity.unit == item.quantity.unit and line.quantity.value <= remaining:
            claimed[item.item_number] += line.quantity.value


def _unknown_item(line: DeclarationLine) -> Discrepancy:
    return _error(line.line_number, "certificate_item_number", None, str(line.certificate_item_number))


def _hs_discrepancy(line: DeclarationLine, item: Item) -> Discrepancy | None:
    """China declares 10 digits and NZ 8 + 3: the first 6 are the HS subheading the certificate names."""
    if line.hs_code[:HS_DIGITS] == item.hs_code:
        return None
    return _error(line.line_number, "hs_code", item.hs_code, line.hs_code)


def _origin_discrepancy(line: DeclarationLine) -> Discrepancy | None:
    if line.origin_country == ORIGIN_COUNTRY:
        return None
    return _error(line.line_number, "origin_country", ORIGIN_COUNTRY, line.origin_country)


def _quantity_discrepancy(line: DeclarationLine, item: Item, remaining: Decimal) -> Discrepancy | None:
    """In the item's unit (no conversion: a unit the certificate does not use is an error) and within what
    remains of the certified quantity."""
    if line.quantity.unit != item.quantity.unit:
        return _error(line.line_number, "quantity.unit", item.quantity.unit, line.quantity.unit)
    if line.quantity.value <= remaining:
        return None
    return _error(line.line_number, "quantity", plain(remaining), plain(line.quantity.value))


def _invoice_discrepancy(line: DeclarationLine, item: Item) -> Discrepancy | None:
    if invoice_key(line.invoice_number) == invoice_key(item.invoice.number):
        return None
    return _error(line.line_number, "invoice_number", item.invoice.number, line.invoice_number)


def invoice_key(number: str) -> str:
    """An invoice number as compared: "inv-2026/0042" and "INV 2026 0042" are both "INV20260042".

    A number with no letter or digit at all is kept as written, so two such numbers are not equal by
    having nothing left.
    """
    text = unicodedata.normalize("NFKC", number).upper()
    key = "".join(character for character in text if character.isalnum())
    return key or text.strip()


# Outcome (7 and 8) ----------------------------------------------------------------------------------------


def _status_of(discrepancies: Iterable[Discrepancy]) -> DeclarationStatus:
    """Rule 7: warnings never stop the goods."""
    if any(discrepancy.severity is Severity.ERROR for discrepancy in discrepancies):
        return DeclarationStatus.MISMATCHED
    return DeclarationStatus.MATCHED


def _ledger_after(
    declaration: DeclarationRecord, certificate: CertificateRecord, ledger: UsageLedger | None
) -> UsageLedger:
    """Rule 8: the ledger with this declaration's quantities drawn, and for an import, the certificate used."""
    before = ledger if ledger is not None else UsageLedger(root_number=certificate.usage_root)
    side = side_of(declaration.declarant)
    drawn = {each: dict(quantities) for each, quantities in before.drawn.items()}
    on_side = drawn.setdefault(side, {})
    for line in declaration.content.lines:
        item_number = line.certificate_item_number
        on_side[item_number] = on_side.get(item_number, Decimal(0)) + line.quantity.value
    importing = declaration.declarant is Declarant.CN_IMPORT_DECLARATION
    return UsageLedger(
        root_number=before.root_number,
        revision=before.revision + 1,
        used_by_declaration=declaration.id if importing else before.used_by_declaration,
        used_certificate_number=certificate.number if importing else before.used_certificate_number,
        drawn=drawn,
    )


# Helpers --------------------------------------------------------------------------------------------------


def _error(
    line_number: int | None, field: str, certificate_value: str | None, declared_value: str | None
) -> Discrepancy:
    return Discrepancy(
        line_number=line_number,
        field=field,
        certificate_value=certificate_value,
        declared_value=declared_value,
        severity=Severity.ERROR,
    )


def plain(value: Decimal) -> str:
    """A decimal as partners write it: no exponent, no trailing zeros ("25000", "12.5")."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


MATCHER = "jevs-matcher"


def certificate_after(certificate: CertificateRecord, decided: DeclarationRecord, at: datetime) -> CertificateChange:
    """The certificate once a declaration quoting it is decided: a ``DECLARATION_DECIDED`` event in its
    history and, for a matched CN import declaration, its usage ``USED`` (DESIGN.md §4)."""
    result = decided.result
    if result is None:
        raise ValueError(f"declaration {decided.id} is not decided")
    used_now = decided.declarant is Declarant.CN_IMPORT_DECLARATION and result.status is DeclarationStatus.MATCHED
    usage = Usage.USED if used_now else certificate.usage
    return certificate.changed(
        EventType.DECLARATION_DECIDED,
        at=at,
        actor=MATCHER,
        details={
            "declaration_id": decided.id,
            "declarant": decided.declarant.value,
            "status": result.status.value,
            "errors": sum(1 for found in result.discrepancies if found.severity is Severity.ERROR),
            "warnings": sum(1 for found in result.discrepancies if found.severity is Severity.WARNING),
            "usage": usage.value,
        },
        usage=usage,
    )
