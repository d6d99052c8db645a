"""Hosted issuing on the local stack, over HTTP (issue 6): goods lodged → approved → signatory approved →
application → certified → certificate readable, PDF downloadable, the email with the PDF captured by the local
SES, NZ Customs' data file in the exchange bucket."""

from __future__ import annotations

import email
import itertools
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
import pytest

from infrastructure.local.stack import LocalStack
from jevs.resources import EXCHANGE_BUCKET, RECORDS_TABLE
from tests.e2e.conftest import token_source
from tests.factories import application_payload, goods_payload, signatory_payload, today_in_new_zealand

pytestmark = pytest.mark.e2e

ISSUER, EXPORTER = "local-akl-chamber", "local-kauri-dairy"
_keys = itertools.count(1)


class Parties:
    def __init__(self, stack: LocalStack) -> None:
        self.http = httpx.Client(base_url=stack.api_url, timeout=15)
        self.token_for = token_source(stack)

    def post(self, client_id: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token_for(client_id)}", "Idempotency-Key": f"e2e-{next(_keys)}"}
        return self.http.post(path, json=body, headers=headers)

    def get(self, client_id: str, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token_for(client_id)}"}
        if path.endswith("/document"):
            headers["Accept"] = "application/pdf"
        return self.http.get(path, headers=headers)


@pytest.fixture(scope="module")
def parties(stack: LocalStack) -> Iterator[Parties]:
    caller = Parties(stack)
    yield caller
    caller.http.close()


def eventually(probe: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_goods_to_certificate_with_its_pdf_email_and_nz_customs_file(stack: LocalStack, parties: Parties) -> None:
    # The exporter registers goods and a signatory; the chamber approves both.
    goods = parties.post(EXPORTER, "/v1/goods-registrations", goods_payload())
    assert goods.status_code == 201, goods.text
    until = (today_in_new_zealand() + timedelta(days=365)).isoformat()
    approved = parties.post(ISSUER, goods.json()["links"]["decision"], {"decision": "APPROVED", "valid_until": until})
    assert approved.status_code == 200, approved.text
    signatory = parties.post(EXPORTER, "/v1/signatories", signatory_payload())
    assert parties.post(ISSUER, signatory.json()["links"]["decision"], {"decision": "APPROVED"}).status_code == 200

    # The exporter applies; the chamber certifies.
    application = parties.post(
        EXPORTER, "/v1/applications", application_payload(signatory.json()["id"], [goods.json()["id"]])
    )
    assert application.status_code == 201, application.text
    certified = parties.post(ISSUER, f"{application.json()['links']['self']}/certification")
    assert certified.status_code == 201, certified.text
    number = certified.json()["certificate_number"]

    # The certificate is readable, and its PDF downloadable once rendered.
    assert parties.get(EXPORTER, f"/v1/certificates/{number}").json()["status"] == "ISSUED"
    document = eventually(
        lambda: (
            (response := parties.get(EXPORTER, f"/v1/certificates/{number}/document")).status_code == 200 and response
        )
    )
    assert document, "the PDF was never rendered"
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")

    # The applicant got the email with the PDF attached, through the local SES.
    def the_email() -> Message | None:
        for raw in stack.sent_emails():
            message = email.message_from_bytes(raw) if isinstance(raw, bytes) else email.message_from_string(raw)
            if number in str(message.get("Subject", "")):
                return message
        return None

    message = eventually(the_email)
    assert message is not None, "no email was sent"
    assert "aroha.ngata@kauri-dairy.example.nz" in str(message["To"])
    attachments = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    payload = attachments[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.startswith(b"%PDF")

    # NZ Customs' data file is in the exchange bucket.
    s3 = stack.aws_client("s3")

    def data_file() -> dict[str, Any] | None:
        listed = s3.list_objects_v2(Bucket=EXCHANGE_BUCKET.local_name, Prefix=f"nz-customs/certificates/{number}/")
        keys = [entry["Key"] for entry in listed.get("Contents", [])]
        if not keys:
            return None
        document: dict[str, Any] = json.loads(
            s3.get_object(Bucket=EXCHANGE_BUCKET.local_name, Key=keys[0])["Body"].read()
        )
        return document

    filed = eventually(data_file)
    assert filed, "NZ Customs' data file never arrived"
    assert number in json.dumps(filed)
    assert "commercial" not in json.dumps(filed)


def test_each_decision_is_an_event_in_its_records_history_and_an_edit_in_the_table_breaks_it(
    stack: LocalStack, parties: Parties
) -> None:
    # Given goods and a signatory approved, and an application certified, over HTTP
    goods = parties.post(EXPORTER, "/v1/goods-registrations", goods_payload()).json()
    until = (today_in_new_zealand() + timedelta(days=365)).isoformat()
    parties.post(ISSUER, goods["links"]["decision"], {"decision": "APPROVED", "valid_until": until})
    signatory = parties.post(EXPORTER, "/v1/signatories", signatory_payload()).json()
    parties.post(ISSUER, signatory["links"]["decision"], {"decision": "APPROVED"})
    application = parties.post(EXPORTER, "/v1/applications", application_payload(signatory["id"], [goods["id"]])).json()
    assert parties.post(ISSUER, application["links"]["decision"]).status_code == 201

    # Then each record's history is its lodging and its decision, and each chain verifies
    histories = {
        record["id"]: parties.get(EXPORTER, record["links"]["history"]).json()
        for record in (goods, signatory, application)
    }
    assert {record_id: [event["type"] for event in read["events"]] for record_id, read in histories.items()} == {
        goods["id"]: ["GOODS_REGISTRATION_LODGED", "GOODS_REGISTRATION_APPROVED"],
        signatory["id"]: ["SIGNATORY_LODGED", "SIGNATORY_APPROVED"],
        application["id"]: ["APPLICATION_LODGED", "APPLICATION_CERTIFIED"],
    }
    assert all(read["chain"]["valid"] for read in histories.values())

    # When the certification's event is edited in the table directly
    dynamodb = stack.aws_client("dynamodb")
    key = {
        "pk": {"S": f"EXPORTER#{goods['exporter_business_number']}"},
        "sk": {"S": f"EVENT#{application['id']}#00000002"},
    }
    event = json.loads(dynamodb.get_item(TableName=RECORDS_TABLE.name, Key=key)["Item"]["event"]["S"])
    event["details"]["certificate_number"] = "11.2026.99999"
    dynamodb.update_item(
        TableName=RECORDS_TABLE.name,
        Key=key,
        UpdateExpression="SET #e = :e",
        ExpressionAttributeNames={"#e": "event"},
        ExpressionAttributeValues={":e": {"S": json.dumps(event)}},
    )

    # Then the application's history reports its chain broken at that event
    chain = parties.get(ISSUER, application["links"]["history"]).json()["chain"]
    assert (chain["valid"], chain["broken_at"]) == (False, 2)
