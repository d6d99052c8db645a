"""What the template guarantees about data at rest and access: one customer-managed key for everything stored,
least-privilege roles, a table that survives mistakes, buckets that are private, versioned and logged."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from jevs.resources import (
    API_FUNCTION,
    BUCKETS,
    CERTIFICATE_PARTITIONS,
    CIRCUIT_PARTITIONS,
    DECLARATION_PARTITIONS,
    DELIVERY_QUEUE,
    DISPATCHER_FUNCTION,
    DOCUMENTS_BUCKET,
    EXCHANGE_BUCKET,
    EXPORTER_PARTITIONS,
    FUNCTIONS,
    MATCHER_FUNCTION,
    NOTIFIER_FUNCTION,
    OUTBOX_RELAY_FUNCTION,
    OVERSEER_FUNCTION,
    QUEUES,
    RECONCILER_FUNCTION,
    REDRIVE_PARTITIONS,
    SCHEDULE_FAILURES_QUEUE,
    SIGNING_KEY,
    STREAM_FAILURES_QUEUE,
    VERIFICATION_PARTITIONS,
    FunctionDefinition,
)
from tests.infrastructure.conftest import Synthesis
from tests.infrastructure.support import (
    as_list,
    bucket_by_local_name,
    data_key,
    function_by_handler,
    function_statements,
    one,
    policy_documents,
    properties,
    queue_by_name,
    references,
    resources,
    statements,
    target,
    target_id,
)

pytestmark = pytest.mark.infrastructure

# A whole service's actions, or every action.
_BROAD_ACTION = re.compile(r"^(\*|[a-z0-9-]+:\*)$")
# The only actions with a wildcard an Allow may hold: CDK's own KMS grants (Queue.grantSendMessages, used by the
# stream mapping's on-failure destination) write these suffix wildcards. See infrastructure/cdk/acknowledgements.py.
_CDK_SUFFIX_WILDCARDS = {"kms:GenerateDataKey*", "kms:ReEncrypt*"}


def _is_data_key(template: dict[str, Any], value: Any) -> bool:
    return target(value) in {(data_key(template), "Arn"), (data_key(template), None)}


def _account_root_administers_key(template: dict[str, Any], logical_id: str, statement: dict[str, Any]) -> bool:
    """KMS's default key policy: the account's root may use every kms: action, so that IAM policies can delegate
    use of the key at all. Without it the key would be unmanageable; it grants nothing to anyone by itself."""
    if template["Resources"][logical_id]["Type"] != "AWS::KMS::Key":
        return False
    principal = statement.get("Principal", {}).get("AWS", {})
    join = principal.get("Fn::Join", ["", []])[1] if isinstance(principal, dict) else []
    return statement.get("Action") == "kms:*" and bool(join) and join[-1] == ":root"


# --- encryption at rest ------------------------------------------------------------------------------------------


def test_the_data_key_rotates(template: dict[str, Any]) -> None:
    assert properties(template, data_key(template))["EnableKeyRotation"] is True


def test_the_table_is_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    _, table = one(resources(template, "AWS::DynamoDB::Table"), "table")
    encryption = table["Properties"]["SSESpecification"]

    assert encryption["SSEEnabled"] is True
    assert encryption["SSEType"] == "KMS"
    assert _is_data_key(template, encryption["KMSMasterKeyId"])


def test_every_queue_is_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    # Work queues, their dead-letter queues, the stream failures queue and the schedule failures queue.
    assert len(queues) == 2 * len(QUEUES) + 2
    for logical_id, queue in queues.items():
        assert _is_data_key(template, queue["Properties"].get("KmsMasterKeyId")), logical_id


def test_every_queue_refuses_plain_http(template: dict[str, Any]) -> None:
    guarded = {
        target_id(queue)
        for policy in resources(template, "AWS::SQS::QueuePolicy").values()
        for statement in statements(policy["Properties"]["PolicyDocument"])
        if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }

    assert guarded == set(resources(template, "AWS::SQS::Queue"))


def test_both_data_buckets_are_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    encrypted = []
    for logical_id, bucket in resources(template, "AWS::S3::Bucket").items():
        default = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        if default["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms":
            assert _is_data_key(template, default["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]), logical_id
            assert default["BucketKeyEnabled"] is True, logical_id
            encrypted.append(logical_id)

    assert len(encrypted) == len(BUCKETS)


def test_every_log_group_is_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    log_groups = resources(template, "AWS::Logs::LogGroup")
    assert len(log_groups) == len(FUNCTIONS) + 2  # each function's, the API's access logs and WAF's log
    for logical_id, log_group in log_groups.items():
        assert _is_data_key(template, log_group["Properties"].get("KmsKeyId")), logical_id


def test_the_alarm_topic_is_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    _, topic = one(resources(template, "AWS::SNS::Topic"), "topic")

    assert _is_data_key(template, topic["Properties"]["KmsMasterKeyId"])


def test_the_signing_key_is_an_ecc_p256_signing_key_under_its_alias(synthesis: Synthesis) -> None:
    synthesis.template.has_resource_properties("AWS::KMS::Key", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})
    signing = one(
        {
            logical_id: key
            for logical_id, key in resources(synthesis.json, "AWS::KMS::Key").items()
            if key["Properties"].get("KeyUsage") == "SIGN_VERIFY"
        },
        "signing key",
    )[0]
    synthesis.template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": SIGNING_KEY.alias, "TargetKeyId": {"Fn::GetAtt": [signing, "Arn"]}}
    )


# --- the table ---------------------------------------------------------------------------------------------------


def test_the_table_can_be_restored_to_any_second_and_cannot_be_deleted(synthesis: Synthesis) -> None:
    synthesis.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "DeletionProtectionEnabled": True,
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


# --- IAM ---------------------------------------------------------------------------------------------------------


def test_no_policy_allows_every_action_or_every_action_of_a_service(template: dict[str, Any]) -> None:
    broad = []
    for logical_id, document in policy_documents(template):
        for statement in statements(document):
            if statement["Effect"] != "Allow" or _account_root_administers_key(template, logical_id, statement):
                continue
            assert "NotAction" not in statement, logical_id
            actions = as_list(statement["Action"])
            broad += [f"{logical_id}: {action}" for action in actions if _BROAD_ACTION.match(action)]

    assert broad == []


def test_the_only_wildcard_actions_are_cdks_own_kms_grants(template: dict[str, Any]) -> None:
    wildcards = {
        action
        for logical_id, document in policy_documents(template)
        for statement in statements(document)
        if statement["Effect"] == "Allow" and not _account_root_administers_key(template, logical_id, statement)
        for action in as_list(statement["Action"])
        if "*" in action
    }

    assert wildcards <= _CDK_SUFFIX_WILDCARDS


def _function_permissions(template: dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to the function's role (but active tracing's, the same for all);
    the role itself has none inline and no managed policies: grants only."""
    return function_statements(template, handler)


# The account's keys, as keys.grant_signing names them, only ever under a kms:ResourceAliases condition.
_ACCOUNT_KEYS = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":kms:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":key/*"],
    ]
}


def _key_alias_condition(statement: dict[str, Any]) -> str | None:
    """The alias (pattern) a statement on the account's keys is narrowed to; None for any other statement."""
    if as_list(statement["Resource"]) != [_ACCOUNT_KEYS]:
        return None
    ((operator, condition),) = statement["Condition"].items()
    assert operator in ("ForAnyValue:StringEquals", "ForAnyValue:StringLike"), statement
    assert list(condition) == ["kms:ResourceAliases"], statement
    alias: str = condition["kms:ResourceAliases"]
    return alias


def _named_resources(template: dict[str, Any], handler: str) -> set[tuple[str, str | None]]:
    """What the function's statements name, as (logical id, attribute), or ("alias", <alias>) for keys named by
    their alias; '*' only where nothing else is possible."""
    named: set[tuple[str, str | None]] = set()
    for statement in _function_permissions(template, handler):
        alias = _key_alias_condition(statement)
        if alias is not None:
            named.add(("alias", alias))
            continue
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                # ListStreams has no resource-level permissions; nothing else may name every resource.
                assert as_list(statement["Action"]) == ["dynamodb:ListStreams"], statement
                continue
            found = set(references(resource))
            assert found, f"a literal resource {resource!r}"
            named |= found
    return named


def _log_group_of(template: dict[str, Any], handler: str) -> str:
    log_group = target_id(properties(template, function_by_handler(template, handler))["LoggingConfig"]["LogGroup"])
    assert log_group is not None
    return log_group


def signing_key(template: dict[str, Any]) -> str:
    keys = {
        logical_id: key
        for logical_id, key in resources(template, "AWS::KMS::Key").items()
        if key["Properties"].get("KeySpec") == "ECC_NIST_P256"
    }
    return one(keys, "signing key")[0]


def test_the_api_function_may_use_only_the_records_table_its_indexes_the_keys_and_the_buckets(
    template: dict[str, Any],
) -> None:
    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]

    assert _named_resources(template, API_FUNCTION.handler) == {
        (table, "Arn"),  # the table, and table/index/* (its listing indexes)
        (data_key(template), "Arn"),
        # Sign (a verified history's head) with the key the signing alias names; GetPublicKey and ListResourceTags
        # (/.well-known/jwks.json) of it and of the keys retired from it.
        ("alias", SIGNING_KEY.alias),
        ("alias", f"{SIGNING_KEY.alias}*"),
        # GET .../document: GetObject under certificates/, and ListBucket so a PDF not rendered yet reads as 404.
        (bucket_by_local_name(template, DOCUMENTS_BUCKET.local_name), "Arn"),
        # GET /v1/exchange/nz-customs/files: NZ Customs' prefix of the exchange bucket, listed and read.
        (bucket_by_local_name(template, EXCHANGE_BUCKET.local_name), "Arn"),
        (_log_group_of(template, API_FUNCTION.handler), "Arn"),
    }
    # A redrive is a job the reconciler works: the API touches no queue at all.


def test_the_dispatcher_may_use_only_the_table_its_queues_and_both_keys(template: dict[str, Any]) -> None:
    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]

    assert _named_resources(template, DISPATCHER_FUNCTION.handler) == {
        (table, "Arn"),
        (queue_by_name(template, DELIVERY_QUEUE.name), "Arn"),
        # It parks a message in the dead-letter queue itself (SendMessage only: checked below).
        (queue_by_name(template, DELIVERY_QUEUE.dead_letter_name), "Arn"),
        (data_key(template), "Arn"),
        ("alias", SIGNING_KEY.alias),
        (_log_group_of(template, DISPATCHER_FUNCTION.handler), "Arn"),
    }
    assert _signing_actions(template, DISPATCHER_FUNCTION.handler) == {
        SIGNING_KEY.alias: {"kms:Sign", "kms:GetPublicKey"}
    }


def test_the_dispatcher_may_only_send_to_the_dead_letter_queue(template: dict[str, Any]) -> None:
    dead_letters = queue_by_name(template, DELIVERY_QUEUE.dead_letter_name)
    actions = {
        action
        for statement in _function_permissions(template, DISPATCHER_FUNCTION.handler)
        for resource in as_list(statement["Resource"])
        if isinstance(resource, dict) and target_id(resource) == dead_letters
        for action in as_list(statement["Action"])
    }

    assert actions == {"sqs:SendMessage"}


def _signing_actions(template: dict[str, Any], handler: str) -> dict[str, set[str]]:
    """What a function may do with the keys an alias (pattern) names."""
    actions: dict[str, set[str]] = {}
    for statement in _function_permissions(template, handler):
        alias = _key_alias_condition(statement)
        if alias is not None:
            actions.setdefault(alias, set()).update(as_list(statement["Action"]))
    return actions


def test_only_a_key_the_signing_alias_names_signs_and_the_jwks_reads_only_keys_retired_from_it(
    template: dict[str, Any],
) -> None:
    assert _signing_actions(template, API_FUNCTION.handler) == {
        SIGNING_KEY.alias: {"kms:Sign", "kms:GetPublicKey"},
        f"{SIGNING_KEY.alias}*": {"kms:GetPublicKey", "kms:ListResourceTags"},
    }
    for statement in _function_permissions(template, API_FUNCTION.handler):
        if "kms:Sign" in as_list(statement["Action"]):
            assert statement["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": SIGNING_KEY.alias}}


@pytest.mark.parametrize(
    "definition", [MATCHER_FUNCTION, OVERSEER_FUNCTION, RECONCILER_FUNCTION], ids=["matcher", "overseer", "reconciler"]
)
def test_the_functions_that_seal_history_may_sign_only_with_the_key_the_signing_alias_names(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    """They append history events and seal each new head; they publish nothing (the JWKS is the API's)."""
    assert _signing_actions(template, definition.handler) == {SIGNING_KEY.alias: {"kms:Sign", "kms:GetPublicKey"}}


def test_the_functions_that_sign_follow_the_alias_and_so_a_rotation(template: dict[str, Any]) -> None:
    signers = (API_FUNCTION, DISPATCHER_FUNCTION, MATCHER_FUNCTION, OVERSEER_FUNCTION, RECONCILER_FUNCTION)
    for handler in (definition.handler for definition in signers):
        variables = properties(template, function_by_handler(template, handler))["Environment"]["Variables"]
        assert variables[SIGNING_KEY.environment_variable] == SIGNING_KEY.alias


def test_the_reconciler_may_use_only_the_table_its_stream_the_queues_and_dead_letters_and_both_keys(
    template: dict[str, Any],
) -> None:
    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]

    assert _named_resources(template, RECONCILER_FUNCTION.handler) == {
        # GetItem, PutItem and UpdateItem on the table; Query on its by-pending-delivery (reconciliation),
        # by-open-work (open work) and by-open-application (running redrives) indexes only
        (table, "Arn"),
        (table, "StreamArn"),  # a stream failure's batch, read back
        # Deliveries to China; declarations to match and documents to make; outbox records to any of the three;
        # each work queue a redrive sends back to
        *((queue_by_name(template, queue.name), "Arn") for queue in QUEUES),
        # Each dead-letter queue a redrive takes from, and the stream failures queue
        *((queue_by_name(template, queue.dead_letter_name), "Arn") for queue in QUEUES),
        (queue_by_name(template, STREAM_FAILURES_QUEUE.name), "Arn"),
        # Its own dead-letter queue: Lambda sends a scheduled run that failed for good there, as the function
        (queue_by_name(template, SCHEDULE_FAILURES_QUEUE.name), "Arn"),
        (data_key(template), "Arn"),
        ("alias", SIGNING_KEY.alias),  # seals the DELIVERY_RESUMED event of a resumed delivery
        (_log_group_of(template, RECONCILER_FUNCTION.handler), "Arn"),
    }
    assert _signing_actions(template, RECONCILER_FUNCTION.handler) == {
        SIGNING_KEY.alias: {"kms:Sign", "kms:GetPublicKey"}
    }


def test_the_reconciler_queries_only_the_pending_deliveries_open_work_and_open_records_indexes(
    template: dict[str, Any],
) -> None:
    queried = [
        resource
        for statement in _function_permissions(template, RECONCILER_FUNCTION.handler)
        if "dynamodb:Query" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]

    assert sorted(json.dumps(resource, sort_keys=True) for resource in queried) == sorted(
        json.dumps(
            {
                "Fn::Join": [
                    "",
                    [
                        {"Fn::GetAtt": [one(resources(template, "AWS::DynamoDB::Table"), "table")[0], "Arn"]},
                        f"/index/{index}",
                    ],
                ]
            },
            sort_keys=True,
        )
        for index in ("by-pending-delivery", "by-open-work", "by-open-application")
    )


def test_the_outbox_relay_may_use_only_the_stream_the_table_its_queues_and_the_data_key(
    template: dict[str, Any],
) -> None:
    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]

    assert _named_resources(template, OUTBOX_RELAY_FUNCTION.handler) == {
        (table, "StreamArn"),  # the records it publishes come from the stream
        (table, "Arn"),  # UpdateItem only: the note that a record was published (test_matching)
        *((queue_by_name(template, queue.name), "Arn") for queue in QUEUES),  # one per outbox channel
        (queue_by_name(template, STREAM_FAILURES_QUEUE.name), "Arn"),
        (data_key(template), "Arn"),
        (_log_group_of(template, OUTBOX_RELAY_FUNCTION.handler), "Arn"),
    }


_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}


def _written_partitions(template: dict[str, Any], handler: str) -> list[list[str] | None]:
    """For each statement that lets the function write the table: the partitions it is held to (None: any)."""
    held = []
    for statement in _function_permissions(template, handler):
        if _WRITES & set(as_list(statement["Action"])):
            condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
            held.append(condition.get("dynamodb:LeadingKeys"))
    return held


# Every kind of partition, spelt out: the API writes each (certificates, lodged declarations, hosted issuing,
# verification requests, certification's number counters, idempotent answers, redrive jobs started).
_API_PARTITIONS = [
    "CERTIFICATE#*",
    "DECLARATION#*",
    "EXPORTER#*",
    "VERIFICATION#*",
    "COUNTER#*",
    "IDEMPOTENCY#*",
    "REDRIVE#*",
]


@pytest.mark.parametrize(
    ("handler", "statements"),
    [
        pytest.param(API_FUNCTION.handler, [_API_PARTITIONS], id="api"),
        pytest.param(
            DISPATCHER_FUNCTION.handler,
            [[CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS, CIRCUIT_PARTITIONS]],
            id="dispatcher",
        ),
        pytest.param(MATCHER_FUNCTION.handler, [[DECLARATION_PARTITIONS, CERTIFICATE_PARTITIONS]], id="matcher"),
        # Outbox records live under a certificate or a declaration; a version's documents under its certificate.
        pytest.param(
            OUTBOX_RELAY_FUNCTION.handler, [[CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS]], id="outbox relay"
        ),
        pytest.param(NOTIFIER_FUNCTION.handler, [[CERTIFICATE_PARTITIONS]], id="notifier"),
        pytest.param(
            OVERSEER_FUNCTION.handler,
            [[EXPORTER_PARTITIONS, VERIFICATION_PARTITIONS, CERTIFICATE_PARTITIONS]],
            id="overseer",
        ),
        # Reconciliation's notes that it queued work again (deliveries, versions and outbox records under
        # certificates; declarations, results' deliveries and their outbox records under declarations), then a
        # redrive's writes: a delivery resumed with its certificate's event, the job and what it kept.
        pytest.param(
            RECONCILER_FUNCTION.handler,
            [
                [CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS],
                [CERTIFICATE_PARTITIONS, DECLARATION_PARTITIONS, REDRIVE_PARTITIONS],
            ],
            id="reconciler",
        ),
    ],
)
def test_a_function_writes_only_the_partitions_it_needs(
    template: dict[str, Any], handler: str, statements: list[list[str] | None]
) -> None:
    """Per statement that lets the function write the table: the partitions it is held to (None: any)."""
    assert _written_partitions(template, handler) == statements


def test_the_api_function_writes_the_table_itself_only_within_its_partitions(template: dict[str, Any]) -> None:
    """Reads may go to the listing indexes (table/index/*); a write names the table alone, under the one
    condition, so no statement lets the API write anywhere else."""
    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]
    writes = [
        statement
        for statement in _function_permissions(template, API_FUNCTION.handler)
        if _WRITES & set(as_list(statement["Action"]))
    ]

    assert len(writes) == 1
    assert as_list(writes[0]["Resource"]) == [{"Fn::GetAtt": [table, "Arn"]}]
    assert writes[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": _API_PARTITIONS}}


def test_the_api_function_never_deletes_nor_scans(template: dict[str, Any]) -> None:
    actions = {action for s in _function_permissions(template, API_FUNCTION.handler) for action in as_list(s["Action"])}

    assert {action for action in actions if action.startswith("dynamodb:")} == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    }


# --- buckets -----------------------------------------------------------------------------------------------------


def _access_logs_bucket(template: dict[str, Any]) -> str:
    destinations = {
        target_id(bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"])
        for bucket in resources(template, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" in bucket["Properties"]
    }
    assert len(destinations) == 1, destinations
    destination = destinations.pop()
    assert destination is not None
    return destination


def _buckets(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    buckets = {
        logical_id: bucket["Properties"] for logical_id, bucket in resources(template, "AWS::S3::Bucket").items()
    }
    assert len(buckets) == len(BUCKETS) + 1  # the data buckets and their access-log bucket
    return buckets


def test_every_bucket_blocks_public_access(template: dict[str, Any]) -> None:
    for logical_id, bucket in _buckets(template).items():
        assert bucket["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert "AccessControl" not in bucket, f"{logical_id}: no ACLs (log delivery is allowed by bucket policy)"


def test_every_bucket_is_versioned_and_expires_old_versions(template: dict[str, Any]) -> None:
    for logical_id, bucket in _buckets(template).items():
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        rules = bucket["LifecycleConfiguration"]["Rules"]
        assert rules, logical_id
        assert all(rule["Status"] == "Enabled" and "NoncurrentVersionExpiration" in rule for rule in rules), logical_id


def test_every_bucket_refuses_plain_http(template: dict[str, Any]) -> None:
    policies = {
        target_id(policy["Properties"]["Bucket"]): statements(policy["Properties"]["PolicyDocument"])
        for policy in resources(template, "AWS::S3::BucketPolicy").values()
    }
    for logical_id in _buckets(template):
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": [
                {"Fn::GetAtt": [logical_id, "Arn"]},
                {"Fn::Join": ["", [{"Fn::GetAtt": [logical_id, "Arn"]}, "/*"]]},
            ],
        } in policies.get(logical_id, []), logical_id


def test_both_data_buckets_log_access_to_the_access_log_bucket(template: dict[str, Any]) -> None:
    """Every bucket but the access-log bucket itself, which cannot log to itself (its writes would loop)."""
    access_logs = _access_logs_bucket(template)
    logged = {
        logical_id
        for logical_id, bucket in resources(template, "AWS::S3::Bucket").items()
        if target_id(bucket["Properties"].get("LoggingConfiguration", {}).get("DestinationBucketName")) == access_logs
    }

    assert logged == set(resources(template, "AWS::S3::Bucket")) - {access_logs}
    assert len(logged) == len(BUCKETS)


def test_s3_may_deliver_access_logs_only_from_our_buckets(template: dict[str, Any]) -> None:
    access_logs = _access_logs_bucket(template)
    _, policy = one(
        {
            logical_id: policy
            for logical_id, policy in resources(template, "AWS::S3::BucketPolicy").items()
            if target_id(policy["Properties"]["Bucket"]) == access_logs
        },
        "access-log bucket policy",
    )
    deliveries = [
        statement
        for statement in statements(policy["Properties"]["PolicyDocument"])
        if statement.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]

    sources = {target_id(statement["Condition"]["ArnLike"]["aws:SourceArn"]) for statement in deliveries}
    assert sources == set(resources(template, "AWS::S3::Bucket")) - {access_logs}
    assert all(statement["Action"] == "s3:PutObject" for statement in deliveries)
