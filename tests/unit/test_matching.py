"""Matching a declaration against the certificate it quotes (DESIGN.md §4): one scenario per rule and outcome,
then properties over declarations built from the certificate itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevs.domain.declarations import (
    Declarant,
    DeclarationRecord,
    DeclarationStatus,
    Discrepancy,
    LedgerSide,
    Severity,
    UsageLedger,
    declaration_id,
)
from jevs.domain.history import EventType
from jevs.domain.matching import MATCHER, MatchDecision, certificate_after, decide_match, invoice_key, plain
from jevs.domain.names import NameAgreement, compare_names
from jevs.domain.records import CertificateRecord, Usage
from tests.factories import item_payload
from tests.unit.matching_support import (
    CN,
    COPY_NUMBER,
    DECIDED_AT,
    NUMBER,
    NZ,
    REPLACEMENT_NUMBER,
    copy_record,
    declaration_payload,
    ledger,
    line_payload,
    lodged,
    record,
    replaced_record,
    retrospective_record,
    revoked_record,
    two_item_record,
)
from tests.unit.support import certificate

pytestmark = pytest.mark.unit

ERROR, WARNING = Severity.ERROR, Severity.WARNING
MATCHED = DeclarationStatus.MATCHED
MISMATCHED = DeclarationStatus.MISMATCHED
NOT_FOUND = DeclarationStatus.CERTIFICATE_NOT_FOUND
NOT_VALID = DeclarationStatus.CERTIFICATE_NOT_VALID
ALREADY_USED = DeclarationStatus.CERTIFICATE_ALREADY_USED

CN_ID = declaration_id(CN, "223320261000123456")
OTHER_CN_ID = declaration_id(CN, "223320261000999999")
ISSUED = record()
AUSTRALIAN_CONSIGNEE = {"name": "Sydney Harbour Foods Pty Ltd", "address": "1 George Street, Sydney", "country": "AU"}
# The example with its goods discharged in Sydney: no certificate is issued so, and matching does not rely on it.
DISCHARGED_IN_AUSTRALIA = certificate(
    transport=certificate().transport.model_dump(mode="json") | {"port_of_discharge": "AUSYD"}
)

# A discrepancy as the table writes it: (line, field, certificate value, declared value, severity).
Expected = tuple[int | None, str, str | None, str | None, Severity]


@dataclass(frozen=True)
class Scenario:
    declaration: DeclarationRecord
    status: DeclarationStatus
    discrepancies: tuple[Expected, ...] = ()
    # The ledger the decision must return: the one to store with the result, or None.
    ledger_after: UsageLedger | None = None
    certificate: CertificateRecord | None = ISSUED
    ledger_before: UsageLedger | None = None
    replacement: str | None = None


def one_line(declarant: Declarant = CN, **line: Any) -> DeclarationRecord:
    """The example declaration with its one line changed by ``line``."""
    return lodged(declarant, lines=[line_payload(**line)])


def imported(quantities: dict[int, str], *, revision: int = 1, certificate_number: str = NUMBER) -> UsageLedger:
    """The ledger after the example CN import declaration matched, drawing ``quantities``."""
    return ledger(revision=revision, used_by=CN_ID, used_certificate=certificate_number, imported=quantities)


SCENARIOS = [
    # Matched, and what it records.
    pytest.param(
        Scenario(lodged(CN), MATCHED, ledger_after=imported({1: "25000"})),
        id="CN import matches and uses the certificate",
    ),
    pytest.param(
        Scenario(lodged(NZ), MATCHED, ledger_after=ledger(export={1: "25000"})),
        id="NZ export entry matches and draws on the export side only",
    ),
    pytest.param(
        Scenario(
            lodged(
                CN,
                lines=[
                    line_payload(1, quantity={"value": "10000", "unit": "KGM"}),
                    line_payload(
                        2,
                        certificate_item_number=2,
                        hs_code="0405100000",
                        quantity={"value": "12", "unit": "TNE"},
                        invoice_number="INV-2026-0043",
                    ),
                    line_payload(3, quantity={"value": "15000", "unit": "KGM"}),
                ],
            ),
            MATCHED,
            ledger_after=imported({1: "25000", 2: "12"}),
            certificate=two_item_record(),
        ),
        id="lines over two items, one item split across lines",
    ),
    # HS code (first 6 digits).
    pytest.param(
        Scenario(one_line(hs_code="0402291000"), MISMATCHED, ((1, "hs_code", "040221", "0402291000", ERROR),)),
        id="HS differs at 6 digits",
    ),
    pytest.param(
        Scenario(one_line(hs_code="0402219900"), MATCHED, ledger_after=imported({1: "25000"})),
        id="10-digit CN code agreeing at 6 digits",
    ),
    pytest.param(
        Scenario(one_line(NZ, hs_code="0402.21.00.019"), MATCHED, ledger_after=ledger(export={1: "25000"})),
        id="NZ 8+3 code agreeing at 6 digits, written with dots",
    ),
    # Origin.
    pytest.param(
        Scenario(one_line(origin_country="AU"), MISMATCHED, ((1, "origin_country", "NZ", "AU", ERROR),)),
        id="origin not NZ",
    ),
    # Quantity and unit.
    pytest.param(
        Scenario(
            one_line(quantity={"value": "25000.5", "unit": "KGM"}),
            MISMATCHED,
            ((1, "quantity", "25000", "25000.5", ERROR),),
        ),
        id="quantity over the certified",
    ),
    pytest.param(
        Scenario(
            one_line(quantity={"value": "25", "unit": "TNE"}), MISMATCHED, ((1, "quantity.unit", "KGM", "TNE", ERROR),)
        ),
        id="unit different, even if the amount is the same",
    ),
    pytest.param(
        Scenario(
            one_line(quantity={"value": "12000.5", "unit": "KGM"}), MATCHED, ledger_after=imported({1: "12000.5"})
        ),
        id="quantity under the certified",
    ),
    # Invoice.
    pytest.param(
        Scenario(
            one_line(invoice_number="INV-2026-0043"),
            MISMATCHED,
            ((1, "invoice_number", "INV-2026-0042", "INV-2026-0043", ERROR),),
        ),
        id="invoice different",
    ),
    pytest.param(
        Scenario(one_line(invoice_number="inv 2026/0042"), MATCHED, ledger_after=imported({1: "25000"})),
        id="invoice differing only in case and punctuation",
    ),
    # Names.
    pytest.param(
        Scenario(
            lodged(CN, exporter_name="Kauri Diary Co-operative Ltd"),
            MATCHED,
            ((None, "exporter_name", "Kauri Dairy Co-operative Limited", "Kauri Diary Co-operative Ltd", WARNING),),
            ledger_after=imported({1: "25000"}),
        ),
        id="exporter name similar: a warning, still matched",
    ),
    pytest.param(
        Scenario(
            lodged(CN, exporter_name="Tui Valley Wines Limited"),
            MISMATCHED,
            ((None, "exporter_name", "Kauri Dairy Co-operative Limited", "Tui Valley Wines Limited", ERROR),),
        ),
        id="exporter name different",
    ),
    pytest.param(
        Scenario(
            lodged(NZ, importer_name="Shanghai Harbor Foods Co Ltd"),
            MATCHED,
            ((None, "importer_name", "Shanghai Harbour Foods Co., Ltd.", "Shanghai Harbor Foods Co Ltd", WARNING),),
            ledger_after=ledger(export={1: "25000"}),
        ),
        id="importer name similar: a warning, still matched",
    ),
    pytest.param(
        Scenario(
            lodged(CN, importer_name="Beijing Grain Imports Ltd"),
            MISMATCHED,
            ((None, "importer_name", "Shanghai Harbour Foods Co., Ltd.", "Beijing Grain Imports Ltd", ERROR),),
        ),
        id="importer name different",
    ),
    # Items.
    pytest.param(
        Scenario(
            one_line(certificate_item_number=2, hs_code="0101210000"),
            MISMATCHED,
            ((1, "certificate_item_number", None, "2", ERROR),),
        ),
        id="unknown item: one error, the line's other checks skipped",
    ),
    # The certificate: found, issued.
    pytest.param(Scenario(lodged(CN), NOT_FOUND, certificate=None), id="certificate not found"),
    pytest.param(
        Scenario(
            lodged(CN, importer_name="Sydney Harbour Foods Pty Ltd"),
            MATCHED,
            ledger_after=imported({1: "25000"}),
            certificate=record(certificate(consignee=AUSTRALIAN_CONSIGNEE)),
        ),
        id="a certificate for a consignee outside China is found by China Customs: its goods go to China",
    ),
    pytest.param(
        Scenario(lodged(CN), NOT_FOUND, certificate=ISSUED.model_copy(update={"content": DISCHARGED_IN_AUSTRALIA})),
        id="a record whose goods are not for China (none is issued so) is not found by China Customs",
    ),
    pytest.param(
        Scenario(
            lodged(NZ, importer_name="Sydney Harbour Foods Pty Ltd"),
            MATCHED,
            ledger_after=ledger(export={1: "25000"}),
            certificate=record(certificate(consignee=AUSTRALIAN_CONSIGNEE)),
        ),
        id="NZ export entry for goods bought by a consignee outside China matches",
    ),
    pytest.param(
        Scenario(
            lodged(CN), NOT_VALID, ((None, "certificate_status", "REVOKED", None, ERROR),), certificate=revoked_record()
        ),
        id="revoked",
    ),
    pytest.param(
        Scenario(
            lodged(NZ),
            NOT_VALID,
            ((None, "certificate_status", "REVOKED", None, ERROR),),
            certificate=revoked_record(),
        ),
        id="revoked, for an NZ export entry too",
    ),
    pytest.param(
        Scenario(
            lodged(CN),
            NOT_VALID,
            ((None, "certificate_status", "REPLACED", None, ERROR),),
            certificate=replaced_record(),
            replacement=REPLACEMENT_NUMBER,
        ),
        id="replaced: the result points to the replacement",
    ),
    # Validity (CN imports).
    pytest.param(
        Scenario(
            lodged(CN, declared_on="2027-11-20"),
            NOT_VALID,
            ((None, "declared_on", "2026-11-20/2027-11-19", "2027-11-20", ERROR),),
        ),
        id="expired: declared after valid_until",
    ),
    pytest.param(
        Scenario(lodged(CN, declared_on="2027-11-19"), MATCHED, ledger_after=imported({1: "25000"})),
        id="declared on the last day of validity",
    ),
    pytest.param(
        Scenario(
            lodged(CN, declared_on="2026-11-19"),
            NOT_VALID,
            ((None, "declared_on", "2026-11-20/2027-11-19", "2026-11-19", ERROR),),
        ),
        id="declared before valid_from",
    ),
    pytest.param(
        Scenario(
            lodged(CN, declared_on="2026-11-15"),
            MATCHED,
            ledger_after=imported({1: "25000"}),
            certificate=retrospective_record(issued=date(2026, 11, 20), departed=date(2026, 11, 10)),
        ),
        id="retrospective: declared between shipment and issue",
    ),
    pytest.param(
        Scenario(
            lodged(CN, declared_on="2027-11-10"),
            NOT_VALID,
            ((None, "declared_on", "2026-11-10/2027-11-09", "2027-11-10", ERROR),),
            certificate=retrospective_record(issued=date(2026, 11, 20), departed=date(2026, 11, 10)),
        ),
        id="retrospective: declared after shipment + 1 year",
    ),
    pytest.param(
        Scenario(lodged(NZ, declared_on="2028-01-10"), MATCHED, ledger_after=ledger(export={1: "25000"})),
        id="NZ export entry after the year of validity is not refused",
    ),
    # Usage (CN imports).
    pytest.param(
        Scenario(
            lodged(CN),
            ALREADY_USED,
            ((None, "certificate_usage", "USED", None, ERROR),),
            ledger_before=ledger(used_by=OTHER_CN_ID, used_certificate=NUMBER, imported={1: "100"}),
        ),
        id="already used by another CN declaration",
    ),
    pytest.param(
        Scenario(
            lodged(CN, certificate_number=COPY_NUMBER),
            ALREADY_USED,
            ((None, "certificate_usage", "USED", None, ERROR),),
            certificate=copy_record(),
            ledger_before=ledger(used_by=OTHER_CN_ID, used_certificate=NUMBER, imported={1: "100"}),
        ),
        id="certified true copy whose original was used",
    ),
    pytest.param(
        Scenario(
            lodged(CN),
            ALREADY_USED,
            ((None, "certificate_usage", "USED", None, ERROR),),
            ledger_before=ledger(used_by=OTHER_CN_ID, used_certificate=COPY_NUMBER, imported={1: "100"}),
        ),
        id="original whose certified true copy was used",
    ),
    pytest.param(
        Scenario(
            lodged(CN, certificate_number=COPY_NUMBER),
            MATCHED,
            ledger_after=imported({1: "25000"}, certificate_number=COPY_NUMBER),
            certificate=copy_record(),
        ),
        id="certified true copy matched: usage recorded on the original's ledger",
    ),
    pytest.param(
        Scenario(lodged(CN), MATCHED, ledger_before=imported({1: "25000"})),
        id="the same CN declaration again: same result, nothing drawn twice",
    ),
    # NZ export entries.
    pytest.param(
        Scenario(
            lodged(NZ, payload=declaration_payload(certificate_number="COO11123412345")),
            MATCHED,
            ledger_after=ledger(export={1: "25000"}),
        ),
        id="NZ export entry quoting the COO form",
    ),
    pytest.param(
        Scenario(
            lodged(NZ),
            MATCHED,
            ledger_before=imported({1: "25000"}, revision=4),
            ledger_after=ledger(
                revision=5, used_by=CN_ID, used_certificate=NUMBER, imported={1: "25000"}, export={1: "25000"}
            ),
        ),
        id="NZ export entry not refused because a CN import used the certificate",
    ),
    pytest.param(
        Scenario(
            one_line(NZ, quantity={"value": "10000", "unit": "KGM"}),
            MISMATCHED,
            ((1, "quantity", "5000", "10000", ERROR),),
            ledger_before=ledger(revision=3, export={1: "20000"}),
        ),
        id="earlier export entries reduce what remains",
    ),
    pytest.param(
        Scenario(
            one_line(NZ, quantity={"value": "5000", "unit": "KGM"}),
            MATCHED,
            ledger_before=ledger(revision=3, export={1: "20000"}),
            ledger_after=ledger(revision=4, export={1: "25000"}),
        ),
        id="earlier export entries leave the rest to draw",
    ),
    # Lines of one declaration share the item.
    pytest.param(
        Scenario(
            lodged(
                CN,
                lines=[
                    line_payload(2, quantity={"value": "15000", "unit": "KGM"}),
                    line_payload(1, quantity={"value": "15000", "unit": "KGM"}),
                ],
            ),
            MISMATCHED,
            ((2, "quantity", "10000", "15000", ERROR),),
        ),
        id="two lines together exceed the item: the later line gets the error",
    ),
    pytest.param(
        Scenario(
            lodged(
                CN,
                exporter_name="Tui Valley Wines Limited",
                lines=[
                    line_payload(1, hs_code="0402291000", origin_country="AU", invoice_number="X-1"),
                    line_payload(2, quantity={"value": "1", "unit": "TNE"}),
                ],
            ),
            MISMATCHED,
            (
                (None, "exporter_name", "Kauri Dairy Co-operative Limited", "Tui Valley Wines Limited", ERROR),
                (1, "hs_code", "040221", "0402291000", ERROR),
                (1, "origin_country", "NZ", "AU", ERROR),
                (1, "invoice_number", "INV-2026-0042", "X-1", ERROR),
                (2, "quantity.unit", "KGM", "TNE", ERROR),
            ),
        ),
        id="every discrepancy reported, declaration first, then by line",
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_matching_decides_each_rule(scenario: Scenario) -> None:
    # Given a declaration, the certificate it quotes and the certificate's usage so far
    # When matching decides
    decision = decide_match(scenario.declaration, scenario.certificate, scenario.ledger_before, DECIDED_AT)

    # Then the result says what agrees, and only a match draws on the ledger
    result = decision.result
    assert result.status is scenario.status
    assert [astuple(discrepancy) for discrepancy in result.discrepancies] == list(scenario.discrepancies)
    assert result.replacement_certificate_number == scenario.replacement
    assert result.declaration_number == scenario.declaration.content.declaration_number
    assert result.certificate_number == scenario.declaration.content.certificate_number
    assert result.decided_at == DECIDED_AT
    assert decision.ledger == scenario.ledger_after


def astuple(discrepancy: Discrepancy) -> Expected:
    return (
        discrepancy.line_number,
        discrepancy.field,
        discrepancy.certificate_value,
        discrepancy.declared_value,
        discrepancy.severity,
    )


def test_a_declaration_quoting_the_coo_form_gets_the_dotted_number_back() -> None:
    # Given an NZ export entry quoting COO11123412345, When no certificate has that number
    declaration = lodged(NZ, payload=declaration_payload(certificate_number="COO11123412345"))

    decision = decide_match(declaration, None, None, DECIDED_AT)

    # Then the result names it in the dotted form, and nothing is drawn
    assert decision.result.certificate_number == NUMBER
    assert decision.ledger is None


def test_two_cn_declarations_racing_for_one_certificate_both_start_from_one_revision() -> None:
    # Given two CN declarations decided against the same (empty) ledger
    first = decide_match(lodged(CN), ISSUED, None, DECIDED_AT)
    second = decide_match(lodged(CN, declaration_number="223320261000999999"), ISSUED, None, DECIDED_AT)

    # Then both claim revision 1, so the store's conditional write lets only one win
    assert first.ledger is not None
    assert second.ledger is not None
    assert first.ledger.revision == second.ledger.revision == 1

    # And the loser, decided again against the winner's ledger, finds the certificate used
    again = decide_match(lodged(CN, declaration_number="223320261000999999"), ISSUED, first.ledger, DECIDED_AT)
    assert again.result.status is ALREADY_USED


def test_the_wrong_certificate_or_ledger_is_a_bug_not_a_mismatch() -> None:
    with pytest.raises(ValueError, match="not the one quoted"):
        decide_match(lodged(CN), copy_record(), None, DECIDED_AT)
    with pytest.raises(ValueError, match="not the ledger"):
        decide_match(lodged(CN), ISSUED, ledger(root="11.9999.99999"), DECIDED_AT)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("25000", "25000"),
        ("2.5E+4", "25000"),
        ("12.500", "12.5"),
        ("0.000", "0"),
        ("-0", "0"),
        ("0.000001", "0.000001"),
    ],
)
def test_decimals_are_printed_plainly(value: str, text: str) -> None:
    assert plain(Decimal(value)) == text


@pytest.mark.parametrize(
    ("first", "second", "equal"),
    [
        ("INV-2026-0042", "inv 2026/0042", True),
        ("ＩＮＶ２０２６００４２", "INV20260042", True),
        ("INV-2026-0042", "INV-2026-0043", False),
        ("-", "/", False),
    ],
)
def test_invoice_numbers_compare_by_letters_and_digits(first: str, second: str, equal: bool) -> None:
    assert (invoice_key(first) == invoice_key(second)) is equal


# Properties ------------------------------------------------------------------------------------------------

HS_CODES = ("040221", "040210", "040229", "040410", "040510", "040630")
UNITS = ("KGM", "TNE", "LTR", "C62")
EXPORTERS = ("Kauri Dairy Co-operative Limited", "Southern Alps Venison Ltd", "Tui Valley Wines Limited")
CONSIGNEES = ("Shanghai Harbour Foods Co., Ltd.", "Guangzhou Pearl River Trading Company Limited")
UNRELATED_NAMES = ("Beijing Grain Imports Ltd", "Orchard Logistics LLC", "Zhejiang Textile Works Co., Ltd.")
# Ways customs retype a name that must not matter.
RETYPED = (
    lambda name: name,
    str.upper,
    lambda name: name.replace("Limited", "LTD").replace("Co., Ltd.", "Co Ltd"),
    lambda name: name.replace(",", "").replace(".", ""),
)

amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3)
invoice_numbers = st.from_regex(r"[A-Z]{2,4}-[0-9]{2,6}", fullmatch=True)


@dataclass(frozen=True)
class Certified:
    """A certificate and a declaration built from it that claims no more than it certifies."""

    certificate: CertificateRecord
    declarant: Declarant
    payload: dict[str, Any]

    def item(self, number: int) -> dict[str, Any]:
        return self.certificate.content.items[number - 1].model_dump(mode="json")

    def declaration(self) -> DeclarationRecord:
        return lodged(self.declarant, payload=self.payload)


@st.composite
def certified_items(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1 to 5 items of distinct goods (the quantities are replaced by the caller)."""
    count = draw(st.integers(min_value=1, max_value=5))
    return [
        item_payload(
            number,
            hs_code=draw(st.sampled_from(HS_CODES)),
            quantity={"value": "1", "unit": draw(st.sampled_from(UNITS))},
            invoice={"number": draw(invoice_numbers), "date": "2026-11-18"},
        )
        for number in range(1, count + 1)
    ]


@st.composite
def declarations_from_certificates(draw: st.DrawFn) -> Certified:
    """Property (a)'s input: any subset of the items, each split over lines whose quantities sum to at most
    the certified quantity, names retyped harmlessly, HS codes extended with any 4 digits."""
    items = draw(certified_items())
    declared = draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items)))
    if not any(declared):
        declared[0] = True
    lines: list[dict[str, Any]] = []
    for item, is_declared in zip(items, declared, strict=True):
        parts = draw(st.lists(amounts, min_size=1, max_size=3)) if is_declared else []
        slack = draw(st.just(Decimal(0)) | amounts) if is_declared else draw(amounts)
        item["quantity"]["value"] = plain(sum(parts, Decimal(0)) + slack)
        lines.extend(
            {
                "certificate_item_number": item["item_number"],
                "hs_code": item["hs_code"] + draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
                "origin_country": "NZ",
                "quantity": {"value": plain(part), "unit": item["quantity"]["unit"]},
                "invoice_number": draw(st.sampled_from((str.lower, str.upper)))(item["invoice"]["number"]),
            }
            for part in parts
        )
    lines = draw(st.permutations(lines))
    for number, line in enumerate(lines, start=1):
        line["line_number"] = number
    exporter, consignee = draw(st.sampled_from(EXPORTERS)), draw(st.sampled_from(CONSIGNEES))
    content = certificate(
        items=items,
        exporter=certificate().exporter.model_dump(mode="json") | {"name": exporter},
        consignee=certificate().consignee.model_dump(mode="json", exclude_none=True) | {"name": consignee},
    )
    issued = record(content)
    declarant = draw(st.sampled_from(Declarant))
    declared_on = draw(st.dates(min_value=issued.valid_from, max_value=issued.valid_until))
    payload = declaration_payload(
        declared_on=declared_on.isoformat(),
        exporter_name=draw(st.sampled_from(RETYPED))(exporter),
        importer_name=draw(st.sampled_from(RETYPED))(consignee),
        lines=lines,
    )
    return Certified(issued, declarant, payload)


@settings(max_examples=150, deadline=None)
@given(certified=declarations_from_certificates())
def test_a_declaration_built_from_the_certificate_always_matches(certified: Certified) -> None:
    # Given a declaration that claims only what the certificate certifies, When matching decides
    decision = decide_match(certified.declaration(), certified.certificate, None, DECIDED_AT)

    # Then it matches without a single discrepancy, and its quantities are drawn on the ledger
    assert decision.result.status is MATCHED
    assert decision.result.discrepancies == ()
    assert decision.ledger is not None
    side = LedgerSide.EXPORT if certified.declarant is NZ else LedgerSide.IMPORT
    claimed: dict[int, Decimal] = {}
    for line in certified.payload["lines"]:
        number = line["certificate_item_number"]
        claimed[number] = claimed.get(number, Decimal(0)) + Decimal(line["quantity"]["value"])
    assert decision.ledger.drawn == {side: claimed}


def _break_hs(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    certified_hs = certified.item(line["certificate_item_number"])["hs_code"]
    line["hs_code"] = draw(st.sampled_from(HS_CODES).filter(lambda code: code != certified_hs)) + line["hs_code"][6:]
    return "hs_code"


def _break_origin(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    line["origin_country"] = draw(st.sampled_from(("CN", "AU", "US", "GB")))
    return "origin_country"


def _break_unit(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    unit = line["quantity"]["unit"]
    line["quantity"]["unit"] = draw(st.sampled_from(UNITS).filter(lambda other: other != unit))
    return "quantity.unit"


def _break_quantity(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    certified_quantity = Decimal(certified.item(line["certificate_item_number"])["quantity"]["value"])
    line["quantity"]["value"] = plain(certified_quantity + draw(amounts))
    return "quantity"


def _break_invoice(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    key = invoice_key(line["invoice_number"])
    line["invoice_number"] = draw(invoice_numbers.filter(lambda number: invoice_key(number) != key))
    return "invoice_number"


def _break_item(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    missing = len(certified.certificate.content.items) + 1
    line["certificate_item_number"] = draw(st.integers(min_value=missing, max_value=99))
    return "certificate_item_number"


def _break_exporter(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    certified.payload["exporter_name"] = draw(st.sampled_from(UNRELATED_NAMES))
    return "exporter_name"


def _break_importer(certified: Certified, line: dict[str, Any], draw: st.DrawFn) -> str:
    certified.payload["importer_name"] = draw(st.sampled_from(UNRELATED_NAMES))
    return "importer_name"


BREAKS = (
    _break_hs,
    _break_origin,
    _break_unit,
    _break_quantity,
    _break_invoice,
    _break_item,
    _break_exporter,
    _break_importer,
)


def test_the_unrelated_names_are_different_from_every_certified_one() -> None:
    for unrelated in UNRELATED_NAMES:
        for certified in EXPORTERS + CONSIGNEES:
            assert compare_names(certified, unrelated) is NameAgreement.DIFFERENT


@settings(max_examples=200, deadline=None)
@given(certified=declarations_from_certificates(), data=st.data())
def test_one_wrong_error_level_field_is_never_matched(certified: Certified, data: st.DataObject) -> None:
    # Given a declaration built from the certificate, with one error-level field changed on one line
    line = data.draw(st.sampled_from(certified.payload["lines"]))
    field = data.draw(st.sampled_from(BREAKS))(certified, line, data.draw)

    # When matching decides
    decision = decide_match(certified.declaration(), certified.certificate, None, DECIDED_AT)

    # Then it is not matched, an error names the field, and nothing is drawn
    assert decision.result.status is MISMATCHED
    assert any(d.field == field and d.severity is ERROR for d in decision.result.discrepancies)
    assert decision.ledger is None


@st.composite
def export_entries(draw: st.DrawFn) -> tuple[CertificateRecord, list[DeclarationRecord]]:
    """A certificate and a run of NZ export entries, each quoting its items with any quantities at all."""
    items = draw(certified_items())
    for item in items:
        item["quantity"]["value"] = plain(draw(amounts))
    issued = record(certificate(items=items))
    entries = []
    for number in range(draw(st.integers(min_value=1, max_value=8))):
        lines = []
        for line_number in range(1, draw(st.integers(min_value=1, max_value=4)) + 1):
            item = draw(st.sampled_from(items))
            line = line_payload(
                line_number,
                certificate_item_number=item["item_number"],
                hs_code=item["hs_code"] + "0001",
                quantity={"value": plain(draw(amounts)), "unit": item["quantity"]["unit"]},
                invoice_number=item["invoice"]["number"],
            )
            lines.append(line)
        entries.append(lodged(NZ, declaration_number=f"NZEX-{number}", lines=lines))
    return issued, entries


@settings(max_examples=100, deadline=None)
@given(run=export_entries())
def test_export_entries_never_draw_more_than_is_certified(
    run: tuple[CertificateRecord, list[DeclarationRecord]],
) -> None:
    # Given a certificate, When export entries are matched one after another on the ledger each one leaves
    issued, entries = run
    current: UsageLedger | None = None
    matched = 0
    for entry in entries:
        decision: MatchDecision = decide_match(entry, issued, current, DECIDED_AT)
        if decision.ledger is not None:
            current, matched = decision.ledger, matched + 1

        # Then no item is ever drawn beyond its certified quantity, and each match raises the revision once
        for item in issued.content.items:
            drawn = current.drawn_quantity(LedgerSide.EXPORT, item.item_number) if current else Decimal(0)
            assert drawn <= item.quantity.value
        assert (current.revision if current else 0) == matched
        assert current is None or current.used_by_declaration is None


# -- the certificate once a declaration quoting it is decided ---------------------------------------------


def decided(declaration: DeclarationRecord, certificate: CertificateRecord) -> DeclarationRecord:
    result = decide_match(declaration, certificate, None, DECIDED_AT).result
    return declaration.model_copy(update={"status": result.status, "result": result})


def test_a_matched_cn_import_uses_the_certificate_with_one_event_naming_the_declaration() -> None:
    change = certificate_after(ISSUED, decided(lodged(CN), ISSUED), DECIDED_AT)

    assert change.record.usage is Usage.USED
    assert (change.event.type, change.event.actor, change.event.previous_hash) == (
        EventType.DECLARATION_DECIDED,
        MATCHER,
        ISSUED.history_head.hash,
    )
    assert change.event.details == {
        "declaration_id": CN_ID,
        "declarant": CN.value,
        "status": MATCHED.value,
        "errors": 0,
        "warnings": 0,
        "usage": Usage.USED.value,
    }


def test_a_matched_nz_export_entry_leaves_the_certificate_unused() -> None:
    change = certificate_after(ISSUED, decided(lodged(NZ), ISSUED), DECIDED_AT)

    assert change.record.usage is Usage.UNUSED
    assert change.event.details["usage"] == Usage.UNUSED.value


def test_a_mismatched_cn_import_leaves_the_certificate_unused_and_counts_the_errors() -> None:
    wrong_hs = one_line(hs_code="0402291000")

    change = certificate_after(ISSUED, decided(wrong_hs, ISSUED), DECIDED_AT)

    assert change.record.usage is Usage.UNUSED
    assert change.event.details["status"] == MISMATCHED.value
    assert change.event.details["errors"] == 1


def test_an_undecided_declaration_changes_no_certificate() -> None:
    with pytest.raises(ValueError, match="not decided"):
        certificate_after(ISSUED, lodged(CN), DECIDED_AT)
