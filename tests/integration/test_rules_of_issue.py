"""The rules across boxes (DESIGN.md §2) through the API function: each broken rule is a 422 whose errors name the
boxes at fault, and nothing is stored (no certificate to read, no message in the outbox); a route through a
transit to China is issued and goes to China, whoever the consignee is."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pytest

from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.resources import RECORDS_TABLE
from tests.broken_certificates import BROKEN, NUMBER, dated, routed
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    application_payload,
)
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import approved_goods, approved_signatory, post
from tests.problems import problem_type

pytestmark = pytest.mark.integration


def submit(call_api: ApiCall, body: dict[str, Any]) -> dict[str, Any]:
    return call_api(
        "POST", "/v1/certificates", body=body, client_id=ISSUING_BODY, headers={"Idempotency-Key": "rules-1"}
    )


def stored_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName=RECORDS_TABLE.name)["Items"]
    return items


@pytest.mark.parametrize(("body", "fields"), BROKEN)
def test_a_certificate_breaking_a_rule_across_boxes_is_refused_naming_the_boxes_and_nothing_is_stored(
    call_api: ApiCall, records: TableUnitOfWork, body: dict[str, Any], fields: list[str]
) -> None:
    # Given a certificate that breaks one rule across boxes
    # When its issuing body submits it
    response = submit(call_api, body)
    # Then it is refused as a rule violation naming the boxes at fault
    assert response["statusCode"] == 422
    assert response["headers"]["content-type"] == "application/problem+json"
    problem = response["json"]
    assert problem["type"] == problem_type("rule-violation")
    assert [error["field"] for error in problem["errors"]] == fields
    # And nothing is stored: the certificate cannot be read, no message waits to go anywhere (to China or for its
    # documents), and the table holds nothing at all
    assert records.certificates.get(NUMBER) is None
    assert call_api("GET", f"/v1/certificates/{NUMBER}", client_id=ISSUING_BODY)["statusCode"] == 404
    assert [item for item in stored_items() if item["sk"]["S"].startswith("OUTBOX#")] == []
    assert stored_items() == []


def test_a_certificate_breaking_several_rules_names_every_box_at_fault_in_one_answer(call_api: ApiCall) -> None:
    # Given a certificate dated 2020, loaded in Shanghai and discharged at a made-up Chinese port
    body = dated(date(2020, 3, 2), date(2020, 3, 5))
    body["transport"] |= {"port_of_loading": "CNSHA", "port_of_discharge": "CNQQQ"}
    # When it is submitted, Then one answer names all three
    response = submit(call_api, body)
    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == [
        "issue_date",
        "transport.port_of_loading",
        "transport.port_of_discharge",
    ]


def test_goods_discharged_in_hong_kong_in_transit_to_shenzhen_are_certified_and_go_to_china(
    call_api: ApiCall, records: TableUnitOfWork
) -> None:
    # Given goods discharged in Hong Kong for a Hong Kong trader, box 4 naming the transit on to Shenzhen
    transit = {"via": ["HKHKG"], "final_port": "CNSZX"}
    body = routed(port_of_discharge="HKHKG", transit=transit)
    body["consignee"] = {"name": "Victoria Harbour Trading Ltd", "address": "1 Harbour Road, Wan Chai", "country": "HK"}
    # When it is submitted
    response = submit(call_api, body)
    # Then it is issued for import into China, its transit as sent, and a delivery to China is on its way
    assert response["statusCode"] == 201, response["body"]
    assert response["json"]["importing_country"] == "CN"
    assert response["json"]["transport"]["transit"] == transit
    china = call_api("GET", f"/v1/certificates/{NUMBER}", client_id=CN_CUSTOMS)
    assert (china["statusCode"], china["json"]["transport"]["transit"]) == (200, transit)
    assert len(records.deliveries.of_certificate(NUMBER)) == 1


def test_an_application_for_goods_discharged_outside_china_is_refused_when_lodged_and_not_stored(
    call_api: ApiCall,
) -> None:
    # Given an exporter's application for goods discharged in Hong Kong, naming no transit to China
    payload = application_payload(approved_signatory(call_api), [approved_goods(call_api)])
    payload["transport"]["port_of_discharge"] = "HKHKG"
    # When it is lodged, Then it is refused at the port of discharge, before its issuing body ever sees it
    response = post(call_api, "/v1/applications", EXPORTER, payload)
    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["transport.port_of_discharge"]
    assert call_api("GET", "/v1/applications", client_id=EXPORTER)["json"]["items"] == []
