"""The delivery to China in the template: the dispatcher on its queue, the reconciliation schedule, and the
alarms on rejected and parked deliveries (DESIGN.md §6.2)."""

from __future__ import annotations

from typing import Any

import pytest

from jevs.resources import (
    DELIVERY_QUEUE,
    DISPATCHER_FUNCTION,
    DISPATCHER_MAX_CONCURRENCY,
    QUEUES,
    RECONCILER_FUNCTION,
    RECONCILIATION_SCHEDULE_MINUTES,
    RECORDS_TABLE,
    SIGNING_KEY,
    STREAM_FAILURES_QUEUE,
)
from tests.infrastructure.support import (
    function_by_handler,
    function_of,
    one,
    properties,
    queue_by_name,
    resources,
    target_id,
)

pytestmark = pytest.mark.infrastructure


def test_the_dispatcher_consumes_the_delivery_queue_with_partial_failures_and_capped_concurrency(
    template: dict[str, Any],
) -> None:
    dispatcher = function_by_handler(template, DISPATCHER_FUNCTION.handler)
    [mapping] = [
        mapping["Properties"]
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if function_of(template, mapping["Properties"]["FunctionName"]) == dispatcher
    ]

    assert target_id(mapping["EventSourceArn"]) == queue_by_name(template, DELIVERY_QUEUE.name)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": DISPATCHER_MAX_CONCURRENCY}
    queue = properties(template, queue_by_name(template, DELIVERY_QUEUE.name))
    assert queue["VisibilityTimeout"] >= 6 * properties(template, dispatcher)["Timeout"]


def test_the_dispatcher_learns_the_china_endpoint_and_signing_key_from_its_environment(
    template: dict[str, Any],
) -> None:
    variables = properties(template, function_by_handler(template, DISPATCHER_FUNCTION.handler))["Environment"][
        "Variables"
    ]

    assert variables["JEVS_CHINA_CUSTOMS_ENDPOINT"].startswith("https://")
    assert "JEVS_SIGNING_KEY_ID" in variables
    assert variables["JEVS_DELIVERY_MAX_RECEIVES"] == str(DELIVERY_QUEUE.max_receive_count)


def test_the_reconciler_learns_the_table_and_every_queue_it_sends_to(template: dict[str, Any]) -> None:
    """Deliveries go again to the delivery queue, declarations to match and documents to make to theirs, and an
    outbox record never relayed to the queue of its channel: any of the three."""
    variables = properties(template, function_by_handler(template, RECONCILER_FUNCTION.handler))["Environment"][
        "Variables"
    ]
    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]

    assert target_id(variables[RECORDS_TABLE.environment_variable]) == table
    assert {queue.environment_variable: target_id(variables[queue.environment_variable]) for queue in QUEUES} == {
        queue.environment_variable: queue_by_name(template, queue.name) for queue in QUEUES
    }


def test_reconciliation_runs_on_a_schedule(template: dict[str, Any]) -> None:
    reconciler = function_by_handler(template, RECONCILER_FUNCTION.handler)
    rules = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if any(target_id(target["Arn"]) == reconciler for target in rule["Properties"]["Targets"])
    ]

    # Every minute: the same runs work the redrive jobs operations start.
    assert RECONCILIATION_SCHEDULE_MINUTES == 1
    assert [rule["ScheduleExpression"] for rule in rules] == ["rate(1 minute)"]
    assert rules[0]["State"] == "ENABLED"


def test_the_reconciler_learns_every_dead_letter_queue_and_where_its_messages_go_back(
    template: dict[str, Any],
) -> None:
    variables = properties(template, function_by_handler(template, RECONCILER_FUNCTION.handler))["Environment"][
        "Variables"
    ]

    for queue in QUEUES:
        assert target_id(variables[queue.environment_variable]) == queue_by_name(template, queue.name)
        dead_letters = variables[queue.dead_letter_environment_variable]
        assert target_id(dead_letters) == queue_by_name(template, queue.dead_letter_name)
    failures = variables[STREAM_FAILURES_QUEUE.environment_variable]
    assert target_id(failures) == queue_by_name(template, STREAM_FAILURES_QUEUE.name)
    assert variables[SIGNING_KEY.environment_variable] == SIGNING_KEY.alias


@pytest.mark.parametrize("metric", ["DeliveriesRejected", "DeliveriesParked"])
def test_a_rejected_or_parked_delivery_raises_an_alarm(template: dict[str, Any], metric: str) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == metric
    ]

    assert len(alarms) == 1
    assert alarms[0]["Namespace"] == "JEVS"
    assert alarms[0]["Dimensions"] == [{"Name": "service", "Value": "jevs-dispatcher"}]
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["AlarmActions"]
