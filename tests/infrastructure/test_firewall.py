"""The web ACL in front of the stage: addresses on AWS's IP reputation list refused first, every address held to a
rate that no partner within its usage plan reaches, and WAF's own log, with credentials redacted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.app import CDK_JSON
from infrastructure.cdk.api import (
    ADDRESS_RATE_HEADROOM,
    ADDRESS_RATE_WINDOW_SECONDS,
    FIREWALL_LOG_GROUP,
    REDACTED_HEADERS,
)
from infrastructure.cdk.config import DEFAULT_DOCS_URL
from jevs.resources import PARTY_THROTTLES, problem_type
from tests.infrastructure.support import data_key, one, properties, resources, target

pytestmark = pytest.mark.infrastructure


def _acl(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    logical_id, acl = one(resources(template, "AWS::WAFv2::WebACL"), "web ACL")
    return logical_id, acl["Properties"]


def _rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in _acl(template)[1]["Rules"]}


def test_addresses_on_aws_ip_reputation_list_are_refused_before_any_other_rule(template: dict[str, Any]) -> None:
    rules = _rules(template)
    reputation = rules["AWSManagedRulesAmazonIpReputationList"]

    assert reputation["Statement"] == {
        "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesAmazonIpReputationList"}
    }
    # The group's own actions (block) apply: nothing is overridden to count.
    assert reputation["OverrideAction"] == {"None": {}}
    assert reputation["Priority"] == min(rule["Priority"] for rule in rules.values())
    assert len({rule["Priority"] for rule in rules.values()}) == len(rules)


def test_every_address_is_rate_limited_above_what_any_party_may_send(template: dict[str, Any]) -> None:
    rule = _rules(template)["RatePerAddress"]
    statement = rule["Statement"]["RateBasedStatement"]
    parties = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]["jevs:parties"]
    # Each party is throttled as its type is (the shared definition the usage plans and the local gateway read).
    fastest = max(PARTY_THROTTLES[party["party"]["type"]].rate_per_second for party in parties)

    # Every route, not only verification: no scope-down statement.
    assert statement == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": ADDRESS_RATE_WINDOW_SECONDS,
        "Limit": statement["Limit"],
    }
    # Two parties at their usage plans' full rate behind one address still get their plan's 429 first.
    assert ADDRESS_RATE_HEADROOM >= 2
    assert statement["Limit"] == fastest * ADDRESS_RATE_WINDOW_SECONDS * ADDRESS_RATE_HEADROOM
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": str(ADDRESS_RATE_WINDOW_SECONDS)}]
    problem = json.loads(_acl(template)[1]["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])
    assert (problem["type"], problem["status"]) == (problem_type(DEFAULT_DOCS_URL, "throttled"), 429)
    assert str(statement["Limit"]) in problem["detail"]


def test_waf_logs_what_it_sees_to_an_encrypted_log_group_without_tokens_or_api_keys(template: dict[str, Any]) -> None:
    acl_id = _acl(template)[0]
    logging = one(resources(template, "AWS::WAFv2::LoggingConfiguration"), "WAF logging")[1]["Properties"]
    [destination] = logging["LogDestinationConfigs"]
    log_group = target(destination)
    assert log_group is not None
    group = properties(template, log_group[0])

    assert target(logging["ResourceArn"]) == (acl_id, "Arn")
    assert group["LogGroupName"] == FIREWALL_LOG_GROUP
    assert target(group["KmsKeyId"]) == (data_key(template), "Arn")
    assert group["RetentionInDays"] == 365
    assert {field["SingleHeader"]["Name"] for field in logging["RedactedFields"]} == set(REDACTED_HEADERS)
    assert set(REDACTED_HEADERS) == {"authorization", "x-api-key"}
