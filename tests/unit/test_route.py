"""Box 4's route, a rule of issue (DESIGN.md §2): ports are real (UN/LOCODE, for New Zealand and China), the goods are
loaded in New Zealand, and every certificate is for import into China: discharged there, or taken there by the
transit box 4 names."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jevs.domain.certificate import CertificateContent
from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.issuance import assess_validity, route_errors
from jevs.reference import unlocode_locations
from tests.factories import certificate_payload
from tests.unit.support import certificate

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 25)
NEW_ZEALAND = sorted(code for code in unlocode_locations() if code.startswith("NZ"))
CHINA = sorted(code for code in unlocode_locations() if code.startswith("CN"))
# Ports of countries whose code list JEVS does not carry: checked for their form only.
ELSEWHERE = ["HKHKG", "SGSIN", "AUSYD", "USLAX", "KRPUS", "JPTYO"]


def routed(**transport: Any) -> CertificateContent:
    """The example certificate (NZAKL to CNSHA) with box 4's fields changed."""
    return certificate(transport=certificate_payload()["transport"] | transport)


def fields(errors: list[FieldError]) -> list[str]:
    return [error.field for error in errors]


def test_the_example_route_from_auckland_to_shanghai_keeps_every_rule() -> None:
    assert route_errors(routed().transport) == []


@given(loading=st.sampled_from(NEW_ZEALAND), discharge=st.sampled_from(CHINA))
def test_goods_loaded_anywhere_in_new_zealand_and_discharged_anywhere_in_china_keep_the_route_rules(
    loading: str, discharge: str
) -> None:
    # Given any New Zealand location in UN/LOCODE as port of loading and any Chinese one as port of discharge
    # When the route is checked, Then nothing is wrong with it
    assert route_errors(routed(port_of_loading=loading, port_of_discharge=discharge).transport) == []


@given(loading=st.sampled_from(CHINA + ELSEWHERE))
def test_a_port_of_loading_outside_new_zealand_is_refused_at_the_port_of_loading(loading: str) -> None:
    # Given goods loaded in China or another country
    errors = route_errors(routed(port_of_loading=loading).transport)
    # When the route is checked, Then the port of loading is at fault, and only it
    assert errors == [
        FieldError(
            "transport.port_of_loading",
            f"{loading} is not in New Zealand: the port of loading is where the goods leave New Zealand",
        )
    ]


@given(discharge=st.sampled_from(NEW_ZEALAND + ELSEWHERE))
def test_a_port_of_discharge_outside_china_without_a_transit_is_refused_at_the_port_of_discharge(
    discharge: str,
) -> None:
    # Given goods discharged outside China, box 4 naming no transit
    errors = route_errors(routed(port_of_discharge=discharge).transport)
    # When the route is checked, Then the port of discharge is at fault
    assert fields(errors) == ["transport.port_of_discharge"]
    assert errors[0].message.startswith(f"{discharge} is not in China: every certificate under this FTA is for")


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("port_of_loading", "NZZZZ", "NZZZZ is not a location of New Zealand in UN/LOCODE"),
        ("port_of_discharge", "CNQQQ", "CNQQQ is not a location of China in UN/LOCODE"),
    ],
)
def test_a_port_of_new_zealand_or_china_that_is_not_in_un_locode_is_refused_at_its_field(
    field: str, code: str, message: str
) -> None:
    # Given a port in the right country whose code UN/LOCODE does not have
    errors = route_errors(routed(**{field: code}).transport)
    # When the route is checked, Then that port is at fault, as a place that does not exist
    assert errors == [FieldError(f"transport.{field}", message)]


@given(via=st.sampled_from(ELSEWHERE), final_port=st.sampled_from(CHINA))
def test_goods_discharged_outside_china_on_their_way_to_a_final_port_in_china_keep_the_route_rules(
    via: str, final_port: str
) -> None:
    # Given goods discharged outside China, box 4 naming the transit and a final port in China
    transport = routed(port_of_discharge=via, transit={"via": [via], "final_port": final_port}).transport
    # When the route is checked, Then nothing is wrong with it
    assert route_errors(transport) == []


def test_a_transit_whose_final_port_is_outside_china_is_refused_at_the_final_port() -> None:
    # Given goods discharged in Hong Kong, the transit ending in Singapore
    transport = routed(port_of_discharge="HKHKG", transit={"via": ["HKHKG"], "final_port": "SGSIN"}).transport
    # When the route is checked, Then the final port is at fault (the port of discharge may be outside China)
    assert route_errors(transport) == [
        FieldError(
            "transport.transit.final_port", "SGSIN is not in China: the final port is where the goods arrive in China"
        )
    ]


def test_every_port_of_a_transit_in_new_zealand_or_china_is_checked_against_un_locode() -> None:
    # Given a transit through a place of New Zealand that does not exist, to a final port of China that does not
    transport = routed(port_of_discharge="HKHKG", transit={"via": ["HKHKG", "NZZZZ"], "final_port": "CNQQQ"}).transport
    # When the route is checked, Then each is named at its own field
    assert route_errors(transport) == [
        FieldError("transport.transit.via[1]", "NZZZZ is not a location of New Zealand in UN/LOCODE"),
        FieldError("transport.transit.final_port", "CNQQQ is not a location of China in UN/LOCODE"),
    ]


def test_a_certificate_that_breaks_route_rules_is_not_issued_and_every_fault_is_named() -> None:
    # Given a certificate loaded in Shanghai and discharged at a made-up New Zealand port
    content = routed(port_of_loading="CNSHA", port_of_discharge="NZZZZ")
    # When the rules of issue are applied
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    # Then both ports are named
    assert fields(raised.value.errors) == ["transport.port_of_loading", "transport.port_of_discharge"]


def test_route_faults_are_named_with_the_faults_of_the_dates() -> None:
    # Given a certificate dated after today, loaded in China
    content = certificate(
        issue_date="2026-11-30",
        transport=certificate_payload()["transport"] | {"departure_date": "2026-12-01", "port_of_loading": "CNSHA"},
    )
    # When the rules of issue are applied, Then the issue date and the port of loading are both named
    with pytest.raises(RuleViolation) as raised:
        assess_validity(content, TODAY)
    assert fields(raised.value.errors) == ["issue_date", "transport.port_of_loading"]
