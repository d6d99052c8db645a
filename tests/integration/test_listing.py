"""Listing certificates: only what the caller may see, newest first, page by page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_EXPORTER, certificate_payload
from tests.integration.conftest import ApiCall

pytestmark = pytest.mark.integration

OTHER_EXPORTER_BOX = {
    "name": "Tui Valley Wines Limited",
    "address": "12 Vineyard Road, Blenheim 7201",
    "country": "NZ",
    "business_number": "9429047654327",
}
AUSTRALIAN_CONSIGNEE = {"name": "Harbour Foods Pty Ltd", "address": "1 George Street, Sydney", "country": "AU"}


def submit(call_api: ApiCall, number: str, **overrides: Any) -> None:
    response = call_api(
        "POST",
        "/v1/certificates",
        body=certificate_payload(certificate_number=number, **overrides),
        client_id=ISSUING_BODY,
        headers={"Idempotency-Key": number},
    )
    assert response["statusCode"] == 201, response["body"]


@pytest.fixture
def certificates(call_api: ApiCall) -> None:
    """Six certificates, all to China: four of Kauri Dairy's over four days, one of Tui Valley's, and one of Kauri
    Dairy's for a consignee in Australia."""
    for day in range(17, 21):
        submit(call_api, f"11.1234.100{day}", issue_date=f"2026-11-{day}")
    submit(call_api, "11.1234.20001", exporter=OTHER_EXPORTER_BOX)
    submit(call_api, "11.1234.30001", consignee=AUSTRALIAN_CONSIGNEE)


def listed(call_api: ApiCall, client_id: str, **query: str) -> list[str]:
    response = call_api("GET", "/v1/certificates", client_id=client_id, query=query or None)
    assert response["statusCode"] == 200, response["body"]
    return [item["certificate_number"] for item in response["json"]["items"]]


@pytest.mark.usefixtures("certificates")
@pytest.mark.parametrize(
    ("client_id", "expected"),
    [
        (ISSUING_BODY, 6),
        (NZ_CUSTOMS, 6),
        (OPS, 6),
        (EXPORTER, 5),
        (OTHER_EXPORTER, 1),
        (CN_CUSTOMS, 6),
    ],
)
def test_each_party_lists_only_what_it_may_see(call_api: ApiCall, client_id: str, expected: int) -> None:
    assert len(listed(call_api, client_id)) == expected


@pytest.mark.usefixtures("certificates")
def test_a_listing_is_newest_first_and_pages_with_a_cursor(call_api: ApiCall) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", "exporter": "9429041234563", "importing_country": "CN"}
        if cursor:
            query["cursor"] = cursor
        body = call_api("GET", "/v1/certificates", client_id=NZ_CUSTOMS, query=query)["json"]
        seen += [item["certificate_number"] for item in body["items"]]
        pages += 1
        cursor = body.get("next_cursor")
        if not cursor:
            break

    # Kauri Dairy's five, all for import into China (the last submitted for its consignee in Australia).
    assert seen == ["11.1234.30001", "11.1234.10020", "11.1234.10019", "11.1234.10018", "11.1234.10017"]
    assert pages == 3


@pytest.mark.usefixtures("certificates")
def test_filters_by_issue_date_and_status(call_api: ApiCall) -> None:
    assert listed(call_api, OPS, issued_from="2026-11-18", issued_to="2026-11-19") == ["11.1234.10019", "11.1234.10018"]
    assert listed(call_api, OPS, status="REVOKED") == []


@pytest.mark.usefixtures("certificates")
def test_an_exporter_asking_for_another_exporters_certificates_gets_none(call_api: ApiCall) -> None:
    assert listed(call_api, OTHER_EXPORTER, exporter="9429041234563") == []


@pytest.mark.usefixtures("certificates")
def test_the_listing_shows_ops_no_party_names(call_api: ApiCall) -> None:
    item = call_api("GET", "/v1/certificates", client_id=OPS)["json"]["items"][0]
    assert "exporter_name" not in item
    assert "consignee_name" not in item


@pytest.mark.usefixtures("certificates")
@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJwIjoiMjAyNiIsImsiOm51bGwsImMiOiJ4In0"])
def test_a_cursor_this_listing_did_not_issue_is_refused(call_api: ApiCall, cursor: str) -> None:
    response = call_api("GET", "/v1/certificates", client_id=OPS, query={"cursor": cursor})

    assert response["statusCode"] == 400
    assert response["json"]["errors"][0]["field"] == "query.cursor"


@pytest.mark.usefixtures("certificates")
def test_a_cursor_cannot_be_replayed_against_other_filters(call_api: ApiCall) -> None:
    first = call_api("GET", "/v1/certificates", client_id=OPS, query={"limit": "1"})["json"]

    response = call_api(
        "GET",
        "/v1/certificates",
        client_id=OPS,
        query={"limit": "1", "status": "ISSUED", "cursor": first["next_cursor"]},
    )

    assert response["statusCode"] == 400


def test_a_page_size_over_the_limit_is_refused(call_api: ApiCall) -> None:
    response = call_api("GET", "/v1/certificates", client_id=OPS, query={"limit": "101"})

    assert response["statusCode"] == 400
    assert response["json"]["errors"][0]["field"] == "query.limit"


def test_an_issue_date_range_of_centuries_is_a_problem_naming_issued_to(call_api: ApiCall) -> None:
    # Given NZ Customs, who may list every certificate
    # When it asks for those issued from 1800 to 2400
    response = call_api(
        "GET", "/v1/certificates", client_id=NZ_CUSTOMS, query={"issued_from": "1800-01-01", "issued_to": "2400-12-31"}
    )
    # Then the range is refused, naming the parameter and the limit
    assert response["statusCode"] == 422
    assert response["json"]["errors"] == [
        {"field": "query.issued_to", "message": "at most 20 years after issued_from (1800-01-01)"}
    ]


@pytest.mark.usefixtures("certificates")
def test_a_range_reaching_before_the_fta_and_past_today_lists_what_was_issued(call_api: ApiCall) -> None:
    assert len(listed(call_api, OPS, issued_from="2008-01-01", issued_to="2027-12-31")) == 6


@pytest.mark.parametrize("number", ["0.0", "0"])
def test_a_number_in_a_date_filter_is_a_400_not_read_as_a_unix_time(call_api: ApiCall, number: str) -> None:
    # pydantic reads "0.0" as 1970-01-01; the document says a date is YYYY-MM-DD (found by schemathesis, issue 14).
    response = call_api("GET", "/v1/certificates", client_id=OPS, query={"issued_from": number})

    assert response["statusCode"] == 400, response["body"]
    assert [error["field"] for error in response["json"]["errors"]] == ["query.issued_from"]


def test_a_number_as_the_exchange_files_since_is_a_400_not_read_as_a_unix_time(call_api: ApiCall) -> None:
    response = call_api("GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query={"since": "0"})

    assert response["statusCode"] == 400, response["body"]
    assert [error["field"] for error in response["json"]["errors"]] == ["query.since"]
