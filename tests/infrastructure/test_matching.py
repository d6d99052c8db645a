"""Matching of declarations in the template (DESIGN.md §4): the matcher on the declarations queue, the notifier on
the notifications queue, each with only what it calls; the relay that feeds both; their alarms and dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.cdk.matching import BATCH_SIZE, NZ_CUSTOMS_PREFIX
from jevs.domain.declarations import DeclarationStatus
from jevs.resources import (
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    EXCHANGE_BUCKET,
    MATCHER_FUNCTION,
    MATCHER_MAX_CONCURRENCY,
    NOTIFICATIONS_QUEUE,
    NOTIFIER_FUNCTION,
    NOTIFIER_MAX_CONCURRENCY,
    OUTBOX_RELAY_FUNCTION,
    RECORDS_TABLE,
    SIGNING_KEY,
    FunctionDefinition,
    QueueDefinition,
)
from jevs.settings import FunctionSettings, MatcherSettings, NotifierSettings, RelaySettings
from tests.infrastructure.conftest import Synthesis
from tests.infrastructure.support import (
    ACCOUNT_KMS_KEYS,
    Grants,
    data_key,
    function_by_handler,
    function_grants,
    one,
    properties,
    queue_by_name,
    resources,
    target,
    target_id,
)

pytestmark = pytest.mark.infrastructure

# What consuming a queue through an event source mapping takes; CDK's SqsEventSource grants exactly these.
_CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}
_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}

_CONSUMERS = [
    pytest.param(MATCHER_FUNCTION, DECLARATIONS_QUEUE, MATCHER_MAX_CONCURRENCY, id="matcher"),
    pytest.param(NOTIFIER_FUNCTION, NOTIFICATIONS_QUEUE, NOTIFIER_MAX_CONCURRENCY, id="notifier"),
]


def _table(template: dict[str, Any]) -> str:
    return one(resources(template, "AWS::DynamoDB::Table"), "table")[0]


def _exchange_bucket(synthesis: Synthesis) -> str:
    bucket = synthesis.stack.storage.buckets[EXCHANGE_BUCKET.logical_id].node.default_child
    assert bucket is not None
    logical_id = synthesis.stack.resolve(bucket.logical_id)  # type: ignore[attr-defined]
    assert isinstance(logical_id, str)
    return logical_id


def _log_group(template: dict[str, Any], definition: FunctionDefinition) -> str:
    function = properties(template, function_by_handler(template, definition.handler))
    log_group = target_id(function["LoggingConfig"]["LogGroup"])
    assert log_group is not None
    return log_group


def _grants(template: dict[str, Any], definition: FunctionDefinition) -> Grants:
    """Each resource the function's role names → every action allowed on it. Allows only."""
    return function_grants(template, definition.handler)


def _variables(template: dict[str, Any], definition: FunctionDefinition) -> dict[str, Any]:
    variables: dict[str, Any] = properties(template, function_by_handler(template, definition.handler))["Environment"][
        "Variables"
    ]
    return variables


def _setting_variables(model: type[FunctionSettings]) -> set[str]:
    """The environment variables a settings model reads (its fields, under the JEVS_ prefix)."""
    return set(model.variables().values())


# --- the event source mappings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("definition", "queue", "concurrency"), _CONSUMERS)
def test_each_matching_function_consumes_its_queue_in_batches_with_partial_failures_and_capped_concurrency(
    template: dict[str, Any], definition: FunctionDefinition, queue: QueueDefinition, concurrency: int
) -> None:
    function = function_by_handler(template, definition.handler)
    mappings = [
        mapping["Properties"]
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if target_id(mapping["Properties"]["FunctionName"]) == function
    ]

    assert len(mappings) == 1, "one event source: its own queue"
    [mapping] = mappings
    assert target(mapping["EventSourceArn"]) == (queue_by_name(template, queue.name), "Arn")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == BATCH_SIZE == 10
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": concurrency}
    assert 2 <= concurrency <= 1000  # Lambda's bounds for MaximumConcurrency on SQS


@pytest.mark.parametrize(("definition", "queue", "concurrency"), _CONSUMERS)
def test_each_matching_queue_hides_a_message_for_six_timeouts_of_its_consumer(
    template: dict[str, Any], definition: FunctionDefinition, queue: QueueDefinition, concurrency: int
) -> None:
    timeout = properties(template, function_by_handler(template, definition.handler))["Timeout"]

    assert timeout == definition.timeout_seconds == queue.consumer_timeout_seconds
    assert properties(template, queue_by_name(template, queue.name))["VisibilityTimeout"] >= 6 * timeout


# --- each function's environment ---------------------------------------------------------------------------------


def test_the_matcher_learns_the_records_table_and_the_signing_alias_and_nothing_else(template: dict[str, Any]) -> None:
    variables = _variables(template, MATCHER_FUNCTION)

    assert {name for name in variables if name.startswith("JEVS_")} == _setting_variables(MatcherSettings)
    assert target(variables[RECORDS_TABLE.environment_variable]) == (_table(template), None)
    assert variables[SIGNING_KEY.environment_variable] == SIGNING_KEY.alias


def test_the_notifier_learns_the_records_table_and_the_exchange_bucket(synthesis: Synthesis) -> None:
    variables = _variables(synthesis.json, NOTIFIER_FUNCTION)

    assert {name for name in variables if name.startswith("JEVS_")} == _setting_variables(NotifierSettings)
    assert target(variables[RECORDS_TABLE.environment_variable]) == (_table(synthesis.json), None)
    assert target(variables[EXCHANGE_BUCKET.environment_variable]) == (_exchange_bucket(synthesis), None)


# --- least privilege ---------------------------------------------------------------------------------------------


def test_the_matcher_may_read_and_put_on_the_table_only_seal_and_consume_its_queue(template: dict[str, Any]) -> None:
    assert _grants(template, MATCHER_FUNCTION) == {
        # The table itself, never an index: GetItem, and the conditional puts of its one transaction.
        (_table(template), "Arn"): {"dynamodb:GetItem", "dynamodb:PutItem"},
        (data_key(template), "Arn"): {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"},
        # Seals each history head it appends: the key the signing alias names only (test_security).
        ACCOUNT_KMS_KEYS: {"kms:Sign", "kms:GetPublicKey"},
        (queue_by_name(template, DECLARATIONS_QUEUE.name), "Arn"): _CONSUME,
        (_log_group(template, MATCHER_FUNCTION), "Arn"): _LOGS,
    }


def test_the_notifier_files_results_only_under_the_nz_customs_results_prefix(synthesis: Synthesis) -> None:
    """Its whole policy, documents included, is asserted in test_issuing; here: what filing results takes."""
    template = synthesis.json
    grants = _grants(template, NOTIFIER_FUNCTION)

    assert NZ_CUSTOMS_PREFIX == "nz-customs/declaration-results/"
    assert grants[(_table(template), "Arn")] == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    # Objects under the results prefix of the exchange bucket; not the bucket (no listing), not another prefix.
    assert grants[(_exchange_bucket(synthesis), f"/{NZ_CUSTOMS_PREFIX}*")] == {"s3:PutObject"}
    assert (_exchange_bucket(synthesis), "Arn") not in grants
    assert grants[(queue_by_name(template, NOTIFICATIONS_QUEUE.name), "Arn")] == _CONSUME


# --- the relay feeds both ----------------------------------------------------------------------------------------


def test_the_relay_learns_the_queue_of_every_outbox_channel_and_the_records_table(template: dict[str, Any]) -> None:
    variables = _variables(template, OUTBOX_RELAY_FUNCTION)

    assert {name for name in variables if name.startswith("JEVS_")} == _setting_variables(RelaySettings)
    for queue in (DELIVERY_QUEUE, DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE):
        assert target(variables[queue.environment_variable]) == (queue_by_name(template, queue.name), None)
    assert target(variables[RECORDS_TABLE.environment_variable]) == (_table(template), None)


def test_the_relay_may_only_update_the_table_to_note_a_record_published(template: dict[str, Any]) -> None:
    """No read, no put: what it publishes comes from the stream."""
    assert _grants(template, OUTBOX_RELAY_FUNCTION)[(_table(template), "Arn")] == {"dynamodb:UpdateItem"}


@pytest.mark.parametrize("queue", [DELIVERY_QUEUE, DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE], ids=lambda q: q.name)
def test_the_relay_may_send_to_each_outbox_queue_and_do_nothing_else_there(
    template: dict[str, Any], queue: QueueDefinition
) -> None:
    assert _grants(template, OUTBOX_RELAY_FUNCTION)[(queue_by_name(template, queue.name), "Arn")] == {"sqs:SendMessage"}


# --- alarms and the dashboard ------------------------------------------------------------------------------------


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in resources(template, "AWS::CloudWatch::Alarm").values()]


@pytest.mark.parametrize("definition", [MATCHER_FUNCTION, NOTIFIER_FUNCTION], ids=["matcher", "notifier"])
def test_a_failing_matching_function_raises_an_alarm(template: dict[str, Any], definition: FunctionDefinition) -> None:
    function = function_by_handler(template, definition.handler)
    alarms = [
        alarm
        for alarm in _alarms(template)
        if alarm["Namespace"] == "AWS/Lambda"
        and alarm["MetricName"] == "Errors"
        and [target_id(dimension["Value"]) for dimension in alarm["Dimensions"]] == [function]
    ]

    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["AlarmActions"]


@pytest.mark.parametrize("queue", [DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE], ids=lambda q: q.dead_letter_name)
def test_a_dead_lettered_declaration_or_notification_raises_an_alarm(
    template: dict[str, Any], queue: QueueDefinition
) -> None:
    dead_letters = queue_by_name(template, queue.dead_letter_name)
    alarms = [
        alarm
        for alarm in _alarms(template)
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and [target_id(dimension["Value"]) for dimension in alarm["Dimensions"]] == [dead_letters]
    ]

    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["AlarmActions"]


def _dashboard_widgets(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's widgets: its body is JSON joined around references, each inside a JSON string."""
    _, dashboard = one(resources(template, "AWS::CloudWatch::Dashboard"), "dashboard")
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    widgets: list[dict[str, Any]] = json.loads("".join(part if isinstance(part, str) else "ref" for part in parts))[
        "widgets"
    ]
    return widgets


def test_match_outcomes_are_graphed_never_alarmed(template: dict[str, Any]) -> None:
    """A mismatch is a business outcome, the system working: no alarm watches decisions, and the dashboard graphs
    the matcher's DeclarationsDecided metric for every status a decision can have."""
    assert not [alarm for alarm in _alarms(template) if alarm["MetricName"].startswith("Declarations")]

    graphed = [
        metric[:6]
        for widget in _dashboard_widgets(template)
        for metric in widget["properties"].get("metrics", [])
        if metric[:2] == ["JEVS", "DeclarationsDecided"]
    ]
    decided = [status for status in DeclarationStatus if status is not DeclarationStatus.RECEIVED]
    assert graphed == [
        ["JEVS", "DeclarationsDecided", "service", "jevs-matcher", "status", status.value] for status in decided
    ]
