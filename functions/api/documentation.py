"""The OpenAPI document as the API really behaves: Powertools writes it from the routes, and this module makes it
true where Powertools cannot know the API. Public operations need no credentials (``security: []``), every other
needs an OAuth2 client-credentials token with its party type's scope and, in AWS, the party's API key; every
operation lists the problems (RFC 9457, ``application/problem+json``) it can answer, derived from what it takes
(a body, parameters, a cursor) and whether it is public, plus those its route declares itself; the validation
error body Powertools would describe, which JEVS never sends, is gone.

The token URL is the only part that depends on where the API runs: Cognito's domain in AWS, the local stack's
token endpoint on this machine (``ApiSettings.token_url``). The committed copy (``docs/openapi.json``) carries the
local stack's default, ``DEFAULT_TOKEN_URL``, so that a partner trying JEVS with ``make run`` can use it as it is.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from functions.api.examples import responses as response_examples
from functions.api.problems import PROBLEM_JSON, Problem
from jevs.domain.parties import PartyType
from jevs.resources import party_scope

API_TITLE = "JEVS: Joint Electronic Verification System"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "Preferential certificates of origin under the China–New Zealand FTA, exchanged between New Zealand's issuing "
    "bodies, exporters, New Zealand Customs and China Customs.\n\n"
    "Every operation but the public ones (verification of a certificate, the signing keys, this document) needs a "
    "bearer token from the OAuth2 client-credentials flow, carrying the one scope of the caller's party type; in "
    "AWS also the party's API key in `x-api-key`. Every POST takes an `Idempotency-Key`: the same key with the same "
    "request gets the first answer again, marked `Idempotent-Replayed: true`. Errors are problem details "
    "(RFC 9457, `application/problem+json`): `type` names the problem, `errors` lists the fields at fault. What a "
    "caller may not see is answered 404, exactly as what does not exist."
)
# The local stack's token endpoint with its default address and port (`make run`).
DEFAULT_TOKEN_URL = "http://127.0.0.1:8080/oauth2/token"  # noqa: S105  # a URL, not a secret
OAUTH2 = "oauth2"
API_KEY = "apiKey"
# Operations anyone may call without credentials: the gateway lets them through untouched.
PUBLIC_PATHS = frozenset({"/v1/verify/{number}", "/.well-known/jwks.json", "/openapi.json", "/docs"})
# The resource families, in the order a partner meets them.
TAGS = {
    "certificates": "Certificates of origin: submitted by issuing bodies, read by those they concern, replaced, "
    "revoked or copied.",
    "declarations": "Customs declarations quoting certificates, matched against them, with their results.",
    "preference decisions": "China Customs' decision on the FTA's preference for a declaration (box 5).",
    "delivery": "Each certificate's delivery to China Customs.",
    "verification": "Anyone's check of a certificate, and China Customs' verification requests about origin.",
    "hosted issuing": "Exporters' goods registrations, signatories and applications, decided by their issuing body.",
    "exchange": "NZ Customs' data files.",
    "operations": "Operations: delivery's state, and redrives of dead-letter queues.",
    "signing keys": "The public keys that verify what JEVS signs.",
    "documentation": "This document.",
}
_SCHEMA_REF = "#/components/schemas/{model}"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What Powertools describes and JEVS never sends: its request validation errors become problems (400, 422).
_POWERTOOLS_ERRORS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer", "minimum": 0}}
}


def security_schemes(token_url: str) -> dict[str, Any]:
    scopes = {party_scope(party_type): f"The scope of every `{party_type.value}` party." for party_type in PartyType}
    return {
        OAUTH2: {
            "type": "oauth2",
            "description": "OAuth2 client credentials: each partner system is a client standing for one party, and "
            "its token carries exactly the one scope of that party's type.",
            "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}},
        },
        API_KEY: {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "In AWS, the API key of the party's usage plan (its throttle), given with its client "
            "credentials; missing or wrong, API Gateway answers 403. The local stack does not need it.",
        },
    }


def protected_security() -> list[dict[str, list[str]]]:
    """Any one party type's scope, with the API key: a token carries exactly its party type's scope."""
    return [{OAUTH2: [party_scope(party_type)], API_KEY: []} for party_type in PartyType]


def _has(operation: dict[str, Any], where: str, name: str | None = None) -> bool:
    return any(
        parameter["in"] == where and (name is None or parameter["name"] == name)
        for parameter in operation.get("parameters", [])
    )


def problem_statuses(method: str, path: str, operation: dict[str, Any]) -> dict[int, str]:
    """The problems an operation can answer, each with what it means there, from what the operation takes."""
    public = path in PUBLIC_PATHS
    body = "requestBody" in operation
    statuses: dict[int, str] = {}
    bad = []
    if operation.get("parameters"):
        bad.append("a header, path or query parameter is missing or wrong (`invalid-request`)")
    if _has(operation, "query", "cursor"):
        bad.append("the cursor is not one this listing gave (`invalid-cursor`)")
    if body:
        bad.append("the body is not JSON this API reads: not UTF-8, a key twice, nested too deep (`malformed-json`)")
    if bad:
        statuses[400] = "Refused: " + "; or ".join(bad) + "."
    if not public:
        statuses[401] = (
            "No bearer token, or one that is expired, not genuine, or without exactly its party type's scope "
            "(`unauthenticated`)."
        )
    statuses[403] = (
        "AWS only, from API Gateway: "
        + ("" if public else "the `x-api-key` header is missing or not a partner's key, or ")
        + "the firewall refused the request. JEVS itself never answers 403: what a caller may not see is 404."
    )
    if not public or _has(operation, "path"):
        statuses[404] = (
            "No such resource, or one the caller may not see: both get the same answer (`not-found`)."
            if not public
            else "No such resource (`not-found`)."
        )
    if method == "post":
        statuses[409] = (
            "The `Idempotency-Key` was used before with another request, or what is stored does not allow this "
            "(the problem's `type` says which)."
        )
    if body:
        statuses[413] = "The body is larger than this operation takes (`payload-too-large`)."
        statuses[415] = "The body is not `application/json` (`unsupported-media-type`)."
    if body or method == "post":
        statuses[422] = (
            "The request breaks a rule: the body's form (`validation-error`) or the rules of the FTA and of JEVS "
            "(`rule-violation`); `errors` names each field."
        )
    statuses[429] = (
        "Too many requests (`throttled`): "
        + ("too many from this address" if public else "the party's usage plan is spent for now")
        + "; retry after `Retry-After` seconds."
    )
    if path not in ("/openapi.json", "/docs"):
        statuses[503] = "Busy for a moment, and nothing was changed (`try-again`): send the same request again."
    return statuses


def _problem_response(status: int, description: str, declared: dict[str, Any] | None) -> dict[str, Any]:
    """The problem response: the route's own description where it gave one, any non-JSON content it declared (a
    page for a browser) kept, problem details for everyone else."""
    content = {
        media_type: value
        for media_type, value in ((declared or {}).get("content") or {}).items()
        if "json" not in media_type
    }
    response: dict[str, Any] = {
        "description": (declared or {}).get("description") or description,
        "content": {PROBLEM_JSON: {"schema": dict(_PROBLEM_REF)}, **content},
    }
    if status in (429, 503):
        response["headers"] = copy.deepcopy(_RETRY_AFTER)
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}}
    return response


def _powertools_error(response: dict[str, Any]) -> bool:
    return any(name in json.dumps(response) for name in _POWERTOOLS_ERRORS)


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template=_SCHEMA_REF)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, "Problem": schema}


def truthful(document: dict[str, Any], token_url: str) -> dict[str, Any]:
    """``document`` (Powertools' OpenAPI document of the API, as a dict) made true of the API; a new dict."""
    result = copy.deepcopy(document)
    result["info"]["description"] = API_DESCRIPTION
    result["tags"] = [{"name": name, "description": description} for name, description in TAGS.items()]
    result.pop("security", None)
    components = result.setdefault("components", {})
    components["securitySchemes"] = security_schemes(token_url)
    schemas = components.setdefault("schemas", {})
    for name in _POWERTOOLS_ERRORS:
        schemas.pop(name, None)
    schemas.update(_problem_schemas())
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            operation["security"] = [] if path in PUBLIC_PATHS else protected_security()
            responses = operation.setdefault("responses", {})
            # The problems the route declares itself (with what they mean there), and those it can answer by what
            # it takes; Powertools' own 422, a body JEVS never sends, is neither.
            declared = {
                int(status): response
                for status, response in responses.items()
                if int(status) >= 400 and not _powertools_error(response)
            }
            problems = {**problem_statuses(method, path, operation), **dict.fromkeys(declared, "")}
            for status in [status for status in responses if int(status) >= 400]:
                del responses[status]
            for status, description in problems.items():
                responses[str(status)] = _problem_response(status, description, declared.get(status))
            for status, examples in response_examples().get(operation["operationId"], {}).items():
                for media_type, content in responses[str(status)]["content"].items():
                    if media_type.endswith("json"):  # application/json, application/jwk-set+json
                        content["examples"] = examples
            operation["responses"] = dict(sorted(responses.items()))
    return result


def document_json(app: APIGatewayRestResolver, token_url: str) -> str:
    """The API's OpenAPI document, true of it, as JSON: the same bytes for the same code and token URL."""
    powertools = json.loads(app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION))
    return json.dumps(truthful(powertools, token_url), indent=2, ensure_ascii=False) + "\n"
