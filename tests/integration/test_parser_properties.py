"""Property: whatever body a caller sends to any route that takes one, the API function answers a 4xx problem (or,
for a body that happens to be valid, a 2xx the OpenAPI document describes), never an exception or a 5xx.

The routes are read from the OpenAPI document, so a route added tomorrow is covered the day it lands. The bodies
(Hypothesis, derandomized so CI sees the same ones every run) are arbitrary JSON values, objects with the model's
own field names holding arbitrary values, strings with control characters and lone surrogates written as
escapes, numbers too long or too large, nesting past any sane depth, a key twice, and random bytes (which API
Gateway passes base64-encoded). The count of models and bodies is printed at the end of the run
(``pytest_terminal_summary`` in this tier's conftest).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import jsonschema  # type: ignore[import-untyped]  # a dependency of schemathesis, without stubs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from functions.api.handler import openapi_document
from infrastructure.local.functions import FunctionSet, build_functions
from infrastructure.local.provision import create_resources
from jevs.adapters.aws import AwsClients
from jevs.resources import PROBLEM_TYPES
from tests.factories import EXPORTER, ISSUING_BODY, LambdaContext, api_event
from tests.integration.conftest import local_options
from tests.problems import slug_of

pytestmark = pytest.mark.integration

DOCUMENT: dict[str, Any] = json.loads(openapi_document())
EXAMPLES_PER_ROUTE = 120
# Bodies sent per request model, for the summary line (several routes may share one model).
SENT: Counter[str] = Counter()


def _schema_name(reference: dict[str, Any]) -> str:
    return str(reference["$ref"]).rsplit("/", 1)[-1]


def body_routes() -> list[tuple[str, str, str]]:
    """(method, path, request model) of every operation in the OpenAPI document that takes a JSON body."""
    found = []
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path, _schema_name(content["application/json"]["schema"])))
    return sorted(found)


ROUTES = body_routes()


def models() -> set[str]:
    return {model for _, _, model in ROUTES}


# --- the bodies ---------------------------------------------------------------------------------------------------

# Every code point, surrogates and control characters included: json.dumps writes a lone surrogate as \udxxx.
_ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(_ANY_CHARACTER, max_size=40)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(_ANY_CHARACTER, max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_NUMBER_TEXTS = st.sampled_from(
    ["1e999999", "-1e999999", "1" * 5000, "-" + "9" * 4301, "1E400", "0." + "0" * 200 + "1"]
)


def _as_json(value: object) -> str:
    return json.dumps(value)


def _model_objects(model: str) -> st.SearchStrategy[str]:
    """Objects with the model's own field names (some, in any mix), each holding an arbitrary JSON value."""
    names = sorted(DOCUMENT["components"]["schemas"][model].get("properties", {}))
    fields = st.dictionaries(st.sampled_from(names), JSON_VALUES, max_size=len(names)) if names else st.just({})
    return fields.map(_as_json)


def _with_number(model: str) -> st.SearchStrategy[str]:
    names = sorted(DOCUMENT["components"]["schemas"][model].get("properties", {})) or ["x"]
    return st.tuples(st.sampled_from(names), _NUMBER_TEXTS).map(lambda pair: f'{{"{pair[0]}": {pair[1]}}}')


def _nested(depth: int, opener: str) -> str:
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


_DEEP = st.tuples(st.integers(min_value=33, max_value=60_000), st.sampled_from(["[", "{"])).map(
    lambda pair: _nested(*pair)
)
# The same key twice, with the object's other keys around it.
_TWICE = st.tuples(st.text(max_size=8), JSON_VALUES, JSON_VALUES).map(
    lambda triple: (
        f"{{{json.dumps(triple[0])}: {json.dumps(triple[1])}, {json.dumps(triple[0])}: {json.dumps(triple[2])}}}"
    )
)


def bodies(model: str) -> st.SearchStrategy[str | bytes]:
    """A body as text (sent as is) or bytes (sent base64-encoded, as API Gateway passes what is not UTF-8)."""
    return st.one_of(
        JSON_VALUES.map(_as_json),
        _model_objects(model),
        _with_number(model),
        _DEEP,
        _TWICE,
        st.text(_ANY_CHARACTER, max_size=60),
        st.binary(max_size=200),
    )


# --- the function ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def function_set() -> Iterator[FunctionSet]:
    """The functions once for the module: Hypothesis runs many bodies through one function."""
    with mock_aws():
        resources = create_resources(lambda service: boto3.client(service))  # type: ignore[call-overload]
        yield build_functions(resources, local_options(), AwsClients())


def _concrete(path: str) -> str:
    return path.replace("{number}", "11.1234.00001").replace("{", "").replace("}", "-1")


def _response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    content = DOCUMENT["paths"][path][method.lower()]["responses"][str(status)]["content"]
    schema: dict[str, Any] = next(iter(content.values()))["schema"]
    return schema


def _send(function_set: FunctionSet, method: str, path: str, body: str | bytes) -> dict[str, Any]:
    client_id = EXPORTER if path in ("/v1/signatories", "/v1/goods-registrations", "/v1/applications") else ISSUING_BODY
    event = api_event(
        method,
        _concrete(path),
        body=base64.b64encode(body).decode() if isinstance(body, bytes) else body,
        client_id=client_id,
        headers={"Idempotency-Key": f"prop-{uuid.uuid4()}"},
        base64_body=isinstance(body, bytes),
    )
    response: dict[str, Any] = function_set.api(event, LambdaContext())
    return response


def _content_type(response: dict[str, Any]) -> str | None:
    single = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    multi = {name.lower(): values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    return single.get("content-type") or multi.get("content-type")


@pytest.mark.parametrize(("method", "path", "model"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_any_body_is_a_4xx_problem_never_a_crash(function_set: FunctionSet, method: str, path: str, model: str) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies(model))
    def property_holds(body: str | bytes) -> None:
        SENT[model] += 1
        response = _send(function_set, method, path, body)
        status = response["statusCode"]
        answer = json.loads(response["body"])
        if 200 <= status < 300:
            # A body that happens to be valid: the answer must be what the document promises, nothing else.
            document_schema = {"components": DOCUMENT["components"], **_response_schema(method, path, status)}
            jsonschema.validate(answer, document_schema)
            return
        assert 400 <= status < 500, response["body"]
        assert _content_type(response) == "application/problem+json"
        assert answer["status"] == status
        assert slug_of(answer["type"]) in PROBLEM_TYPES
        assert isinstance(answer["title"], str)
        assert isinstance(answer["detail"], str)

    property_holds()


def test_every_route_that_takes_a_body_is_covered() -> None:
    """The routes come from the document; this pins that reading it finds them (a renamed key would find none)."""
    posts = {
        (method.upper(), path)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if method == "post" and "requestBody" in operation
    }
    assert {(method, path) for method, path, _ in ROUTES} == posts
    assert len(ROUTES) >= 16


def summary() -> str | None:
    """The line the tier's conftest prints at the end of the run, once this module ran."""
    if not SENT:
        return None
    return f"parser properties: {sum(SENT.values())} bodies sent to {len(ROUTES)} routes of {len(SENT)} request models"
