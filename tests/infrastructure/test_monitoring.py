"""Alarms on everything that means data is stuck or failing, each telling the one alarm topic."""

from __future__ import annotations

from typing import Any

import pytest

from jevs.resources import FUNCTIONS, QUEUES, STREAM_FAILURES_QUEUE
from tests.infrastructure.support import function_by_handler, one, properties, queue_by_name, resources, target

pytestmark = pytest.mark.infrastructure

Watched = tuple[str, str, tuple[str, str | None] | str]


def _watched(template: dict[str, Any]) -> set[Watched]:
    """(namespace, metric, what it measures) for every alarm: a queue or function by (logical id, attribute),
    the API by its name."""
    found: set[Watched] = set()
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        for dimension in props["Dimensions"]:
            subject = target(dimension["Value"]) or dimension["Value"]
            found.add((props["Namespace"], props["MetricName"], subject))
    return found


def test_every_alarm_tells_the_alarm_topic_when_it_fires_and_when_it_clears(template: dict[str, Any]) -> None:
    topic = one(resources(template, "AWS::SNS::Topic"), "topic")[0]
    alarms = resources(template, "AWS::CloudWatch::Alarm")

    assert alarms
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}], logical_id
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic}], logical_id


def test_a_message_in_any_dead_letter_queue_or_the_stream_failures_queue_raises_an_alarm(
    template: dict[str, Any],
) -> None:
    parked = [definition.dead_letter_name for definition in QUEUES] + [STREAM_FAILURES_QUEUE.name]

    for name in parked:
        watched = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", (queue_by_name(template, name), "QueueName"))
        assert watched in _watched(template), name


def test_a_work_queue_whose_oldest_message_waits_too_long_raises_an_alarm(template: dict[str, Any]) -> None:
    for definition in QUEUES:
        watched = ("AWS/SQS", "ApproximateAgeOfOldestMessage", (queue_by_name(template, definition.name), "QueueName"))
        assert watched in _watched(template), definition.name


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_that_fails_or_is_throttled_raises_an_alarm(template: dict[str, Any], metric: str) -> None:
    for definition in FUNCTIONS:
        watched = ("AWS/Lambda", metric, (function_by_handler(template, definition.handler), None))
        assert watched in _watched(template), definition.logical_id


@pytest.mark.parametrize("metric", ["5XXError", "Latency"])
def test_api_server_errors_and_slow_answers_raise_an_alarm(template: dict[str, Any], metric: str) -> None:
    api = one(resources(template, "AWS::ApiGateway::RestApi"), "REST API")[0]

    assert ("AWS/ApiGateway", metric, properties(template, api)["Name"]) in _watched(template)
