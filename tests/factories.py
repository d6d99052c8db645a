"""Small factories for test inputs in their real shapes: certificates as partners send them, API Gateway
REST proxy events as Lambda receives them, and a Lambda context.

The request bodies are built in ``infrastructure/local/request_bodies.py``, shared with the walkthrough
(``make demo``) so it sends what the tests send; they are imported here under the names the tests use.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from infrastructure.local.request_bodies import (
    application_payload,
    certificate_issued_on,
    certificate_payload,
    commercial_payload,
    declaration_payload,
    goods_payload,
    item_payload,
    signatory_payload,
    today_in_new_zealand,
)
from jevs.adapters.party_registry import RegisteredClient
from jevs.resources import party_scope

__all__ = [
    "CN_CUSTOMS",
    "EXPORTER",
    "ISSUING_BODY",
    "NZ_CUSTOMS",
    "OPS",
    "OTHER_CN_CUSTOMS",
    "OTHER_EXPORTER",
    "OTHER_ISSUING_BODY_CLIENT",
    "OTHER_NZ_CUSTOMS",
    "PARTIES_FILE",
    "SECOND_PARTIES",
    "LambdaContext",
    "api_event",
    "application_payload",
    "certificate_issued_on",
    "certificate_payload",
    "commercial_payload",
    "declaration_payload",
    "goods_payload",
    "item_payload",
    "parties_json",
    "registered_clients",
    "signatory_payload",
    "sqs_event",
    "stream_failure_record",
    "today_in_new_zealand",
]

PARTIES_FILE = Path(__file__).parent.parent / "infrastructure" / "local" / "parties.json"


def stream_failure_record(stream_arn: str, shard_id: str, start: str, end: str) -> dict[str, Any]:
    """What Lambda's event source mapping sends its on-failure destination (the stream failures queue) for a batch of
    a DynamoDB stream it gave up on: which shard, which sequence numbers."""
    return {
        "requestContext": {
            "requestId": "316aa6d0-8154-4f2c-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:ap-southeast-2:123456789012:function:jevs-outbox-relay",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 11,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-24T22:01:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "approximateArrivalOfFirstRecord": "2026-11-24T22:00:00Z",
            "approximateArrivalOfLastRecord": "2026-11-24T22:00:01Z",
            "batchSize": 2,
            "streamArn": stream_arn,
        },
    }


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:ap-southeast-2:123456789012:queue") -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping delivers it, one record per body, first receive."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795990000000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795990000001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
            for index, body in enumerate(bodies)
        ]
    }


@cache
def registered_clients() -> tuple[RegisteredClient, ...]:
    document = json.loads(PARTIES_FILE.read_text(encoding="utf-8"))
    return tuple(RegisteredClient.model_validate(client) for client in document["clients"])


# Parties the tests' registry holds beside the demo ones: a second party of a type the demo has once, so that a
# test can show what one party of a type may not reach of another's (issue 14, findings 1 and 6).
OTHER_ISSUING_BODY_CLIENT = "test-wlg-chamber"
OTHER_NZ_CUSTOMS = "test-nz-customs-airport"
OTHER_CN_CUSTOMS = "test-cn-customs-shanghai"
SECOND_PARTIES: tuple[RegisteredClient, ...] = tuple(
    RegisteredClient.model_validate({"client_id": client_id, "party": party})
    for client_id, party in (
        (
            OTHER_ISSUING_BODY_CLIENT,
            {
                "type": "issuing_body",
                "id": "wlg-chamber",
                "name": "Wellington Chamber of Commerce",
                "place": "Wellington",
                "region": "WGN",
                "certificate_prefix": "22",
            },
        ),
        (OTHER_NZ_CUSTOMS, {"type": "nz_customs", "id": "nz-customs-airport", "name": "NZ Customs, Auckland Airport"}),
        (OTHER_CN_CUSTOMS, {"type": "cn_customs", "id": "cn-customs-shanghai", "name": "Shanghai Customs District"}),
    )
)


def parties_json() -> str:
    """The registry the API function reads (JEVS_PARTIES): client ids and parties, no secrets; the demo parties
    and the second parties of the tests."""
    return json.dumps([client.model_dump(mode="json") for client in (*registered_clients(), *SECOND_PARTIES)])


# The demo parties' OAuth2 client ids (infrastructure/local/parties.json).
ISSUING_BODY = "local-akl-chamber"
EXPORTER = "local-kauri-dairy"  # box 1 of the example certificate
OTHER_EXPORTER = "local-tui-wines"
NZ_CUSTOMS = "local-nz-customs"
CN_CUSTOMS = "local-cn-customs"
OPS = "local-ops"


def client_scope(client_id: str) -> str:
    """The scope Cognito grants the client: its party type's (an unregistered client gets none at all)."""
    party = next(
        (client.party for client in (*registered_clients(), *SECOND_PARTIES) if client.client_id == client_id), None
    )
    return party_scope(party.type) if party is not None else ""


def api_event(
    method: str,
    path: str,
    *,
    body: str | dict[str, Any] | None = None,
    client_id: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    scope: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event, as a Cognito user pool authorizer passes it on: the token's scope is
    ``scope``, or the one Cognito grants the client's party (of the tests' registry); ``base64_body``: the body is
    base64, as API Gateway passes one that is not UTF-8 text."""
    all_headers = {"Host": "api.jevs.test", "Accept": "application/json"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    text = json.dumps(body) if isinstance(body, dict) else body
    claims = (
        {
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": scope if scope is not None else client_scope(client_id),
            "iss": "https://cognito",
        }
        if client_id
        else None
    )
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "jevsapi",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 1_764_000_000_000,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "authorizer": {"claims": claims} if claims else None,
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


@dataclass
class LambdaContext:
    function_name: str = "jevs-api"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-2:123456789012:function:jevs-api"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/jevs-api"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
