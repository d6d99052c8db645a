"""Reading a synthesised CloudFormation template: resources by type, and what Ref / Fn::GetAtt point at."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Resources = dict[str, dict[str, Any]]

# CloudFormation's defaults where the template leaves a property out.
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30
SQS_DEFAULT_RETENTION = 4 * 24 * 3600
LAMBDA_DEFAULT_TIMEOUT = 3


def resources(template: dict[str, Any], resource_type: str) -> Resources:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id].get("Properties", {})
    return props


def target(value: Any) -> tuple[str, str | None] | None:
    """``{"Ref": id}`` → (id, None); ``{"Fn::GetAtt": [id, attribute]}`` → (id, attribute); else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value:
            return value["Ref"], None
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return logical_id, attribute
    return None


def target_id(value: Any) -> str | None:
    found = target(value)
    return found[0] if found else None


def function_of(template: dict[str, Any], value: Any) -> str | None:
    """The function a ``FunctionName`` invokes: the one it names, or the one whose alias it names (a SnapStart
    function is invoked through its alias, which CDK writes as ``<function name>:<alias>`` cut from the alias's ARN)."""
    for logical_id, _ in references(value):
        resource = template["Resources"][logical_id]
        if resource["Type"] == "AWS::Lambda::Alias":
            return target_id(resource["Properties"]["FunctionName"])
        if resource["Type"] == "AWS::Lambda::Function":
            return logical_id
    return None


def references(value: Any) -> Iterator[tuple[str, str | None]]:
    """Every Ref and Fn::GetAtt anywhere in ``value`` (inside Fn::Join and the like too)."""
    found = target(value)
    if found is not None:
        if not found[0].startswith("AWS::"):  # pseudo parameters are not resources
            yield found
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def one(found: Resources, what: str) -> tuple[str, dict[str, Any]]:
    assert len(found) == 1, f"expected one {what}, found {sorted(found)}"
    return next(iter(found.items()))


def queue_by_name(template: dict[str, Any], name: str) -> str:
    """The logical id of the queue with this QueueName."""
    logical_id, _ = one(
        {
            logical_id: queue
            for logical_id, queue in resources(template, "AWS::SQS::Queue").items()
            if queue["Properties"].get("QueueName") == name
        },
        f"queue {name}",
    )
    return logical_id


def function_by_handler(template: dict[str, Any], handler: str) -> str:
    logical_id, _ = one(
        {
            logical_id: function
            for logical_id, function in resources(template, "AWS::Lambda::Function").items()
            if function["Properties"].get("Handler") == handler
        },
        f"function {handler}",
    )
    return logical_id


def data_key(template: dict[str, Any]) -> str:
    """The symmetric key everything at rest is encrypted with (the other key only signs)."""
    logical_id, _ = one(
        {
            logical_id: key
            for logical_id, key in resources(template, "AWS::KMS::Key").items()
            if key["Properties"].get("KeyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
        },
        "symmetric KMS key",
    )
    return logical_id


def sqs_visibility_problems(template: dict[str, Any]) -> list[str]:
    """Every SQS event source mapping whose queue's visibility timeout is under six times the timeout of the
    function it invokes (AWS's guidance: otherwise a batch still being retried is delivered again)."""
    problems = []
    for logical_id, mapping in resources(template, "AWS::Lambda::EventSourceMapping").items():
        source = target(mapping["Properties"]["EventSourceArn"])
        if source is None or template["Resources"][source[0]]["Type"] != "AWS::SQS::Queue":
            continue
        queue = properties(template, source[0])
        function = properties(template, function_of(template, mapping["Properties"]["FunctionName"]) or "")
        visibility = queue.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_TIMEOUT)
        timeout = function.get("Timeout", LAMBDA_DEFAULT_TIMEOUT)
        if visibility < 6 * timeout:
            problems.append(f"{logical_id}: visibility {visibility} s < 6 × function timeout {timeout} s")
    return problems


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document.get("Statement", []))


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every permissions policy in the template, identity and resource policies alike (trust policies aside)."""
    documents = {
        "AWS::IAM::Policy": "PolicyDocument",
        "AWS::IAM::ManagedPolicy": "PolicyDocument",
        "AWS::KMS::Key": "KeyPolicy",
        "AWS::SQS::QueuePolicy": "PolicyDocument",
        "AWS::S3::BucketPolicy": "PolicyDocument",
        "AWS::SNS::TopicPolicy": "PolicyDocument",
    }
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] in documents and documents[resource["Type"]] in props:
            yield logical_id, props[documents[resource["Type"]]]
        if resource["Type"] == "AWS::IAM::Role":
            for inline in props.get("Policies", []):
                yield logical_id, inline["PolicyDocument"]


def filter_patterns(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(item["Pattern"]) for item in mapping["Properties"].get("FilterCriteria", {}).get("Filters", [])]


Grants = dict[tuple[str, str | None], set[str]]
# How ``resource_key`` names an ARN CloudFormation builds from pseudo parameters and one resource's Ref (an SES
# identity's ARN, arn:<partition>:ses:<region>:<account>:identity/<name>): (logical id, this).
BUILT_ARN = "built ARN"
# How ``resource_key`` names the account's KMS keys (arn:<partition>:kms:<region>:<account>:key/*), which the signing
# grants name, narrowed to the signing alias by a kms:ResourceAliases condition (see test_security).
ACCOUNT_KMS_KEYS = ("account", "kms:key/*")


def resource_key(resource: Any) -> tuple[str, str | None]:
    """A statement's resource as (logical id, attribute); an ARN built from one (``<bucket>/prefix*``) as
    (logical id, the suffix); an ARN built around one resource's Ref as (logical id, ``BUILT_ARN``); '*' as
    ("*", None). A literal ARN fails: the stack names its own resources."""
    if resource == "*":
        return "*", None
    found = target(resource)
    if found is not None:
        return found
    join = resource.get("Fn::Join") if isinstance(resource, dict) else None
    assert join is not None, f"a resource not built from the template's own: {resource!r}"
    assert join[0] == "", resource
    head, *tail = join[1]
    arn = target(head)
    if arn is None:
        parts = [part for part in join[1] if isinstance(part, str)]
        if parts[:2] == ["arn:", ":kms:"] and parts[-1] == ":key/*" and not list(references(join[1])):
            return ACCOUNT_KMS_KEYS
        named = [found for found in references(join[1]) if found[1] is None]
        assert len(named) == 1, f"an ARN built around other than one resource: {resource!r}"
        return named[0][0], BUILT_ARN
    assert arn[1] == "Arn", resource
    assert all(isinstance(part, str) for part in tail), resource
    return arn[0], "".join(tail)


def function_grants(template: dict[str, Any], handler: str) -> Grants:
    """Each resource the function's role names → every action allowed on it. Allows only; no managed or inline
    policies on the role (conditions are left to the caller: ``function_statements``)."""
    grants: Grants = {}
    for statement in function_statements(template, handler):
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement, statement
        assert "NotResource" not in statement, statement
        for resource in as_list(statement["Resource"]):
            grants.setdefault(resource_key(resource), set()).update(as_list(statement["Action"]))
    return grants


# What X-Ray active tracing grants every function's role (CDK writes it; X-Ray has no resource-level permissions).
TRACING_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})


def function_statements(template: dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to the role of the function with this handler, but for what active
    tracing grants every function (checked here to be exactly TRACING_ACTIONS on '*', then left out, so each
    function's own tests read only the grants its construct made)."""
    role = target_id(properties(template, function_by_handler(template, handler))["Role"])
    assert role is not None
    role_properties = properties(template, role)
    assert not role_properties.get("ManagedPolicyArns")
    assert not role_properties.get("Policies")
    traced: set[str] = set()
    own = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            actions = set(as_list(statement["Action"]))
            tracing = actions & TRACING_ACTIONS
            if tracing:
                assert statement["Resource"] == "*", statement
                assert "Condition" not in statement, statement
                traced |= tracing
                actions -= tracing
                if not actions:
                    continue
                # CDK merges statements on '*' (the relay's dynamodb:ListStreams): what is left is the function's.
                statement = {**statement, "Action": sorted(actions)}
            own.append(statement)
    assert traced == TRACING_ACTIONS, f"{handler}: active tracing's grant is missing"
    return own


def bucket_by_local_name(template: dict[str, Any], local_name: str) -> str:
    """The logical id of a data bucket: its access logs go under its local name (``StorageConstruct``)."""
    logical_id, _ = one(
        {
            logical_id: bucket
            for logical_id, bucket in resources(template, "AWS::S3::Bucket").items()
            if bucket["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == f"{local_name}/"
        },
        f"bucket {local_name}",
    )
    return logical_id


def dashboard_widgets(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's widgets: its body is JSON joined around references, each inside a JSON string."""
    _, dashboard = one(resources(template, "AWS::CloudWatch::Dashboard"), "dashboard")
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    widgets: list[dict[str, Any]] = json.loads("".join(part if isinstance(part, str) else "ref" for part in parts))[
        "widgets"
    ]
    return widgets
