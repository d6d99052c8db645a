"""Authority from tokens, not assumed (issue 14, finding 7): Cognito grants each party's app client the one scope
of its party type, and the API function admits a token only with exactly that scope; any other is a 401 like any
invalid token, through the handler with the events API Gateway's Cognito authorizer passes on."""

from __future__ import annotations

import pytest

from jevs.domain.parties import PartyType
from jevs.resources import party_scope
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_CN_CUSTOMS, certificate_payload
from tests.integration.conftest import ApiCall
from tests.integration.test_certificates_api import stored_items, submit
from tests.problems import request_instance

pytestmark = pytest.mark.integration

PARTY_TYPE = {
    ISSUING_BODY: PartyType.ISSUING_BODY,
    EXPORTER: PartyType.EXPORTER,
    NZ_CUSTOMS: PartyType.NZ_CUSTOMS,
    CN_CUSTOMS: PartyType.CN_CUSTOMS,
    OPS: PartyType.OPS,
}
OTHER_SCOPES = [
    pytest.param(client_id, party_scope(other), id=f"{client_id} with {other}")
    for client_id, own in PARTY_TYPE.items()
    for other in PartyType
    if other is not own
]


def unauthenticated(call_api: ApiCall) -> dict[str, object]:
    """What the function answers a request without a token's claims, but for the request it names."""
    response = call_api("GET", "/v1/certificates")
    assert response["statusCode"] == 401
    answered = dict(response["json"])
    assert answered.pop("instance") == request_instance(response)
    return answered


@pytest.mark.parametrize(("client_id", "scope"), OTHER_SCOPES)
def test_a_token_whose_scope_is_another_party_types_is_a_401_like_any_invalid_token(
    call_api: ApiCall, client_id: str, scope: str
) -> None:
    response = call_api("GET", "/v1/certificates", client_id=client_id, scope=scope)

    assert response["statusCode"] == 401
    assert response["headers"]["content-type"] == "application/problem+json"
    assert response["json"] == {**unauthenticated(call_api), "instance": request_instance(response)}


@pytest.mark.parametrize(
    "scope",
    ["", "jevs/api", f"{party_scope(PartyType.ISSUING_BODY)} {party_scope(PartyType.OPS)}", "other/issuing_body"],
    ids=["no scope", "a scope of no party type", "its own and another", "its type under another server"],
)
def test_a_token_without_exactly_its_party_types_scope_is_a_401(call_api: ApiCall, scope: str) -> None:
    response = call_api("GET", "/v1/certificates", client_id=ISSUING_BODY, scope=scope)

    assert response["statusCode"] == 401


def test_a_change_with_another_party_types_scope_is_a_401_and_stores_nothing(call_api: ApiCall) -> None:
    # Given the issuing body's client, its token carrying an exporter's scope
    response = submit(call_api, certificate_payload(), client_id=ISSUING_BODY, scope=party_scope(PartyType.EXPORTER))
    # Then the submission is refused, and nothing is stored
    assert response["statusCode"] == 401
    assert stored_items() == []


@pytest.mark.parametrize("client_id", [*PARTY_TYPE, OTHER_CN_CUSTOMS])
def test_a_token_with_its_party_types_scope_is_admitted(call_api: ApiCall, client_id: str) -> None:
    response = call_api("GET", "/v1/certificates", client_id=client_id)

    assert response["statusCode"] == 200, response
