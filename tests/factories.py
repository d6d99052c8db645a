"""Small factories for test inputs in their real shapes: certificates as partners send them, API Gateway
REST proxy events as Lambda receives them, and a Lambda context."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jevs.adapters.party_registry import RegisteredClient

EXAMPLE_CERTIFICATE = Path(__file__).parent.parent / "infrastructure" / "local" / "examples" / "certificate.json"
EXAMPLE_DECLARATION = EXAMPLE_CERTIFICATE.with_name("declaration.json")
PARTIES_FILE = Path(__file__).parent.parent / "infrastructure" / "local" / "parties.json"


@cache
def _example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE_CERTIFICATE.read_text(encoding="utf-8"))
    return document


def certificate_payload(**overrides: Any) -> dict[str, Any]:
    """The example certificate of DESIGN §5 as a fresh dict; top-level fields replaced by ``overrides``."""
    payload = copy.deepcopy(_example())
    payload.update(overrides)
    return payload


def declaration_payload(**overrides: Any) -> dict[str, Any]:
    """The example import declaration of DESIGN §5 (it matches the example certificate); fields replaced."""
    payload: dict[str, Any] = json.loads(EXAMPLE_DECLARATION.read_text(encoding="utf-8"))
    payload.update(overrides)
    return payload


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


def today_in_new_zealand() -> date:
    """The day JEVS dates what it issues (a machine on UTC may still be on yesterday)."""
    return datetime.now(ZoneInfo("Pacific/Auckland")).date()


# -- hosted issuing (tests/integration/hosted_support.py drives these through the API) ----------------------


def goods_payload(**overrides: Any) -> dict[str, Any]:
    goods: dict[str, Any] = {
        "issuing_body": "akl-chamber",
        "hs_code": "040221",
        "description": "Whole milk powder, 26% fat, in 25 kg bags",
        "origin_criterion": "WO",
        "producer": {"disclosure": "SAME"},
        "evidence": {
            "statement": "Milk from our own farms in Waikato, dried at our Te Rapa plant.",
            "currency": "NZD",
            "cost_build_up": [{"component": "raw milk", "origin_country": "NZ", "value": "3.10"}],
            "suppliers": ["Kauri Dairy farms"],
        },
    }
    goods.update(overrides)
    return goods


def signatory_payload(**overrides: Any) -> dict[str, Any]:
    person = {
        "issuing_body": "akl-chamber",
        "name": "Aroha Ngata",
        "position": "Export Manager",
        "email": "aroha.ngata@kauri-dairy.example.nz",
        "phone": "+64 9 555 0100",
    }
    person.update(overrides)
    return person


def application_payload(signatory_id: str, registration_ids: list[str], **overrides: Any) -> dict[str, Any]:
    example = certificate_payload()
    item = example["items"][0]
    application: dict[str, Any] = {
        "issuing_body": "akl-chamber",
        "signatory_id": signatory_id,
        "exporter": example["exporter"],
        "producer": example["producer"],
        "consignee": example["consignee"],
        "transport": {**example["transport"], "departure_date": today_in_new_zealand().isoformat()},
        "remarks": "",
        "items": [
            {
                "item_number": n,
                "goods_registration_id": registration_id,
                "marks_and_numbers": item["marks_and_numbers"],
                "packages": item["packages"],
                "quantity": item["quantity"],
                "gross_weight_kg": item["gross_weight_kg"],
                "invoice": item["invoice"],
            }
            for n, registration_id in enumerate(registration_ids, start=1)
        ],
    }
    application.update(overrides)
    return application


def item_payload(item_number: int, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = copy.deepcopy(_example()["items"][0])
    item["item_number"] = item_number
    item.update(overrides)
    return item


@cache
def registered_clients() -> tuple[RegisteredClient, ...]:
    document = json.loads(PARTIES_FILE.read_text(encoding="utf-8"))
    return tuple(RegisteredClient.model_validate(client) for client in document["clients"])


def parties_json() -> str:
    """The registry the API function reads (JEVS_PARTIES): client ids and parties, no secrets."""
    return json.dumps([client.model_dump(mode="json") for client in registered_clients()])


# The demo parties' OAuth2 client ids (infrastructure/local/parties.json).
ISSUING_BODY = "local-akl-chamber"
EXPORTER = "local-kauri-dairy"  # box 1 of the example certificate
OTHER_EXPORTER = "local-tui-wines"
NZ_CUSTOMS = "local-nz-customs"
CN_CUSTOMS = "local-cn-customs"
OPS = "local-ops"


def api_event(
    method: str,
    path: str,
    *,
    body: str | dict[str, Any] | None = None,
    client_id: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event, as a Cognito user pool authorizer passes it on."""
    all_headers = {"Host": "api.jevs.test", "Accept": "application/json"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    text = json.dumps(body) if isinstance(body, dict) else body
    claims = (
        {"sub": client_id, "client_id": client_id, "token_use": "access", "scope": "jevs/api", "iss": "https://cognito"}
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
        "isBase64Encoded": False,
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
