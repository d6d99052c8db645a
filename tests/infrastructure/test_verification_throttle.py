"""Public verification is throttled per client address at the edge: a WAF rate-based rule on the verify path,
answering 429 with Retry-After and a problem body, on the stage's web ACL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.cdk.config import DEFAULT_DOCS_URL
from jevs.resources import VERIFY_RATE_LIMIT, problem_type
from tests.infrastructure.support import one, resources, target

pytestmark = pytest.mark.infrastructure


def _acl(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return one(resources(template, "AWS::WAFv2::WebACL"), "web ACL")


def _verify_rule(template: dict[str, Any]) -> dict[str, Any]:
    rules = [
        rule
        for rule in _acl(template)[1]["Properties"]["Rules"]
        if "ScopeDownStatement" in rule["Statement"].get("RateBasedStatement", {})
    ]
    assert len(rules) == 1, rules
    rule: dict[str, Any] = rules[0]
    return rule


def test_one_rate_based_rule_counts_verifications_per_client_address(template: dict[str, Any]) -> None:
    statement = _verify_rule(template)["Statement"]["RateBasedStatement"]

    assert statement["AggregateKeyType"] == "IP"
    assert (statement["Limit"], statement["EvaluationWindowSec"]) == (
        VERIFY_RATE_LIMIT.requests,
        VERIFY_RATE_LIMIT.window_seconds,
    )
    # Only the public verification path is counted: partners are throttled by their usage plans.
    assert statement["ScopeDownStatement"] == {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            "PositionalConstraint": "CONTAINS",
            "SearchString": "/v1/verify/",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


def test_a_throttled_address_gets_429_with_retry_after_and_a_problem(template: dict[str, Any]) -> None:
    acl = _acl(template)[1]["Properties"]
    response = _verify_rule(template)["Action"]["Block"]["CustomResponse"]

    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": str(VERIFY_RATE_LIMIT.window_seconds)}]
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    problem = json.loads(body["Content"])
    assert (problem["type"], problem["status"]) == (problem_type(DEFAULT_DOCS_URL, "throttled"), 429)


def test_the_rule_guards_the_apis_stage(template: dict[str, Any]) -> None:
    acl_id = _acl(template)[0]
    stage = one(resources(template, "AWS::ApiGateway::Stage"), "stage")[0]
    association = one(resources(template, "AWS::WAFv2::WebACLAssociation"), "web ACL association")[1]["Properties"]

    assert target(association["WebACLArn"]) == (acl_id, "Arn")
    assert "Fn::Join" in association["ResourceArn"]
    assert {"Ref": stage} in association["ResourceArn"]["Fn::Join"][1]
    assert _verify_rule(template)["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
