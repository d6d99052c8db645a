"""The China–New Zealand FTA Certificate of Origin (DESIGN.md §2): its boxes, as submitted, with every rule
that the data alone decides. The rules of issue live in ``issuance``: those that need today's date, and box 4's
route, which is checked against the UN/LOCODE edition of the day it is issued, not again whenever it is read.

Partners code against this shape, so it rejects what it does not know (``extra="forbid"``), takes
decimals only as strings (a JSON number would lose precision on the way) and names every field in
snake_case.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from jevs.domain.identifiers import (
    CertificateNumber,
    CountryCode,
    CurrencyCode,
    HsSubheading,
    Locode,
    Nzbn,
    Rec20Unit,
    check_unified_social_credit_code,
    locode_country,
)
from jevs.domain.text import LINES, Inbound, multi_line, single_line
from jevs.reference import rec21_bulk_kinds, rec21_package_kinds

MAX_ITEMS = 20
# The remark the system prints on a certificate issued after shipment; partners may not type it.
RETROSPECTIVE_REMARK = "ISSUED RETROSPECTIVELY"

# Text is acceptable text (``jevs.domain.text``): one line, but for addresses, goods and remarks, which have lines.
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140), AfterValidator(single_line)
]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=350), AfterValidator(multi_line), LINES
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70), AfterValidator(single_line)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512), AfterValidator(multi_line), LINES
]
Remarks = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(multi_line), LINES]
# A reference such as an invoice number: one line, as long as UN/CEFACT's document identifiers.
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=35), AfterValidator(single_line)
]

# ASCII digits, no leading zeros, so the string a partner sends is the string it reads back.
_DECIMAL_TEXT = re.compile(r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$")


def _decimal_from_string(value: object) -> Decimal:
    """Decimals travel as strings such as "25000" or "25.5": at most 15 digits before the point and 6 after."""
    if not isinstance(value, str):
        raise ValueError('a decimal is given as a string, e.g. "25000" or "25.5"')
    if not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError('a decimal is digits with an optional fraction, e.g. "25000" or "25.5"')
    try:
        return Decimal(value)
    except InvalidOperation:  # unreachable after the pattern, kept so no bad value ever passes silently
        raise ValueError("not a decimal") from None


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _percentage(value: Decimal) -> Decimal:
    if not 0 < value <= 100:
        raise ValueError("a percentage is greater than 0 and at most 100")
    return value


# The pattern bounds its length (15 digits, a point and 6): said in the schema too, as every string's limit is.
_DECIMAL_SCHEMA = {"type": "string", "pattern": _DECIMAL_TEXT.pattern, "maxLength": 22, "examples": ["25000", "25.5"]}

PositiveDecimal = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_DECIMAL_SCHEMA),
    AfterValidator(_positive),
]
Percentage = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_DECIMAL_SCHEMA),
    AfterValidator(_percentage),
]


class _Box(Inbound):
    """Every box of the form: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class Exporter(_Box):
    """Box 1."""

    name: Name
    address: Address
    country: Literal["NZ"] = Field(description="Certificates are issued in New Zealand for NZ exporters.")
    business_number: Nzbn = Field(description="The exporter's NZBN: 13 digits with a GS1 check digit.")


class ProducerDisclosure(StrEnum):
    SAME = "SAME"  # the exporter produced the goods
    UNKNOWN = "UNKNOWN"
    AVAILABLE_ON_REQUEST = "AVAILABLE_ON_REQUEST"  # given to the importing customs when it asks
    LISTED = "LISTED"  # named in ``producers``


class Producer(_Box):
    name: Name
    address: Address


class ProducerBox(_Box):
    """Box 2: the producer, named (``LISTED`` with ``producers``) or not."""

    disclosure: ProducerDisclosure
    producers: list[Producer] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)

    @field_validator("producers")
    @classmethod
    def _producers_listed_only_when_disclosed(
        cls, producers: list[Producer] | None, info: ValidationInfo
    ) -> list[Producer] | None:
        listed = info.data.get("disclosure") is ProducerDisclosure.LISTED
        if producers is not None and not listed:
            raise ValueError("producers are given only with disclosure LISTED")
        return producers

    @model_validator(mode="after")
    def _listed_producers_are_named(self) -> ProducerBox:
        if self.disclosure is ProducerDisclosure.LISTED and not self.producers:
            raise ValueError("disclosure LISTED needs the producers")
        return self


class Consignee(_Box):
    """Box 3."""

    name: Name
    address: Address
    country: CountryCode
    business_number: Reference | None = Field(
        default=None, description="For a consignee in China, its unified social credit code (18 characters)."
    )

    @field_validator("business_number")
    @classmethod
    def _chinese_consignee_has_a_valid_credit_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("country") == "CN":
            return check_unified_social_credit_code(value)
        return value


class TransportMode(StrEnum):
    SEA = "SEA"
    AIR = "AIR"
    RAIL = "RAIL"
    ROAD = "ROAD"


MAX_TRANSIT_PORTS = 5


class Transit(_Box):
    """Box 4's route on from the port of discharge to China, for goods discharged elsewhere on their way there
    (e.g. in Hong Kong, then by road to Shenzhen): every certificate under this FTA is for import into China."""

    via: list[Locode] = Field(
        min_length=1,
        max_length=MAX_TRANSIT_PORTS,
        description="The ports or places where the goods are transhipped or held in transit on the way to the final "
        "port, in the order they pass through them, as UN/LOCODEs (e.g. HKHKG for Hong Kong).",
        examples=[["HKHKG"]],
    )
    final_port: Locode = Field(
        description="The port or place in China where the goods finally arrive to be imported, as a UN/LOCODE "
        "(e.g. CNSZX for Shenzhen).",
        examples=["CNSZX"],
    )


class Transport(_Box):
    """Box 4: means of transport and route."""

    departure_date: date = Field(description="The day the goods leave New Zealand: within the certificate's validity.")
    mode: TransportMode
    vessel_or_flight: ShortText
    port_of_loading: Locode = Field(
        description="Where the goods leave New Zealand: a New Zealand location in UN/LOCODE (e.g. NZAKL).",
        examples=["NZAKL"],
    )
    port_of_discharge: Locode = Field(
        description="Where the goods are discharged: a location in China in UN/LOCODE (e.g. CNSHA), or, for goods "
        "going on to China, the place outside China where they leave the means of transport, with the route on in "
        "`transit`.",
        examples=["CNSHA"],
    )
    # Left out of the serialised form when absent, as it was before the field existed: the content hash each
    # certificate's history recorded (and an unchanged resubmission compares with) stays what it was.
    transit: Transit | None = Field(
        default=None,
        exclude_if=lambda transit: transit is None,
        description="Required when the port of discharge is outside China: where the goods pass in transit and "
        "the port in China where they finally arrive. Leave it out when the goods are discharged in China.",
        examples=[{"via": ["HKHKG"], "final_port": "CNSZX"}],
    )

    @property
    def final_port(self) -> str:
        """Where the goods finally arrive: the transit's final port, or else the port of discharge."""
        return self.transit.final_port if self.transit is not None else self.port_of_discharge


class Packages(_Box):
    """Box 9: number and kind of packages, or a bulk kind with no count."""

    count: StrictInt | None = Field(default=None, ge=1, le=999_999_999)
    kind: str = Field(
        max_length=8, description="A UN/ECE Recommendation 21 code, e.g. BG (bag), CT (carton), VY (bulk powder)."
    )

    @field_validator("kind")
    @classmethod
    def _kind_is_a_rec21_code(cls, value: str) -> str:
        if value not in rec21_package_kinds():
            raise ValueError(f"{value!r} is not a UN/ECE Recommendation 21 package code")
        return value

    @model_validator(mode="after")
    def _count_matches_kind(self) -> Packages:
        bulk = self.kind in rec21_bulk_kinds()
        if bulk and self.count is not None:
            raise ValueError("goods in bulk have no package count")
        if not bulk and self.count is None:
            raise ValueError("count is required unless the kind is a bulk code")
        return self


class _Numbered(Protocol):
    @property
    def item_number(self) -> int: ...


NumberedT = TypeVar("NumberedT", bound=_Numbered)


def numbered_one_to_n(items: list[NumberedT]) -> list[NumberedT]:
    """Box 7: items are numbered 1, 2, 3 ... in order (a certificate's, and an application's for one)."""
    for position, item in enumerate(items, start=1):
        if item.item_number != position:
            raise ValueError(
                f"items are numbered 1 to {len(items)} in order; item {position} is numbered {item.item_number}"
            )
    return items


class Quantity(_Box):
    """Box 12: a quantity in a UN/ECE Recommendation 20 unit."""

    value: PositiveDecimal
    unit: Rec20Unit


class ThirdPartyInvoicing(_Box):
    name: Name
    address: Address
    country: CountryCode


class Invoice(_Box):
    """Box 13: number and date of the invoice, and the third party where one invoices."""

    number: Reference
    date: date
    third_party_invoicing: ThirdPartyInvoicing | None = None


class OriginCriterion(StrEnum):
    WO = "WO"  # wholly obtained
    WP = "WP"  # produced entirely from originating materials
    PSR = "PSR"  # product-specific rule


class Item(_Box):
    """Boxes 7 to 13 for one line of goods."""

    item_number: StrictInt = Field(ge=1, le=MAX_ITEMS)
    marks_and_numbers: LongText
    packages: Packages
    description: LongText
    hs_code: HsSubheading
    origin_criterion: OriginCriterion
    rvc_percent: Percentage | None = Field(
        default=None, description="The regional value content, for goods under a product-specific RVC rule."
    )
    quantity: Quantity
    gross_weight_kg: PositiveDecimal
    invoice: Invoice

    @field_validator("rvc_percent")
    @classmethod
    def _rvc_only_under_a_product_specific_rule(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is not None and info.data.get("origin_criterion") not in (OriginCriterion.PSR, None):
            raise ValueError("rvc_percent is given only with origin criterion PSR")
        return value


class InvoiceValue(_Box):
    invoice_number: Reference
    amount: PositiveDecimal
    currency: CurrencyCode


# DESIGN.md §1. (Model docstrings are descriptions in the API's OpenAPI document: the design is cited here.)
class CommercialDetails(_Box):
    """Commercially sensitive data an issuing body may file with a certificate. It is not part of the FTA
    form: only the owning exporter and the issuing body ever read it back."""

    invoice_values: list[InvoiceValue] = Field(default_factory=list, max_length=MAX_ITEMS)


# DESIGN.md §5.
class CertificateContent(_Box):
    """A certificate's data as its issuing body submits it."""

    certificate_number: CertificateNumber = Field(
        description="NN.NNNN.NNNNN; the COO form of NZ export entries is accepted and stored dotted.",
        examples=["11.1234.12345"],
    )
    issue_date: date
    exporter: Exporter
    producer: ProducerBox
    consignee: Consignee
    transport: Transport
    remarks: Remarks = ""
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)
    commercial: CommercialDetails | None = None

    @field_validator("items")
    @classmethod
    def _items_are_numbered_one_to_n(cls, items: list[Item]) -> list[Item]:
        return numbered_one_to_n(items)

    @field_validator("remarks")
    @classmethod
    def _retrospective_remark_is_not_typed(cls, remarks: str) -> str:
        if RETROSPECTIVE_REMARK in remarks.upper():
            raise ValueError(f"remarks may not contain {RETROSPECTIVE_REMARK!r}: the system adds it")
        return remarks

    @property
    def importing_country(self) -> str:
        """The country of box 4's final port, whoever the consignee is (a trader in Hong Kong may buy goods
        bound for China): China for every certificate that passes the rules of issue (DESIGN.md §2)."""
        return locode_country(self.transport.final_port)
