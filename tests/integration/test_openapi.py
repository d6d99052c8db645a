"""The API describes itself: OpenAPI 3.1 at /openapi.json and Swagger UI at /docs, both public."""

from __future__ import annotations

import pytest

from tests.integration.conftest import ApiCall

pytestmark = pytest.mark.integration


def test_the_openapi_document_is_3_1_and_describes_every_route(call_api: ApiCall) -> None:
    response = call_api("GET", "/openapi.json")

    assert response["statusCode"] == 200
    spec = response["json"]
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) >= {"/v1/certificates", "/v1/certificates/{number}", "/v1/certificates/{number}/history"}
    submit = spec["paths"]["/v1/certificates"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("CertificateContent")
    assert "Idempotency-Key" in [parameter["name"].title() for parameter in submit["parameters"]]
    assert spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth2/token"


def test_swagger_ui_is_served_at_docs(call_api: ApiCall) -> None:
    response = call_api("GET", "/docs")

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert "swagger" in response["body"].lower()
