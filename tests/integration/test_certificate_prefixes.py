"""Certificate-number squatting (issue 14, finding 1), through the API function: an issuing body that submits a
number under another body's prefix is refused, so it can never take a number of that body's hosted range and stop
its counter there."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ISSUING_BODY, OTHER_ISSUING_BODY_CLIENT, certificate_payload, today_in_new_zealand
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import lodged_application, post
from tests.integration.test_certificates_api import stored_items

pytestmark = pytest.mark.integration


def submit(call_api: ApiCall, client_id: str, number: str) -> dict[str, Any]:
    return post(call_api, "/v1/certificates", client_id, certificate_payload(certificate_number=number))


def test_another_bodys_number_in_a_hosted_range_is_refused_and_the_hosted_counter_still_starts_at_one(
    call_api: ApiCall,
) -> None:
    first_hosted = f"11.{today_in_new_zealand().year}.00001"
    # Given the Wellington chamber (prefix 22) submits the Auckland chamber's first hosted number of the year
    squatted = submit(call_api, OTHER_ISSUING_BODY_CLIENT, first_hosted)
    # Then it is a 422 problem naming the number, and nothing is stored
    assert squatted["statusCode"] == 422, squatted
    assert squatted["headers"]["content-type"] == "application/problem+json"
    assert [error["field"] for error in squatted["json"]["errors"]] == ["certificate_number"]
    assert stored_items() == []
    # And the Auckland chamber's next certification still gets that number
    certified = post(call_api, f"/v1/applications/{lodged_application(call_api)}/certification", ISSUING_BODY)
    assert certified["statusCode"] == 201, certified
    assert certified["json"]["certificate_number"] == first_hosted


def test_a_body_submits_under_its_own_prefix(call_api: ApiCall) -> None:
    submitted = submit(call_api, OTHER_ISSUING_BODY_CLIENT, "22.1234.12345")

    assert submitted["statusCode"] == 201, submitted
    assert (submitted["json"]["certificate_number"], submitted["json"]["issuing_body"]["id"]) == (
        "22.1234.12345",
        "wlg-chamber",
    )


def test_a_body_replaces_nothing_under_another_bodys_prefix(call_api: ApiCall) -> None:
    # Given a certificate of the Wellington chamber
    assert submit(call_api, OTHER_ISSUING_BODY_CLIENT, "22.1234.12345")["statusCode"] == 201
    # When it replaces it with a number under the Auckland chamber's prefix
    body = {"reason": "typo", "certificate": certificate_payload(certificate_number="11.1234.12346")}
    replaced = post(call_api, "/v1/certificates/22.1234.12345/replacement", OTHER_ISSUING_BODY_CLIENT, body)
    # Then the new number is refused by name
    assert replaced["statusCode"] == 422, replaced
    assert [error["field"] for error in replaced["json"]["errors"]] == ["certificate.certificate_number"]
