"""The API: a Cognito authorizer on every method but the public ones, a usage plan per party, access logs, and
with a custom domain, mutual TLS there and no other way in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.app import CDK_JSON
from infrastructure.cdk.config import DEFAULT_DOCS_URL, read_config
from infrastructure.local.gateway import Gateway, HttpRequest
from jevs.resources import API_FUNCTION, PARTY_THROTTLES, problem_type
from tests.infrastructure.conftest import CUSTOM_DOMAIN, Synthesis
from tests.infrastructure.support import function_by_handler, one, properties, resources, target, target_id

pytestmark = pytest.mark.infrastructure

# What anyone may call without a token (DESIGN.md §5). Written out here, not imported: a route made public by
# mistake in the stack must fail this test.
PUBLIC = {("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/.well-known/jwks.json"), ("GET", "/v1/verify/{proxy+}")}


def _path(template: dict[str, Any], resource_id: Any) -> str:
    found = target(resource_id)
    assert found is not None
    if found[1] == "RootResourceId":
        return "/"
    resource = properties(template, found[0])
    parent = _path(template, resource["ParentId"])
    return f"{parent.rstrip('/')}/{resource['PathPart']}"


def _methods(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method["Properties"]["HttpMethod"], _path(template, method["Properties"]["ResourceId"])): method["Properties"]
        for method in resources(template, "AWS::ApiGateway::Method").values()
    }


def _parties() -> list[dict[str, Any]]:
    parties: list[dict[str, Any]] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]["jevs:parties"]
    return parties


def test_the_public_routes_are_open_to_anyone(template: dict[str, Any]) -> None:
    methods = _methods(template)

    assert set(methods) >= PUBLIC
    for route in PUBLIC:
        assert methods[route]["AuthorizationType"] == "NONE", route
        assert not methods[route].get("ApiKeyRequired"), route


def test_every_other_method_needs_a_partner_token_with_a_jevs_scope_and_an_api_key(template: dict[str, Any]) -> None:
    authorizer, cognito = one(resources(template, "AWS::ApiGateway::Authorizer"), "authorizer")
    pool = one(resources(template, "AWS::Cognito::UserPool"), "user pool")[0]
    assert cognito["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert [target(arn) for arn in cognito["Properties"]["ProviderARNs"]] == [(pool, "Arn")]
    protected = {route: method for route, method in _methods(template).items() if route not in PUBLIC}

    # The root and the proxy below it are the whole API besides the public routes.
    assert {("ANY", "/"), ("ANY", "/{proxy+}")} <= set(protected)
    for route, method in protected.items():
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
        assert target(method["AuthorizerId"]) == (authorizer, None), route
        assert method["AuthorizationScopes"], route
        assert all(scope.startswith("jevs/") for scope in method["AuthorizationScopes"]), route
        assert method["ApiKeyRequired"] is True, route


@pytest.mark.parametrize("partner", _parties(), ids=lambda partner: partner["party"]["id"])
def test_each_party_has_its_own_usage_plan_with_its_party_types_shared_throttle(
    template: dict[str, Any], partner: dict[str, Any]
) -> None:
    party = partner["party"]["id"]
    api = one(resources(template, "AWS::ApiGateway::RestApi"), "REST API")[0]
    stage = one(resources(template, "AWS::ApiGateway::Stage"), "stage")[0]
    plan_id, plan = one(
        {
            logical_id: plan
            for logical_id, plan in resources(template, "AWS::ApiGateway::UsagePlan").items()
            if plan["Properties"]["UsagePlanName"] == f"jevs-{party}"
        },
        f"usage plan of {party}",
    )

    # The one definition the local gateway honours too (infrastructure/local/gateway.py PartyThrottle).
    shared = PARTY_THROTTLES[partner["party"]["type"]]
    assert plan["Properties"]["Throttle"] == {"RateLimit": shared.rate_per_second, "BurstLimit": shared.burst}
    assert [(target(s["ApiId"]), target(s["Stage"])) for s in plan["Properties"]["ApiStages"]] == [
        ((api, None), (stage, None))
    ]
    keys = [
        target_id(link["Properties"]["KeyId"])
        for link in resources(template, "AWS::ApiGateway::UsagePlanKey").values()
        if target_id(link["Properties"]["UsagePlanId"]) == plan_id
    ]
    assert len(keys) == 1
    assert properties(template, keys[0] or "")["Name"] == f"jevs-{party}"


def test_there_is_one_usage_plan_per_party(template: dict[str, Any]) -> None:
    assert len(resources(template, "AWS::ApiGateway::UsagePlan")) == len(_parties())


def test_the_stage_writes_access_logs_and_never_logs_bodies(template: dict[str, Any]) -> None:
    _, stage = one(resources(template, "AWS::ApiGateway::Stage"), "stage")
    access = stage["Properties"]["AccessLogSetting"]
    log_group = target(access["DestinationArn"])

    assert log_group is not None
    assert template["Resources"][log_group[0]]["Type"] == "AWS::Logs::LogGroup"
    assert json.loads(access["Format"])["requestId"] == "$context.requestId"
    assert [setting["DataTraceEnabled"] for setting in stage["Properties"]["MethodSettings"]] == [False]


def test_with_a_custom_domain_partners_come_through_mutual_tls_only(domain_synthesis: Synthesis) -> None:
    template = domain_synthesis.template

    template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": CUSTOM_DOMAIN["jevs:domainName"],
            "RegionalCertificateArn": CUSTOM_DOMAIN["jevs:certificateArn"],
            "MutualTlsAuthentication": {"TruststoreUri": CUSTOM_DOMAIN["jevs:truststoreUri"]},
            "SecurityPolicy": "TLS_1_2",
        },
    )
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"DisableExecuteApiEndpoint": True})
    api = one(resources(domain_synthesis.json, "AWS::ApiGateway::RestApi"), "REST API")[0]
    template.has_resource_properties("AWS::ApiGateway::BasePathMapping", {"RestApiId": {"Ref": api}})


def test_without_a_custom_domain_the_execute_api_endpoint_stays_open(synthesis: Synthesis) -> None:
    _, api = one(resources(synthesis.json, "AWS::ApiGateway::RestApi"), "REST API")

    synthesis.template.resource_count_is("AWS::ApiGateway::DomainName", 0)
    assert api["Properties"].get("DisableExecuteApiEndpoint", False) is False


@pytest.mark.parametrize("authorization", [None, "Bearer some.access.token"])
def test_a_method_the_proxy_lacks_is_the_local_gateways_405_problem_in_aws_too(
    template: dict[str, Any], authorization: str | None
) -> None:
    # TRACE matches no method of the ANY proxy: API Gateway answers MISSING_AUTHENTICATION_TOKEN, or
    # INVALID_SIGNATURE when an Authorization header came, before any authorizer or function.
    response_type = "INVALID_SIGNATURE" if authorization else "MISSING_AUTHENTICATION_TOKEN"
    gateway = Gateway(lambda event, context: {"statusCode": 500}, [])
    try:
        headers = [("Authorization", authorization)] if authorization else []
        local = gateway.respond(HttpRequest("TRACE", "/v1/certificates", headers, b"", "203.0.113.10"))
    finally:
        gateway.stop()
    [configured] = [
        response["Properties"]
        for response in resources(template, "AWS::ApiGateway::GatewayResponse").values()
        if response["Properties"]["ResponseType"] == response_type
    ]

    assert (local.status, dict(local.headers)["Content-Type"]) == (405, "application/problem+json")
    assert configured["StatusCode"] == str(local.status)
    # The same problem but for where each finds the documentation, and the request id each made up.
    answered = json.loads(local.body)
    request_id = dict(local.headers)["x-amzn-RequestId"]
    assert answered.pop("type") == problem_type(gateway.docs_url, "method-not-allowed")
    assert answered.pop("instance") == f"urn:jevs:request:{request_id}"
    for media_type in ("application/problem+json", "application/json"):
        document = json.loads(configured["ResponseTemplates"][media_type])
        assert document.pop("type") == problem_type(DEFAULT_DOCS_URL, "method-not-allowed")
        assert document.pop("instance") == "urn:jevs:request:$context.requestId"
        assert document == answered


@pytest.mark.parametrize("response_type", ["THROTTLED", "QUOTA_EXCEEDED"])
def test_a_throttled_party_gets_a_429_problem_with_retry_after_as_the_local_gateway_answers(
    template: dict[str, Any], response_type: str
) -> None:
    response = one(
        {
            logical_id: found
            for logical_id, found in resources(template, "AWS::ApiGateway::GatewayResponse").items()
            if found["Properties"]["ResponseType"] == response_type
        },
        response_type,
    )[1]["Properties"]
    assert response["StatusCode"] == "429"
    assert response["ResponseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}
    # API Gateway puts its message there as a JSON string.
    rendered = response["ResponseTemplates"]["application/problem+json"]
    problem = json.loads(rendered.replace("$context.error.messageString", '"Too Many Requests"'))
    assert problem == {
        "type": problem_type(DEFAULT_DOCS_URL, "throttled"),
        "title": "Too many requests",
        "status": 429,
        "detail": "Too Many Requests",
        "instance": "urn:jevs:request:$context.requestId",
    }


def test_the_api_function_finds_the_documentation_where_the_stack_publishes_it(template: dict[str, Any]) -> None:
    api = properties(template, function_by_handler(template, API_FUNCTION.handler))

    assert api["Environment"]["Variables"]["JEVS_DOCS_URL"] == DEFAULT_DOCS_URL


class _Context:
    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def try_get_context(self, key: str) -> Any:
        return self._values.get(key)


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (None, DEFAULT_DOCS_URL),
        ("https://partners.jevs.govt.nz/docs", "https://partners.jevs.govt.nz/docs"),
        ("http://partners.jevs.govt.nz/docs", None),  # https only
        ('https://x.test/"},"status":200', None),  # rendered into templates as it is: no quote nor brace
    ],
)
def test_the_docs_url_is_context_with_a_default_and_only_a_plain_https_url(given: str | None, read: str | None) -> None:
    context = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    if given is not None:
        context["jevs:docsUrl"] = given

    if read is None:
        with pytest.raises(ValueError, match="docs_url"):
            read_config(_Context(context))
    else:
        assert read_config(_Context(context)).docs_url == read
