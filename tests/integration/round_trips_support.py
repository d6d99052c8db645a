"""Counting the AWS calls of each operation (DESIGN.md §8): every function built by the composition root over AWS
clients whose every call is counted by a botocore event hook, against moto in process, driven as Lambda drives
them (API Gateway events, the table's stream, SQS events) and delivering to China's simulator.

Used by tests/integration/test_round_trips.py (which pins the counts) and benchmarks/round_trips.py (which
tabulates them, and feeds the cost model).
"""

from __future__ import annotations

import base64
import itertools
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from infrastructure.local import moto_speedup
from infrastructure.local.china_customs import ChinaCustomsSimulator
from infrastructure.local.functions import FunctionSet, LocalOptions, build_functions
from infrastructure.local.provision import Provisioned, create_resources
from infrastructure.local.request_bodies import preference_decision_payload
from jevs.adapters.aws import AwsClients
from jevs.adapters.kms_signer import KmsSigner
from jevs.bootstrap import Handler
from jevs.resources import DECLARATIONS_QUEUE, DELIVERY_QUEUE, NOTIFICATIONS_QUEUE, QueueDefinition
from tests.factories import (
    CN_CUSTOMS,
    ISSUING_BODY,
    LambdaContext,
    certificate_payload,
    declaration_payload,
    item_payload,
    parties_json,
)
from tests.integration.conftest import VERIFICATION_BASE_URL, ApiCall, api_caller
from tests.integration.hosted_support import lodged_application
from tests.integration.messaging_support import stream_event, taken

# Every service a function has a client for (jevs.adapters.aws.AwsClients).
SERVICES = ("dynamodb", "dynamodbstreams", "sqs", "kms", "s3", "secretsmanager", "sesv2")
# Each queue and the function Lambda feeds its messages to.
CONSUMERS: tuple[tuple[QueueDefinition, str], ...] = (
    (DELIVERY_QUEUE, "dispatcher"),
    (DECLARATIONS_QUEUE, "matcher"),
    (NOTIFICATIONS_QUEUE, "notifier"),
)


@dataclass
class FreshInvocation(LambdaContext):
    """An invocation with its whole timeout ahead (the dispatcher attempts a message only with time for it)."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def call_name(service_id: str, operation: str) -> str:
    """How a call is counted: ``DynamoDB.TransactWriteItems``."""
    return f"{service_id}.{operation}"


class RoundTrips:
    """Every function over counted clients, on resources provisioned in moto (in process), delivering to
    ``china_endpoint``. ``calls`` counts every AWS call any function made since the last ``taken``."""

    def __init__(self, resources: Provisioned, china_endpoint: str, overrides: Mapping[str, Any] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        # Per function: its invocations, the AWS calls they made, and how long each took (warm, in process).
        self.invocations: Counter[str] = Counter()
        self.function_calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.durations: defaultdict[str, list[float]] = defaultdict(list)
        aws = AwsClients()
        for service in SERVICES:
            events = getattr(aws, service).meta.events
            events.register("before-call.*.*", self._count)
            events.register("before-parameter-build.*.*", self._measure)
        aws.dynamodb.meta.events.register("after-call.dynamodb.*", self._capacity)
        # Reads what an update wrote, to size it: a client of its own, so uncounted.
        self._sizer = boto3.client("dynamodb")
        # DynamoDB's on-demand units (WRU, RRU) the calls consumed, as DynamoDB sizes them.
        self.units: defaultdict[str, float] = defaultdict(float)
        self.function_units: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        options = LocalOptions(
            parties=parties_json(),
            china_customs_endpoint=china_endpoint,
            verification_base_url=VERIFICATION_BASE_URL,
            overrides=overrides or {},
        )
        self.functions: FunctionSet = build_functions(resources, options, aws)
        self.call_api: ApiCall = api_caller(lambda event, context: self._invoke("api", self.functions.api, event))
        # Where the relay's reading of the table's stream has got to, by shard (as the event source mapping keeps).
        self._stream_read: dict[str, str] = {}
        # The largest DynamoDB item written and SQS message sent (bytes, as each service counts them).
        self.largest_item = 0
        self.largest_message = 0

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[call_name(model.service_model.service_id, model.name)] += 1

    def _measure(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["round_trips_params"] = params
        for item in _items_written(model.name, params):
            self.largest_item = max(self.largest_item, dynamodb_item_bytes(item))
        if model.name == "SendMessage":
            self.largest_message = max(self.largest_message, len(params["MessageBody"].encode()))

    def _capacity(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """The units a successful DynamoDB call consumed: a write 1 WRU per KB of each item written (an update's
        item as it is after it), twice in a transaction; a strongly consistent read 1 RRU per 4 KB returned."""
        params = context.get("round_trips_params", {})
        if "Error" in parsed:
            return
        if model.name in ("GetItem", "Query"):
            returned = [parsed["Item"]] if "Item" in parsed else parsed.get("Items", [])
            size = sum(dynamodb_item_bytes(item) for item in returned)
            # An eventually consistent read (a query of an index) costs half.
            self.units["RRU"] += max(1, -(-size // 4096)) * (1 if params.get("ConsistentRead") else 0.5)
        elif model.name == "PutItem":
            self.units["WRU"] += _write_units(dynamodb_item_bytes(params["Item"]))
        elif model.name == "UpdateItem":
            self.units["WRU"] += _write_units(self._stored_bytes(params["TableName"], params["Key"]))
        elif model.name == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((kind, request),) = action.items()
                written = request["Item"] if kind == "Put" else None
                size = (
                    dynamodb_item_bytes(written)
                    if written
                    else self._stored_bytes(request["TableName"], request["Key"])
                )
                self.units["WRU"] += 2 * _write_units(size)

    def _stored_bytes(self, table: str, key: dict[str, Any]) -> int:
        item = self._sizer.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return dynamodb_item_bytes(item) if item else 0

    def taken(self) -> Counter[str]:
        """The calls counted since the last time, and a fresh count from here."""
        calls, self.calls = self.calls, Counter()
        return calls

    def _invoke(self, name: str, handler: Handler, event: dict[str, Any]) -> Any:
        before, units_before = self.calls.copy(), dict(self.units)
        started = time.perf_counter()
        result = handler(event, FreshInvocation(function_name=f"jevs-{name}"))
        self.durations[name].append(time.perf_counter() - started)
        self.invocations[name] += 1
        self.function_calls[name].update(self.calls - before)
        for unit, value in self.units.items():
            self.function_units[name][unit] += value - units_before.get(unit, 0)
        return result

    def relay(self, *, together: bool = False) -> int:
        """The outbox relay on each outbox record the table's stream brought since the last time (as the stream's
        filter lets only those through), one record per invocation, or ``together`` in one: how many."""
        records = stream_event(after=self._stream_read)["Records"]
        outbox = [
            record
            for record in records
            if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["sk"]["S"].startswith("OUTBOX#")
        ]
        for batch in [outbox] if together and outbox else [[record] for record in outbox]:
            assert self._invoke("relay", self.functions.relay, {"Records": batch}) == {"batchItemFailures": []}
        return len(outbox)

    def consume(self, queue: QueueDefinition) -> int:
        """Each message on ``queue`` taken off it and given to its consumer, one message per invocation: how many."""
        name = dict(CONSUMERS)[queue]
        handler: Handler = getattr(self.functions, name)
        records = taken(queue)["Records"]
        for record in records:
            assert self._invoke(name, handler, {"Records": [record]}) == {"batchItemFailures": []}
        return len(records)

    def settle(self) -> None:
        """Relay and consume until nothing is left to do: every message published, delivered and handled."""
        while self.relay() + sum(self.consume(queue) for queue, _ in CONSUMERS):
            pass


def _items_written(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole items a DynamoDB write puts (an update's size is the item's after it, not counted here)."""
    if operation == "PutItem":
        return [params["Item"]]
    if operation == "TransactWriteItems":
        return [action["Put"]["Item"] for action in params["TransactItems"] if "Put" in action]
    return []


def _write_units(size: int) -> int:
    return max(1, -(-size // 1024))


def dynamodb_item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it against its 400 KB limit: each attribute's name and value, in UTF-8
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return (len(content.lstrip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_bytes(inner) for name, inner in content.items())
    if kind == "L":
        return 3 + sum(1 + _value_bytes(inner) for inner in content)
    # SS, NS, BS: each member as its scalar.
    return sum(_value_bytes({kind[0]: member}) for member in content)


@contextmanager
def provisioned() -> Iterator[Provisioned]:
    """Fresh moto state in process with every resource, outside pytest (the benchmark): the settings every tier's
    conftest gives, moto's dummy credentials and the region JEVS runs in; moto patched as the local stack's is
    (``moto_speedup``: a transaction no longer copies the whole table, which made each one cost as much as the
    table held, most of the benchmark's time; the contract tier holds both to the same answers)."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "ap-southeast-2",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_NAMESPACE": "JEVS",
        }
    )
    with mock_aws(), moto_speedup.applied():
        yield create_resources(lambda service: boto3.client(service))  # type: ignore[call-overload]


@contextmanager
def china_simulator(resources: Provisioned) -> Iterator[ChinaCustomsSimulator]:
    """China's simulator, verifying signatures with the signing key's public half read with a client of its own."""
    signer = KmsSigner(boto3.client("kms"), resources.signing_key_id)
    with ChinaCustomsSimulator(signer.jwks) as simulator:
        yield simulator


# -- the operations measured -------------------------------------------------------------------------------------

NUMBER = "11.1234.12345"
_keys = itertools.count(1)


def post(trips: RoundTrips, path: str, body: dict[str, Any] | None, client_id: str, key: str | None = None) -> Any:
    response = trips.call_api(
        "POST", path, body=body, client_id=client_id, headers={"Idempotency-Key": key or f"rt-{next(_keys)}"}
    )
    assert response["statusCode"] in (200, 201, 202), response
    return response.get("json")


def submit(trips: RoundTrips, number: str = NUMBER, items: int = 1, key: str | None = None) -> None:
    """Certificate ``number`` of ``items`` items, each of ample quantity under an invoice number at its longest."""
    invoice = {**item_payload(1)["invoice"], "number": INVOICE_NUMBER}
    body = certificate_payload(
        certificate_number=number,
        items=[item_payload(n, quantity=ITEM_QUANTITY, invoice=invoice) for n in range(1, items + 1)],
    )
    post(trips, "/v1/certificates", body, ISSUING_BODY, key or f"c-{number}")


def longest_lines(count: int, quantity: str = "1.125", *, mismatched: bool = False) -> list[dict[str, Any]]:
    """``count`` declaration lines with every field at its longest (a body of that many lines at its heaviest),
    quoting a 20-item certificate's items in turn, each drawing ``quantity`` KGM; ``mismatched``: each line
    disagreeing with its item on all four checks (tariff code, origin, quantity, invoice), so that the result
    lists four discrepancies a line, the most it can."""
    return [
        {
            "line_number": n,
            "certificate_item_number": (n - 1) % 20 + 1,
            "hs_code": "999999100012" if mismatched else "040221100012",
            "origin_country": "AU" if mismatched else "NZ",
            "quantity": {"value": "999999999.125" if mismatched else quantity, "unit": "KGM"},
            "invoice_number": "X" * 35 if mismatched else INVOICE_NUMBER,
        }
        for n in range(1, count + 1)
    ]


def lodge(
    trips: RoundTrips, lines: int = 1, client_id: str = CN_CUSTOMS, number: str = NUMBER, **overrides: Any
) -> None:
    """A declaration of ``lines`` lines quoting certificate ``number`` (of 20 items), lodged by ``client_id``."""
    body = declaration_payload(certificate_number=number, lines=longest_lines(lines), **overrides)
    post(trips, "/v1/declarations", body, client_id)


# Enough of each item for any number of declaration lines.
ITEM_QUANTITY = {"value": "100000", "unit": "KGM"}
# An invoice number at its longest (35 characters): the certificate's items and the declarations' lines quote it.
INVOICE_NUMBER = "INV-2026-0042-" + "0" * 21


def application(trips: RoundTrips) -> str:
    """An exporter's application lodged with its issuing body (its goods and signatory approved first): its id."""
    return lodged_application(trips.call_api)


def certify(trips: RoundTrips, application_id: str) -> None:
    """The application certified by its issuing body (hosted issuing): a certificate issued."""
    post(trips, f"/v1/applications/{application_id}/certification", None, ISSUING_BODY)


def replace(trips: RoundTrips, number: str = NUMBER, replacement: str = "11.1234.20001") -> None:
    corrected = certificate_payload(certificate_number=replacement, remarks="Invoice date corrected")
    body = {"reason": "Invoice date corrected", "certificate": corrected}
    post(trips, f"/v1/certificates/{number}/replacement", body, ISSUING_BODY)


def revoke(trips: RoundTrips, number: str = NUMBER) -> None:
    post(trips, f"/v1/certificates/{number}/revocation", {"reason": "Origin not proven"}, ISSUING_BODY)


def certified_true_copy(trips: RoundTrips, number: str = NUMBER) -> None:
    post(trips, f"/v1/certificates/{number}/certified-true-copy", {"reason": "Original lost in transit"}, ISSUING_BODY)


def decide_preference(trips: RoundTrips, number: str, declaration_number: str) -> None:
    """China Customs' preference decision on its declaration ``declaration_number`` quoting ``number``."""
    body = preference_decision_payload(declaration_number=declaration_number)
    post(trips, f"/v1/certificates/{number}/preference-decisions", body, CN_CUSTOMS)


def raise_verification(trips: RoundTrips, number: str = NUMBER) -> str:
    body = {"certificate_number": number, "questions": ["Where was the milk collected?"]}
    return str(post(trips, "/v1/verification-requests", body, CN_CUSTOMS)["id"])


# A document as an answer attaches it: the smallest PDF its type check takes.
ANSWER_DOCUMENT = {
    "name": "cost-statement.pdf",
    "media_type": "application/pdf",
    "content_base64": base64.b64encode(b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").decode(),
}


def answer_verification(trips: RoundTrips, request_id: str) -> None:
    body = {"text": "All raw milk from Waikato farms.", "attachments": [ANSWER_DOCUMENT]}
    post(trips, f"/v1/verification-requests/{request_id}/response", body, ISSUING_BODY)


def listed(trips: RoundTrips, path: str, client_id: str, **query: str) -> None:
    response = trips.call_api("GET", path, client_id=client_id, query=query or None)
    assert response["statusCode"] == 200, response
