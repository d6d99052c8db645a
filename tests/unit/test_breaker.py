"""China's circuit breaker (DESIGN.md §6.2): the state machine alone, then through ``dispatch`` over the records table
in memory: while China keeps failing, nothing is sent but one probe at a time, deliveries wait without spending
attempts, and the first answer lets every one of them go on by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jevs.domain.breaker import CHINA_CUSTOMS, Admission, Circuit, CircuitPolicy, CircuitState
from jevs.domain.delivery import Decision, DeliveryState, Outcome, RetryPolicy
from jevs.domain.errors import NotFound
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.delivery import Attempt, Dispatched, delivery_status, dispatch
from tests.fakes import FixedClock, MemoryRecords, ParkingLot
from tests.unit.support import certificate, party
from tests.unit.test_delivery import DELIVERED, NUMBER, ScriptedSender, message

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
POLICY = CircuitPolicy(
    failures_to_open=3,
    cooldown=timedelta(seconds=30),
    max_cooldown=timedelta(minutes=2),
    probe_lease=timedelta(seconds=15),
)
DOWN = Decision(Outcome.RETRY, "connect timeout")
REFUSED = Decision(Outcome.REJECTED, "HS code not admitted")


def opened(at: datetime = AT) -> Circuit:
    circuit = Circuit.closed(CHINA_CUSTOMS)
    for _ in range(POLICY.failures_to_open):
        circuit = circuit.failed(at, "HTTP 503", POLICY, probe=False)
    return circuit


# -- the state machine ---------------------------------------------------------------------------------------


def test_a_closed_circuit_sends_and_counts_failures_until_it_opens() -> None:
    circuit = Circuit.closed(CHINA_CUSTOMS)
    assert circuit.admission(AT) == Admission(send=True)

    twice = circuit.failed(AT, "HTTP 503", POLICY, probe=False).failed(AT, "HTTP 503", POLICY, probe=False)
    assert (twice.state, twice.consecutive_failures) == (CircuitState.CLOSED, 2)

    third = twice.failed(AT, "HTTP 503", POLICY, probe=False)
    assert (third.state, third.opened_at, third.retry_at) == (CircuitState.OPEN, AT, AT + POLICY.cooldown)
    assert third.admission(AT + timedelta(seconds=29)) == Admission(wait_until=AT + POLICY.cooldown)
    assert third.admission(AT + POLICY.cooldown) == Admission(probe=True)


def test_an_answer_resets_the_count() -> None:
    circuit = Circuit.closed(CHINA_CUSTOMS).failed(AT, "HTTP 503", POLICY, probe=False)

    assert circuit.answered().consecutive_failures == 0


def test_a_probe_holds_a_lease_then_its_failure_doubles_the_cooldown_up_to_the_cap() -> None:
    probing = opened().probing(AT + POLICY.cooldown, POLICY)
    assert probing.state is CircuitState.HALF_OPEN
    assert probing.admission(AT + POLICY.cooldown) == Admission(wait_until=AT + POLICY.cooldown + POLICY.probe_lease)

    cooldowns = []
    circuit, now = probing, AT + POLICY.cooldown
    for _ in range(4):
        circuit = circuit.failed(now, "connect timeout", POLICY, probe=True)
        cooldowns.append(circuit.cooldown_seconds)
        assert circuit.state is CircuitState.OPEN
        assert circuit.opened_at == AT  # still the outage that began then
        now = circuit.retry_at or now
        circuit = circuit.probing(now, POLICY)

    assert cooldowns == [60, 120, 120, 120]


def test_a_probe_whose_sender_died_is_taken_over_when_its_lease_ends() -> None:
    probing = opened().probing(AT + POLICY.cooldown, POLICY)

    assert probing.admission(AT + POLICY.cooldown + POLICY.probe_lease) == Admission(probe=True)


def test_a_probe_answered_closes_the_circuit() -> None:
    closed = opened().probing(AT + POLICY.cooldown, POLICY).answered()

    assert (closed.state, closed.consecutive_failures, closed.opened_at, closed.retry_at) == (
        CircuitState.CLOSED,
        0,
        None,
        None,
    )


def test_a_straggling_failure_of_a_send_made_before_the_circuit_opened_does_not_move_the_cooldown() -> None:
    circuit = opened()

    straggler = circuit.failed(AT + timedelta(seconds=5), "read timeout", POLICY, probe=False)

    assert (straggler.state, straggler.retry_at, straggler.consecutive_failures) == (
        CircuitState.OPEN,
        circuit.retry_at,
        POLICY.failures_to_open + 1,
    )


def test_every_change_moves_the_revision_that_guards_it() -> None:
    circuit = Circuit.closed(CHINA_CUSTOMS)

    assert circuit.failed(AT, "x", POLICY, probe=False).revision == 1
    assert circuit.answered() is circuit  # nothing to change, nothing to store


# -- through dispatch --------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    records = MemoryRecords(clock)
    submit_certificate(SubmitCertificate(party("local-akl-chamber"), certificate()), records.uow())
    return records


def send(
    records: MemoryRecords, sender: ScriptedSender, receive: int = 1, parking: ParkingLot | None = None
) -> Dispatched:
    command = Attempt(message(), receive_count=receive, max_receives=250, retry=RetryPolicy(), circuit=POLICY)
    return dispatch(command, records.uow(), sender, parking or ParkingLot())


def stored_circuit(records: MemoryRecords) -> Circuit | None:
    return records.uow().circuits.get(CHINA_CUSTOMS)


def test_failures_in_a_row_open_the_circuit_and_then_nothing_is_sent(records: MemoryRecords, clock: FixedClock) -> None:
    sender = ScriptedSender(DOWN, DOWN, DOWN)
    for receive in (1, 2, 3):
        send(records, sender, receive)
        clock.advance(timedelta(seconds=1))
    circuit = stored_circuit(records)
    assert circuit is not None
    assert circuit.state is CircuitState.OPEN

    waiting = send(records, sender, 4)

    assert len(sender.sent) == 3  # the fourth receive was not sent
    assert (waiting.settled, waiting.sent, waiting.delivery.attempts) == (False, False, 3)
    assert waiting.retry_in_seconds is not None
    assert waiting.retry_in_seconds >= (AT + POLICY.cooldown - clock.now()).total_seconds()


def test_after_the_cooldown_one_delivery_probes_and_its_answer_closes_the_circuit(
    records: MemoryRecords, clock: FixedClock
) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened())
    uow.commit()
    clock.advance(POLICY.cooldown)
    sender = ScriptedSender(DELIVERED)

    probe = send(records, sender)

    assert (probe.sent, probe.delivery.state) == (True, DeliveryState.DELIVERED)
    circuit = stored_circuit(records)
    assert circuit is not None
    assert circuit.state is CircuitState.CLOSED
    assert probe.circuit == circuit


def test_only_one_delivery_probes_at_a_time(records: MemoryRecords, clock: FixedClock) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened())
    uow.commit()
    clock.advance(POLICY.cooldown)

    class OtherArrivesMeanwhile(ScriptedSender):
        def send(self, body: bytes, idempotency_key: str) -> Decision:
            # While this probe waits for China, the same delivery's duplicate message is received elsewhere.
            other = ScriptedSender()
            waited = send(records, other, 2)
            assert (waited.sent, other.sent) == (False, [])
            return super().send(body, idempotency_key)

    probe = send(records, OtherArrivesMeanwhile(DOWN))

    assert probe.sent
    circuit = stored_circuit(records)
    assert circuit is not None
    assert (circuit.state, circuit.cooldown_seconds) == (CircuitState.OPEN, 60)


def test_china_answering_anything_closes_the_circuit(records: MemoryRecords, clock: FixedClock) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened())
    uow.commit()
    clock.advance(POLICY.cooldown)

    result = send(records, ScriptedSender(REFUSED))

    assert result.delivery.state is DeliveryState.REJECTED
    circuit = stored_circuit(records)
    assert circuit is not None
    assert circuit.state is CircuitState.CLOSED


def test_a_delivery_whose_horizon_passes_while_the_circuit_is_open_parks_without_being_sent(
    records: MemoryRecords, clock: FixedClock
) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened(AT + RetryPolicy().horizon))
    uow.commit()
    clock.advance(RetryPolicy().horizon)
    parking, sender = ParkingLot(), ScriptedSender()

    result = send(records, sender, 60, parking)

    assert (result.settled, result.delivery.state, sender.sent) == (True, DeliveryState.PARKED, [])
    assert result.delivery.last_error == "China Customs unreachable for the whole retry horizon: HTTP 503"
    assert parking.parked == [message()]


def test_a_wait_notes_that_the_message_was_seen_so_reconciliation_leaves_it(
    records: MemoryRecords, clock: FixedClock
) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened(AT + timedelta(minutes=20)))
    uow.commit()
    clock.advance(timedelta(minutes=20))

    send(records, ScriptedSender())

    assert records.uow().deliveries.pending_before(clock.now() - timedelta(seconds=1), 10) == []
    assert len(records.uow().deliveries.pending_before(clock.now() + timedelta(seconds=1), 10)) == 1


def test_the_younger_a_waiting_delivery_the_later_it_comes_back(records: MemoryRecords, clock: FixedClock) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened(AT))
    uow.commit()

    young = send(records, ScriptedSender())
    clock.advance(timedelta(hours=3))
    uow = records.uow()
    uow.circuits.put(stored_circuit(records), opened(clock.now()).model_copy(update={"revision": 99}))
    uow.commit()
    old = send(records, ScriptedSender())

    # Both wait for the same cool-down; the stagger is one first cool-down for a new delivery, half at mid-horizon.
    assert (young.retry_in_seconds, old.retry_in_seconds) == (60, 45)


def test_operations_see_the_circuit_and_the_oldest_pending_delivery(records: MemoryRecords) -> None:
    uow = records.uow()
    uow.circuits.put(None, opened())
    uow.commit()

    status = delivery_status(party("local-ops"), records.uow())

    assert (status.circuit.state, status.pending, status.pending_at_least) == (CircuitState.OPEN, 1, False)
    assert status.oldest_pending is not None
    assert status.oldest_pending.idempotency_key == f"{NUMBER}/v1"


@pytest.mark.parametrize("client_id", ["local-akl-chamber", "local-cn-customs", "local-nz-customs"])
def test_only_operations_see_the_state_of_delivery(records: MemoryRecords, client_id: str) -> None:
    with pytest.raises(NotFound):
        delivery_status(party(client_id), records.uow())
