"""Delivery to China: what each answer means, how long to wait, and how dispatch records each outcome."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jevs.domain.declarations import DeclarationContent
from jevs.domain.declaring import RESULT_KIND, lodge_declaration, match_declaration
from jevs.domain.delivery import (
    MAX_BACKOFF_SECONDS,
    Decision,
    DeliveryState,
    Outcome,
    backoff_seconds,
    decide,
    transport_failure,
)
from jevs.domain.dispatch import RECONCILIATION_BOUND, DispatchResult, dispatch, reconcile, resume_parked
from jevs.domain.errors import RetryableFailure
from jevs.domain.history import EventType, verify_chain
from jevs.domain.records import OutboxChannel, OutboxMessage, StoredAnswer
from jevs.domain.submission import submit_certificate
from tests.factories import declaration_payload
from tests.fakes import FixedClock, InMemoryCertificateStore
from tests.unit.support import certificate, party, simple_answer

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"


@pytest.mark.parametrize(
    ("status", "headers", "body", "outcome"),
    [
        pytest.param(201, {}, {"receipt_id": "R1"}, Outcome.DELIVERED, id="201 with a receipt"),
        pytest.param(200, {}, {"receipt_id": "R1"}, Outcome.DELIVERED, id="200 replay of an earlier acceptance"),
        pytest.param(200, {}, {}, Outcome.RETRY, id="2xx without a receipt"),
        pytest.param(202, {}, None, Outcome.RETRY, id="2xx with no JSON"),
        pytest.param(500, {}, None, Outcome.RETRY, id="500"),
        pytest.param(502, {}, None, Outcome.RETRY, id="502"),
        pytest.param(503, {"Retry-After": "30"}, None, Outcome.RETRY, id="503"),
        pytest.param(504, {}, None, Outcome.RETRY, id="504"),
        pytest.param(429, {"Retry-After": "7"}, None, Outcome.RETRY, id="429"),
        pytest.param(408, {}, None, Outcome.RETRY, id="408"),
        pytest.param(301, {"Location": "https://elsewhere"}, None, Outcome.RETRY, id="redirect, not followed"),
        pytest.param(400, {}, {"detail": "bad message"}, Outcome.REJECTED, id="400"),
        pytest.param(401, {}, {"detail": "signature does not verify"}, Outcome.REJECTED, id="401"),
        pytest.param(409, {}, None, Outcome.REJECTED, id="409"),
        pytest.param(422, {}, {"reason": "HS code not admitted"}, Outcome.REJECTED, id="422 business rejection"),
    ],
)
def test_each_answer_from_china_decides_the_outcome(
    status: int, headers: dict[str, str], body: dict[str, object] | None, outcome: Outcome
) -> None:
    assert decide(status, headers, body).outcome is outcome


def test_a_rejection_keeps_chinas_reason() -> None:
    decision = decide(422, {}, {"reason": "HS code not admitted for preference"})

    assert decision.reason == "HS code not admitted for preference"


def test_a_delivery_keeps_chinas_receipt() -> None:
    assert decide(201, {}, {"receipt_id": "CN-RCPT-1"}).receipt_id == "CN-RCPT-1"


@pytest.mark.parametrize(("value", "seconds"), [("7", 7), (" 30 ", 30), ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_retry_after_is_honoured_in_seconds(value: str, seconds: int | None) -> None:
    assert decide(429, {"retry-after": value}, None).retry_after_seconds == seconds


def test_no_answer_at_all_is_retried() -> None:
    assert transport_failure("timeout").outcome is Outcome.RETRY


@given(number=st.integers(min_value=1, max_value=40), retry_after=st.none() | st.integers(0, 2000))
def test_backoff_grows_but_never_exceeds_the_cap_nor_undercuts_retry_after(
    number: int, retry_after: int | None
) -> None:
    wait = backoff_seconds(number, retry_after, random.Random(number))

    assert 1 <= wait <= MAX_BACKOFF_SECONDS
    if retry_after is not None:
        assert wait >= min(retry_after, MAX_BACKOFF_SECONDS)
    assert wait <= max(2 * 2 ** (number - 1), retry_after or 0)


class ScriptedSender:
    """Answers each send with the next decision of its script and remembers what it was sent."""

    def __init__(self, *decisions: Decision) -> None:
        self.script = list(decisions)
        self.sent: list[tuple[bytes, str]] = []

    def send(self, body: bytes, idempotency_key: str) -> Decision:
        self.sent.append((body, idempotency_key))
        return self.script.pop(0)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store(clock: FixedClock) -> InMemoryCertificateStore:
    store = InMemoryCertificateStore()
    submit_certificate(
        party=party("local-akl-chamber"),
        content=certificate(),
        idempotency_key="k",
        store=store,
        clock=clock,
        answer_for=simple_answer,
    )
    return store


def message() -> OutboxMessage:
    return OutboxMessage(
        message_id=f"{NUMBER}/v1/delivery-to-china",
        channel=OutboxChannel.DELIVERY_TO_CHINA,
        kind="certificate.version",
        certificate_number=NUMBER,
        version=1,
        created_at=FixedClock().now(),
    )


def attempt(
    store: InMemoryCertificateStore, clock: FixedClock, sender: ScriptedSender, receive: int = 1
) -> DispatchResult:
    """One receive of the message by the dispatcher, the queue allowing five."""
    return dispatch(message(), receive_count=receive, max_receives=5, store=store, sender=sender, clock=clock)


DELIVERED = Decision(Outcome.DELIVERED, "accepted", receipt_id="CN-1")
BUSY = Decision(Outcome.RETRY, "HTTP 503")
NO = Decision(Outcome.REJECTED, "HS code not admitted")


def test_a_delivered_version_records_the_receipt_and_an_event_before_it_is_acknowledged(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    result = attempt(store, clock, ScriptedSender(DELIVERED))

    assert result.settled
    delivery = store.get_delivery(NUMBER, 1)
    assert delivery is not None
    assert (delivery.state, delivery.receipt_id, delivery.attempts) == (DeliveryState.DELIVERED, "CN-1", 1)
    events = store.get_history(NUMBER)
    assert [event.type for event in events] == [EventType.CERTIFICATE_ISSUED, EventType.DELIVERY_ACKNOWLEDGED]
    assert verify_chain(events, store.records[NUMBER].history_head).valid


def test_every_attempt_sends_the_same_bytes_under_the_same_key(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    sender = ScriptedSender(BUSY, BUSY, DELIVERED)
    for receive in (1, 2, 3):
        clock.advance(timedelta(seconds=30))
        attempt(store, clock, sender, receive)

    bodies, keys = zip(*sender.sent, strict=True)
    assert len(set(bodies)) == 1
    assert set(keys) == {f"{NUMBER}/v1"}
    assert b"commercial" not in bodies[0]


def test_a_transient_failure_keeps_the_delivery_pending_and_asks_for_a_backoff(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    result = attempt(store, clock, ScriptedSender(BUSY))

    assert not result.settled
    assert result.retry_in_seconds is not None
    delivery = store.get_delivery(NUMBER, 1)
    assert delivery is not None
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.PENDING, 1, "HTTP 503")


def test_a_failure_on_the_last_receive_parks_the_delivery_with_an_event(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    result = attempt(store, clock, ScriptedSender(BUSY), 5)

    assert not result.settled
    assert result.delivery.state is DeliveryState.PARKED
    assert store.get_history(NUMBER)[-1].type is EventType.DELIVERY_PARKED


def test_a_rejection_is_final_and_never_sent_again(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    sender = ScriptedSender(NO)
    first = attempt(store, clock, sender)
    again = attempt(store, clock, sender, 2)

    assert first.settled
    assert again.settled
    assert len(sender.sent) == 1
    assert first.delivery.rejection_reason == "HS code not admitted"


def test_a_version_already_delivered_is_acknowledged_without_sending(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    attempt(store, clock, ScriptedSender(DELIVERED))
    sender = ScriptedSender()

    assert attempt(store, clock, sender).settled
    assert sender.sent == []


def test_a_concurrent_change_is_not_overwritten(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    class Interleaving(ScriptedSender):
        def send(self, body: bytes, idempotency_key: str) -> Decision:
            # Another dispatcher records its attempt while this one waits for China.
            attempt(store, clock, ScriptedSender(BUSY))
            return DELIVERED

    with pytest.raises(RetryableFailure):
        attempt(store, clock, Interleaving())


def test_a_redrive_resumes_a_parked_delivery(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    attempt(store, clock, ScriptedSender(BUSY), 5)

    resumed = resume_parked(message(), store=store, clock=clock)

    assert resumed is not None
    assert resumed.state is DeliveryState.PENDING
    assert store.get_history(NUMBER)[-1].type is EventType.DELIVERY_RESUMED
    assert resume_parked(message(), store=store, clock=clock) is None


class Published:
    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []

    def publish(self, message: OutboxMessage) -> None:
        self.messages.append(message)


def test_reconciliation_requeues_only_what_has_waited_past_the_bound_once_per_bound(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    published = Published()
    assert reconcile(store=store, publisher=published, clock=clock).count == 0

    clock.advance(RECONCILIATION_BOUND + timedelta(seconds=1))
    report = reconcile(store=store, publisher=published, clock=clock)
    again = reconcile(store=store, publisher=published, clock=clock)

    assert [delivery.idempotency_key for delivery in report.requeued] == [f"{NUMBER}/v1"]
    assert again.count == 0
    assert [(m.certificate_number, m.version) for m in published.messages] == [(NUMBER, 1)]


def test_reconciliation_leaves_delivered_versions_alone(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    attempt(store, clock, ScriptedSender(DELIVERED))
    clock.advance(RECONCILIATION_BOUND * 2)

    assert reconcile(store=store, publisher=Published(), clock=clock).count == 0


# -- match results to China -----------------------------------------------------------------------------


def decided_import_declaration(store: InMemoryCertificateStore, clock: FixedClock) -> OutboxMessage:
    """A CN import declaration quoting the stored certificate, lodged and decided; its result's message."""
    lodged = lodge_declaration(
        party=party("local-cn-customs"),
        content=DeclarationContent.model_validate(declaration_payload()),
        idempotency_key="d",
        store=store,
        clock=clock,
        answer_for=lambda record, created: StoredAnswer(status_code=202, body={"id": record.id}),
    )
    declaration_id = str(lodged.answer.body["id"])
    match_declaration(declaration_id, store=store, certificates=store, clock=clock)
    (message,) = (m for m in store.outbox if isinstance(m, OutboxMessage) and m.kind == RESULT_KIND)
    return message


def test_a_match_result_is_delivered_to_china_under_its_own_key_outside_the_certificate_history(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    message = decided_import_declaration(store, clock)
    events_before = len(store.get_history(NUMBER))
    sender = ScriptedSender(DELIVERED)

    result = dispatch(message, receive_count=1, max_receives=5, store=store, sender=sender, clock=clock)

    assert result.settled
    assert result.delivery.state is DeliveryState.DELIVERED
    ((body, key),) = sender.sent
    assert key == "CNIM-223320261000123456/result"
    sent = json.loads(body)
    assert (sent["message_type"], sent["status"], sent["declaration_number"]) == (
        "declaration.result",
        "MATCHED",
        "223320261000123456",
    )
    assert len(store.get_history(NUMBER)) == events_before
    # The certificate's own delivery is untouched by its result's.
    certificate_delivery = store.get_delivery(NUMBER, 1)
    assert certificate_delivery is not None
    assert certificate_delivery.state is DeliveryState.PENDING


def test_a_parked_match_result_is_resumed_and_a_lost_one_reconciled(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    message = decided_import_declaration(store, clock)
    dispatch(message, receive_count=5, max_receives=5, store=store, sender=ScriptedSender(BUSY), clock=clock)
    parked = store.get_result_delivery("CNIM-223320261000123456")
    assert parked is not None
    assert parked.state is DeliveryState.PARKED

    resumed = resume_parked(message, store=store, clock=clock)
    clock.advance(RECONCILIATION_BOUND + timedelta(seconds=1))
    published = Published()
    reconcile(store=store, publisher=published, clock=clock)

    assert resumed is not None
    assert resumed.state is DeliveryState.PENDING
    requeued = {(m.kind, m.declaration_id) for m in published.messages}
    assert ("declaration.result", "CNIM-223320261000123456") in requeued
