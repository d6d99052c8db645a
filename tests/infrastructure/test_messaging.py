"""What the template guarantees about moving messages: partial batch failures, bounded retries, dead letters."""

from __future__ import annotations

from typing import Any

import pytest

from jevs.resources import (
    DELIVERY_QUEUE,
    OUTBOX_RELAY_FUNCTION,
    QUEUES,
    RECORDS_TABLE,
    STREAM_BATCH_SIZE,
    STREAM_FAILURES_QUEUE,
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_MAX_RETRIES,
    QueueDefinition,
)
from tests.infrastructure.support import (
    SQS_DEFAULT_RETENTION,
    filter_patterns,
    function_by_handler,
    one,
    properties,
    queue_by_name,
    resources,
    sqs_visibility_problems,
    target,
)

pytestmark = pytest.mark.infrastructure


def _stream_mapping(template: dict[str, Any]) -> dict[str, Any]:
    _, mapping = one(
        {
            logical_id: mapping
            for logical_id, mapping in resources(template, "AWS::Lambda::EventSourceMapping").items()
            if (target(mapping["Properties"]["EventSourceArn"]) or ("", None))[1] == "StreamArn"
        },
        "DynamoDB stream event source mapping",
    )
    return mapping


def test_every_event_source_mapping_reports_batch_item_failures(template: dict[str, Any]) -> None:
    """SQS and stream consumers alike return the failed records only; a batch is never redone whole."""
    mappings = resources(template, "AWS::Lambda::EventSourceMapping")
    assert mappings, "the outbox relay's stream mapping at least"
    for logical_id, mapping in mappings.items():
        assert mapping["Properties"].get("FunctionResponseTypes") == ["ReportBatchItemFailures"], logical_id


def test_the_table_stream_feeds_the_outbox_relay_with_bisection_and_bounded_retries(template: dict[str, Any]) -> None:
    mapping = _stream_mapping(template)["Properties"]

    table = one(resources(template, "AWS::DynamoDB::Table"), "table")[0]
    assert target(mapping["EventSourceArn"]) == (table, "StreamArn")
    assert target(mapping["FunctionName"]) == (function_by_handler(template, OUTBOX_RELAY_FUNCTION.handler), None)
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == STREAM_MAX_RETRIES
    assert mapping["MaximumRecordAgeInSeconds"] == STREAM_MAX_RECORD_AGE_SECONDS
    assert mapping["BatchSize"] == STREAM_BATCH_SIZE


def test_records_the_relay_gives_up_on_go_to_the_stream_failures_queue(template: dict[str, Any]) -> None:
    destination = _stream_mapping(template)["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]

    assert target(destination) == (queue_by_name(template, STREAM_FAILURES_QUEUE.name), "Arn")


def test_only_inserted_outbox_records_invoke_the_relay(template: dict[str, Any]) -> None:
    patterns = filter_patterns(_stream_mapping(template))

    assert patterns == [
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {RECORDS_TABLE.sort_key.name: {"S": [{"prefix": "OUTBOX#"}]}}}}
    ]


@pytest.mark.parametrize("definition", QUEUES, ids=lambda definition: definition.name)
def test_each_work_queue_parks_a_message_in_its_own_dead_letter_queue_after_its_receives(
    template: dict[str, Any], definition: QueueDefinition
) -> None:
    redrive = properties(template, queue_by_name(template, definition.name))["RedrivePolicy"]

    # Five receives; the delivery queue's messages come back for hours of retries (its horizon), so 250.
    expected = 250 if definition is DELIVERY_QUEUE else 5
    assert redrive["maxReceiveCount"] == expected == definition.max_receive_count
    assert target(redrive["deadLetterTargetArn"]) == (queue_by_name(template, definition.dead_letter_name), "Arn")


def test_no_two_work_queues_share_a_dead_letter_queue(template: dict[str, Any]) -> None:
    targets = [
        target(properties(template, queue_by_name(template, definition.name))["RedrivePolicy"]["deadLetterTargetArn"])
        for definition in QUEUES
    ]

    assert len(set(targets)) == len(QUEUES)


@pytest.mark.parametrize("definition", QUEUES, ids=lambda definition: definition.name)
def test_each_work_queue_hides_a_received_message_for_six_consumer_timeouts(
    template: dict[str, Any], definition: QueueDefinition
) -> None:
    queue = properties(template, queue_by_name(template, definition.name))

    assert queue["VisibilityTimeout"] == 6 * definition.consumer_timeout_seconds


def test_every_sqs_consumer_times_out_well_within_its_queues_visibility_timeout(template: dict[str, Any]) -> None:
    # Consumers of the work queues come later; this holds for each as soon as its mapping exists.
    assert sqs_visibility_problems(template) == []


def test_the_visibility_check_flags_a_queue_that_would_redeliver_a_batch_in_progress() -> None:
    """The check above is not vacuous: a 30 s consumer on a queue hiding messages for 60 s is caught."""
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
            "Consumer": {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": 30}},
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}, "FunctionName": {"Ref": "Consumer"}},
            },
        }
    }

    assert sqs_visibility_problems(template) == ["Mapping: visibility 60 s < 6 × function timeout 30 s"]


@pytest.mark.parametrize("definition", QUEUES, ids=lambda definition: definition.name)
def test_dead_letters_outlive_the_messages_of_their_source_queue(
    template: dict[str, Any], definition: QueueDefinition
) -> None:
    source = properties(template, queue_by_name(template, definition.name))
    dead_letters = properties(template, queue_by_name(template, definition.dead_letter_name))

    assert dead_letters["MessageRetentionPeriod"] > source.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION)
