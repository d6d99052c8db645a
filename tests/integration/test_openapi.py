"""The API describes itself: OpenAPI 3.1 at /openapi.json and Swagger UI at /docs, both public."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import CN_CUSTOMS, ISSUING_BODY, OPS
from tests.integration.conftest import VERIFICATION_BASE_URL, ApiCall

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
    # The token endpoint of where the API runs (ApiSettings.token_url): here the local gateway's, beside the API.
    token_url = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"]
    assert token_url == f"{VERIFICATION_BASE_URL}/oauth2/token"


def test_the_jwks_is_documented_as_the_jwk_set_it_serves_not_a_string(call_api: ApiCall) -> None:
    # The document said 200 application/json, a string; the route serves a JWK Set object (found by schemathesis).
    spec = call_api("GET", "/openapi.json")["json"]
    served = call_api("GET", "/.well-known/jwks.json")

    documented = spec["paths"]["/.well-known/jwks.json"]["get"]["responses"]["200"]["content"]
    assert list(documented) == [served["headers"]["content-type"]] == ["application/jwk-set+json"]
    schema = spec["components"]["schemas"][documented["application/jwk-set+json"]["schema"]["$ref"].split("/")[-1]]
    assert schema["type"] == "object"
    assert schema["required"] == ["keys"]
    assert served["json"]["keys"]


def test_swagger_ui_is_served_at_docs(call_api: ApiCall) -> None:
    response = call_api("GET", "/docs")

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert "swagger" in response["body"].lower()


# Who sends each route's examples, in an order in which each finds what it needs: the example certificate is
# stored, the example correction replaces it, and the replacement is copied, then revoked.
SENDERS = {
    ("post", "/v1/certificates"): ISSUING_BODY,
    ("post", "/v1/certificates/{number}/replacement"): ISSUING_BODY,
    ("post", "/v1/certificates/{number}/certified-true-copy"): ISSUING_BODY,
    ("post", "/v1/certificates/{number}/revocation"): ISSUING_BODY,
    ("post", "/v1/declarations"): CN_CUSTOMS,
    # China Customs' preference decision on the example declaration, which quotes the example certificate.
    ("post", "/v1/certificates/{number}/preference-decisions"): CN_CUSTOMS,
    # China asks about the example certificate; its issuing body answers; China closes the request.
    ("post", "/v1/verification-requests"): CN_CUSTOMS,
    ("post", "/v1/verification-requests/{request_id}/response"): ISSUING_BODY,
    ("post", "/v1/verification-requests/{request_id}/closure"): CN_CUSTOMS,
    # Operations start a redrive of the delivery queue's dead letters.
    ("post", "/v1/ops/redrives"): OPS,
}


def test_every_request_example_in_the_document_is_accepted_as_it_stands(call_api: ApiCall) -> None:
    # What Swagger UI's "Try it out" sends: each example body, unchanged, to its route
    spec = call_api("GET", "/openapi.json")["json"]
    examples = {
        (method, path): operation["requestBody"]["content"]["application/json"].get("examples", {})
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert {route for route, found in examples.items() if found} == set(SENDERS)
    # The example certificate is the number the lifecycle examples act on; its correction is a number of its own
    number = examples[("post", "/v1/certificates")]["milk-powder"]["value"]["certificate_number"]
    replacement = examples[("post", "/v1/certificates/{number}/replacement")]["correction"]["value"]
    acted_on = {
        "/v1/certificates/{number}/replacement": number,
        "/v1/certificates/{number}/certified-true-copy": replacement["certificate"]["certificate_number"],
        "/v1/certificates/{number}/revocation": replacement["certificate"]["certificate_number"],
        "/v1/certificates/{number}/preference-decisions": number,
    }

    statuses = []
    raised = ""
    for (method, path), client_id in SENDERS.items():
        for name, example in examples[(method, path)].items():
            response = call_api(
                method.upper(),
                path.replace("{number}", acted_on.get(path, "")).replace("{request_id}", raised),
                body=example["value"],
                client_id=client_id,
                headers={"Idempotency-Key": f"example-{path}-{name}"},
            )
            statuses.append((path, response["statusCode"]))
            if path == "/v1/verification-requests":
                raised = response["json"]["id"]

    assert statuses == [
        ("/v1/certificates", 201),
        ("/v1/certificates/{number}/replacement", 201),
        ("/v1/certificates/{number}/certified-true-copy", 201),
        ("/v1/certificates/{number}/revocation", 200),
        ("/v1/declarations", 202),
        ("/v1/certificates/{number}/preference-decisions", 201),
        ("/v1/verification-requests", 201),
        ("/v1/verification-requests/{request_id}/response", 200),
        ("/v1/verification-requests/{request_id}/closure", 200),
        ("/v1/ops/redrives", 202),
    ]


def _bounded_text(schema: dict[str, Any]) -> bool:
    """A string schema that bounds its length: a maxLength, a choice of values, a date, or a pattern that matches
    the whole string with no unbounded repetition."""
    pattern = str(schema.get("pattern", ""))
    fixed = pattern.startswith("^") and pattern.endswith("$") and not re.search(r"[+*]|\{\d+,\}", pattern)
    return bool({"maxLength", "enum", "const"} & set(schema)) or schema.get("format") in ("date", "date-time") or fixed


def _unbounded(schema: dict[str, Any], components: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Where ``schema`` takes a string with no maxLength, or an array with no maxItems (each component once)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _unbounded(components[name], components, name, seen)
    found = [
        problem
        for key in ("anyOf", "oneOf", "allOf")
        for part in schema.get(key, [])
        for problem in _unbounded(part, components, where, seen)
    ]
    if schema.get("type") == "string" and not _bounded_text(schema):
        found.append(where)
    if schema.get("type") == "array":
        found += [] if "maxItems" in schema else [f"{where}[]"]
        found += _unbounded(schema.get("items", {}), components, f"{where}[]", seen)
    for name, part in schema.get("properties", {}).items():
        found += _unbounded(part, components, f"{where}.{name}", seen)
    return found


def test_every_string_array_and_page_size_a_request_may_send_has_a_stated_limit(call_api: ApiCall) -> None:
    # DESIGN.md §6.5: bodies, items, strings and pages have limits; the document states each, so a client (and
    # schemathesis) knows it, and a field added without one fails here.
    spec = call_api("GET", "/openapi.json")["json"]
    components = spec["components"]["schemas"]
    unbounded: list[str] = []
    seen: set[str] = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']}.{parameter['name']}"
                schema = parameter.get("schema", {})
                choices = [schema, *schema.get("anyOf", [])]
                if any(choice.get("type") == "integer" and "maximum" not in choice for choice in choices):
                    unbounded.append(where)
                if any(choice.get("type") == "string" and not _bounded_text(choice) for choice in choices):
                    unbounded.append(where)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded(content["schema"], components, f"{method.upper()} {path}", seen)
    assert unbounded == []
