"""The local stack creates what the CDK stack defines: the same tables, queues, buckets and signing key.

The local stack is provisioned into moto by ``create_resources`` (as ``make run`` provisions the moto server),
read back with boto3, and compared fact by fact with the synthesised template. Neither side is read from
``jevs.resources``: that is what both claim to follow, and this test checks that they do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import CfnResource
from moto import mock_aws

from infrastructure.local.provision import create_resources
from jevs.resources import BUCKETS
from tests.infrastructure.conftest import Synthesis
from tests.infrastructure.support import (
    SQS_DEFAULT_RETENTION,
    SQS_DEFAULT_VISIBILITY_TIMEOUT,
    properties,
    resources,
    target_id,
)

pytestmark = pytest.mark.infrastructure

REGION = "ap-southeast-2"
Facts = dict[str, Any]


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]  # any service


@pytest.fixture
def local() -> Iterator[None]:
    """A fresh moto account with the local stack provisioned in it."""
    with mock_aws():
        create_resources(_client)
        yield


# --- the facts, as the template states them --------------------------------------------------------------------


def _key_schema(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def _table_facts(attributes: list[dict[str, str]], table: dict[str, Any], ttl_attribute: str | None) -> Facts:
    types = {attribute["AttributeName"]: attribute["AttributeType"] for attribute in attributes}
    return {
        "keys": [(*key, types[key[0]]) for key in _key_schema(table["KeySchema"])],
        "indexes": {
            index["IndexName"]: {
                "keys": [(*key, types[key[0]]) for key in _key_schema(index["KeySchema"])],
                "projection": index["Projection"]["ProjectionType"],
            }
            for index in table.get("GlobalSecondaryIndexes", [])
        },
        "billing": table.get("BillingMode") or table.get("BillingModeSummary", {}).get("BillingMode"),
        "stream": table.get("StreamSpecification", {}).get("StreamViewType"),
        "ttl": ttl_attribute,
    }


def _synthesised_tables(template: dict[str, Any]) -> dict[str, Facts]:
    tables = {}
    for table in resources(template, "AWS::DynamoDB::Table").values():
        props = table["Properties"]
        ttl = props.get("TimeToLiveSpecification", {})
        tables[props["TableName"]] = _table_facts(
            props["AttributeDefinitions"], props, ttl["AttributeName"] if ttl.get("Enabled") else None
        )
    return tables


def _synthesised_queues(template: dict[str, Any]) -> dict[str, Facts]:
    def retention(queue: dict[str, Any]) -> int:
        return int(queue.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION))

    queues = {}
    for queue in resources(template, "AWS::SQS::Queue").values():
        props = queue["Properties"]
        facts: Facts = {
            "visibility": int(props.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_TIMEOUT)),
            "retention": retention(props),
            "redrive": None,
        }
        if "RedrivePolicy" in props:
            dead_letters = properties(template, target_id(props["RedrivePolicy"]["deadLetterTargetArn"]) or "")
            facts["redrive"] = {
                "max_receive_count": int(props["RedrivePolicy"]["maxReceiveCount"]),
                "dead_letter_queue": dead_letters["QueueName"],
                "dead_letter_retention": retention(dead_letters),
            }
        queues[props["QueueName"]] = facts
    return queues


def _synthesised_buckets(synthesis: Synthesis) -> dict[str, Facts]:
    """CloudFormation names the buckets in AWS; the local stack uses each definition's local name. The stack's
    storage construct holds each bucket under its definition, which pairs the two."""
    buckets = {}
    for definition in BUCKETS:
        bucket = synthesis.stack.storage.buckets[definition.logical_id].node.default_child
        assert isinstance(bucket, CfnResource)
        synthesised = properties(synthesis.json, synthesis.stack.resolve(bucket.logical_id))
        buckets[definition.local_name] = {"versioning": synthesised.get("VersioningConfiguration", {}).get("Status")}
    return buckets


def _synthesised_signing_keys(template: dict[str, Any]) -> dict[str, Facts]:
    keys = {}
    for alias in resources(template, "AWS::KMS::Alias").values():
        key = properties(template, target_id(alias["Properties"]["TargetKeyId"]) or "")
        keys[alias["Properties"]["AliasName"]] = {"spec": key.get("KeySpec"), "usage": key.get("KeyUsage")}
    return keys


# --- the same facts, as the local stack created them -----------------------------------------------------------


def _created_tables() -> dict[str, Facts]:
    dynamodb = _client("dynamodb")
    tables = {}
    for name in dynamodb.list_tables()["TableNames"]:
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        tables[name] = _table_facts(
            table["AttributeDefinitions"],
            table,
            ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
        )
    return tables


def _created_queues() -> dict[str, Facts]:
    sqs = _client("sqs")
    attributes = {
        url.rsplit("/", 1)[1]: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for url in sqs.list_queues()["QueueUrls"]
    }
    queues = {}
    for name, queue in attributes.items():
        facts: Facts = {
            "visibility": int(queue["VisibilityTimeout"]),
            "retention": int(queue["MessageRetentionPeriod"]),
            "redrive": None,
        }
        if "RedrivePolicy" in queue:
            redrive = json.loads(queue["RedrivePolicy"])
            dead_letter_name = redrive["deadLetterTargetArn"].rsplit(":", 1)[1]
            facts["redrive"] = {
                "max_receive_count": int(redrive["maxReceiveCount"]),
                "dead_letter_queue": dead_letter_name,
                "dead_letter_retention": int(attributes[dead_letter_name]["MessageRetentionPeriod"]),
            }
        queues[name] = facts
    return queues


def _created_buckets() -> dict[str, Facts]:
    s3 = _client("s3")
    return {
        bucket["Name"]: {"versioning": s3.get_bucket_versioning(Bucket=bucket["Name"]).get("Status")}
        for bucket in s3.list_buckets()["Buckets"]
    }


def _created_signing_keys() -> dict[str, Facts]:
    kms = _client("kms")
    keys = {}
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"].startswith("alias/aws/"):
            continue  # moto's AWS-managed aliases
        key = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
        keys[alias["AliasName"]] = {"spec": key["KeySpec"], "usage": key["KeyUsage"]}
    return keys


# --- created vs synthesised --------------------------------------------------------------------------------------


def test_the_local_stack_creates_the_tables_the_cdk_stack_defines(local: None, synthesis: Synthesis) -> None:
    synthesised = _synthesised_tables(synthesis.json)

    assert synthesised  # the records table at least
    assert _created_tables() == synthesised


def test_the_local_stack_creates_the_queues_the_cdk_stack_defines(local: None, synthesis: Synthesis) -> None:
    synthesised = _synthesised_queues(synthesis.json)

    assert any(queue["redrive"] for queue in synthesised.values())
    assert _created_queues() == synthesised


def test_the_local_stack_creates_the_data_buckets_the_cdk_stack_defines(local: None, synthesis: Synthesis) -> None:
    # The access-log bucket is AWS's concern only: locally nothing writes server access logs.
    assert _created_buckets() == _synthesised_buckets(synthesis)


def test_the_local_stack_creates_the_signing_key_the_cdk_stack_defines(local: None, synthesis: Synthesis) -> None:
    assert _created_signing_keys() == _synthesised_signing_keys(synthesis.json)
