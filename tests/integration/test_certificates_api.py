"""The API function through API Gateway proxy events, storing in moto's DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from jevs.resources import PROBLEM_TYPES, RECORDS_TABLE
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    NZ_CUSTOMS,
    OPS,
    OTHER_EXPORTER,
    certificate_payload,
    item_payload,
)
from tests.integration.conftest import ApiCall
from tests.problems import problem_type, slug_of

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
COMMERCIAL = {"invoice_values": [{"invoice_number": "INV-2026-0042", "amount": "112500.00", "currency": "NZD"}]}


def stored_items() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=RECORDS_TABLE.name)["Items"]


def submit(call_api: ApiCall, body: Any, key: str = "key-1", **kwargs: Any) -> dict[str, Any]:
    return call_api(
        "POST",
        "/v1/certificates",
        body=body,
        client_id=kwargs.pop("client_id", ISSUING_BODY),
        headers={"Idempotency-Key": key, **kwargs.pop("headers", {})},
        **kwargs,
    )


def with_item(index: int, **changes: Any) -> dict[str, Any]:
    payload = certificate_payload()
    payload["items"][index].update(changes)
    return payload


def without(field: str) -> dict[str, Any]:
    payload = certificate_payload()
    del payload[field]
    return payload


def nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    payload = certificate_payload()
    target = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return payload


MALFORMED = [
    pytest.param(certificate_payload(certificate_number="11-1234-12345"), 422, "certificate_number", id="bad number"),
    pytest.param(
        certificate_payload(certificate_number="12.1234.12345"), 422, "certificate_number", id="another body's prefix"
    ),
    pytest.param(certificate_payload(items=[item_payload(n) for n in range(1, 22)]), 422, "items", id="21 items"),
    pytest.param(with_item(0, hs_code="040200"), 422, "items[0].hs_code", id="HS code not in HS 2022"),
    pytest.param(nested(("exporter", "business_number"), "9429041234564"), 422, "exporter.business_number", id="NZBN"),
    pytest.param(without("consignee"), 422, "consignee", id="missing box 3"),
    pytest.param(certificate_payload(signature="x"), 422, "signature", id="extra field"),
    pytest.param(with_item(0, quantity={"value": 25000, "unit": "KGM"}), 422, "items[0].quantity.value", id="number"),
    pytest.param(with_item(0, quantity={"value": "lots", "unit": "KGM"}), 422, "items[0].quantity.value", id="text"),
]


@pytest.mark.parametrize(("body", "status", "field"), MALFORMED)
def test_a_malformed_certificate_is_refused_naming_the_field_and_nothing_is_stored(
    call_api: ApiCall, body: dict[str, Any], status: int, field: str
) -> None:
    response = submit(call_api, body)

    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == "application/problem+json"
    problem = response["json"]
    assert problem["status"] == status
    assert slug_of(problem["type"]) in PROBLEM_TYPES
    assert field in [error["field"] for error in problem["errors"]]
    assert stored_items() == []


def test_a_control_or_bidi_character_in_any_text_is_a_422_naming_its_field_and_nothing_is_stored(
    call_api: ApiCall,
) -> None:
    # Given a certificate whose invoice number carries a NUL and a CR LF, and whose exporter name a right-to-left
    # override (text that would reach China's systems, the PDF and the logs)
    body = with_item(0, invoice={"number": "INV-1\x00\r\nINV-2", "date": "2026-11-18"})
    body["exporter"]["name"] = "Kauri \u202eyriaD"
    # When it is submitted
    response = submit(call_api, body)
    # Then it is refused, naming each field, and nothing is stored
    assert response["statusCode"] == 422
    assert response["headers"]["content-type"] == "application/problem+json"
    assert sorted(error["field"] for error in response["json"]["errors"]) == [
        "exporter.name",
        "items[0].invoice.number",
    ]
    assert stored_items() == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        pytest.param('{"certificate_number": "11.1234.12345",', {}, 400, "body", id="broken JSON"),
        pytest.param(
            json.dumps(certificate_payload()),
            {"Content-Type": "text/plain"},
            415,
            "header.Content-Type",
            id="wrong content type",
        ),
        pytest.param("x" * 200_000, {}, 413, "body", id="oversize body"),
    ],
)
def test_a_body_that_is_not_an_acceptable_json_document_is_refused(
    call_api: ApiCall, body: str, headers: dict[str, str], status: int, field: str
) -> None:
    response = submit(call_api, body, headers=headers)

    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == "application/problem+json"
    assert [error["field"] for error in response["json"]["errors"]] == [field]
    assert stored_items() == []


def test_a_post_without_an_idempotency_key_is_refused(call_api: ApiCall) -> None:
    response = call_api("POST", "/v1/certificates", body=certificate_payload(), client_id=ISSUING_BODY)

    assert response["statusCode"] == 400
    assert response["json"]["errors"][0]["field"] == "header.Idempotency-Key"
    assert stored_items() == []


def test_a_valid_certificate_is_stored_with_its_history_and_outbox_in_one_transaction(call_api: ApiCall) -> None:
    response = submit(call_api, certificate_payload())

    assert response["statusCode"] == 201
    assert response["headers"]["location"] == f"/v1/certificates/{NUMBER}"
    body = response["json"]
    assert (body["certificate_number"], body["status"], body["version"], body["view"]) == (NUMBER, "ISSUED", 1, "FULL")
    assert body["valid_until"] == "2027-11-19"
    sort_keys = sorted(item["sk"]["S"] for item in stored_items())
    assert sort_keys == [
        "DELIVERY#000001",
        "EVENT#00000001",
        "HEAD",
        "IDEMPOTENCY",
        f"OUTBOX#{NUMBER}/awaited/declarations",
        f"OUTBOX#{NUMBER}/v1/delivery-to-china",
        f"OUTBOX#{NUMBER}/v1/notifications",
        "VERSION#000001",
    ]


def test_the_same_post_twice_with_one_key_stores_one_certificate_and_answers_the_same(call_api: ApiCall) -> None:
    first = submit(call_api, certificate_payload())
    again = submit(call_api, certificate_payload())

    assert again["statusCode"] == first["statusCode"] == 201
    assert again["json"] == first["json"]
    assert again["headers"]["idempotent-replayed"] == "true"
    assert len([item for item in stored_items() if item["sk"]["S"] == "HEAD"]) == 1


def test_the_same_key_with_another_body_is_a_conflict(call_api: ApiCall) -> None:
    submit(call_api, certificate_payload())

    response = submit(call_api, certificate_payload(remarks="Second thoughts"))

    assert response["statusCode"] == 409
    assert response["json"]["type"] == problem_type("idempotency-key-reused")


def test_an_existing_number_with_other_content_is_a_conflict(call_api: ApiCall) -> None:
    submit(call_api, certificate_payload())

    response = submit(call_api, certificate_payload(remarks="Other content"), key="key-2")

    assert response["statusCode"] == 409
    assert response["json"]["type"] == problem_type("certificate-number-exists")


def test_an_existing_number_with_the_same_content_answers_with_the_stored_certificate(call_api: ApiCall) -> None:
    submit(call_api, certificate_payload())

    response = submit(call_api, certificate_payload(), key="key-2")

    assert response["statusCode"] == 200
    assert response["json"]["certificate_number"] == NUMBER


@pytest.mark.parametrize("client_id", [EXPORTER, NZ_CUSTOMS, CN_CUSTOMS, OPS])
def test_only_an_issuing_body_submits_certificates(call_api: ApiCall, client_id: str) -> None:
    response = submit(call_api, certificate_payload(), client_id=client_id)

    assert response["statusCode"] == 404
    assert stored_items() == []


@pytest.mark.parametrize("client_id", [None, "a-client-nobody-registered"])
def test_a_caller_that_is_not_a_registered_party_is_unauthenticated(call_api: ApiCall, client_id: str | None) -> None:
    response = call_api("GET", f"/v1/certificates/{NUMBER}", client_id=client_id)

    assert response["statusCode"] == 401
    assert response["headers"]["www-authenticate"] == "Bearer"


@pytest.fixture
def stored_certificate(call_api: ApiCall) -> dict[str, Any]:
    response = submit(call_api, certificate_payload(commercial=COMMERCIAL))
    assert response["statusCode"] == 201
    body: dict[str, Any] = response["json"]
    return body


@pytest.mark.parametrize(
    ("client_id", "view", "has_form", "has_commercial"),
    [
        (ISSUING_BODY, "FULL", True, True),
        (EXPORTER, "FULL", True, True),
        (NZ_CUSTOMS, "FTA_FORM", True, False),
        (CN_CUSTOMS, "FTA_FORM", True, False),
        (OPS, "OPERATIONS", False, False),
    ],
)
def test_each_party_reads_its_projection(
    call_api: ApiCall,
    stored_certificate: dict[str, Any],
    client_id: str,
    view: str,
    has_form: bool,
    has_commercial: bool,
) -> None:
    response = call_api("GET", f"/v1/certificates/{NUMBER}", client_id=client_id)

    assert response["statusCode"] == 200
    body = response["json"]
    assert body["view"] == view
    assert ("items" in body and "exporter" in body) is has_form
    assert ("commercial" in body) is has_commercial


def test_china_sees_the_fta_form_and_no_commercial_field(call_api: ApiCall, stored_certificate: dict[str, Any]) -> None:
    china = call_api("GET", f"/v1/certificates/{NUMBER}", client_id=CN_CUSTOMS)["json"]

    expected = {key: value for key, value in stored_certificate.items() if key not in ("commercial", "view", "links")}
    assert {key: value for key, value in china.items() if key not in ("view", "links")} == expected
    assert "commercial" not in json.dumps(china)
    assert "112500" not in json.dumps(china)


def test_an_exporter_reading_another_exporters_certificate_is_told_it_does_not_exist(
    call_api: ApiCall, stored_certificate: dict[str, Any]
) -> None:
    other = call_api("GET", f"/v1/certificates/{NUMBER}", client_id=OTHER_EXPORTER)
    missing = call_api("GET", "/v1/certificates/99.9999.99999", client_id=OTHER_EXPORTER)

    assert other["statusCode"] == missing["statusCode"] == 404
    assert other["json"]["title"] == missing["json"]["title"]


def test_china_sees_a_certificate_whose_consignee_is_elsewhere_its_goods_being_imported_into_china(
    call_api: ApiCall,
) -> None:
    consignee = {"name": "Harbour Foods Pty Ltd", "address": "1 George Street, Sydney", "country": "AU"}
    submit(call_api, certificate_payload(consignee=consignee))

    china = call_api("GET", f"/v1/certificates/{NUMBER}", client_id=CN_CUSTOMS)
    assert china["statusCode"] == 200
    assert (china["json"]["importing_country"], china["json"]["consignee"]["country"]) == ("CN", "AU")


def test_the_export_entry_form_of_the_number_reads_the_same_certificate(
    call_api: ApiCall, stored_certificate: dict[str, Any]
) -> None:
    response = call_api("GET", "/v1/certificates/COO11123412345", client_id=NZ_CUSTOMS)

    assert response["statusCode"] == 200
    assert response["json"]["certificate_number"] == NUMBER


def test_the_history_verifies_for_those_who_may_read_it(call_api: ApiCall, stored_certificate: dict[str, Any]) -> None:
    for client_id in (ISSUING_BODY, EXPORTER, NZ_CUSTOMS):
        response = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=client_id)
        assert response["statusCode"] == 200
        history = response["json"]
        assert history["chain"]["valid"] is True
        assert [event["type"] for event in history["events"]] == ["CERTIFICATE_ISSUED"]
        assert history["events"][0]["previous_hash"] == "0" * 64
    for client_id in (CN_CUSTOMS, OPS, OTHER_EXPORTER):
        assert call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=client_id)["statusCode"] == 404


def _rewrite(sort_key: str, attribute: str, change: Any) -> None:
    client = boto3.client("dynamodb")
    key = {"pk": {"S": f"CERTIFICATE#{NUMBER}"}, "sk": {"S": sort_key}}
    document = json.loads(client.get_item(TableName=RECORDS_TABLE.name, Key=key)["Item"][attribute]["S"])
    change(document)
    client.update_item(
        TableName=RECORDS_TABLE.name,
        Key=key,
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"S": json.dumps(document)}},
    )


@pytest.mark.parametrize(
    ("sort_key", "attribute", "change"),
    [
        pytest.param("EVENT#00000001", "event", lambda event: event.update(actor="someone-else"), id="event actor"),
        pytest.param(
            "EVENT#00000001", "event", lambda event: event["details"].update(retrospective=True), id="event details"
        ),
        pytest.param(
            "VERSION#000001", "content", lambda content: content["items"][0].update(hs_code="040210"), id="version"
        ),
        pytest.param(
            "HEAD", "record", lambda record: record["content"]["consignee"].update(name="Someone Else"), id="current"
        ),
    ],
)
def test_altering_a_stored_event_or_version_breaks_the_chain(
    call_api: ApiCall, stored_certificate: dict[str, Any], sort_key: str, attribute: str, change: Any
) -> None:
    _rewrite(sort_key, attribute, change)

    history = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=NZ_CUSTOMS)["json"]

    assert history["chain"]["valid"] is False
    assert history["chain"]["reason"]


def test_deleting_the_latest_event_breaks_the_chain(call_api: ApiCall, stored_certificate: dict[str, Any]) -> None:
    boto3.client("dynamodb").delete_item(
        TableName=RECORDS_TABLE.name, Key={"pk": {"S": f"CERTIFICATE#{NUMBER}"}, "sk": {"S": "EVENT#00000001"}}
    )

    chain = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=NZ_CUSTOMS)["json"]["chain"]

    assert (chain["valid"], chain["broken_at"]) == (False, 1)
