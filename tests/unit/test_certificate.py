"""The certificate as an issuing body submits it (DESIGN.md §2, §5): what the data alone decides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from stdnum.cn import uscc

from jevs.domain.certificate import MAX_ITEMS, CertificateContent
from tests.factories import certificate_payload, item_payload
from tests.unit.support import AUSTRALIAN_CONSIGNEE

pytestmark = pytest.mark.unit

Path = tuple[str | int, ...]
Loc = tuple[str | int, ...]

DELETE = object()
# Goods discharged in Hong Kong go on by road to Shenzhen.
VIA_HONG_KONG = {"via": ["HKHKG"], "final_port": "CNSZX"}
USCC_BASE = "91310000MA1FL6CN4"
VALID_USCC = USCC_BASE + uscc.calc_check_digit(USCC_BASE)
WRONG_USCC_CHECK = USCC_BASE + ("0" if VALID_USCC[-1] != "0" else "1")


def set_at(payload: dict[str, Any], path: Path, value: object) -> dict[str, Any]:
    """``payload`` with the value at ``path`` replaced (or removed, for ``DELETE``)."""
    parent: Any = payload
    for step in path[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return payload


def with_change(path: Path, value: object) -> dict[str, Any]:
    """The example certificate with the value at ``path`` replaced (or removed, for ``DELETE``)."""
    return set_at(certificate_payload(), path, value)


def error_locations(payload: dict[str, Any]) -> list[Loc]:
    with pytest.raises(ValidationError) as raised:
        CertificateContent.model_validate(payload)
    return [tuple(error["loc"]) for error in raised.value.errors()]


def items(count: int) -> list[dict[str, Any]]:
    return [item_payload(number) for number in range(1, count + 1)]


def test_the_design_example_certificate_is_valid() -> None:
    # Given the example of DESIGN.md §5, When it is validated, Then it is a certificate with its own number
    content = CertificateContent.model_validate(certificate_payload())
    assert content.certificate_number == "11.1234.12345"


def test_a_certificate_number_in_the_coo_form_is_kept_in_the_dotted_form() -> None:
    # Given the number as NZ export entries quote it
    content = CertificateContent.model_validate(certificate_payload(certificate_number="COO11123412345"))
    # Then the certificate carries it dotted
    assert content.certificate_number == "11.1234.12345"


MALFORMED: list[Any] = [
    pytest.param(("certificate_number",), "11.1234.1234", ("certificate_number",), id="bad number"),
    pytest.param(("items",), items(MAX_ITEMS + 1), ("items",), id="21 items"),
    pytest.param(("items",), [], ("items",), id="0 items"),
    pytest.param(("items",), [item_payload(1), item_payload(3)], ("items",), id="items numbered 1, 3"),
    pytest.param(("items",), [item_payload(2), item_payload(1)], ("items",), id="items numbered 2, 1"),
    pytest.param(("items",), [item_payload(1), item_payload(1)], ("items",), id="items numbered 1, 1"),
    pytest.param(("items", 0, "hs_code"), "999999", ("items", 0, "hs_code"), id="HS code that does not exist"),
    pytest.param(
        ("exporter", "business_number"),
        "9429041234564",
        ("exporter", "business_number"),
        id="NZBN check digit",
    ),
    pytest.param(("exporter", "country"), "AU", ("exporter", "country"), id="exporter not in NZ"),
    pytest.param(("certificate_number",), DELETE, ("certificate_number",), id="no certificate_number"),
    pytest.param(("issue_date",), DELETE, ("issue_date",), id="no issue_date"),
    pytest.param(("exporter",), DELETE, ("exporter",), id="no exporter"),
    pytest.param(("producer",), DELETE, ("producer",), id="no producer"),
    pytest.param(("consignee",), DELETE, ("consignee",), id="no consignee"),
    pytest.param(("transport",), DELETE, ("transport",), id="no transport"),
    pytest.param(("items",), DELETE, ("items",), id="no items"),
    pytest.param(("signature",), "stamp", ("signature",), id="extra field at top level"),
    pytest.param(("items", 0, "colour"), "white", ("items", 0, "colour"), id="extra field in an item"),
    pytest.param(("exporter", "email"), "a@b.nz", ("exporter", "email"), id="extra field in a box"),
    pytest.param(
        ("items", 0, "quantity", "value"), 25000, ("items", 0, "quantity", "value"), id="quantity as a JSON integer"
    ),
    pytest.param(
        ("items", 0, "quantity", "value"), 25000.5, ("items", 0, "quantity", "value"), id="quantity as a JSON float"
    ),
    pytest.param(("items", 0, "quantity", "value"), "abc", ("items", 0, "quantity", "value"), id="quantity abc"),
    pytest.param(("items", 0, "quantity", "value"), "0", ("items", 0, "quantity", "value"), id="quantity 0"),
    pytest.param(("items", 0, "quantity", "value"), "-1", ("items", 0, "quantity", "value"), id="quantity -1"),
    pytest.param(("items", 0, "quantity", "value"), "1e3", ("items", 0, "quantity", "value"), id="quantity 1e3"),
    pytest.param(("items", 0, "quantity", "value"), "1,5", ("items", 0, "quantity", "value"), id="quantity 1,5"),
    pytest.param(("items", 0, "gross_weight_kg"), 25500, ("items", 0, "gross_weight_kg"), id="weight as a number"),
    pytest.param(("items", 0, "quantity", "unit"), "KG", ("items", 0, "quantity", "unit"), id="unit not Rec 20"),
    pytest.param(("items", 0, "packages", "kind"), "QQ", ("items", 0, "packages", "kind"), id="kind not Rec 21"),
    pytest.param(("items", 0, "packages"), {"count": 1, "kind": "VY"}, ("items", 0, "packages"), id="bulk counted"),
    pytest.param(("items", 0, "packages"), {"kind": "BG"}, ("items", 0, "packages"), id="bags without a count"),
    pytest.param(("items", 0, "packages", "count"), 0, ("items", 0, "packages", "count"), id="package count 0"),
    pytest.param(("items", 0, "packages", "count"), "1000", ("items", 0, "packages", "count"), id="count as text"),
    pytest.param(("items", 0, "rvc_percent"), "45", ("items", 0, "rvc_percent"), id="rvc_percent with WO"),
    pytest.param(
        ("items", 0),
        item_payload(1, origin_criterion="PSR", rvc_percent="0"),
        ("items", 0, "rvc_percent"),
        id="rvc_percent 0",
    ),
    pytest.param(
        ("items", 0),
        item_payload(1, origin_criterion="PSR", rvc_percent="101"),
        ("items", 0, "rvc_percent"),
        id="rvc_percent 101",
    ),
    pytest.param(("items", 0, "origin_criterion"), "XX", ("items", 0, "origin_criterion"), id="origin criterion"),
    pytest.param(("remarks",), "ISSUED RETROSPECTIVELY", ("remarks",), id="retrospective remark typed"),
    pytest.param(
        ("remarks",), "Goods issued retrospectively ok", ("remarks",), id="retrospective remark in lower case"
    ),
    pytest.param(("producer",), {"disclosure": "LISTED"}, ("producer",), id="LISTED, no producers"),
    pytest.param(
        ("producer",),
        {"disclosure": "LISTED", "producers": []},
        ("producer", "producers"),
        id="LISTED, empty producers",
    ),
    pytest.param(
        ("consignee", "business_number"),
        WRONG_USCC_CHECK,
        ("consignee", "business_number"),
        id="CN consignee, bad credit code",
    ),
    pytest.param(
        ("consignee", "business_number"),
        "ABN 51 824 753 556",
        ("consignee", "business_number"),
        id="CN consignee, free-form number",
    ),
    pytest.param(("consignee", "country"), "XX", ("consignee", "country"), id="consignee country unknown"),
    pytest.param(("transport", "port_of_loading"), "Auckland", ("transport", "port_of_loading"), id="port of loading"),
    pytest.param(("transport", "port_of_discharge"), "CNSH", ("transport", "port_of_discharge"), id="port discharge"),
    pytest.param(("transport", "mode"), "PIPELINE", ("transport", "mode"), id="transport mode"),
    pytest.param(
        ("transport", "transit"),
        {"via": [], "final_port": "CNSZX"},
        ("transport", "transit", "via"),
        id="transit via nowhere",
    ),
    pytest.param(
        ("transport", "transit"),
        {"via": ["HKHKG"] * 6, "final_port": "CNSZX"},
        ("transport", "transit", "via"),
        id="transit via 6 places",
    ),
    pytest.param(
        ("transport", "transit"),
        {"via": ["Hong Kong"], "final_port": "CNSZX"},
        ("transport", "transit", "via", 0),
        id="transit place not a UN/LOCODE",
    ),
    pytest.param(
        ("transport", "transit"),
        {"via": ["HKHKG"]},
        ("transport", "transit", "final_port"),
        id="transit, no final port",
    ),
    pytest.param(
        ("transport", "transit"),
        {"via": ["HKHKG"], "final_port": "CNSZX", "mode": "ROAD"},
        ("transport", "transit", "mode"),
        id="transit, unknown field",
    ),
    pytest.param(("transport", "departure_date"), "22/11/2026", ("transport", "departure_date"), id="date form"),
    pytest.param(("exporter", "name"), "Kauri\x00Dairy", ("exporter", "name"), id="NUL in a name"),
    pytest.param(("exporter", "name"), "Kauri\x1b[2JDairy", ("exporter", "name"), id="ESC in a name"),
    pytest.param(("consignee", "name"), "Harbour\x7fFoods", ("consignee", "name"), id="DEL in a name"),
    pytest.param(
        ("consignee", "name"),
        "Harbour\x9bFoods",
        ("consignee", "name"),
        id="C1 control in a name",
    ),
    pytest.param(("exporter", "name"), "   ", ("exporter", "name"), id="blank name"),
    pytest.param(("exporter", "name"), "N" * 141, ("exporter", "name"), id="over-long name"),
    pytest.param(("items", 0, "description"), "x" * 513, ("items", 0, "description"), id="over-long description"),
    pytest.param(("remarks",), "r" * 1001, ("remarks",), id="over-long remarks"),
]


@pytest.mark.parametrize(("path", "value", "expected_location"), MALFORMED)
def test_a_malformed_certificate_is_rejected_at_the_field_at_fault(
    path: Path, value: object, expected_location: Loc
) -> None:
    # Given the example certificate with one thing wrong
    payload = with_change(path, value)
    # When it is validated
    locations = error_locations(payload)
    # Then the error names the field at fault
    assert expected_location in locations


def test_a_chinese_consignee_written_in_lower_case_still_needs_a_valid_credit_code() -> None:
    # Given a consignee in China, its country in lower case, with a credit code whose check character is wrong
    consignee = certificate_payload()["consignee"] | {"country": "cn", "business_number": WRONG_USCC_CHECK}
    # When it is validated, Then it is refused (at the country or at the credit code)
    locations = error_locations(certificate_payload(consignee=consignee))
    assert {("consignee", "country"), ("consignee", "business_number")} & set(locations)


VALID_VARIANTS: list[Any] = [
    pytest.param(("consignee",), AUSTRALIAN_CONSIGNEE, id="non-CN consignee, free-form business number"),
    pytest.param(("consignee", "business_number"), VALID_USCC, id="CN consignee, valid credit code"),
    pytest.param(("consignee", "business_number"), VALID_USCC.lower(), id="CN consignee, credit code in lower case"),
    pytest.param(("producer",), {"disclosure": "UNKNOWN"}, id="producer unknown"),
    pytest.param(("producer",), {"disclosure": "AVAILABLE_ON_REQUEST"}, id="producer on request"),
    pytest.param(
        ("producer",),
        {"disclosure": "LISTED", "producers": [{"name": "Waikato Milk Ltd", "address": "1 Main Rd, Hamilton"}]},
        id="producers listed",
    ),
    pytest.param(("items", 0), item_payload(1, origin_criterion="PSR", rvc_percent="45"), id="PSR with RVC 45"),
    pytest.param(("items", 0), item_payload(1, origin_criterion="PSR", rvc_percent="100"), id="PSR with RVC 100"),
    pytest.param(("items", 0), item_payload(1, origin_criterion="PSR"), id="PSR without RVC"),
    pytest.param(("items", 0, "packages"), {"kind": "VY"}, id="bulk powder without a count"),
    pytest.param(("items", 0, "quantity"), {"value": "25.5", "unit": "TNE"}, id="fractional quantity in tonnes"),
    pytest.param(
        ("items", 0, "invoice", "third_party_invoicing"),
        {"name": "Trading House Pte Ltd", "address": "1 Raffles Place", "country": "SG"},
        id="third-party invoicing",
    ),
    pytest.param(
        ("transport",),
        certificate_payload()["transport"] | {"port_of_discharge": "HKHKG", "transit": VIA_HONG_KONG},
        id="discharged in Hong Kong, on to Shenzhen",
    ),
    pytest.param(("items",), items(MAX_ITEMS), id="20 items"),
    pytest.param(("remarks",), "Replaces lost certificate", id="typed remarks"),
    pytest.param(("remarks",), DELETE, id="no remarks"),
    pytest.param(("exporter", "address"), "1 Quay Street\nAuckland 1010", id="address on two lines"),
    pytest.param(
        ("commercial",),
        {"invoice_values": [{"invoice_number": "INV-1", "amount": "1.5", "currency": "NZD"}]},
        id="commercial details",
    ),
]


@pytest.mark.parametrize(("path", "value"), VALID_VARIANTS)
def test_a_certificate_that_keeps_every_rule_is_accepted(path: Path, value: object) -> None:
    # Given the example certificate with a change the rules allow
    payload = with_change(path, value)
    # When it is validated, Then it is accepted
    CertificateContent.model_validate(payload)


def test_a_chinese_consignee_credit_code_is_kept_in_upper_case() -> None:
    # Given a credit code typed in lower case
    consignee = certificate_payload()["consignee"] | {"business_number": VALID_USCC.lower()}
    # When the certificate is validated
    content = CertificateContent.model_validate(certificate_payload(consignee=consignee))
    # Then the code is kept in its canonical form
    assert content.consignee.business_number == VALID_USCC


# Properties

# Decimals as the pattern allows, written without leading zeros (the canonical form the API answers with).
CANONICAL_DECIMALS = st.from_regex(r"\A(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?\Z", fullmatch=True).filter(
    lambda text: Decimal(text) > 0
)
JSON_NUMBERS = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=100, deadline=None)
@given(text=CANONICAL_DECIMALS)
def test_any_positive_decimal_string_is_accepted_and_answered_as_given(text: str) -> None:
    # Given a quantity written as the decimal pattern allows, greater than 0
    payload = with_change(("items", 0, "quantity", "value"), text)
    # When the certificate is validated and serialised back to JSON
    content = CertificateContent.model_validate(payload)
    answered = content.model_dump(mode="json")["items"][0]["quantity"]["value"]
    # Then it is the very same string
    assert answered == text


def test_a_decimal_with_leading_zeros_is_refused_so_every_value_reads_back_as_sent() -> None:
    # Given a quantity with leading zeros
    payload = with_change(("items", 0, "quantity", "value"), "0025000.50")
    # When it is validated, Then it is refused at the quantity
    assert ("items", 0, "quantity", "value") in error_locations(payload)


def test_a_decimal_in_non_ascii_digits_is_rejected() -> None:
    # Given a quantity in Arabic-Indic digits
    payload = with_change(("items", 0, "quantity", "value"), "٢٥٠٠٠")
    # When it is validated, Then it is refused at the quantity
    assert ("items", 0, "quantity", "value") in error_locations(payload)


@settings(max_examples=100, deadline=None)
@given(
    number=JSON_NUMBERS,
    path=st.sampled_from(
        [("items", 0, "quantity", "value"), ("items", 0, "gross_weight_kg"), ("items", 0, "rvc_percent")]
    ),
)
def test_any_json_number_given_for_a_decimal_is_rejected(number: float, path: Path) -> None:
    # Given a decimal field given as a JSON number (in an item under PSR, where rvc_percent is allowed)
    payload = set_at(with_change(("items", 0, "origin_criterion"), "PSR"), path, number)
    # When it is validated, Then the decimal field is refused
    assert path in error_locations(payload)


@settings(max_examples=20, deadline=None)
@given(count=st.integers(min_value=1, max_value=MAX_ITEMS))
def test_any_count_of_1_to_20_consecutive_items_is_accepted(count: int) -> None:
    # Given 1 to 20 items numbered 1..n, When validated, Then all are kept in order
    content = CertificateContent.model_validate(certificate_payload(items=items(count)))
    assert [item.item_number for item in content.items] == list(range(1, count + 1))


@settings(max_examples=10, deadline=None)
@given(count=st.integers(min_value=MAX_ITEMS + 1, max_value=60))
def test_any_count_over_20_items_is_rejected(count: int) -> None:
    # Given more than 20 items numbered 1..n, When validated, Then the item list is refused
    assert ("items",) in error_locations(certificate_payload(items=items(count)))


# -- box 4's route and the importing country ---------------------------------------------------------------------


def transported(**changes: object) -> CertificateContent:
    """The example certificate with box 4's fields changed."""
    return CertificateContent.model_validate(
        certificate_payload(transport=certificate_payload()["transport"] | changes)
    )


@pytest.mark.parametrize(
    ("consignee_country", "consignee_name"),
    [("CN", "Shanghai Harbour Foods Co., Ltd."), ("HK", "Victoria Harbour Trading Ltd"), ("AU", "Sydney Fine Foods")],
)
def test_the_importing_country_is_that_of_the_port_of_discharge_wherever_the_consignee_is(
    consignee_country: str, consignee_name: str
) -> None:
    # Given goods discharged in Shanghai, for a consignee in China, Hong Kong or Australia
    consignee = {"name": consignee_name, "address": "1 Harbour Road", "country": consignee_country}
    content = CertificateContent.model_validate(certificate_payload(consignee=consignee))
    # When its importing country is read, Then it is China, the country of the port of discharge
    assert content.importing_country == "CN"


def test_with_a_transit_the_importing_country_is_that_of_the_final_port() -> None:
    # Given goods discharged in Hong Kong on their way to Shenzhen
    content = transported(port_of_discharge="HKHKG", transit=VIA_HONG_KONG)
    # When the route is read, Then the goods finally arrive in Shenzhen, and are imported into China
    assert content.transport.final_port == "CNSZX"
    assert content.importing_country == "CN"


def test_without_a_transit_the_importing_country_is_that_of_the_port_of_discharge() -> None:
    # Given goods discharged in Sydney, with no transit (the rules of issue refuse it; the form alone does not)
    content = transported(port_of_discharge="AUSYD")
    # When its importing country is read, Then it is the country of the port of discharge
    assert (content.transport.final_port, content.importing_country) == ("AUSYD", "AU")


def test_a_transit_reads_back_as_it_was_sent() -> None:
    content = transported(port_of_discharge="HKHKG", transit=VIA_HONG_KONG)
    assert content.model_dump(mode="json")["transport"]["transit"] == VIA_HONG_KONG


def test_a_certificate_without_a_transit_serialises_as_before_the_field_existed() -> None:
    # Given a certificate with no transit
    content = CertificateContent.model_validate(certificate_payload())
    # When it is serialised (what its content hash is computed over), Then box 4 has no transit at all, not a null
    assert "transit" not in content.model_dump(mode="json")["transport"]
    assert content.model_dump(mode="json")["transport"] == certificate_payload()["transport"]
