"""Delivery to China: what each answer means, how long to wait, what each attempt makes of a delivery, and how
the delivery use cases (``jevs.service.delivery``) record each outcome over the records table in memory."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jevs.domain.china_message import version_issued
from jevs.domain.declarations import DeclarationContent
from jevs.domain.delivery import (
    Decision,
    Delivery,
    DeliveryState,
    Outcome,
    RetryPolicy,
    decide,
    transport_failure,
)
from jevs.domain.errors import RetryableFailure
from jevs.domain.history import EventType, verify_chain
from jevs.domain.messages import DeliverToChina, MatchDeclaration, ToChina
from jevs.domain.records import CertificateRecord
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.declarations import LodgeDeclaration, lodge_declaration, match_declaration
from jevs.service.delivery import (
    RECONCILIATION_BOUND,
    Attempt,
    Dispatched,
    Reconcile,
    dispatch,
    reconcile,
)
from jevs.service.recovery import resume_parked
from jevs.service.unit_of_work import Refused
from tests.factories import ISSUING_BODY, declaration_payload
from tests.fakes import FixedClock, MemoryRecords, ParkingLot, Published
from tests.unit.support import certificate, party, stored_certificate, stored_history

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
        pytest.param(425, {}, None, Outcome.RETRY, id="425"),
        pytest.param(400, {}, {"detail": "bad message"}, Outcome.REJECTED, id="400"),
        pytest.param(409, {}, None, Outcome.REJECTED, id="409"),
        pytest.param(422, {}, {"reason": "HS code not admitted"}, Outcome.REJECTED, id="422 business rejection"),
        # Our configuration or China's is wrong: parked at once, redriven after the fix, never final.
        pytest.param(301, {"Location": "https://elsewhere"}, None, Outcome.MISCONFIGURED, id="redirect, not followed"),
        pytest.param(401, {}, {"detail": "signature does not verify"}, Outcome.MISCONFIGURED, id="401"),
        pytest.param(403, {}, None, Outcome.MISCONFIGURED, id="403"),
        pytest.param(404, {}, None, Outcome.MISCONFIGURED, id="404"),
        pytest.param(405, {}, None, Outcome.MISCONFIGURED, id="405"),
        pytest.param(413, {}, None, Outcome.MISCONFIGURED, id="413"),
        pytest.param(415, {}, None, Outcome.MISCONFIGURED, id="415"),
        pytest.param(410, {}, None, Outcome.MISCONFIGURED, id="any other 4xx"),
    ],
)
def test_each_answer_from_china_decides_the_outcome(
    status: int, headers: dict[str, str], body: dict[str, object] | None, outcome: Outcome
) -> None:
    assert decide(status, headers, body).outcome is outcome


def test_a_rejection_keeps_chinas_reason() -> None:
    decision = decide(422, {}, {"reason": "HS code not admitted for preference"})

    assert decision.reason == "HS code not admitted for preference"


def test_a_configuration_error_keeps_its_status_and_chinas_reason() -> None:
    assert decide(401, {}, {"detail": "unknown kid"}).reason == "HTTP 401: unknown kid"


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
    policy = RetryPolicy()
    wait = policy.backoff_seconds(number, retry_after, random.Random(number))

    assert 1 <= wait <= policy.max_seconds
    if retry_after is not None:
        assert wait >= min(retry_after, policy.max_seconds)
    assert wait <= max(2 * 2 ** (number - 1), retry_after or 0)


def test_the_default_horizon_is_hours_of_attempts_not_seconds() -> None:
    """At the old settings (2 s doubling, five receives) a delivery parked after about half a minute; now the
    horizon is six hours, and the attempts in it are spaced by at most ten minutes."""
    policy, rng = RetryPolicy(), random.Random(7)
    waited, attempts = 0.0, 0
    while waited < policy.horizon.total_seconds():
        attempts += 1
        waited += policy.backoff_seconds(attempts, rng=rng)

    assert policy.horizon == timedelta(hours=6)
    assert 36 <= attempts <= 80


class ScriptedSender:
    """Answers each send with the next decision of its script and remembers what it was sent."""

    def __init__(self, *decisions: Decision) -> None:
        self.script = list(decisions)
        self.sent: list[tuple[bytes, str]] = []

    def send(self, body: bytes, idempotency_key: str) -> Decision:
        self.sent.append((body, idempotency_key))
        return self.script.pop(0)


DELIVERED = Decision(Outcome.DELIVERED, "accepted", receipt_id="CN-1")
BUSY = Decision(Outcome.RETRY, "HTTP 503")
NO = Decision(Outcome.REJECTED, "HS code not admitted")
QUEUED_AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
ATTEMPTED_AT = QUEUED_AT + timedelta(minutes=1)


# -- what one attempt makes of a delivery ---------------------------------------------------------------


def message() -> DeliverToChina:
    """The message that delivers version 1 of the example certificate, as issued at QUEUED_AT."""
    record = CertificateRecord.issue(certificate(), issuer=party(ISSUING_BODY), at=QUEUED_AT).record
    return DeliverToChina(history_of=NUMBER, body=version_issued(record), created_at=QUEUED_AT)


def test_a_new_delivery_is_pending_with_no_attempt_yet() -> None:
    delivery = Delivery.pending(message(), QUEUED_AT)

    assert (delivery.state, delivery.attempts, delivery.created_at, delivery.updated_at) == (
        DeliveryState.PENDING,
        0,
        QUEUED_AT,
        QUEUED_AT,
    )
    assert delivery.idempotency_key == f"{NUMBER}/v1"


def test_an_attempt_china_accepted_delivers_with_its_receipt() -> None:
    delivered = Delivery.pending(message(), QUEUED_AT).attempted(DELIVERED, ATTEMPTED_AT, give_up=False)

    assert (delivered.state, delivered.receipt_id, delivered.delivered_at) == (
        DeliveryState.DELIVERED,
        "CN-1",
        ATTEMPTED_AT,
    )
    assert (delivered.attempts, delivered.updated_at, delivered.settled) == (1, ATTEMPTED_AT, True)


def test_an_attempt_china_refused_is_rejected_with_its_reason() -> None:
    rejected = Delivery.pending(message(), QUEUED_AT).attempted(NO, ATTEMPTED_AT, give_up=False)

    assert (rejected.state, rejected.rejection_reason, rejected.receipt_id) == (
        DeliveryState.REJECTED,
        "HS code not admitted",
        None,
    )
    assert (rejected.attempts, rejected.updated_at, rejected.settled) == (1, ATTEMPTED_AT, True)


def test_a_failed_attempt_before_the_last_receive_stays_pending_with_its_error() -> None:
    pending = Delivery.pending(message(), QUEUED_AT).attempted(BUSY, ATTEMPTED_AT, give_up=False)

    assert (pending.state, pending.last_error, pending.attempts) == (DeliveryState.PENDING, "HTTP 503", 1)
    assert (pending.updated_at, pending.settled) == (ATTEMPTED_AT, False)


def test_a_failed_attempt_once_it_gives_up_parks_the_delivery() -> None:
    parked = Delivery.pending(message(), QUEUED_AT).attempted(BUSY, ATTEMPTED_AT, give_up=True)

    assert (parked.state, parked.last_error, parked.attempts) == (DeliveryState.PARKED, "HTTP 503", 1)
    assert (parked.updated_at, parked.settled) == (ATTEMPTED_AT, False)


def test_an_answer_that_says_a_configuration_is_wrong_parks_at_once_with_its_reason() -> None:
    wrong = Decision(Outcome.MISCONFIGURED, "HTTP 401: unknown kid")

    parked = Delivery.pending(message(), QUEUED_AT).attempted(wrong, ATTEMPTED_AT, give_up=False)

    assert (parked.state, parked.last_error, parked.rejection_reason) == (
        DeliveryState.PARKED,
        "HTTP 401: unknown kid",
        None,
    )


def test_the_horizon_runs_from_the_queueing_then_from_the_last_redrive() -> None:
    policy = RetryPolicy(horizon=timedelta(hours=6))
    delivery = Delivery.pending(message(), QUEUED_AT)

    assert not policy.horizon_passed(delivery, QUEUED_AT + timedelta(hours=5, minutes=59))
    assert policy.horizon_passed(delivery, QUEUED_AT + timedelta(hours=6))
    resumed = delivery.attempted(BUSY, QUEUED_AT + timedelta(hours=6), give_up=True).resumed(
        QUEUED_AT + timedelta(hours=8)
    )
    assert not policy.horizon_passed(resumed, QUEUED_AT + timedelta(hours=13))
    assert policy.horizon_passed(resumed, QUEUED_AT + timedelta(hours=14))


@pytest.mark.parametrize(
    ("decision", "state"),
    [(DELIVERED, DeliveryState.DELIVERED), (NO, DeliveryState.REJECTED)],
    ids=["delivered", "rejected"],
)
def test_chinas_answer_on_the_last_receive_is_kept_not_parked(decision: Decision, state: DeliveryState) -> None:
    answered = Delivery.pending(message(), QUEUED_AT).attempted(decision, ATTEMPTED_AT, give_up=True)

    assert answered.state is state


def test_each_attempt_counts_on_from_the_last() -> None:
    delivery = Delivery.pending(message(), QUEUED_AT)
    for minute in range(1, 4):
        delivery = delivery.attempted(BUSY, QUEUED_AT + timedelta(minutes=minute), give_up=False)

    assert (delivery.attempts, delivery.updated_at) == (3, QUEUED_AT + timedelta(minutes=3))


def test_a_resumed_delivery_is_pending_again_and_keeps_its_attempts() -> None:
    parked = Delivery.pending(message(), QUEUED_AT).attempted(BUSY, ATTEMPTED_AT, give_up=True)
    resumed_at = ATTEMPTED_AT + timedelta(hours=1)

    resumed = parked.resumed(resumed_at)

    assert (resumed.state, resumed.attempts, resumed.updated_at) == (DeliveryState.PENDING, 1, resumed_at)


# -- dispatch, redrive and reconciliation ---------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(QUEUED_AT)


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    records = MemoryRecords(clock)
    submit_certificate(SubmitCertificate(party("local-akl-chamber"), certificate()), records.uow())
    return records


def attempt(
    records: MemoryRecords, sender: ScriptedSender, receive: int = 1, parking: ParkingLot | None = None
) -> Dispatched:
    """One receive of the message by the dispatcher, the queue allowing five."""
    command = Attempt(message(), receive_count=receive, max_receives=5)
    return dispatch(command, records.uow(), sender, parking or ParkingLot())


def stored_delivery(records: MemoryRecords, of: ToChina) -> Delivery:
    found = records.uow().deliveries.get(of)
    assert found is not None
    return found


def test_a_delivered_version_records_the_receipt_and_an_event_before_it_is_acknowledged(
    records: MemoryRecords,
) -> None:
    result = attempt(records, ScriptedSender(DELIVERED))

    assert result.settled
    delivery = stored_delivery(records, message())
    assert (delivery.state, delivery.receipt_id, delivery.attempts) == (DeliveryState.DELIVERED, "CN-1", 1)
    events = stored_history(records, NUMBER)
    assert [event.type for event in events] == [EventType.CERTIFICATE_ISSUED, EventType.DELIVERY_ACKNOWLEDGED]
    assert verify_chain(events, stored_certificate(records, NUMBER).history_head).valid


def test_every_attempt_sends_the_same_bytes_under_the_same_key(records: MemoryRecords, clock: FixedClock) -> None:
    sender = ScriptedSender(BUSY, BUSY, DELIVERED)
    for receive in (1, 2, 3):
        clock.advance(timedelta(seconds=30))
        attempt(records, sender, receive)

    bodies, keys = zip(*sender.sent, strict=True)
    assert len(set(bodies)) == 1
    assert set(keys) == {f"{NUMBER}/v1"}
    assert b"commercial" not in bodies[0]


def test_a_transient_failure_keeps_the_delivery_pending_and_asks_for_a_backoff(records: MemoryRecords) -> None:
    result = attempt(records, ScriptedSender(BUSY))

    assert not result.settled
    assert result.retry_in_seconds is not None
    delivery = stored_delivery(records, message())
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.PENDING, 1, "HTTP 503")


def test_a_failure_on_the_last_receive_parks_the_delivery_with_its_message_in_the_dead_letter_queue(
    records: MemoryRecords,
) -> None:
    parking = ParkingLot()

    result = attempt(records, ScriptedSender(BUSY), 5, parking)

    assert (result.settled, result.changed) == (True, True)  # acknowledged: its message waits in the DLQ
    assert result.delivery.state is DeliveryState.PARKED
    assert parking.parked == [message()]
    assert stored_history(records, NUMBER)[-1].type is EventType.DELIVERY_PARKED


def test_a_failure_once_the_horizon_passed_parks_the_delivery(records: MemoryRecords, clock: FixedClock) -> None:
    parking = ParkingLot()
    clock.advance(RetryPolicy().horizon)

    result = attempt(records, ScriptedSender(BUSY), 40, parking)

    assert result.delivery.state is DeliveryState.PARKED
    assert parking.parked == [message()]


def test_a_failure_before_the_horizon_stays_pending_however_many_receives(
    records: MemoryRecords, clock: FixedClock
) -> None:
    clock.advance(RetryPolicy().horizon - timedelta(minutes=1))

    result = attempt(records, ScriptedSender(BUSY), 4)

    assert (result.settled, result.delivery.state) == (False, DeliveryState.PENDING)


def test_a_configuration_error_parks_at_once_and_a_redrive_resumes_it(records: MemoryRecords) -> None:
    parking = ParkingLot()
    wrong = Decision(Outcome.MISCONFIGURED, "HTTP 401: unknown kid")

    result = attempt(records, ScriptedSender(wrong), 1, parking)
    resumed = resume_parked(message(), records.uow())

    assert (result.settled, result.delivery.state, result.delivery.last_error) == (
        True,
        DeliveryState.PARKED,
        "HTTP 401: unknown kid",
    )
    assert parking.parked == [message()]
    assert resumed is not None
    assert attempt(records, ScriptedSender(DELIVERED), 1).delivery.state is DeliveryState.DELIVERED


def test_a_parked_deliverys_message_received_again_goes_back_to_the_dead_letter_queue_unsent(
    records: MemoryRecords,
) -> None:
    # A redrive took the parked message from the dead-letter queue just before the delivery was recorded PARKED,
    # found nothing to resume, and moved it back to the delivery queue: the dispatcher must not drop it.
    attempt(records, ScriptedSender(BUSY), 5)
    sender, parking = ScriptedSender(), ParkingLot()

    again = attempt(records, sender, 1, parking)

    assert (again.settled, again.changed, sender.sent) == (True, False, [])
    assert parking.parked == [message()]


def test_a_rejection_is_final_and_never_sent_again(records: MemoryRecords) -> None:
    sender = ScriptedSender(NO)
    first = attempt(records, sender)
    again = attempt(records, sender, 2)

    assert first.settled
    assert again.settled
    assert len(sender.sent) == 1
    assert first.delivery.rejection_reason == "HS code not admitted"


def test_a_version_already_delivered_is_acknowledged_without_sending(records: MemoryRecords) -> None:
    attempt(records, ScriptedSender(DELIVERED))
    sender = ScriptedSender()

    assert attempt(records, sender).settled
    assert sender.sent == []


def test_a_concurrent_change_is_not_overwritten(records: MemoryRecords) -> None:
    class Interleaving(ScriptedSender):
        def send(self, body: bytes, idempotency_key: str) -> Decision:
            # Another dispatcher records its attempt while this one waits for China.
            attempt(records, ScriptedSender(BUSY))
            return DELIVERED

    with pytest.raises(RetryableFailure) as refused:
        attempt(records, Interleaving())

    assert isinstance(refused.value, Refused)
    assert refused.value.of("delivery", f"{NUMBER}/v1")
    delivery = stored_delivery(records, message())
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)


def test_a_redrive_resumes_a_parked_delivery(records: MemoryRecords) -> None:
    attempt(records, ScriptedSender(BUSY), 5)

    resumed = resume_parked(message(), records.uow())

    assert resumed is not None
    assert resumed.state is DeliveryState.PENDING
    assert stored_history(records, NUMBER)[-1].type is EventType.DELIVERY_RESUMED
    assert resume_parked(message(), records.uow()) is None


def test_reconciliation_requeues_only_what_has_waited_past_the_bound_once_per_bound(
    records: MemoryRecords, clock: FixedClock
) -> None:
    published = Published()
    assert reconcile(Reconcile(), records.uow(), published).count == 0

    clock.advance(RECONCILIATION_BOUND + timedelta(seconds=1))
    report = reconcile(Reconcile(), records.uow(), published)
    again = reconcile(Reconcile(), records.uow(), published)

    assert [delivery.idempotency_key for delivery in report.requeued] == [f"{NUMBER}/v1"]
    assert again.count == 0
    assert published.messages == [message()]


def test_reconciliation_leaves_delivered_versions_alone(records: MemoryRecords, clock: FixedClock) -> None:
    attempt(records, ScriptedSender(DELIVERED))
    clock.advance(RECONCILIATION_BOUND * 2)

    assert reconcile(Reconcile(), records.uow(), Published()).count == 0


# -- match results to China -----------------------------------------------------------------------------


def decided_import_declaration(records: MemoryRecords) -> DeliverToChina:
    """A CN import declaration quoting the stored certificate, lodged and decided; its result's message."""
    content = DeclarationContent.model_validate(declaration_payload())
    lodged = lodge_declaration(LodgeDeclaration(party("local-cn-customs"), content), records.uow())
    declaration = lodged.declaration
    match = MatchDeclaration(
        declaration_id=declaration.id,
        certificate_number=content.certificate_number,
        created_at=declaration.received_at,
    )
    match_declaration(match, records.uow())
    (result_message,) = (m for m in records.outbox() if isinstance(m, DeliverToChina) and m.declaration_id)
    return result_message


def test_a_match_result_is_delivered_to_china_under_its_own_key_outside_the_certificate_history(
    records: MemoryRecords,
) -> None:
    result_message = decided_import_declaration(records)
    events_before = len(stored_history(records, NUMBER))
    sender = ScriptedSender(DELIVERED)

    result = dispatch(Attempt(result_message, receive_count=1, max_receives=5), records.uow(), sender, ParkingLot())

    assert result.settled
    assert result.delivery.state is DeliveryState.DELIVERED
    ((body, key),) = sender.sent
    assert key == "CNIM-223320261000123456/result/1"
    sent = json.loads(body)
    assert (sent["message_type"], sent["status"], sent["declaration_number"]) == (
        "declaration.result",
        "MATCHED",
        "223320261000123456",
    )
    assert len(stored_history(records, NUMBER)) == events_before
    # The certificate's own delivery is untouched by its result's.
    assert stored_delivery(records, message()).state is DeliveryState.PENDING


def test_a_parked_match_result_is_resumed_and_a_lost_one_reconciled(records: MemoryRecords, clock: FixedClock) -> None:
    result_message = decided_import_declaration(records)
    dispatch(
        Attempt(result_message, receive_count=5, max_receives=5), records.uow(), ScriptedSender(BUSY), ParkingLot()
    )
    parked = stored_delivery(records, result_message)
    assert parked.state is DeliveryState.PARKED

    resumed = resume_parked(result_message, records.uow())
    clock.advance(RECONCILIATION_BOUND + timedelta(seconds=1))
    published = Published()
    reconcile(Reconcile(), records.uow(), published)

    assert resumed is not None
    assert resumed.state is DeliveryState.PENDING
    requeued = {(m.body.message_type, m.declaration_id) for m in published.messages if isinstance(m, DeliverToChina)}
    assert ("declaration.result", "CNIM-223320261000123456") in requeued
