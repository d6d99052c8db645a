"""Reconciliation of open work on the local stack (DESIGN.md §6.1): a message taken off its queue before its
consumer saw it (as if SQS had lost it) leaves its work open, and the scheduled reconciler, past its bound (1 s on
the e2e stack), queues it again: a declaration is matched, a certificate gets its PDF and NZ Customs' data file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from infrastructure.local.pollers import wait_until
from infrastructure.local.stack import LocalStack
from jevs.resources import EXCHANGE_BUCKET, nz_customs_certificate_key
from tests.e2e.conftest import reconciliation_run
from tests.e2e.partners import CN_CUSTOMS, ISSUER, Partners, certificate_number, declaration_number

pytestmark = pytest.mark.e2e

T = TypeVar("T")
# Longer than the open-work bounds of the e2e stack (1 s).
PAST_THE_BOUND_SECONDS = 1.2


@pytest.fixture(scope="module")
def customs(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


def lose(stack: LocalStack, queue_url: str, message_id: str, timeout: float = 15) -> None:
    """Take the message with business key ``message_id`` off the queue once the relay has put it there, leaving
    the others to their consumer: SQS lost it. Its consumer's poller must be paused meanwhile."""
    sqs = stack.aws_client("sqs")

    def taken() -> bool:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["message_id"]
        ).get("Messages", [])
        found = False
        for message in received:
            if message["MessageAttributes"]["message_id"]["StringValue"] == message_id:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                found = True
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return found

    assert wait_until(taken, timeout, 0.2), f"{message_id} never reached its queue"


def paused_while_lost(stack: LocalStack, consumer: str, queue_url: str, message_id: str, act: Callable[[], T]) -> T:
    """With ``consumer``'s poller paused, do ``act`` and lose the message ``message_id`` it sends; what ``act``
    returned."""
    poller = stack.pollers[consumer]
    poller.pause()
    try:
        # A round already under way when the poller was paused finishes first.
        time.sleep(0.5)
        done = act()
        lose(stack, queue_url, message_id)
    finally:
        poller.resume()
    return done


def test_a_declaration_whose_queue_message_was_lost_is_matched_by_reconciliation(
    stack: LocalStack, customs: Partners
) -> None:
    # Given a declaration quoting an issued certificate, whose message to the matcher was lost
    number = customs.certificate()
    declared = declaration_number()
    declaration_id = f"CNIM-{declared}"

    def lodged() -> str:
        response = customs.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=declared)
        assert response.status_code == 202, response.text
        return response.headers["Location"]

    queue = stack.resources.declarations.queue
    location = paused_while_lost(stack, "matcher", queue, f"{declaration_id}/declarations", lodged)
    time.sleep(PAST_THE_BOUND_SECONDS)
    assert customs.get(location, CN_CUSTOMS).json()["status"] == "RECEIVED"

    # When reconciliation runs past its bound
    report = reconciliation_run(stack)

    # Then it reports the declaration queued again, and the matcher decides it
    assert f"{declaration_id}/declarations" in report["open_work"]["declarations"]
    decided = customs.decided(CN_CUSTOMS, location)
    assert (decided["status"], decided["discrepancies"]) == ("MATCHED", [])


def test_a_certificate_whose_documents_message_was_lost_gets_its_pdf_and_data_file_by_reconciliation(
    stack: LocalStack, customs: Partners
) -> None:
    # Given a certificate whose message to the notifier was lost
    number = certificate_number()
    queue = stack.resources.notifications.queue
    paused_while_lost(stack, "notifier", queue, f"{number}/v1/notifications", lambda: customs.certificate(number))
    time.sleep(PAST_THE_BOUND_SECONDS)
    assert customs.get(f"/v1/certificates/{number}/document").status_code != 200

    # When reconciliation runs past its bound
    report = reconciliation_run(stack)

    # Then it reports the version's documents queued again, and the notifier makes them: the PDF the issuing body
    # downloads, and NZ Customs' data file in the exchange bucket
    assert f"{number}/v1/notifications" in report["open_work"]["documents"]
    assert wait_until(lambda: customs.get(f"/v1/certificates/{number}/document", ISSUER).status_code == 200, 20)
    pdf = customs.get(f"/v1/certificates/{number}/document", ISSUER)
    assert (pdf.headers["content-type"], pdf.content[:5]) == ("application/pdf", b"%PDF-")
    s3 = stack.aws_client("s3")
    data_file = s3.get_object(Bucket=EXCHANGE_BUCKET.local_name, Key=nz_customs_certificate_key(number, 1))
    assert f'"certificate_number":"{number}"'.encode() in data_file["Body"].read()
