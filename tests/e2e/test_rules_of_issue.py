"""The rules across boxes (DESIGN §2) over real HTTP on the local stack: one answer names every box at fault."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from tests.e2e.conftest import TokenFor
from tests.factories import certificate_issued_on

pytestmark = pytest.mark.e2e

ISSUING_BODY = "local-akl-chamber"
NUMBER = "11.1234.50001"


def test_a_certificate_breaking_two_rules_across_boxes_is_refused_naming_both(
    api: httpx.Client, token_for: TokenFor
) -> None:
    # Given a certificate issued in 2020 (its validity long over) for goods loaded in Shanghai
    body = certificate_issued_on(date(2020, 3, 2), certificate_number=NUMBER)
    body["transport"]["port_of_loading"] = "CNSHA"
    headers = {"Authorization": f"Bearer {token_for(ISSUING_BODY)}"}
    # When its issuing body submits it over HTTP
    response = api.post("/v1/certificates", json=body, headers={**headers, "Idempotency-Key": f"e2e-{NUMBER}"})
    # Then one 422 problem names both boxes at fault, and the certificate is not stored
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["issue_date", "transport.port_of_loading"]
    assert api.get(f"/v1/certificates/{NUMBER}", headers=headers).status_code == 404
