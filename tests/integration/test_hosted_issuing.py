"""Hosted issuing through the API function against moto (DESIGN.md §5): goods lodged and approved, a signatory
approved, an application lodged with its due time and certified into a certificate with the next number;
refusals name their reason and issue nothing; evidence stays between the exporter and its issuing body."""

from __future__ import annotations

import pytest

from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.documents.printed import printed_digest
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    NZ_CUSTOMS,
    OPS,
    OTHER_EXPORTER,
    application_payload,
    goods_payload,
    signatory_payload,
    today_in_new_zealand,
)
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import (
    approved_goods,
    approved_signatory,
    lodged_application,
    post,
)

pytestmark = pytest.mark.integration


def test_the_whole_flow_issues_a_certificate_with_the_next_number(call_api: ApiCall) -> None:
    application_id = lodged_application(call_api)
    lodged = call_api("GET", f"/v1/applications/{application_id}", client_id=EXPORTER)["json"]
    assert lodged["status"] == "SUBMITTED"
    assert lodged["due_at"] > lodged["lodged_at"]

    certified = post(call_api, f"/v1/applications/{application_id}/certification", ISSUING_BODY)

    assert certified["statusCode"] == 201, certified
    number = certified["json"]["certificate_number"]
    assert number == f"11.{today_in_new_zealand().year}.00001"
    assert certified["json"]["items"][0]["hs_code"] == "040221"
    read = call_api("GET", f"/v1/certificates/{number}", client_id=EXPORTER)
    assert (read["statusCode"], read["json"]["status"]) == (200, "ISSUED")
    after = call_api("GET", f"/v1/applications/{application_id}", client_id=ISSUING_BODY)["json"]
    assert (after["status"], after["certificate_number"], after["met_due_time"]) == ("CERTIFIED", number, True)
    history = call_api("GET", f"/v1/certificates/{number}/history", client_id=ISSUING_BODY)["json"]
    assert history["events"][0]["type"] == "CERTIFICATE_ISSUED"
    second = post(call_api, f"/v1/applications/{lodged_application(call_api)}/certification", ISSUING_BODY)
    assert second["json"]["certificate_number"] == f"11.{today_in_new_zealand().year}.00002"


def test_a_decided_application_cannot_be_certified_again_or_withdrawn(call_api: ApiCall) -> None:
    application_id = lodged_application(call_api)
    post(call_api, f"/v1/applications/{application_id}/certification", ISSUING_BODY)

    again = post(call_api, f"/v1/applications/{application_id}/certification", ISSUING_BODY)
    withdrawn = post(call_api, f"/v1/applications/{application_id}/withdrawal", EXPORTER)

    assert again["statusCode"] == withdrawn["statusCode"] == 409


def test_an_application_may_be_withdrawn_or_rejected_before_a_decision(call_api: ApiCall) -> None:
    withdrawn = post(call_api, f"/v1/applications/{lodged_application(call_api)}/withdrawal", EXPORTER)
    rejected = post(
        call_api,
        f"/v1/applications/{lodged_application(call_api)}/rejection",
        ISSUING_BODY,
        {"reasons": ["The invoice does not match the goods registration."]},
    )

    assert (withdrawn["statusCode"], withdrawn["json"]["status"]) == (200, "WITHDRAWN")
    assert (rejected["statusCode"], rejected["json"]["status"]) == (200, "REJECTED")
    assert rejected["json"]["reasons"] == ["The invoice does not match the goods registration."]


def refused(response: dict[str, object], field: str, reason: str) -> None:
    assert response["statusCode"] == 422, response
    errors = response["json"]["errors"]  # type: ignore[index]
    assert any(field in error["field"] and reason in error["message"] for error in errors), errors


def test_an_application_quoting_unapproved_refused_or_foreign_goods_is_refused_naming_the_reason(
    call_api: ApiCall,
) -> None:
    # (An expired registration is refused the same way: tests/unit/test_hosted_issuing.py moves the clock.)
    signatory = approved_signatory(call_api)
    unapproved = post(call_api, "/v1/goods-registrations", EXPORTER, goods_payload())["json"]["id"]
    foreign = post(call_api, "/v1/goods-registrations", OTHER_EXPORTER, goods_payload())["json"]["id"]
    refused_goods = post(call_api, "/v1/goods-registrations", EXPORTER, goods_payload())["json"]["id"]
    refusal = {"decision": "REFUSED", "reasons": ["no evidence of the RVC"]}
    post(call_api, f"/v1/goods-registrations/{refused_goods}/approval", ISSUING_BODY, refusal)

    for registration, reason in (
        (unapproved, "not approved"),
        (foreign, "not a goods registration of this exporter"),
        (refused_goods, "REFUSED"),
    ):
        response = post(call_api, "/v1/applications", EXPORTER, application_payload(signatory, [registration]))
        refused(response, "items[0].goods_registration_id", reason)

    assert call_api("GET", "/v1/applications", client_id=EXPORTER)["json"]["items"] == []
    assert call_api("GET", "/v1/certificates", client_id=EXPORTER)["json"]["items"] == []


def test_an_application_signed_by_an_unapproved_signatory_is_refused(call_api: ApiCall) -> None:
    goods = approved_goods(call_api)
    unapproved = post(call_api, "/v1/signatories", EXPORTER, signatory_payload())["json"]["id"]

    response = post(call_api, "/v1/applications", EXPORTER, application_payload(unapproved, [goods]))

    refused(response, "signatory_id", "not an approved signatory")
    assert call_api("GET", "/v1/applications", client_id=EXPORTER)["json"]["items"] == []


def test_an_application_that_breaks_a_certificate_rule_is_refused_at_the_field(call_api: ApiCall) -> None:
    payload = application_payload(approved_signatory(call_api), [approved_goods(call_api)])
    payload["transport"]["port_of_loading"] = "AUCKLAND"

    response = post(call_api, "/v1/applications", EXPORTER, payload)

    assert response["statusCode"] == 422
    assert any("port_of_loading" in error["field"] for error in response["json"]["errors"])


def test_evidence_and_contact_details_stay_with_the_exporter_and_its_issuing_body(call_api: ApiCall) -> None:
    goods = approved_goods(call_api)
    signatory = approved_signatory(call_api)

    assert call_api("GET", f"/v1/goods-registrations/{goods}", client_id=ISSUING_BODY)["json"]["goods"]["evidence"]
    for stranger in (OTHER_EXPORTER, NZ_CUSTOMS, CN_CUSTOMS):
        assert call_api("GET", f"/v1/goods-registrations/{goods}", client_id=stranger)["statusCode"] == 404
        assert call_api("GET", f"/v1/signatories/{signatory}", client_id=stranger)["statusCode"] == 404


def test_only_the_issuing_body_named_decides(call_api: ApiCall) -> None:
    lodged = post(call_api, "/v1/goods-registrations", EXPORTER, goods_payload())["json"]["id"]

    by_exporter = post(
        call_api,
        f"/v1/goods-registrations/{lodged}/approval",
        EXPORTER,
        {"decision": "APPROVED", "valid_until": "2099-01-01"},
    )
    refusal_without_reasons = post(
        call_api, f"/v1/goods-registrations/{lodged}/approval", ISSUING_BODY, {"decision": "REFUSED"}
    )

    assert by_exporter["statusCode"] == 404
    assert refusal_without_reasons["statusCode"] == 422


@pytest.mark.parametrize("collection", ["/v1/goods-registrations", "/v1/signatories"])
@pytest.mark.parametrize("client_id", [EXPORTER, OTHER_EXPORTER, NZ_CUSTOMS, CN_CUSTOMS, OPS])
def test_a_decision_by_anyone_but_its_issuing_body_is_404_exactly_as_for_an_id_no_one_holds(
    call_api: ApiCall, collection: str, client_id: str
) -> None:
    payload = goods_payload() if collection == "/v1/goods-registrations" else signatory_payload()
    lodged = post(call_api, collection, EXPORTER, payload)["json"]["id"]
    missing = lodged[:-4] + ("0000" if lodged[-4:] != "0000" else "1111")
    decision = {"decision": "REFUSED", "reasons": ["No evidence"]}

    existing = post(call_api, f"{collection}/{lodged}/approval", client_id, decision)
    absent = post(call_api, f"{collection}/{missing}/approval", client_id, decision)

    assert (existing["statusCode"], absent["statusCode"]) == (404, 404)
    # One identical body, but for the id each names: nothing tells that the first one exists.
    assert existing["json"] | {"detail": None, "instance": None} == absent["json"] | {"detail": None, "instance": None}


def test_anyone_verifies_a_certificate_and_the_digest_its_paper_carries(
    call_api: ApiCall, records: TableUnitOfWork
) -> None:
    number = post(call_api, f"/v1/applications/{lodged_application(call_api)}/certification", ISSUING_BODY)["json"][
        "certificate_number"
    ]
    record = records.certificates.get(number)
    assert record is not None

    printed = call_api("GET", f"/v1/verify/{number}", query={"digest": printed_digest(record)})
    altered = call_api("GET", f"/v1/verify/{number}", query={"digest": "0" * 64})
    unknown = call_api("GET", "/v1/verify/11.9999.99999")

    assert printed["statusCode"] == 200
    assert (printed["json"]["currently_valid"], printed["json"]["digest_matches"]) == (True, True)
    assert printed["json"]["issuing_body"] == "Auckland Business Chamber"
    assert "exporter" not in printed["json"]
    assert altered["json"]["digest_matches"] is False
    assert unknown["statusCode"] == 404


@pytest.mark.parametrize("path", ["/v1/goods-registrations", "/v1/signatories"])
@pytest.mark.parametrize("client_id", [EXPORTER, ISSUING_BODY])
def test_a_registration_list_longer_than_a_page_answers_a_page_and_a_cursor_to_the_rest(
    call_api: ApiCall, path: str, client_id: str
) -> None:
    # Given three records lodged by an exporter with its issuing body
    payload = goods_payload if path == "/v1/goods-registrations" else signatory_payload
    lodged = [post(call_api, path, EXPORTER, payload())["json"]["id"] for _ in range(3)]
    # When the exporter or the issuing body lists them two at a time
    first = call_api("GET", path, client_id=client_id, query={"limit": "2"})["json"]
    rest = call_api("GET", path, client_id=client_id, query={"limit": "2", "cursor": first["next_cursor"]})["json"]
    # Then the first page holds two and a cursor, the second the last one and none
    assert [item["id"] for item in first["items"]] == lodged[:2]
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == (lodged[2:], None)


def test_an_application_list_longer_than_a_page_answers_a_page_and_a_cursor_to_the_rest(call_api: ApiCall) -> None:
    lodged = [lodged_application(call_api) for _ in range(2)]
    first = call_api("GET", "/v1/applications", client_id=ISSUING_BODY, query={"limit": "1"})["json"]
    rest = call_api("GET", "/v1/applications", client_id=ISSUING_BODY, query={"cursor": first["next_cursor"]})["json"]
    assert [item["id"] for item in first["items"]] == lodged[:1]
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == (lodged[1:], None)


@pytest.mark.parametrize("path", ["/v1/goods-registrations", "/v1/signatories", "/v1/applications"])
def test_a_hosted_page_size_over_the_limit_or_a_cursor_of_another_listing_is_refused(
    call_api: ApiCall, path: str
) -> None:
    too_many = call_api("GET", path, client_id=ISSUING_BODY, query={"limit": "101"})
    assert (too_many["statusCode"], too_many["json"]["errors"][0]["field"]) == (400, "query.limit")
    foreign = call_api("GET", path, client_id=ISSUING_BODY, query={"cursor": "eyJwayI6IngifQ"})
    assert (foreign["statusCode"], foreign["json"]["errors"][0]["field"]) == (400, "query.cursor")
