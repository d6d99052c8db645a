"""Verification of origin through the API function and the overseer, against moto in process (DESIGN.md §3, §5):
China raises a request, the parties involved read it (anyone else: 404), the issuing body answers with documents
(kept in the documents bucket, whose default encryption is the data key in AWS; the answer to China in the
outbox), China closes it; refusals are 404, 409 and 413; the overseer flags a request left unanswered past its due
date and emits its metric."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from infrastructure.local.functions import FunctionSet
from infrastructure.local.provision import Provisioned
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.messages import OUTBOX_MESSAGE, DeliverToChina
from jevs.domain.new_zealand import new_zealand_date
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, LambdaContext
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import partition_outbox, submit_certificate
from tests.problems import problem_type

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
MIB = 1024 * 1024
_keys = itertools.count(1)


def today() -> date:
    return new_zealand_date(datetime.now(UTC))


def post(call_api: ApiCall, path: str, body: dict[str, Any], client_id: str) -> dict[str, Any]:
    return call_api("POST", path, body=body, client_id=client_id, headers={"Idempotency-Key": f"v-{next(_keys)}"})


def raise_request(call_api: ApiCall, **body: Any) -> dict[str, Any]:
    response = post(
        call_api,
        "/v1/verification-requests",
        {"certificate_number": NUMBER, "questions": ["Where was the milk collected?"], **body},
        CN_CUSTOMS,
    )
    assert response["statusCode"] == 201, response
    raised: dict[str, Any] = response["json"]
    return raised


def attachment(content: bytes, name: str = "cost-statement.pdf", media_type: str = "application/pdf") -> dict[str, str]:
    return {"name": name, "media_type": media_type, "content_base64": base64.b64encode(content).decode()}


def answer(
    call_api: ApiCall, request_id: str, attachments: list[dict[str, str]] | None = None, client_id: str = ISSUING_BODY
) -> dict[str, Any]:
    body = {"text": "All raw milk from Waikato farms.", "attachments": attachments or [attachment(PDF)]}
    return post(call_api, f"/v1/verification-requests/{request_id}/response", body, client_id)


def close(call_api: ApiCall, request_id: str) -> dict[str, Any]:
    body = {"conclusion": "ORIGIN_CONFIRMED", "text": "Origin confirmed."}
    return post(call_api, f"/v1/verification-requests/{request_id}/closure", body, CN_CUSTOMS)


@pytest.fixture(autouse=True)
def certificate(call_api: ApiCall) -> None:
    submit_certificate(call_api)


def test_china_raises_a_request_that_answers_201_with_its_location_and_the_default_due_date(call_api: ApiCall) -> None:
    raised = raise_request(call_api)

    assert raised["status"] == "OPEN"
    assert raised["overdue"] is False
    assert date.fromisoformat(raised["due_date"]) > today() + timedelta(days=80)
    assert raised["links"]["self"] == f"/v1/verification-requests/{raised['id']}"


@pytest.mark.parametrize("client_id", [CN_CUSTOMS, NZ_CUSTOMS, ISSUING_BODY])
def test_the_parties_involved_read_and_list_it(call_api: ApiCall, client_id: str) -> None:
    raised = raise_request(call_api)

    one = call_api("GET", f"/v1/verification-requests/{raised['id']}", client_id=client_id)
    listed = call_api("GET", "/v1/verification-requests", client_id=client_id)

    assert (one["statusCode"], one["json"]["id"]) == (200, raised["id"])
    assert [each["id"] for each in listed["json"]["items"]] == [raised["id"]]


def test_the_listing_filters_by_status_and_refuses_a_cursor_it_did_not_issue(call_api: ApiCall) -> None:
    answered, waiting = raise_request(call_api), raise_request(call_api)
    answer(call_api, answered["id"])

    listed = call_api("GET", "/v1/verification-requests", client_id=NZ_CUSTOMS, query={"status": "OPEN"})
    refused = call_api("GET", "/v1/verification-requests", client_id=NZ_CUSTOMS, query={"cursor": "bm90LW91cnM"})

    assert [each["id"] for each in listed["json"]["items"]] == [waiting["id"]]
    assert (refused["statusCode"], refused["json"]["type"]) == (400, problem_type("invalid-cursor"))


def test_a_question_over_its_length_is_422(call_api: ApiCall) -> None:
    body = {"certificate_number": NUMBER, "questions": ["?" * 2_001]}

    response = post(call_api, "/v1/verification-requests", body, CN_CUSTOMS)

    assert (response["statusCode"], response["json"]["errors"][0]["field"]) == (422, "questions[0]")


def test_a_party_not_involved_is_told_it_does_not_exist(call_api: ApiCall) -> None:
    raised = raise_request(call_api)

    response = call_api("GET", f"/v1/verification-requests/{raised['id']}", client_id=EXPORTER)

    assert (response["statusCode"], response["json"]["type"]) == (404, problem_type("not-found"))


def test_a_request_about_a_certificate_that_does_not_exist_is_404(call_api: ApiCall) -> None:
    body = {"certificate_number": "11.1234.99999", "questions": ["?"]}

    response = post(call_api, "/v1/verification-requests", body, CN_CUSTOMS)

    assert response["statusCode"] == 404


def test_the_answer_keeps_its_documents_in_the_bucket_and_queues_the_answer_to_china(
    call_api: ApiCall, aws_resources: Provisioned
) -> None:
    raised = raise_request(call_api)

    answered = answer(call_api, raised["id"])

    assert answered["statusCode"] == 200, answered
    (document,) = answered["json"]["answer"]["attachments"]
    stored = boto3.client("s3").get_object(
        Bucket=aws_resources.documents_bucket, Key=f"verification/{raised['id']}/{document['sha256']}"
    )
    assert stored["Body"].read() == PDF
    download = call_api("GET", document["href"], client_id=CN_CUSTOMS, headers={"Accept": "application/pdf"})
    assert (download["statusCode"], download["headers"]["content-type"]) == (200, "application/pdf")
    assert download["isBase64Encoded"] is True
    # Asked for otherwise, API Gateway would send its base64 text: refused, saying what to ask for.
    refused = call_api("GET", document["href"], client_id=CN_CUSTOMS, headers={"Accept": "*/*"})
    assert refused["statusCode"] == 406
    assert "not-acceptable" in refused["json"]["type"]
    messages = [
        OUTBOX_MESSAGE.validate_json(body) for body in partition_outbox(f"CERTIFICATE#{NUMBER}", DeliverToChina)
    ]
    (to_china,) = [
        m for m in messages if isinstance(m, DeliverToChina) and m.body.message_type == "verification.response"
    ]
    assert to_china.delivery_key == f"{NUMBER}/verification/{raised['id']}"


def test_every_step_is_an_event_in_the_certificate_history(call_api: ApiCall) -> None:
    raised = raise_request(call_api)
    answer(call_api, raised["id"])
    close(call_api, raised["id"])

    history = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=ISSUING_BODY)["json"]

    assert history["chain"]["valid"]
    assert [event["type"] for event in history["events"]][-3:] == [
        "VERIFICATION_REQUESTED",
        "VERIFICATION_ANSWERED",
        "VERIFICATION_CLOSED",
    ]


def test_an_answer_after_closure_is_409(call_api: ApiCall) -> None:
    raised = raise_request(call_api)
    assert close(call_api, raised["id"])["statusCode"] == 200

    response = answer(call_api, raised["id"])

    assert (response["statusCode"], response["json"]["type"]) == (409, problem_type("verification-closed"))


def test_closing_twice_is_409(call_api: ApiCall) -> None:
    raised = raise_request(call_api)
    close(call_api, raised["id"])

    response = close(call_api, raised["id"])

    assert response["statusCode"] == 409


def test_an_attachment_over_its_limit_is_413(call_api: ApiCall) -> None:
    raised = raise_request(call_api)

    response = answer(call_api, raised["id"], [attachment(PDF + b" " * MIB)])

    assert (response["statusCode"], response["json"]["errors"][0]["field"]) == (413, "attachments[0]")


def test_attachments_over_the_total_limit_are_413(call_api: ApiCall) -> None:
    raised = raise_request(call_api)
    each = attachment(PDF + b" " * (MIB - len(PDF)))

    response = answer(call_api, raised["id"], [each, each, each, attachment(PDF, name="more.pdf")])

    assert (response["statusCode"], response["json"]["errors"][0]["field"]) == (413, "attachments")


def test_a_body_over_the_answer_limit_is_413_before_any_route(call_api: ApiCall) -> None:
    raised = raise_request(call_api)
    huge = [attachment(PDF + b" " * (MIB - len(PDF)), name=f"part-{n}.pdf") for n in range(5)]

    response = answer(call_api, raised["id"], huge)

    assert (response["statusCode"], response["json"]["errors"][0]["field"]) == (413, "body")


def test_a_document_whose_bytes_are_not_its_declared_type_is_422(call_api: ApiCall) -> None:
    raised = raise_request(call_api)

    response = answer(call_api, raised["id"], [attachment(b"MZ\x90\x00 not a pdf")])

    assert (response["statusCode"], response["json"]["errors"][0]["field"]) == (422, "attachments[0].content_base64")


def overseer_run(functions: FunctionSet) -> dict[str, Any]:
    event = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    result: dict[str, Any] = functions.overseer(event, LambdaContext("jevs-overseer"))
    return result


def test_the_overseer_flags_an_unanswered_request_past_its_due_date_and_emits_the_metric(
    call_api: ApiCall, functions: FunctionSet, records: TableUnitOfWork, capsys: pytest.CaptureFixture[str]
) -> None:
    raised = raise_request(call_api)
    # The request as if raised long ago: its due date passed a week ago, unanswered.
    stored = records.verification_requests.get(raised["id"])
    assert stored is not None
    past = stored.model_copy(update={"due_date": today() - timedelta(days=7)})
    records.verification_requests.replace(stored, past.model_copy(update={"revision": stored.revision + 1}))
    records.commit()
    capsys.readouterr()

    first = overseer_run(functions)
    output = capsys.readouterr().out

    assert first["verification_overdue"]["flagged"] == [raised["id"]]
    assert overseer_metric(output, "VerificationRequestsOverdue") == 1
    read = call_api("GET", f"/v1/verification-requests/{raised['id']}", client_id=ISSUING_BODY)["json"]
    assert read["overdue"] is True
    assert overseer_run(functions)["verification_overdue"] == {
        "count": 1,
        "overdue": first["verification_overdue"]["overdue"],
        "flagged": [],
    }


def overseer_metric(output: str, name: str) -> float:
    """The value of metric ``name`` in the EMF documents the run printed."""
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document and name in document:
            value = document[name]
            return float(value[0] if isinstance(value, list) else value)
    raise AssertionError(f"no {name} metric in the output")
