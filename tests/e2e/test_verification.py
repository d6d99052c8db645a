"""Verification of origin on the local stack, over HTTP as its partners call it (DESIGN.md §3, §5): China Customs
raises a request, the parties involved read and list it (anyone else: 404), the issuing body answers with a
document, the answer reaches China Customs (the simulator, which verifies every signature) as
``verification.response``, China closes it; and each refusal: 404, 409, 413, 422."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infrastructure.local.china_customs import ChinaCustomsSimulator, MessageType
from infrastructure.local.stack import LocalStack
from tests.e2e.partners import CN_CUSTOMS, EXPORTER, ISSUER, NZ_CUSTOMS, OTHER_EXPORTER, Partners
from tests.problems import problem_type

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
MIB = 1024 * 1024
PATH = "/v1/verification-requests"


@pytest.fixture(scope="module")
def partners(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


@pytest.fixture
def china(stack: LocalStack) -> ChinaCustomsSimulator:
    assert stack.china is not None, "the e2e stack delivers to its own simulator"
    return stack.china


def raised(partners: Partners) -> dict[str, Any]:
    """A request China Customs raised about a new certificate."""
    number = partners.certificate()
    body = {"certificate_number": number, "questions": ["Which farms supplied the raw milk?"], "due_date": "2099-01-31"}
    response = partners.post(PATH, body, CN_CUSTOMS)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{PATH}/{response.json()['id']}"
    found: dict[str, Any] = response.json()
    return found


def document(content: bytes, name: str = "cost-statement.pdf", media_type: str = "application/pdf") -> dict[str, str]:
    return {"name": name, "media_type": media_type, "content_base64": base64.b64encode(content).decode()}


def answer(
    partners: Partners, request_id: str, documents: list[dict[str, str]] | None = None, client_id: str = ISSUER
) -> httpx.Response:
    body = {"text": "All raw milk came from the exporter's Waikato supplier farms.", "attachments": documents or []}
    return partners.post(f"{PATH}/{request_id}/response", body, client_id)


def close(partners: Partners, request_id: str) -> httpx.Response:
    body = {"conclusion": "ORIGIN_CONFIRMED", "text": "The answer establishes the origin."}
    return partners.post(f"{PATH}/{request_id}/closure", body, CN_CUSTOMS)


def test_a_request_is_raised_read_by_those_involved_answered_to_china_signed_and_closed(
    partners: Partners, china: ChinaCustomsSimulator
) -> None:
    request = raised(partners)
    request_id, number = request["id"], request["certificate_number"]
    assert (request["status"], request["due_date"], request["overdue"]) == ("OPEN", "2099-01-31", False)
    for reader in (CN_CUSTOMS, NZ_CUSTOMS, ISSUER):
        assert partners.get(f"{PATH}/{request_id}", reader).json()["id"] == request_id
        assert request_id in [each["id"] for each in partners.get(f"{PATH}?limit=100", reader).json()["items"]]

    answered = answer(partners, request_id, [document(PDF), document(PNG, "plant.png", "image/png")])

    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "ANSWERED"
    pdf, png = answered.json()["answer"]["attachments"]
    key = f"{number}/verification/{request_id}"
    # China answers "too early" (425) to an answer about a certificate it does not hold yet; the dispatcher backs
    # off (2, 4, 8 s ...) until the certificate's own delivery has landed, so allow for a few of those rounds.
    held = china.wait_for(lambda found: any(m.idempotency_key == key for m in found), timeout=60)
    message = next(m for m in held if m.idempotency_key == key)
    assert message.message_type is MessageType.VERIFICATION_RESPONSE
    assert message.headers["x-jws-signature"].count(".") == 2  # detached: header..signature, verified on receipt
    assert [each["sha256"] for each in message.body["attachments"]] == [pdf["sha256"], png["sha256"]]
    download = partners.get(png["href"], CN_CUSTOMS, accept="image/png")
    assert (download.status_code, download.headers["content-type"], download.content) == (200, "image/png", PNG)

    closed = close(partners, request_id)

    assert closed.status_code == 200, closed.text
    assert closed.json()["closure"]["conclusion"] == "ORIGIN_CONFIRMED"
    history = partners.get(f"/v1/certificates/{number}/history", ISSUER).json()
    assert history["chain"]["valid"]
    assert [event["type"] for event in history["events"] if event["type"].startswith("VERIFICATION")] == [
        "VERIFICATION_REQUESTED",
        "VERIFICATION_ANSWERED",
        "VERIFICATION_CLOSED",
    ]


@pytest.mark.parametrize("outsider", [EXPORTER, OTHER_EXPORTER])
def test_a_party_not_involved_gets_404_reading_answering_or_listing_nothing(partners: Partners, outsider: str) -> None:
    request_id = raised(partners)["id"]

    read = partners.get(f"{PATH}/{request_id}", outsider)
    answered = answer(partners, request_id, client_id=outsider)
    listed = partners.get(PATH, outsider)

    assert (read.status_code, answered.status_code) == (404, 404)
    assert listed.json()["items"] == []


def test_only_china_customs_raises_a_request(partners: Partners) -> None:
    number = partners.certificate()

    response = partners.post(PATH, {"certificate_number": number, "questions": ["?"]}, ISSUER)

    assert response.status_code == 404


def test_a_request_about_a_certificate_that_does_not_exist_is_404(partners: Partners) -> None:
    response = partners.post(PATH, {"certificate_number": "11.5555.99999", "questions": ["?"]}, CN_CUSTOMS)

    assert response.status_code == 404


def test_a_response_after_closure_is_409(partners: Partners) -> None:
    request_id = raised(partners)["id"]
    assert close(partners, request_id).status_code == 200

    response = answer(partners, request_id, [document(PDF)])

    assert (response.status_code, response.json()["type"]) == (409, problem_type("verification-closed"))


def test_a_second_response_and_a_second_closure_are_409(partners: Partners) -> None:
    request_id = raised(partners)["id"]
    assert answer(partners, request_id, client_id=NZ_CUSTOMS).status_code == 200
    assert close(partners, request_id).status_code == 200

    again = answer(partners, request_id)
    closed_again = close(partners, request_id)

    assert (again.status_code, closed_again.status_code) == (409, 409)


def test_an_attachment_over_its_limit_is_413(partners: Partners) -> None:
    request_id = raised(partners)["id"]

    response = answer(partners, request_id, [document(PDF + b" " * MIB)])

    assert (response.status_code, response.json()["errors"][0]["field"]) == (413, "attachments[0]")
    assert partners.get(f"{PATH}/{request_id}", CN_CUSTOMS).json()["status"] == "OPEN"


def test_attachments_over_the_limit_together_are_413(partners: Partners) -> None:
    request_id = raised(partners)["id"]
    each = document(PDF + b" " * (MIB - len(PDF)))

    response = answer(partners, request_id, [each, each, each, document(PDF, "more.pdf")])

    assert (response.status_code, response.json()["errors"][0]["field"]) == (413, "attachments")


def test_a_body_over_the_answers_limit_is_413(partners: Partners) -> None:
    request_id = raised(partners)["id"]
    documents = [document(PDF + b" " * (MIB - len(PDF)), f"part-{n}.pdf") for n in range(5)]

    response = answer(partners, request_id, documents)

    assert (response.status_code, response.json()["errors"][0]["field"]) == (413, "body")


def test_a_document_that_is_not_what_it_says_is_422(partners: Partners) -> None:
    request_id = raised(partners)["id"]

    response = answer(partners, request_id, [document(b"GIF89a not a png", "plant.png", "image/png")])

    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "attachments[0].content_base64")
