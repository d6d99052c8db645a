"""NZ Customs' files in the template (issue 12): the role NZ Customs' own AWS account assumes to read its prefix of
the exchange bucket (and nothing else), the data key's decrypt only through S3 for that bucket, the API's read of
the same prefix, and the dashboard's count of preferences not given by reason code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.app import CDK_JSON
from jevs.domain.preferences import RefusalCode
from jevs.resources import EXCHANGE_BUCKET, NZ_CUSTOMS_PREFIX
from tests.infrastructure.support import (
    as_list,
    bucket_by_local_name,
    dashboard_widgets,
    data_key,
    one,
    resource_key,
    resources,
    statements,
    target,
)

pytestmark = pytest.mark.infrastructure


def _context(key: str) -> Any:
    return json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"][key]


def _read_role(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return one(
        {
            logical_id: role
            for logical_id, role in resources(template, "AWS::IAM::Role").items()
            if "NzCustomsReadRole" in logical_id
        },
        "NZ Customs' read role",
    )


def _role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def test_nz_customs_account_and_only_it_may_assume_the_read_role(template: dict[str, Any]) -> None:
    _, role = _read_role(template)
    (trust,) = statements(role["Properties"]["AssumeRolePolicyDocument"])

    assert trust["Effect"] == "Allow"
    assert trust["Action"] == "sts:AssumeRole"
    principal = trust["Principal"]["AWS"]
    joined = "".join(part if isinstance(part, str) else "" for part in principal["Fn::Join"][1])
    assert joined == f"arn::iam::{_context('jevs:nzCustomsAccountId')}:root"
    assert role["Properties"]["MaxSessionDuration"] == 3600
    assert not role["Properties"].get("ManagedPolicyArns")


def test_the_read_role_gets_and_lists_nz_customs_prefix_only_and_decrypts_through_s3(
    template: dict[str, Any],
) -> None:
    role, _ = _read_role(template)
    exchange = bucket_by_local_name(template, EXCHANGE_BUCKET.local_name)
    found = {
        (resource_key(resource), action): statement.get("Condition")
        for statement in _role_statements(template, role)
        for resource in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }

    assert set(found) == {
        ((exchange, f"/{NZ_CUSTOMS_PREFIX}*"), "s3:GetObject"),
        ((exchange, "Arn"), "s3:ListBucket"),
        ((data_key(template), "Arn"), "kms:Decrypt"),
    }
    assert found[((exchange, f"/{NZ_CUSTOMS_PREFIX}*"), "s3:GetObject")] is None
    assert found[((exchange, "Arn"), "s3:ListBucket")] == {"StringLike": {"s3:prefix": [f"{NZ_CUSTOMS_PREFIX}*"]}}
    decrypt_condition = found[((data_key(template), "Arn"), "kms:Decrypt")]
    assert decrypt_condition is not None
    decrypt = decrypt_condition["StringEquals"]
    assert target(decrypt["kms:EncryptionContext:aws:s3:arn"]) == (exchange, "Arn")
    via = decrypt["kms:ViaService"]["Fn::Join"][1]
    assert (via[0], via[-1]) == ("s3.", ".amazonaws.com")


def test_the_read_role_arn_is_an_output_for_nz_customs(template: dict[str, Any]) -> None:
    role, _ = _read_role(template)

    outputs = [output["Value"] for output in template["Outputs"].values()]

    assert {"Fn::GetAtt": [role, "Arn"]} in outputs


def test_the_dashboard_graphs_preferences_not_given_by_reason_code(template: dict[str, Any]) -> None:
    graphed = [
        (metric[0], dict(zip(metric[2:6:2], metric[3:6:2], strict=True)))
        for widget in dashboard_widgets(template)
        for metric in widget["properties"].get("metrics", [])
        if metric[1] == "PreferenceNotGiven"
    ]

    assert sorted(dimensions["reason_code"] for _, dimensions in graphed) == sorted(code.value for code in RefusalCode)
    assert all(namespace == "JEVS" and dimensions["service"] == "jevs-api" for namespace, dimensions in graphed), (
        graphed
    )
