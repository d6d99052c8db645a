"""The API's routes as one event handler sees them: each answers with the model its OpenAPI document declares,
because the handler serialises what the route returns (issue 10: the document and the wire cannot drift)."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Route

from functions.api.handler import app
from functions.api.responses import VerificationOut
from functions.api.routers.public import JWK_SET, JwkSetOut

pytestmark = pytest.mark.unit

ROUTES: list[Route] = app._static_routes + app._dynamic_routes
DOCUMENTED = [route for route in ROUTES if route.include_in_schema and route.responses]


@pytest.mark.parametrize("route", DOCUMENTED, ids=[f"{route.method} {route.path}" for route in DOCUMENTED])
def test_each_declared_json_response_is_the_model_the_route_returns(route: Route) -> None:
    declared = {
        content.get("model")
        for response in (route.responses or {}).values()
        for media_type, content in (response.get("content") or {}).items()
        if media_type == "application/json" and "model" in content
    }
    returned = route.dependant.return_param

    if route.method == "GET" and route.path.endswith("/document"):
        # The PDF: not JSON, so no model on either side.
        assert (declared, returned) == (set(), None)
    elif route.method == "GET" and route.path == "/v1/verification-requests/<request_id>/attachments/<index>":
        # A document of a verification answer (PDF, PNG or JPEG), its bytes as sent: no model.
        assert (declared, returned) == (set(), None)
    elif route.method == "GET" and route.path == "/v1/exchange/nz-customs/files/<file_id>":
        # One of NZ Customs' files, its bytes as filed (a certificate, a result or a preference decision): no model.
        assert (declared, returned) == (set(), None)
    elif route.method == "GET" and route.path in ("/openapi.json", "/docs"):
        # The document as written (no model: it is sent as it is), and the page that renders it.
        assert (declared, returned) == (set(), None)
    elif route.method == "GET" and route.path == "/.well-known/jwks.json":
        # A JWK Set, served as application/jwk-set+json (RFC 7517) with its own model in the document.
        jwk_set: dict[str, object] = dict((route.responses or {})[200]["content"][JWK_SET])
        assert (declared, jwk_set.get("model")) == (set(), JwkSetOut)
    elif route.method == "GET" and route.path == "/v1/verify/<number>":
        # Negotiated: the model's own JSON, or a page made from the same model; an annotated return would be
        # validated as JSON, which the page is not (the integration tier holds the JSON to the model).
        assert (declared, returned) == ({VerificationOut}, None)
    else:
        assert returned is not None
        assert declared == {returned.type_}


def test_every_route_of_the_api_is_documented_the_document_itself_too() -> None:
    undocumented = {route.path for route in ROUTES if not route.include_in_schema}

    assert undocumented == set()
