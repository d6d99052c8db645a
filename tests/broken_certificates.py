"""Certificates that break one rule across boxes each (the route in box 4, the validity against the issue and
departure dates), with the fields the refusal names: the integration and e2e tiers both send every one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from jevs.domain.issuance import add_years
from tests.factories import certificate_issued_on, today_in_new_zealand

NUMBER = "11.1234.40001"


def dated(issued: date, departed: date) -> dict[str, Any]:
    """The example certificate issued on ``issued``, its goods leaving on ``departed``."""
    payload = certificate_issued_on(issued, certificate_number=NUMBER)
    payload["transport"]["departure_date"] = departed.isoformat()
    return payload


def routed(**transport: Any) -> dict[str, Any]:
    """The example certificate issued and shipped today, with box 4's ports changed."""
    payload = certificate_issued_on(today_in_new_zealand(), certificate_number=NUMBER)
    payload["transport"].update(transport)
    return payload


TODAY = today_in_new_zealand()
BROKEN = [
    pytest.param(dated(date(2020, 3, 2), date(2020, 3, 5)), ["issue_date"], id="expired: dated 2020"),
    pytest.param(
        dated(TODAY - timedelta(days=300), add_years(TODAY, -1) - timedelta(days=30)),
        ["issue_date", "transport.departure_date"],
        id="expired: issued retrospectively, a year from shipment over",
    ),
    pytest.param(
        dated(TODAY, add_years(TODAY, 2)),
        ["issue_date", "transport.departure_date"],
        id="goods depart two years after issue",
    ),
    pytest.param(routed(port_of_loading="CNSHA"), ["transport.port_of_loading"], id="loaded in China"),
    pytest.param(routed(port_of_loading="NZZZZ"), ["transport.port_of_loading"], id="loaded at a made-up port"),
    pytest.param(routed(port_of_discharge="NZLYT"), ["transport.port_of_discharge"], id="discharged in NZ"),
    pytest.param(
        routed(port_of_discharge="HKHKG"), ["transport.port_of_discharge"], id="discharged in Hong Kong, no transit"
    ),
    pytest.param(routed(port_of_discharge="CNQQQ"), ["transport.port_of_discharge"], id="made-up port in China"),
    pytest.param(
        routed(port_of_discharge="HKHKG", transit={"via": ["HKHKG"], "final_port": "SGSIN"}),
        ["transport.transit.final_port"],
        id="transit ending outside China",
    ),
    pytest.param(
        routed(port_of_discharge="HKHKG", transit={"via": ["HKHKG"], "final_port": "CNQQQ"}),
        ["transport.transit.final_port"],
        id="transit to a made-up port in China",
    ),
]
