"""Customs declarations that quote a certificate, and what matching decided about them (DESIGN.md §3, §4).

NZ Customs lodges export entries, China Customs lodges import declarations; which one a declaration is
follows from the caller, never from the body. A declaration is stored ``RECEIVED`` and decided
asynchronously by the matching function (``jevs.domain.matching``); the usage ledger records what each
certificate has already been used for, so the decision and the usage are written together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
)

from jevs.domain.certificate import Name, Quantity, Reference
from jevs.domain.identifiers import CertificateNumber, CountryCode
from jevs.domain.parties import Party, PartyType
from jevs.domain.text import Inbound

# A declaration quotes at most this many lines. The API's body limit binds first (64 KiB, as far as WAF inspects a
# body): 250 lines with every field at its longest are 54 KB of JSON. Stored with a result of four discrepancies on
# every line (the largest), the declaration is 183 KB of DynamoDB's 400 KB item and the result 132 KB of SQS's
# 256 KB message: at 500 lines that message would no longer fit (benchmarks/round_trips.py).
MAX_LINES = 250


# The rules of DESIGN.md §4 each declarant's declarations follow.
class Declarant(StrEnum):
    """Which customs lodged the declaration, and so which rules of matching apply."""

    NZ_EXPORT_ENTRY = "NZ_EXPORT_ENTRY"
    CN_IMPORT_DECLARATION = "CN_IMPORT_DECLARATION"

    @property
    def id_prefix(self) -> str:
        return "NZEX" if self is Declarant.NZ_EXPORT_ENTRY else "CNIM"


def declarant_for(party: Party) -> Declarant | None:
    """The kind of declaration a party lodges, or None for a party that lodges none."""
    return {
        PartyType.NZ_CUSTOMS: Declarant.NZ_EXPORT_ENTRY,
        PartyType.CN_CUSTOMS: Declarant.CN_IMPORT_DECLARATION,
    }.get(party.type)


class DeclarationStatus(StrEnum):
    RECEIVED = "RECEIVED"
    MATCHED = "MATCHED"
    MISMATCHED = "MISMATCHED"
    CERTIFICATE_NOT_FOUND = "CERTIFICATE_NOT_FOUND"
    CERTIFICATE_NOT_VALID = "CERTIFICATE_NOT_VALID"
    CERTIFICATE_ALREADY_USED = "CERTIFICATE_ALREADY_USED"


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


_DECLARATION_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,34}$")
# A national tariff code: China declares 10 digits, NZ 8 digits plus a 3-digit statistical key.
_NATIONAL_CODE = re.compile(r"^[0-9]{6,12}$")


def _declaration_number(value: str) -> str:
    if not _DECLARATION_NUMBER.fullmatch(value):
        raise ValueError("a declaration number is 1 to 35 capital letters, digits and hyphens")
    return value


def _national_code(value: str) -> str:
    compact = value.replace(".", "").replace(" ", "")
    if not _NATIONAL_CODE.fullmatch(compact):
        raise ValueError("a tariff code is 6 to 12 digits (dots and spaces are ignored)")
    return compact


DeclarationNumber = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=32)]
# A declaration number in its checked form, for bodies that name a declaration (a preference decision).
CheckedDeclarationNumber = Annotated[DeclarationNumber, AfterValidator(_declaration_number)]
TariffCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=20)]
InvoiceNumber = Reference


class _Part(Inbound):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class DeclarationLine(_Part):
    """One line of a declaration: which certificate item it claims, and what is declared for it."""

    line_number: StrictInt = Field(ge=1, le=999)
    certificate_item_number: StrictInt = Field(ge=1, le=99)
    hs_code: TariffCode = Field(description="The national tariff code as declared (CN 10 digits, NZ 8 + 3).")
    origin_country: CountryCode
    quantity: Quantity
    invoice_number: InvoiceNumber

    @field_validator("hs_code")
    @classmethod
    def _digits(cls, value: str) -> str:
        return _national_code(value)


class DeclarationContent(_Part):
    """A declaration as the declaring customs lodges it (DESIGN.md §5)."""

    declaration_number: DeclarationNumber = Field(examples=["223320261000123456"])
    certificate_number: CertificateNumber = Field(
        description="NN.NNNN.NNNNN or the export entry form COONNNNNNNNNNN; stored dotted.",
        examples=["11.1234.12345", "COO11123412345"],
    )
    declared_on: date
    exporter_name: Name
    importer_name: Name
    lines: list[DeclarationLine] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("declaration_number")
    @classmethod
    def _number_form(cls, value: str) -> str:
        return _declaration_number(value)

    @field_validator("lines")
    @classmethod
    def _line_numbers_unique(cls, lines: list[DeclarationLine]) -> list[DeclarationLine]:
        seen: set[int] = set()
        for line in lines:
            if line.line_number in seen:
                raise ValueError(f"line number {line.line_number} appears more than once")
            seen.add(line.line_number)
        return lines


def declaration_id(declarant: Declarant, declaration_number: str) -> str:
    """Stable for the same declaration from the same customs: lodging it again finds the first one."""
    return f"{declarant.id_prefix}-{declaration_number}"


class Discrepancy(_Part):
    """One detail that does not agree. ``line_number`` is None for the declaration's own fields."""

    line_number: int | None
    field: str
    certificate_value: str | None
    declared_value: str | None
    severity: Severity


class MatchResult(_Part):
    """What matching decided (DESIGN.md §5: the result the declarant reads and receives)."""

    declaration_number: str
    certificate_number: str
    status: DeclarationStatus
    discrepancies: tuple[Discrepancy, ...] = ()
    decided_at: AwareDatetime
    replacement_certificate_number: str | None = None


class AmendedRevision(_Part):
    """The revision a new one replaced, kept until the new one is decided: what it drew on a certificate is
    released in the same transaction as the new decision (DESIGN.md §3)."""

    revision: int
    content: DeclarationContent
    result: MatchResult | None


class DeclarationRecord(_Part):
    """A declaration as stored: who lodged it, what it says (its latest revision), and once decided, the result.

    A declarant may lodge the same declaration number again with amended content: a new revision, decided again
    (``amended``). ``decision`` counts the decisions made so far (a declaration whose certificate was not found
    is decided again when the certificate arrives), so each result has a key of its own.
    """

    id: str
    declarant: Declarant
    declarant_party: str
    content: DeclarationContent
    content_hash: str
    status: DeclarationStatus
    received_at: AwareDatetime
    result: MatchResult | None = None
    revision: int = Field(default=1, ge=1)
    decision: int = Field(default=0, ge=0)
    amends: AmendedRevision | None = None

    def amended(self, content: DeclarationContent, content_hash: str, at: datetime) -> DeclarationRecord:
        """The next revision, ``RECEIVED``: decided again from scratch. What the revision it replaces drew is kept
        aside to be released when it is decided (if that one was never decided, there is nothing to release)."""
        amends = (
            AmendedRevision(revision=self.revision, content=self.content, result=self.result)
            if self.result is not None
            else self.amends
        )
        return self.model_copy(
            update={
                "content": content,
                "content_hash": content_hash,
                "status": DeclarationStatus.RECEIVED,
                "received_at": at,
                "result": None,
                "revision": self.revision + 1,
                "amends": amends,
            }
        )

    def decided(self, result: MatchResult) -> DeclarationRecord:
        """Decided (again): its result, and one more decision counted; the amended revision has been released."""
        return self.model_copy(
            update={"status": result.status, "result": result, "decision": self.decision + 1, "amends": None}
        )


class LedgerSide(StrEnum):
    """Usage is counted apart for each side: NZ export entries draw on the certificate as goods leave, one
    CN import declaration uses it as they arrive."""

    EXPORT = "EXPORT"
    IMPORT = "IMPORT"


def side_of(declarant: Declarant) -> LedgerSide:
    return LedgerSide.EXPORT if declarant is Declarant.NZ_EXPORT_ENTRY else LedgerSide.IMPORT


class UsageLedger(_Part):
    """What a certificate (with its certified true copy, if any) has been used for.

    One ledger per original certificate: a copy and its original share it, which is what stops both from
    being used. Every change raises ``revision``, and the store writes a change only if the revision it
    read is still the stored one, so two declarations racing for one certificate cannot both win.
    """

    # The original certificate's number: the one a certified true copy was made from, or the certificate.
    root_number: str
    revision: int = Field(default=0, ge=0)
    # The CN import declaration that used the certificate, and which certificate (original or copy) it quoted.
    used_by_declaration: str | None = None
    used_certificate_number: str | None = None
    # Quantities already drawn, per side and certificate item number.
    drawn: Mapping[LedgerSide, Mapping[int, Decimal]] = Field(default_factory=dict)

    def drawn_quantity(self, side: LedgerSide, item_number: int) -> Decimal:
        return self.drawn.get(side, {}).get(item_number, Decimal(0))

    @property
    def used(self) -> bool:
        return self.used_by_declaration is not None

    def released(self, declaration_id: str, declarant: Declarant, amended: AmendedRevision) -> UsageLedger:
        """The ledger without what ``amended`` (a revision of declaration ``declaration_id``, since amended) drew:
        only a matched revision drew anything. The revision is not moved here: the write that stores the result
        moves it, conditioned on the revision read."""
        if amended.result is None or amended.result.status is not DeclarationStatus.MATCHED:
            return self
        side = side_of(declarant)
        drawn = {each: dict(quantities) for each, quantities in self.drawn.items()}
        on_side = drawn.setdefault(side, {})
        for line in amended.content.lines:
            item = line.certificate_item_number
            left = on_side.get(item, Decimal(0)) - line.quantity.value
            on_side[item] = max(left, Decimal(0))
        released_use = self.used_by_declaration == declaration_id
        return self.model_copy(
            update={
                "drawn": drawn,
                "used_by_declaration": None if released_use else self.used_by_declaration,
                "used_certificate_number": None if released_use else self.used_certificate_number,
            }
        )


def result_document(record: DeclarationRecord) -> dict[str, object]:
    """A declaration as its declarant reads it (DESIGN.md §5): its id and status and, once decided, the result."""
    document: dict[str, object] = {
        "declaration_id": record.id,
        "declaration_number": record.content.declaration_number,
        "certificate_number": record.content.certificate_number,
        "declarant": record.declarant.value,
        "revision": record.revision,
        "status": record.status.value,
        "received_at": record.received_at.isoformat(),
    }
    if record.result is not None:
        # Every discrepancy keeps all its fields (a declaration-level one has line_number null).
        document.update(record.result.model_dump(mode="json"))
    return document
