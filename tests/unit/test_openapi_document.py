"""The committed OpenAPI document (docs/openapi.json): the same as the code writes, valid OpenAPI 3.1, and true of
the API where Powertools alone would not be (credentials, problems, names)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # it ships no types
from openapi_spec_validator import OpenAPIV31SpecValidator

from functions.api.documentation import API_KEY, DEFAULT_TOKEN_URL, OAUTH2, PUBLIC_PATHS
from functions.api.handler import openapi_document
from functions.api.openapi_document import COMMITTED
from infrastructure.local.stack import DEFAULT_API_PORT, HOST
from infrastructure.local.tokens import TOKEN_PATH
from jevs.domain.parties import PartyType
from jevs.resources import BINARY_MEDIA_TYPES, party_scope

pytestmark = pytest.mark.unit

DOCUMENT: dict[str, Any] = json.loads(openapi_document())
OPERATIONS = [
    (method, path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]
IDS = [f"{method.upper()} {path}" for method, path, _ in OPERATIONS]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_the_committed_document_is_the_one_the_code_writes() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document(), (
        "docs/openapi.json differs from the API's code: run make openapi, and record what partners see change in "
        "CHANGELOG.md"
    )


def test_the_changelog_records_the_documents_version() -> None:
    changelog = (COMMITTED.parents[1] / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)

    assert "## [Unreleased]" in changelog
    # The newest release is the version the document carries: a new version starts with its entry.
    assert released[0] == DOCUMENT["info"]["version"]


def test_the_document_is_valid_openapi_3_1() -> None:
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in OpenAPIV31SpecValidator(DOCUMENT).iter_errors()
    ]

    assert DOCUMENT["openapi"].startswith("3.1.")
    assert errors == []


def test_the_committed_token_url_is_the_local_stacks_default_token_endpoint() -> None:
    flow = DOCUMENT["components"]["securitySchemes"][OAUTH2]["flows"]["clientCredentials"]

    assert flow["tokenUrl"] == DEFAULT_TOKEN_URL == f"http://{HOST}:{DEFAULT_API_PORT}{TOKEN_PATH}"
    assert set(flow["scopes"]) == {party_scope(party_type) for party_type in PartyType}


def test_the_token_url_is_the_one_configured() -> None:
    served = json.loads(openapi_document("https://jevs.auth.ap-southeast-2.amazoncognito.com/oauth2/token"))

    flow = served["components"]["securitySchemes"][OAUTH2]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "https://jevs.auth.ap-southeast-2.amazoncognito.com/oauth2/token"


def test_the_api_key_scheme_is_the_header_aws_reads_and_says_the_local_stack_does_not_need_it() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"][API_KEY]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    assert "local stack does not need it" in scheme["description"]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_public_operations_need_nothing_and_the_others_a_token_of_one_party_type_and_the_api_key(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    if path in PUBLIC_PATHS:
        assert operation["security"] == []
    else:
        # One requirement per party type: a token carries exactly its party type's scope (the function checks it).
        assert operation["security"] == [{OAUTH2: [party_scope(party_type)], API_KEY: []} for party_type in PartyType]
    assert "security" not in DOCUMENT


def test_the_public_operations_are_verification_the_keys_and_the_document() -> None:
    public = {path for _, path, operation in OPERATIONS if operation["security"] == []}

    assert public == PUBLIC_PATHS == {"/v1/verify/{number}", "/.well-known/jwks.json", "/openapi.json", "/docs"}


def test_operation_ids_are_stable_human_names_each_once() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]

    assert [each for each in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", each)] == []
    assert len(ids) == len(set(ids))
    found = {(method, path): operation["operationId"] for method, path, operation in OPERATIONS}
    assert found[("post", "/v1/certificates")] == "submitCertificate"
    assert found[("get", "/v1/certificates/{number}")] == "readCertificate"
    assert found[("get", "/v1/certificates")] == "listCertificates"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_has_a_summary_a_description_and_a_tag(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    assert operation["summary"]
    assert len(operation["description"]) > len("Does this.")
    assert set(operation["tags"]) <= {tag["name"] for tag in DOCUMENT["tags"]}
    assert operation["tags"]
    # Each answer says what it is, not Powertools' default.
    assert [
        status
        for status, response in operation["responses"].items()
        if response["description"] in ("Successful Response", "")
    ] == []


def test_nothing_internal_is_in_the_document() -> None:
    text = json.dumps(DOCUMENT, ensure_ascii=False)

    assert re.findall(r".{40}(?:DESIGN|\u00a7|issue \d).{20}", text) == []  # \u00a7: the section sign
    # Python module names: in descriptions, or in schema names Powertools qualifies when two models share a name.
    assert re.findall(r".{40}\b(?:jevs|functions|infrastructure)(?:\.|__)\w+.{20}", text) == []


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_error_response_is_a_problem(method: str, path: str, operation: dict[str, Any]) -> None:
    errors = {status: response for status, response in operation["responses"].items() if int(status) >= 400}

    assert errors
    for status, response in errors.items():
        assert response["content"]["application/problem+json"] == PROBLEM["application/problem+json"], status
        assert "application/json" not in response["content"], status


def _statuses(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"]}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_each_operation_lists_the_problems_what_it_takes_can_cause(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    statuses = _statuses(operation)
    names = {parameter["name"].lower() for parameter in operation.get("parameters", [])}
    if "requestBody" in operation:
        # Malformed JSON, too large, not JSON, invalid.
        assert {400, 413, 415, 422} <= statuses
    if operation.get("parameters"):
        assert 400 in statuses
    if "{" in path or path not in PUBLIC_PATHS:
        assert 404 in statuses
    if method == "post":
        assert "idempotency-key" in names
        assert {409, 422} <= statuses
    if path not in PUBLIC_PATHS:
        assert 401 in statuses
    assert 429 in statuses
    if "requestBody" not in operation:
        assert not {413, 415} & statuses


def test_the_problem_schema_is_rfc_9457_with_instance_and_field_errors() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    problem = schemas["Problem"]

    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance", "errors"}
    assert problem["properties"]["type"]["format"] == "uri"
    field_problem = schemas[problem["properties"]["errors"]["anyOf"][0]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(field_problem["properties"]) == {"field", "message"}
    assert not {"HTTPValidationError", "ValidationError"} & set(schemas)
    assert "HTTPValidationError" not in json.dumps(DOCUMENT)


def test_every_response_example_is_a_body_its_schema_accepts() -> None:
    # Examples are what a local stack answered once (functions/api/examples/responses/): a field added, renamed or
    # made required since fails here until the example is captured again.
    checked = []
    for method, path, operation in OPERATIONS:
        for status, response in operation["responses"].items():
            for media_type, content in response.get("content", {}).items():
                for name, example in content.get("examples", {}).items():
                    schema = {**content["schema"], "components": DOCUMENT["components"]}
                    errors = [error.message for error in Draft202012Validator(schema).iter_errors(example["value"])]
                    assert errors == [], f"{method.upper()} {path} {status} {media_type} example {name}"
                    checked.append((operation["operationId"], int(status)))

    # Every JSON success answer has its example; the document itself is the one JSON answer that is not one.
    json_answers = {
        (operation["operationId"], int(status))
        for _, _, operation in OPERATIONS
        for status, response in operation["responses"].items()
        if int(status) < 300 and any(media_type.endswith("json") for media_type in response.get("content", {}))
    }
    assert set(checked) == json_answers - {("readOpenApiDocument", 200)}


def test_binary_answers_are_documented_in_their_media_types_not_as_json() -> None:
    contents = {
        operation["operationId"]: set(operation["responses"]["200"]["content"])
        for _, _, operation in OPERATIONS
        if operation["operationId"] in {"readCertificateDocument", "readVerificationAttachment"}
    }

    assert contents["readCertificateDocument"] == {"application/pdf"}
    assert contents["readVerificationAttachment"] == set(BINARY_MEDIA_TYPES)
