"""The rules across boxes over real HTTP on the local stack: each broken rule is one 422 naming the boxes at
fault, and nothing is stored."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from tests.broken_certificates import BROKEN, NUMBER, dated
from tests.e2e.conftest import TokenFor
from tests.problems import problem_type

pytestmark = pytest.mark.e2e

ISSUING_BODY = "local-akl-chamber"


def submitted(api: httpx.Client, token_for: TokenFor, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token_for(ISSUING_BODY)}", "Idempotency-Key": f"rules-{uuid.uuid4()}"}
    return api.post("/v1/certificates", json=body, headers=headers)


@pytest.mark.parametrize(("body", "fields"), BROKEN)
def test_a_certificate_breaking_a_rule_across_boxes_is_refused_naming_the_boxes_and_nothing_is_stored(
    api: httpx.Client, token_for: TokenFor, body: dict[str, Any], fields: list[str]
) -> None:
    response = submitted(api, token_for, body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == problem_type("rule-violation")
    assert [error["field"] for error in response.json()["errors"]] == fields
    headers = {"Authorization": f"Bearer {token_for(ISSUING_BODY)}"}
    assert api.get(f"/v1/certificates/{NUMBER}", headers=headers).status_code == 404


def test_a_certificate_breaking_two_rules_across_boxes_is_refused_naming_both(
    api: httpx.Client, token_for: TokenFor
) -> None:
    # Given a certificate issued in 2020 (its validity long over) for goods loaded in Shanghai
    body = dated(date(2020, 3, 2), date(2020, 3, 5))
    body["transport"]["port_of_loading"] = "CNSHA"
    # When its issuing body submits it over HTTP, Then one 422 problem names both boxes at fault
    response = submitted(api, token_for, body)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["issue_date", "transport.port_of_loading"]
