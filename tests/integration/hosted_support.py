"""The hosted-issuing flow through the API function, as an exporter and its issuing body call it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from tests.factories import (
    EXPORTER,
    ISSUING_BODY,
    application_payload,
    goods_payload,
    signatory_payload,
    today_in_new_zealand,
)
from tests.integration.conftest import ApiCall

_keys = itertools.count(1)


def post(call_api: ApiCall, path: str, client_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return call_api("POST", path, body=body, client_id=client_id, headers={"Idempotency-Key": f"key-{next(_keys)}"})


def approved_goods(call_api: ApiCall, *, days: int = 365, **overrides: Any) -> str:
    lodged = post(call_api, "/v1/goods-registrations", EXPORTER, goods_payload(**overrides))
    assert lodged["statusCode"] == 201, lodged
    until = (today_in_new_zealand() + timedelta(days=days)).isoformat()
    decided = post(
        call_api, lodged["json"]["links"]["decision"], ISSUING_BODY, {"decision": "APPROVED", "valid_until": until}
    )
    assert decided["statusCode"] == 200, decided
    return str(lodged["json"]["id"])


def approved_signatory(call_api: ApiCall) -> str:
    lodged = post(call_api, "/v1/signatories", EXPORTER, signatory_payload())
    assert lodged["statusCode"] == 201, lodged
    decided = post(call_api, lodged["json"]["links"]["decision"], ISSUING_BODY, {"decision": "APPROVED"})
    assert decided["statusCode"] == 200, decided
    return str(lodged["json"]["id"])


def lodged_application(call_api: ApiCall) -> str:
    response = post(
        call_api,
        "/v1/applications",
        EXPORTER,
        application_payload(approved_signatory(call_api), [approved_goods(call_api)]),
    )
    assert response["statusCode"] == 201, response
    return str(response["json"]["id"])
