"""The queue consumers' batches (``jevs.adapters.lambda_batches.batch_handler``): every record is handled in turn,
parsed into the consumer's model, with the Lambda context when the handler asks for it; each one that cannot be read
or whose handler raises comes back alone (a batch item failure), logged by its ids and the error's kind, and the
others are done."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from pydantic import BaseModel, ConfigDict, Json

from jevs.adapters.lambda_batches import SqsRecord, batch_handler
from tests.factories import LambdaContext

pytestmark = pytest.mark.unit


class Greeting(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    correlation_id: str | None = None
    name: str


class GreetingRecord(SqsRecord):
    body: Json[Greeting]


def record(message_id: str, body: object) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
    }


def test_each_failed_record_comes_back_alone_and_the_others_are_handled(capsys: pytest.CaptureFixture[str]) -> None:
    handled: list[tuple[str, str]] = []

    def greet(greeting: GreetingRecord, lambda_context: Any) -> None:
        if greeting.body.name == "boom":
            raise RuntimeError("no greeting for boom")
        handled.append((greeting.body.name, lambda_context.function_name))

    handler = batch_handler(
        logger=Logger(service="batch-test"),
        metrics=Metrics(namespace="Test"),
        record_handler=greet,
        model=GreetingRecord,
    )
    event = {
        "Records": [
            record("q-1", {"message_id": "m-1", "name": "Aroha"}),
            record("q-2", {"message_id": "m-2", "name": "boom", "correlation_id": "req-9"}),
            record("q-3", {"message_id": "m-3"}),  # no name: unreadable
            record("q-4", {"message_id": "m-4", "name": "Wei"}),
        ]
    }

    answer = handler(event, LambdaContext("jevs-test"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "q-2"}, {"itemIdentifier": "q-3"}]}
    assert handled == [("Aroha", "jevs-test"), ("Wei", "jevs-test")]
    failed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"record failed"' in line]
    assert [(line["record"], line.get("message_id"), line["error_type"]) for line in failed] == [
        ("q-2", "m-2", "RuntimeError"),
        ("q-3", None, "ValidationError"),
    ]


def test_a_handler_without_a_context_parameter_gets_the_record_only() -> None:
    handled: list[str] = []

    def greet(greeting: GreetingRecord) -> None:
        handled.append(greeting.body.name)

    handler = batch_handler(
        logger=Logger(service="batch-test"),
        metrics=Metrics(namespace="Test"),
        record_handler=greet,
        model=GreetingRecord,
    )

    assert handler({"Records": [record("q-1", {"message_id": "m-1", "name": "Aroha"})]}, LambdaContext("x")) == {
        "batchItemFailures": []
    }
    assert handled == ["Aroha"]
