"""Idempotency on every POST (DESIGN.md §5), through the API function: the same Idempotency-Key and request get
the first answer again, marked ``Idempotent-Replayed: true``; the same key with another request is a 409; and
decisions are once only, whatever key asks for a second one (issue 10)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from functions.api.edge import idempotent
from functions.api.handler import app
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    OPS,
    application_payload,
    certificate_payload,
    declaration_payload,
    goods_payload,
    signatory_payload,
)
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import approved_goods, approved_signatory, lodged_application, post
from tests.problems import problem_type

pytestmark = pytest.mark.integration

_numbers = itertools.count(1)


@dataclass(frozen=True)
class Request:
    path: str
    client_id: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class PostRoute:
    """One POST route: how to prepare a request to it, and another request that differs only in its body (or,
    for a route without a body, in its path)."""

    name: str
    prepare: Callable[[ApiCall], tuple[Request, Request]]


def _certificate(call_api: ApiCall) -> tuple[Request, Request]:
    number = f"11.1234.{next(_numbers):05d}"
    body = certificate_payload(certificate_number=number)
    return Request("/v1/certificates", ISSUING_BODY, body), Request(
        "/v1/certificates", ISSUING_BODY, {**body, "remarks": "Second thoughts"}
    )


def _declaration(call_api: ApiCall) -> tuple[Request, Request]:
    body = declaration_payload(declaration_number=f"2233{next(_numbers):014d}")
    other = {**body, "declared_on": "2026-12-06"}
    return Request("/v1/declarations", CN_CUSTOMS, body), Request("/v1/declarations", CN_CUSTOMS, other)


def _goods(call_api: ApiCall) -> tuple[Request, Request]:
    body = goods_payload()
    other = goods_payload(description="Skim milk powder, in 25 kg bags")
    return Request("/v1/goods-registrations", EXPORTER, body), Request("/v1/goods-registrations", EXPORTER, other)


def _signatory(call_api: ApiCall) -> tuple[Request, Request]:
    body, other = signatory_payload(), signatory_payload(name="Tama Ngata")
    return Request("/v1/signatories", EXPORTER, body), Request("/v1/signatories", EXPORTER, other)


def _lodged(call_api: ApiCall, path: str, body: dict[str, Any]) -> str:
    lodged = post(call_api, path, EXPORTER, body)
    assert lodged["statusCode"] == 201, lodged
    return str(lodged["json"]["id"])


def _goods_approval(call_api: ApiCall) -> tuple[Request, Request]:
    path = f"/v1/goods-registrations/{_lodged(call_api, '/v1/goods-registrations', goods_payload())}/approval"
    approve = {"decision": "APPROVED", "valid_until": "2099-01-01"}
    refuse = {"decision": "REFUSED", "reasons": ["no evidence of origin"]}
    return Request(path, ISSUING_BODY, approve), Request(path, ISSUING_BODY, refuse)


def _signatory_approval(call_api: ApiCall) -> tuple[Request, Request]:
    path = f"/v1/signatories/{_lodged(call_api, '/v1/signatories', signatory_payload())}/approval"
    refuse = {"decision": "REFUSED", "reasons": ["not an officer of the exporter"]}
    return Request(path, ISSUING_BODY, {"decision": "APPROVED"}), Request(path, ISSUING_BODY, refuse)


def _application(call_api: ApiCall) -> tuple[Request, Request]:
    body = application_payload(approved_signatory(call_api), [approved_goods(call_api)])
    return Request("/v1/applications", EXPORTER, body), Request("/v1/applications", EXPORTER, {**body, "remarks": "x"})


def _on_application(action: str, client_id: str, body: dict[str, Any] | None) -> Callable[[ApiCall], Any]:
    def prepare(call_api: ApiCall) -> tuple[Request, Request]:
        first, second = lodged_application(call_api), lodged_application(call_api)
        return (
            Request(f"/v1/applications/{first}/{action}", client_id, body),
            Request(f"/v1/applications/{second}/{action}", client_id, body),
        )

    return prepare


def _submitted(call_api: ApiCall) -> str:
    number = f"11.1234.{next(_numbers):05d}"
    response = send(
        call_api, Request("/v1/certificates", ISSUING_BODY, certificate_payload(certificate_number=number)), number
    )
    assert response["statusCode"] == 201, response
    return number


def _replacement(call_api: ApiCall) -> tuple[Request, Request]:
    number = _submitted(call_api)
    corrected = certificate_payload(certificate_number=f"11.1234.{next(_numbers):05d}")
    body = {"reason": "Invoice number corrected", "certificate": corrected}
    other = {"reason": "Consignee's address corrected", "certificate": corrected}
    path = f"/v1/certificates/{number}/replacement"
    return Request(path, ISSUING_BODY, body), Request(path, ISSUING_BODY, other)


def _with_reason(action: str) -> Callable[[ApiCall], tuple[Request, Request]]:
    def prepare(call_api: ApiCall) -> tuple[Request, Request]:
        path = f"/v1/certificates/{_submitted(call_api)}/{action}"
        return Request(path, ISSUING_BODY, {"reason": "first reason"}), Request(
            path, ISSUING_BODY, {"reason": "another reason"}
        )

    return prepare


def _preference_decision(call_api: ApiCall) -> tuple[Request, Request]:
    number = _submitted(call_api)
    declaration = f"2233{next(_numbers):014d}"
    lodged = send(
        call_api,
        Request(
            "/v1/declarations",
            CN_CUSTOMS,
            declaration_payload(declaration_number=declaration, certificate_number=number),
        ),
        f"d-{declaration}",
    )
    assert lodged["statusCode"] == 202, lodged
    path = f"/v1/certificates/{number}/preference-decisions"
    given = {"declaration_number": declaration, "decision": "GIVEN"}
    refused = {**given, "decision": "NOT_GIVEN", "reasons": [{"code": "OTHER", "text": "first reason"}]}
    return Request(path, CN_CUSTOMS, given), Request(path, CN_CUSTOMS, refused)


def _verification_request(call_api: ApiCall) -> tuple[Request, Request]:
    body = {"certificate_number": _submitted(call_api), "questions": ["Where was the milk collected?"]}
    return Request("/v1/verification-requests", CN_CUSTOMS, body), Request(
        "/v1/verification-requests", CN_CUSTOMS, {**body, "questions": ["Who made the cans?"]}
    )


def _raised(call_api: ApiCall) -> str:
    request, _ = _verification_request(call_api)
    raised = send(call_api, request, f"raise-{next(_numbers)}")
    assert raised["statusCode"] == 201, raised
    return str(raised["json"]["id"])


def _on_verification(action: str, client_id: str, body: dict[str, Any], other: dict[str, Any]) -> Callable[..., Any]:
    def prepare(call_api: ApiCall) -> tuple[Request, Request]:
        path = f"/v1/verification-requests/{_raised(call_api)}/{action}"
        return Request(path, client_id, body), Request(path, client_id, other)

    return prepare


def _redrive(call_api: ApiCall) -> tuple[Request, Request]:
    return Request("/v1/ops/redrives", OPS, {"queue": "deliveries"}), Request(
        "/v1/ops/redrives", OPS, {"queue": "declarations"}
    )


def _redrive_of_deliveries(call_api: ApiCall) -> tuple[Request, Request]:
    # The only POST route without a body or a path to vary: the "other request" is the same route by another
    # party, which is another key space altogether (see the test of parties below), so it is the same request.
    request = Request("/v1/ops/deliveries/redrive", OPS, None)
    return request, request


POST_ROUTES = [
    PostRoute("certificate submission", _certificate),
    PostRoute("replacement", _replacement),
    PostRoute("revocation", _with_reason("revocation")),
    PostRoute("certified true copy", _with_reason("certified-true-copy")),
    PostRoute("declaration", _declaration),
    PostRoute("goods registration", _goods),
    PostRoute("signatory registration", _signatory),
    PostRoute("goods approval", _goods_approval),
    PostRoute("signatory approval", _signatory_approval),
    PostRoute("application", _application),
    PostRoute("certification", _on_application("certification", ISSUING_BODY, None)),
    PostRoute("rejection", _on_application("rejection", ISSUING_BODY, {"reasons": ["HS code does not match"]})),
    PostRoute("withdrawal", _on_application("withdrawal", EXPORTER, None)),
    PostRoute("redrive", _redrive),
    PostRoute("redrive of deliveries", _redrive_of_deliveries),
    PostRoute("preference decision", _preference_decision),
    PostRoute("verification request", _verification_request),
    PostRoute(
        "verification response",
        _on_verification("response", ISSUING_BODY, {"text": "From Waikato farms."}, {"text": "From Canterbury."}),
    ),
    PostRoute(
        "verification closure",
        _on_verification(
            "closure",
            CN_CUSTOMS,
            {"conclusion": "ORIGIN_CONFIRMED", "text": "Confirmed."},
            {"conclusion": "ORIGIN_NOT_CONFIRMED", "text": "Not confirmed."},
        ),
    ),
]


def send(call_api: ApiCall, request: Request, key: str) -> dict[str, Any]:
    return call_api(
        "POST", request.path, body=request.body, client_id=request.client_id, headers={"Idempotency-Key": key}
    )


def test_every_post_route_is_idempotent_and_tested_here() -> None:
    """A new POST route gets the middleware, the header and a row in POST_ROUTES, or this fails."""
    posts = [route for route in app._static_routes + app._dynamic_routes if route.method == "POST"]

    for route in posts:
        assert idempotent in route.middlewares, route.path
        headers = [param.alias for param in route.dependant.header_params]
        assert headers == ["idempotency-key"], route.path  # header names are matched in lower case
    assert len(posts) == len(POST_ROUTES)


@pytest.mark.parametrize("route", POST_ROUTES, ids=[route.name for route in POST_ROUTES])
def test_the_same_key_and_request_get_the_first_answer_again(call_api: ApiCall, route: PostRoute) -> None:
    # Given a request answered once
    request, _ = route.prepare(call_api)
    first = send(call_api, request, "key-once")
    assert first["statusCode"] in (200, 201, 202), first

    # When the partner, not sure it arrived, sends it again with the same key
    again = send(call_api, request, "key-once")

    # Then it gets the very same answer, marked as a replay
    assert (again["statusCode"], again["json"]) == (first["statusCode"], first["json"])
    assert again["headers"].get("location") == first["headers"].get("location")
    assert again["headers"]["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first["headers"]


@pytest.mark.parametrize(
    "route", [route for route in POST_ROUTES if route.name != "redrive of deliveries"], ids=lambda route: route.name
)
def test_the_same_key_with_another_request_is_a_conflict(call_api: ApiCall, route: PostRoute) -> None:
    request, other = route.prepare(call_api)
    assert send(call_api, request, "key-reused")["statusCode"] in (200, 201, 202)

    reused = send(call_api, other, "key-reused")

    assert reused["statusCode"] == 409
    assert reused["json"]["type"] == problem_type("idempotency-key-reused")


def test_a_key_belongs_to_the_party_that_used_it(call_api: ApiCall) -> None:
    # Given a key one exporter used
    first = send(call_api, Request("/v1/signatories", EXPORTER, signatory_payload()), "shared-key")
    # When another exporter happens to use the same key for its own request
    other = send(call_api, Request("/v1/signatories", "local-tui-wines", signatory_payload()), "shared-key")
    # Then each gets its own answer: a new signatory each
    assert (first["statusCode"], other["statusCode"]) == (201, 201)
    assert first["json"]["id"] != other["json"]["id"]
    assert "idempotent-replayed" not in other["headers"]


def test_a_retried_certification_gets_its_certificate_not_a_conflict(call_api: ApiCall) -> None:
    # Given an application certified (its answer lost on the way back, say)
    path = f"/v1/applications/{lodged_application(call_api)}/certification"
    first = send(call_api, Request(path, ISSUING_BODY, None), "certify-once")
    assert first["statusCode"] == 201
    # When the issuing body retries with the same key
    again = send(call_api, Request(path, ISSUING_BODY, None), "certify-once")
    # Then it gets the certificate it was issued, not "already certified"
    assert (again["statusCode"], again["json"]["certificate_number"]) == (201, first["json"]["certificate_number"])
    assert again["headers"]["idempotent-replayed"] == "true"


def test_a_second_certification_with_a_new_key_is_a_conflict(call_api: ApiCall) -> None:
    path = f"/v1/applications/{lodged_application(call_api)}/certification"
    assert send(call_api, Request(path, ISSUING_BODY, None), "certify-1")["statusCode"] == 201

    second = send(call_api, Request(path, ISSUING_BODY, None), "certify-2")

    assert second["statusCode"] == 409
    assert second["json"]["type"] == problem_type("application-decided")


@pytest.mark.parametrize("path", ["/v1/goods-registrations", "/v1/signatories"])
def test_a_decision_is_once_only_whatever_key_asks_for_another(call_api: ApiCall, path: str) -> None:
    # Given a registration approved
    body = goods_payload() if "goods" in path else signatory_payload()
    decision_path = f"{path}/{_lodged(call_api, path, body)}/approval"
    approval = {"decision": "APPROVED", "valid_until": "2099-01-01"} if "goods" in path else {"decision": "APPROVED"}
    assert send(call_api, Request(decision_path, ISSUING_BODY, approval), "decide-1")["statusCode"] == 200

    # When the issuing body decides again with a new key: refusing it, or approving it again
    refusal = send(call_api, Request(decision_path, ISSUING_BODY, {"decision": "REFUSED", "reasons": ["x"]}), "k-2")
    approval_again = send(call_api, Request(decision_path, ISSUING_BODY, approval), "decide-3")

    # Then both are conflicts naming the first decision, and the registration is still approved
    for answer in (refusal, approval_again):
        assert answer["statusCode"] == 409
        assert answer["json"]["type"] == problem_type("already-decided")
        assert "APPROVED by akl-chamber" in answer["json"]["detail"]
    stored = call_api("GET", decision_path.removesuffix("/approval"), client_id=ISSUING_BODY)["json"]
    assert stored["status"] == "APPROVED"


@pytest.mark.parametrize(
    "request_",
    [Request("/v1/ops/redrives", OPS, {"queue": "notifications"}), Request("/v1/ops/deliveries/redrive", OPS, None)],
    ids=["redrives", "deliveries/redrive"],
)
def test_a_redrive_retried_with_its_key_starts_no_second_job(call_api: ApiCall, request_: Request) -> None:
    # Given a redrive started
    first = send(call_api, request_, "redrive-1")
    # When it is retried with its key, and a new redrive is asked with a new key
    again = send(call_api, request_, "redrive-1")
    fresh = send(call_api, request_, "redrive-2")
    # Then the retry is answered with the first job, and the new one is a job of its own
    assert first["statusCode"] == again["statusCode"] == fresh["statusCode"] == 202
    assert again["json"] == first["json"]
    assert again["headers"]["location"] == first["headers"]["location"] == f"/v1/ops/redrives/{first['json']['id']}"
    assert again["headers"]["idempotent-replayed"] == "true"
    assert fresh["json"]["id"] != first["json"]["id"]
    assert "idempotent-replayed" not in fresh["headers"]
    listed = call_api("GET", "/v1/ops/redrives", client_id=OPS)["json"]["items"]
    assert [job["id"] for job in listed] == [fresh["json"]["id"], first["json"]["id"]]
