"""Driving declarations through the functions as Lambda would, against moto in process: the outbox
messages a lodgement or a decision wrote, fed to the consumer of their queue as an SQS event."""

from __future__ import annotations

from typing import Any

import boto3

from infrastructure.local.functions import FunctionSet
from jevs.domain.messages import FileExportResult, MatchAwaiting, MatchDeclaration, OutboxMessage
from jevs.resources import RECORDS_TABLE
from tests.factories import CN_CUSTOMS, ISSUING_BODY, LambdaContext, certificate_payload, declaration_payload, sqs_event
from tests.integration.conftest import ApiCall


def outbox_bodies(declaration_id: str, kind: type[OutboxMessage]) -> list[str]:
    """The outbox messages of ``kind`` stored under a declaration: those that queue it for matching (one per
    revision), or those that take its results back (one per decision)."""
    return partition_outbox(f"DECLARATION#{declaration_id}", kind)


def partition_outbox(partition: str, kind: type[OutboxMessage]) -> list[str]:
    """The outbox messages of ``kind`` stored in a partition of the records table, oldest key first."""
    response = boto3.client("dynamodb").query(
        TableName=RECORDS_TABLE.name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": partition}, ":prefix": {"S": "OUTBOX#"}},
    )
    bodies = [item["message"]["S"] for item in response["Items"]]
    wanted = kind.model_fields["kind"].default
    return [body for body in bodies if f'"kind":"{wanted}"' in body]


def submit_certificate(call_api: ApiCall, **overrides: Any) -> dict[str, Any]:
    body = certificate_payload(**overrides)
    response = call_api(
        "POST",
        "/v1/certificates",
        body=body,
        client_id=ISSUING_BODY,
        headers={"Idempotency-Key": f"c-{body['certificate_number']}"},
    )
    assert response["statusCode"] == 201, response
    return body


def lodge(call_api: ApiCall, client_id: str = CN_CUSTOMS, key: str | None = None, **overrides: Any) -> dict[str, Any]:
    body = declaration_payload(**overrides)
    return call_api(
        "POST",
        "/v1/declarations",
        body=body,
        client_id=client_id,
        headers={"Idempotency-Key": key or f"d-{body['declaration_number']}"},
    )


def run_matcher(functions: FunctionSet, declaration_id: str) -> dict[str, Any]:
    """The matching function on the message that queued ``declaration_id``."""
    event = sqs_event(outbox_bodies(declaration_id, MatchDeclaration))
    result: dict[str, Any] = functions.matcher(event, LambdaContext("jevs-matcher"))
    return result


def run_awaiting(functions: FunctionSet, certificate_number: str) -> dict[str, Any]:
    """The matching function on the message an issue of ``certificate_number`` wrote for declarations waiting for
    it."""
    event = sqs_event(partition_outbox(f"CERTIFICATE#{certificate_number}", MatchAwaiting))
    result: dict[str, Any] = functions.matcher(event, LambdaContext("jevs-matcher"))
    return result


def run_notifier(functions: FunctionSet, declaration_id: str) -> dict[str, Any]:
    event = sqs_event(outbox_bodies(declaration_id, FileExportResult))
    result: dict[str, Any] = functions.notifier(event, LambdaContext("jevs-notifier"))
    return result
