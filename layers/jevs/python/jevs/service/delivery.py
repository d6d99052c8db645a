"""Delivering to China Customs, once in effect (DESIGN.md §6.2): certificate versions and the match results of
China's import declarations, through one signed channel.

``dispatch`` makes one attempt and commits what came of it before the message is acknowledged: a crash after
China accepted but before the commit only means the message comes again, is sent again under the same
idempotency key, and China's answer (its stored receipt) is recorded then. ``reconcile`` queues again any
delivery whose message was lost; a redrive (``jevs.service.recovery``) brings parked deliveries back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from jevs.domain.china_message import message_body
from jevs.domain.delivery import BASE_BACKOFF_SECONDS, Delivery, DeliveryState, backoff_seconds
from jevs.domain.errors import NotFound
from jevs.domain.history import DetailValue, EventType
from jevs.domain.messages import ToChina
from jevs.service.ports import ChinaSender, Publisher
from jevs.service.unit_of_work import Refused, UnitOfWork

DISPATCHER = "jevs-dispatcher"
# A certificate's delivery changes its history when its state changes; a PENDING retry is not an event.
_STATE_EVENTS = {
    DeliveryState.DELIVERED: EventType.DELIVERY_ACKNOWLEDGED,
    DeliveryState.REJECTED: EventType.DELIVERY_REJECTED,
    DeliveryState.PARKED: EventType.DELIVERY_PARKED,
}


@dataclass(frozen=True)
class Attempt:
    message: ToChina
    # How often the queue has handed the message out; on the last receive a failure parks the delivery.
    receive_count: int
    max_receives: int
    backoff_base_seconds: int = BASE_BACKOFF_SECONDS


@dataclass(frozen=True)
class Dispatched:
    delivery: Delivery
    # True when the message may be acknowledged: delivered, rejected, or already done before.
    settled: bool
    # When not settled: seconds until the next attempt.
    retry_in_seconds: int | None = None


def dispatch(command: Attempt, uow: UnitOfWork, sender: ChinaSender) -> Dispatched:
    message = command.message
    delivery = uow.deliveries.get(message)
    if delivery is None:
        raise NotFound(f"{message.delivery_key}: no delivery to make")
    if delivery.settled:
        return Dispatched(delivery, settled=True)
    # A certificate's delivery is part of its history; a match result's is recorded on its declaration only.
    record = uow.certificates.get(message.history_of) if message.history_of is not None else None
    decision = sender.send(message_body(message.body), delivery.idempotency_key)
    now = uow.now()
    updated = delivery.attempted(decision, now, last_receive=command.receive_count >= command.max_receives)
    uow.deliveries.replace(delivery, updated)
    event_type = _STATE_EVENTS.get(updated.state)
    if record is not None and event_type is not None:
        details: dict[str, DetailValue] = {
            "message": message.delivery_key,
            "state": updated.state.value,
            "attempts": updated.attempts,
            "receipt_id": updated.receipt_id,
            "reason": None if updated.state is DeliveryState.DELIVERED else decision.reason,
        }
        uow.certificates.change(record.changed(event_type, at=now, actor=DISPATCHER, details=details))
    uow.commit()
    if updated.settled:
        return Dispatched(updated, settled=True)
    retry_in = backoff_seconds(
        updated.attempts, decision.retry_after_seconds, base_seconds=command.backoff_base_seconds
    )
    return Dispatched(updated, settled=False, retry_in_seconds=retry_in)


# A delivery normally completes in seconds; its five attempts with backoff (2 + 4 + 8 + 16 s plus the receive
# waits) end well within five minutes. One still PENDING fifteen minutes after it was queued has lost its
# message (or the dispatcher is down): reconciliation queues it again, then waits another bound.
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
        publisher.publish(delivery.message)
        uow.deliveries.requeued(delivery, now)
        # Delivered (or parked) since it was read: refused, it stays out of the pending index.
        with contextlib.suppress(Refused):
            uow.commit()
        requeued.append(delivery)
    return ReconciliationReport(requeued)
