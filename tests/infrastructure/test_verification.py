"""Verification of origin in the template (DESIGN.md §3): the alarm on requests left unanswered past their due date,
and the WAF's body-size rule, which leaves answers (which carry their documents) to the function's own limit."""

from __future__ import annotations

from typing import Any

import pytest

from infrastructure.cdk.api import MAX_BODY_BYTES
from infrastructure.cdk.monitoring import PAST_DUE_PERIOD
from tests.infrastructure.support import one, resources

pytestmark = pytest.mark.infrastructure


def test_a_verification_request_overdue_raises_an_alarm(template: dict[str, Any]) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "VerificationRequestsOverdue"
    ]

    assert len(alarms) == 1
    [alarm] = alarms
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "jevs-overseer"}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["Period"]) == ("Maximum", 1, PAST_DUE_PERIOD.to_seconds())
    assert alarm["AlarmActions"]


def test_the_body_size_rule_leaves_verification_answers_to_the_function(template: dict[str, Any]) -> None:
    _, acl = one(resources(template, "AWS::WAFv2::WebACL"), "web ACL")
    [rule] = [rule for rule in acl["Properties"]["Rules"] if rule["Name"] == "BodyOverLimit"]

    size, exempt = rule["Statement"]["AndStatement"]["Statements"]
    assert size["SizeConstraintStatement"]["Size"] == MAX_BODY_BYTES
    paths = [
        (each["ByteMatchStatement"]["PositionalConstraint"], each["ByteMatchStatement"]["SearchString"])
        for each in exempt["NotStatement"]["Statement"]["AndStatement"]["Statements"]
    ]
    assert paths == [("CONTAINS", "/v1/verification-requests/"), ("ENDS_WITH", "/response")]
