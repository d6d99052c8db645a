"""Public verification answers a person's browser with a page and an API client with JSON, chosen by ``Accept``
(DESIGN.md §5): through the API function, with real proxy events, against moto in process."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from functions.api.responses import VerificationOut
from functions.api.verification_page import CONTENT_SECURITY_POLICY
from infrastructure.local.functions import FunctionSet, LocalOptions, build_functions
from infrastructure.local.provision import Provisioned
from jevs.adapters.aws import AwsClients
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.documents.printed import printed_digest
from tests.factories import ISSUING_BODY, LambdaContext, api_event, certificate_payload, registered_clients
from tests.integration.conftest import ApiCall, local_options
from tests.integration.declarations_support import lodge, run_matcher, submit_certificate
from tests.problems import problem_type

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
REPLACEMENT = "11.1234.20001"
# What a browser sends when it opens the QR code's address (Chromium's Accept for a page).
BROWSER = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
    "application/signed-exchange;v=b3;q=0.7"
)
HOSTILE_NAME = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)> Chamber'


def verify(functions: FunctionSet, number: str = NUMBER, accept: str | None = BROWSER, **query: str) -> dict[str, Any]:
    """GET /v1/verify/{number} with ``accept`` as the Accept header (None: no Accept header at all)."""
    event = api_event("GET", f"/v1/verify/{number}", headers={"Accept": accept or ""}, query=query or None)
    if accept is None:
        del event["headers"]["Accept"], event["multiValueHeaders"]["Accept"]
    response: dict[str, Any] = functions.api(event, LambdaContext())
    response["headers"] = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        response["headers"][name.lower()] = values[-1]
    if "json" in response["headers"].get("content-type", ""):
        response["json"] = json.loads(response["body"])
    return response


def _post(call_api: ApiCall, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    return call_api("POST", path, body=body, client_id=ISSUING_BODY, headers={"Idempotency-Key": key})


def test_a_browser_gets_the_page_with_the_standing_and_its_issuer_in_english_and_chinese(
    call_api: ApiCall, functions: FunctionSet
) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)

    answer = verify(functions)

    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"] == "text/html; charset=utf-8"
    page = answer["body"]
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert (
        '<h2 id="standing"><span aria-hidden="true">✓</span> Valid <span class="zh" lang="zh-Hans">有效</span>' in page
    )
    assert "<dd>Auckland Business Chamber</dd>" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


def test_the_page_shows_nothing_commercial(call_api: ApiCall, functions: FunctionSet) -> None:
    certificate = submit_certificate(call_api, certificate_number=NUMBER)

    page = verify(functions)["body"]

    item = certificate["items"][0]
    for commercial in (
        certificate["exporter"]["name"],
        certificate["exporter"]["business_number"],
        certificate["consignee"]["name"],
        item["description"],
        item["invoice"]["number"],
        item["marks_and_numbers"],
    ):
        assert commercial not in page, commercial


def test_the_page_is_sent_with_a_strict_content_security_policy_and_vary_accept(
    call_api: ApiCall, functions: FunctionSet
) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)

    headers = verify(functions)["headers"]

    assert headers["vary"] == "Accept"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'none'; style-src 'sha256-")
    assert (headers["x-content-type-options"], headers["referrer-policy"]) == ("nosniff", "no-referrer")
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "accept",
    [
        pytest.param("application/json", id="json"),
        pytest.param("*/*", id="anything"),
        pytest.param(None, id="no-accept-header"),
        pytest.param("text/html;q=0.5, application/json", id="json-ranked-above-html"),
        pytest.param("text/html, application/json", id="a-tie"),
    ],
)
def test_an_api_client_gets_json_with_vary_accept(
    call_api: ApiCall, functions: FunctionSet, accept: str | None
) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)

    answer = verify(functions, accept=accept)

    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["headers"]["vary"] == "Accept"
    assert answer["json"]["standing"] == "VALID"
    assert VerificationOut.model_validate(answer["json"]).model_dump(mode="json") == answer["json"]
    assert "content-security-policy" not in answer["headers"]


def test_an_issuing_body_name_that_is_markup_is_shown_as_text(
    aws_resources: Provisioned, functions: FunctionSet
) -> None:
    clients = [client.model_dump(mode="json") for client in registered_clients()]
    for client in clients:
        if client["client_id"] == ISSUING_BODY:
            client["party"]["name"] = HOSTILE_NAME
    options = local_options()
    hostile = build_functions(
        aws_resources,
        LocalOptions(
            parties=json.dumps(clients),
            china_customs_endpoint=options.china_customs_endpoint,
            verification_base_url=options.verification_base_url,
        ),
        AwsClients(),
    )
    body = certificate_payload(certificate_number=NUMBER)
    submitted = hostile.api(
        api_event("POST", "/v1/certificates", body=body, client_id=ISSUING_BODY, headers={"Idempotency-Key": "h-1"}),
        LambdaContext(),
    )
    assert submitted["statusCode"] == 201, submitted

    page = hostile.api(api_event("GET", f"/v1/verify/{NUMBER}", headers={"Accept": BROWSER}), LambdaContext())["body"]

    assert (
        "<dd>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt; "
        "Chamber</dd>" in page
    )
    assert "<script" not in page
    assert "<img" not in page


def test_a_revoked_certificate_reads_revoked(call_api: ApiCall, functions: FunctionSet) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)
    revoked = _post(call_api, f"/v1/certificates/{NUMBER}/revocation", {"reason": "Goods not originating"}, "r-1")
    assert revoked["statusCode"] == 200, revoked

    page = verify(functions)["body"]
    data = verify(functions, accept="application/json")["json"]

    assert '<span aria-hidden="true">✗</span> Revoked <span class="zh" lang="zh-Hans">已撤销</span>' in page
    assert (data["standing"], data["status"], data["currently_valid"]) == ("REVOKED", "REVOKED", False)


def test_a_replaced_certificate_links_to_its_replacements_page(call_api: ApiCall, functions: FunctionSet) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)
    corrected = certificate_payload(certificate_number=REPLACEMENT, remarks="Invoice date corrected")
    replaced = _post(
        call_api,
        f"/v1/certificates/{NUMBER}/replacement",
        {"reason": "Invoice date corrected", "certificate": corrected},
        "p-1",
    )
    assert replaced["statusCode"] == 201, replaced

    page = verify(functions)["body"]
    data = verify(functions, accept="application/json")["json"]
    replacement_page = verify(functions, REPLACEMENT)["body"]

    assert 'Replaced <span class="zh" lang="zh-Hans">已被替换</span>' in page
    assert re.search(
        r'<a href="\./11\.1234\.20001" rel="nofollow">Verify the replacement, certificate 11\.1234\.20001', page
    )
    assert (data["standing"], data["replaced_by"]) == ("REPLACED", REPLACEMENT)
    assert "> Valid <" in replacement_page


def test_a_certificate_used_by_an_import_declaration_reads_valid_but_used(
    call_api: ApiCall, functions: FunctionSet
) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)
    lodged = lodge(call_api, certificate_number=NUMBER)
    assert lodged["statusCode"] == 202, lodged
    run_matcher(functions, "CNIM-223320261000123456")

    page = verify(functions)["body"]
    data = verify(functions, accept="application/json")["json"]

    assert (
        '<span aria-hidden="true">!</span> Valid, already used <span class="zh" lang="zh-Hans">有效，已使用</span>'
        in page
    )
    assert (data["standing"], data["currently_valid"]) == ("USED", True)


def test_the_page_says_whether_the_printed_digest_matches(
    call_api: ApiCall, functions: FunctionSet, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api, certificate_number=NUMBER)
    record = records.certificates.get(NUMBER)
    assert record is not None

    printed = verify(functions, digest=printed_digest(record))["body"]
    altered = verify(functions, digest="0" * 64)["body"]
    without = verify(functions)["body"]

    assert "The data printed on the certificate matches what JEVS holds." in printed
    assert "The data printed on the certificate does NOT match what JEVS holds" in altered
    assert "No digest was given" in without


def test_a_browser_asking_for_an_unknown_number_gets_a_not_found_page_with_the_number_escaped(
    functions: FunctionSet,
) -> None:
    answer = verify(functions, "<img src=x onerror=alert(1)>")

    assert answer["statusCode"] == 404
    assert answer["headers"]["content-type"] == "text/html; charset=utf-8"
    assert answer["headers"]["vary"] == "Accept"
    assert "JEVS holds no certificate numbered &lt;img src=x onerror=alert(1)&gt;" in answer["body"]
    assert "<img" not in answer["body"]


def test_an_api_client_asking_for_an_unknown_number_gets_a_problem(functions: FunctionSet) -> None:
    answer = verify(functions, "11.9999.99999", accept="application/json")

    assert answer["statusCode"] == 404
    assert answer["headers"]["content-type"] == "application/problem+json"
    assert answer["json"]["type"] == problem_type("not-found")
    assert (answer["headers"]["vary"], answer["headers"]["cache-control"]) == ("Accept", "no-store")
