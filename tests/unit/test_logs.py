"""Logs carry ids and outcomes, not commercial content (DESIGN.md §1): China's free-text reasons and the values
a validation error quotes stay out of every function's log lines, which still say which record and what
happened."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

import pytest
from pydantic import BaseModel, ValidationError

from functions.dispatcher.handler import make_handler
from jevs.adapters.lambda_logs import failure_fields
from jevs.adapters.queues import SqsBackoff
from jevs.bootstrap import DispatcherDependencies
from jevs.domain.breaker import CircuitPolicy
from jevs.domain.delivery import Decision, DeliveryState, RetryPolicy, decide
from jevs.service.certificates import SubmitCertificate, submit_certificate
from tests.factories import ISSUING_BODY, LambdaContext, sqs_event
from tests.fakes import FixedClock, MemoryRecords, ParkingLot
from tests.logs import log_lines
from tests.unit.support import certificate, party
from tests.unit.test_delivery import QUEUED_AT, ScriptedSender, message, stored_delivery

pytestmark = pytest.mark.unit

# What China says in words: it may quote the certificate (a consignee's name, an invoice number).
CHINAS_WORDS = "consignee SENTINEL-Zhou-Trading-77 does not match invoice SENTINEL-INV-4411"


class HeldMessages:
    """The SQS client behind the dispatcher's backoff: a message held back is just noted."""

    def __init__(self) -> None:
        self.held: list[tuple[str, int]] = []

    def change_message_visibility(self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:  # noqa: N803
        self.held.append((ReceiptHandle, VisibilityTimeout))


def dispatched_once(records: MemoryRecords, answer: Decision) -> dict[str, Any]:
    """The dispatcher function handling the example certificate's delivery once, China answering ``answer``."""
    dependencies = DispatcherDependencies(
        unit_of_work=records.uow,
        sender=ScriptedSender(answer),
        backoff=SqsBackoff(cast(Any, HeldMessages()), "https://sqs.local/queue"),
        parking=ParkingLot(),
        max_receives=5,
        retry=RetryPolicy(),
        circuit=CircuitPolicy(cooldown=timedelta(seconds=30), max_cooldown=timedelta(seconds=300)),
        attempt_seconds=1,
    )
    handler = make_handler(dependencies)
    response: dict[str, Any] = handler(sqs_event([message().model_dump_json()]), LambdaContext("jevs-dispatcher"))
    return response


def records_with_a_pending_delivery() -> MemoryRecords:
    """The example certificate submitted at QUEUED_AT: its delivery waits, PENDING."""
    records = MemoryRecords(FixedClock(QUEUED_AT))
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())
    return records


@pytest.fixture
def records() -> MemoryRecords:
    return records_with_a_pending_delivery()


@pytest.mark.parametrize(
    ("status", "state"),
    [
        pytest.param(422, DeliveryState.REJECTED, id="a business rejection"),
        pytest.param(403, DeliveryState.PARKED, id="a configuration error"),
    ],
)
def test_chinas_reason_is_kept_on_the_delivery_and_never_logged(
    records: MemoryRecords, status: int, state: DeliveryState
) -> None:
    with log_lines() as logs:
        dispatched_once(records, decide(status, {}, {"reason": CHINAS_WORDS}))

    delivery = stored_delivery(records, message())
    assert delivery.state is state
    assert CHINAS_WORDS in (delivery.rejection_reason or delivery.last_error or "")
    assert "SENTINEL" not in logs.text
    # The log still says which delivery, what came of it, and China's status.
    (settled,) = [json.loads(line) for line in logs.lines if '"message":"settled"' in line.replace(" ", "")]
    assert (settled["delivery"], settled["state"], settled["answer"]) == (
        delivery.idempotency_key,
        state.value,
        f"{'REJECTED' if status == 422 else 'MISCONFIGURED'}: HTTP {status}",
    )


class Declared(BaseModel):
    invoice_number: int


def test_a_validation_error_is_described_by_its_paths_and_kinds_never_its_input() -> None:
    with pytest.raises(ValidationError) as raised:
        Declared.model_validate({"invoice_number": "SENTINEL-INV-4411"})

    fields = failure_fields(raised.value)

    assert "SENTINEL" not in json.dumps(fields)
    assert fields["error_type"] == "ValidationError"
    assert fields["errors"] == [{"loc": "invoice_number", "type": "int_parsing"}]
