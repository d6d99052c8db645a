"""Delivering to China Customs, once in effect (DESIGN.md §6.2): certificate versions and the match results of
China's import declarations, through one signed channel.

``dispatch`` makes one attempt and commits what came of it before the message is acknowledged: a crash after
China accepted but before the commit only means the message comes again, is sent again under the same
idempotency key, and China's answer (its stored receipt) is recorded then. It asks China's circuit first: while
China keeps failing, messages wait without spending attempts, one probe at a time finds out when China is back.
A delivery is tried until its retry horizon passes (hours), then parked: its message is put in the dead-letter
queue before the delivery is recorded PARKED, so a redrive answering the alarm always finds it. A redrive
(``jevs.service.recovery``) brings parked deliveries back; ``reconcile`` queues again any delivery whose message
was lost.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jevs.domain.access import may_operate
from jevs.domain.breaker import CHINA_CUSTOMS, Circuit, CircuitPolicy, CircuitState
from jevs.domain.china_message import message_body
from jevs.domain.delivery import Decision, Delivery, DeliveryState, RetryPolicy
from jevs.domain.errors import NotFound
from jevs.domain.history import DetailValue, EventType
from jevs.domain.messages import ToChina
from jevs.domain.parties import Party
from jevs.service.ports import ChinaSender, Parking, Publisher
from jevs.service.unit_of_work import Refused, UnitOfWork

DISPATCHER = "jevs-dispatcher"
# A certificate's delivery changes its history when its state changes; a PENDING retry is not an event.
_STATE_EVENTS = {
    DeliveryState.DELIVERED: EventType.DELIVERY_ACKNOWLEDGED,
    DeliveryState.REJECTED: EventType.DELIVERY_REJECTED,
    DeliveryState.PARKED: EventType.DELIVERY_PARKED,
}
# A change of China's circuit that lost a race with another dispatcher's is made again on what that one wrote.
_CIRCUIT_ATTEMPTS = 3


@dataclass(frozen=True)
class Attempt:
    message: ToChina
    # How often the queue has handed the message out; on the queue's last receive a failure parks the delivery
    # whatever the horizon (the queue would otherwise move it to the dead-letter queue still PENDING).
    receive_count: int
    max_receives: int
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    circuit: CircuitPolicy = field(default_factory=CircuitPolicy)


@dataclass(frozen=True)
class Dispatched:
    delivery: Delivery
    # True when the message may be acknowledged: delivered, rejected, parked (its message is in the dead-letter
    # queue), or already done before.
    settled: bool
    # When not settled: seconds until the message should come back.
    retry_in_seconds: int | None = None
    # Whether China was called: not while its circuit is open.
    sent: bool = False
    # Whether this attempt changed the delivery's state (e.g. parked it), rather than found it so.
    changed: bool = False
    # China's circuit after this attempt, when the attempt opened or closed it.
    circuit: Circuit | None = None
    # What China's answer (or its silence) meant, when China was called.
    decision: Decision | None = None


def dispatch(command: Attempt, uow: UnitOfWork, sender: ChinaSender, parking: Parking) -> Dispatched:
    message = command.message
    delivery = uow.deliveries.get(message)
    if delivery is None:
        raise NotFound(f"{message.delivery_key}: no delivery to make")
    if delivery.settled:
        return Dispatched(delivery, settled=True)
    if delivery.state is DeliveryState.PARKED:
        # Its message belongs in the dead-letter queue, and this copy came back: a redrive took it from there
        # between its parking and the commit that recorded PARKED (and found nothing to resume), or it is a
        # duplicate. It goes back there, so a parked delivery always has a message a redrive can find.
        parking.park(message)
        return Dispatched(delivery, settled=True)
    now = uow.now()
    give_up = command.receive_count >= command.max_receives or command.retry.horizon_passed(delivery, now)
    circuit = uow.circuits.get(CHINA_CUSTOMS) or Circuit.closed(CHINA_CUSTOMS)
    admission = circuit.admission(now)
    probe = admission.probe and _claimed_probe(uow, circuit, now, command.circuit)
    if not (admission.send or probe):
        if give_up:
            reason = f"China Customs unreachable for the whole retry horizon: {circuit.last_error or 'no answer'}"
            return Dispatched(
                _record(uow, parking, delivery, delivery.parked_unsent(reason, now), reason), settled=True
            )
        # The circuit is open, or another delivery is probing: wait for it, without spending an attempt.
        uow.deliveries.waited(delivery, now)
        with contextlib.suppress(Refused):  # delivered or parked meanwhile: the next receive settles it
            uow.commit()
        until = admission.wait_until or now + command.circuit.probe_lease
        return Dispatched(delivery, settled=False, retry_in_seconds=_wait(delivery, until, now, command))
    # A certificate's delivery is part of its history; a match result's is recorded on its declaration only.
    decision = sender.send(message_body(message.body), delivery.idempotency_key)
    now = uow.now()
    updated = delivery.attempted(decision, now, give_up=give_up)
    changed = _circuit_after(uow, circuit, decision, now, command.circuit, probe=probe)
    _record(uow, parking, delivery, updated, decision.reason)
    if updated.settled or updated.state is DeliveryState.PARKED:
        return Dispatched(updated, settled=True, sent=True, changed=True, circuit=changed, decision=decision)
    retry_in = math.ceil(command.retry.backoff_seconds(updated.attempts, decision.retry_after_seconds))
    return Dispatched(updated, settled=False, retry_in_seconds=retry_in, sent=True, circuit=changed, decision=decision)


def _record(uow: UnitOfWork, parking: Parking, delivery: Delivery, updated: Delivery, reason: str) -> Delivery:
    """Commit the delivery's new state, with an event in its certificate's history when the state changed. A
    delivery about to be PARKED has its message put in the dead-letter queue first: recorded PARKED means a
    redrive can find it (a crash in between leaves a copy there that a redrive recognises as not parked)."""
    message = updated.message
    if updated.state is DeliveryState.PARKED:
        parking.park(message)
    uow.deliveries.replace(delivery, updated)
    event_type = _STATE_EVENTS.get(updated.state) if updated.state is not delivery.state else None
    record = uow.certificates.get(message.history_of) if message.history_of is not None else None
    if record is not None and event_type is not None:
        details: dict[str, DetailValue] = {
            "message": message.delivery_key,
            "state": updated.state.value,
            "attempts": updated.attempts,
            "receipt_id": updated.receipt_id,
            "reason": None if updated.state is DeliveryState.DELIVERED else reason,
        }
        uow.certificates.change(record.changed(event_type, at=updated.updated_at, actor=DISPATCHER, details=details))
    uow.commit()
    return updated


def _claimed_probe(uow: UnitOfWork, circuit: Circuit, now: datetime, policy: CircuitPolicy) -> bool:
    """Whether this delivery is the one that probes China: only one dispatcher's claim on the circuit wins."""
    uow.circuits.put(circuit, circuit.probing(now, policy))
    try:
        uow.commit()
    except Refused:
        return False
    return True


def _circuit_after(
    uow: UnitOfWork, before: Circuit, decision: Decision, now: datetime, policy: CircuitPolicy, *, probe: bool
) -> Circuit | None:
    """China's circuit after its answer (or its silence), stored over whatever other dispatchers stored meanwhile;
    None when it did not change. Kept apart from the delivery's commit: a circuit a little behind costs a probe
    or a few sends, never a delivery. So an answer to a send the circuit ``before`` it admitted as it is (closed,
    no failure counted) changes nothing and is not read again: most deliveries read the circuit once."""
    if decision.outcome.china_answered and not probe and before.answered() == before:
        return None
    for _ in range(_CIRCUIT_ATTEMPTS):
        read = uow.circuits.get(CHINA_CUSTOMS)
        current = read or Circuit.closed(CHINA_CUSTOMS)
        after = (
            current.answered()
            if decision.outcome.china_answered
            else current.failed(now, decision.reason, policy, probe=probe)
        )
        if after == current:
            return None
        uow.circuits.put(read, after)
        try:
            uow.commit()
        except Refused:
            continue
        opened_or_closed = (after.state is CircuitState.CLOSED) != (current.state is CircuitState.CLOSED)
        return after if opened_or_closed else None
    return None


def _wait(delivery: Delivery, until: datetime, now: datetime, command: Attempt) -> int:
    """Seconds until the message comes back to an open circuit: when a probe may go, and the younger the delivery
    the later (by up to one first cool-down), so that once China answers the oldest go first."""
    age = (now - delivery.created_at).total_seconds()
    youth = max(0.0, 1 - age / command.retry.horizon.total_seconds())
    stagger = command.circuit.cooldown.total_seconds() * youth
    return max(1, math.ceil((until - now).total_seconds() + stagger))


# The status counts pending deliveries up to this many (it says "at least" beyond).
STATUS_PENDING_LIMIT = 1000


@dataclass(frozen=True)
class DeliveryStatus:
    """How delivery to China stands: its circuit, and what waits to be delivered."""

    circuit: Circuit
    pending: int
    # True when there are at least ``pending``: the count stopped at STATUS_PENDING_LIMIT.
    pending_at_least: bool
    oldest_pending: Delivery | None


def delivery_status(party: Party, uow: UnitOfWork) -> DeliveryStatus:
    """China's circuit and the PENDING deliveries, oldest first: operations only (404 for anyone else, as every
    operations route answers)."""
    if not may_operate(party):
        raise NotFound("delivery status")
    pending = uow.deliveries.pending_before(uow.now() + timedelta(days=1), STATUS_PENDING_LIMIT)
    return DeliveryStatus(
        circuit=uow.circuits.get(CHINA_CUSTOMS) or Circuit.closed(CHINA_CUSTOMS),
        pending=len(pending),
        pending_at_least=len(pending) >= STATUS_PENDING_LIMIT,
        oldest_pending=pending[0] if pending else None,
    )


# A PENDING delivery's message comes back at least every ten minutes (the longest backoff, RetryPolicy.max_seconds;
# a wait on China's circuit, at most its longest cool-down plus one first cool-down) and each attempt or wait
# notes when it was seen (pending_since). One not seen for fifteen minutes has lost its message (or the dispatcher
# is down): reconciliation queues it again, then waits another bound.
RECONCILIATION_BOUND = timedelta(minutes=15)


@dataclass(frozen=True)
class Reconcile:
    bound: timedelta = RECONCILIATION_BOUND
    limit: int = 500


@dataclass(frozen=True)
class ReconciliationReport:
    requeued: Sequence[Delivery]

    @property
    def count(self) -> int:
        return len(self.requeued)


def reconcile(command: Reconcile, uow: UnitOfWork, publisher: Publisher) -> ReconciliationReport:
    """Queue again every delivery still PENDING ``bound`` after it was last queued (DESIGN.md §6.2)."""
    now = uow.now()
    requeued = []
    for delivery in uow.deliveries.pending_before(now - command.bound, command.limit):
        publisher.publish(delivery.message.outgoing())
        uow.deliveries.requeued(delivery, now)
        # Delivered (or parked) since it was read: refused, it stays out of the pending index.
        with contextlib.suppress(Refused):
            uow.commit()
        requeued.append(delivery)
    return ReconciliationReport(requeued)
