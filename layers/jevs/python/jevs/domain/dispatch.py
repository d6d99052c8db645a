"""Delivering certificates to China Customs, once in effect (DESIGN §6.2).

``dispatch`` sends one (certificate, version) and records what came of it before the message is
acknowledged: a crash after China accepted but before the record only means the message comes again, is
sent again under the same idempotency key, and China's answer (its stored receipt) is recorded then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jevs.domain.china_message import (
    MESSAGE_TYPE,
    RESULT_MESSAGE_TYPE,
    china_message,
    china_result_message,
    message_body,
)
from jevs.domain.delivery import (
    BASE_BACKOFF_SECONDS,
    FINAL_STATES,
    Decision,
    Delivery,
    DeliveryState,
    Outcome,
    backoff_seconds,
)
from jevs.domain.errors import NotFound
from jevs.domain.history import EventType, new_event
from jevs.domain.ports import ChinaSender, Clock, OutboxPublisher, RecordStore
from jevs.domain.records import CertificateRecord, OutboxChannel, OutboxMessage


@dataclass(frozen=True)
class DispatchResult:
    delivery: Delivery
    # True when the message may be acknowledged: delivered, rejected, or already done before.
    settled: bool
    # When not settled: seconds until the next attempt.
    retry_in_seconds: int | None = None


def dispatch(
    message: OutboxMessage,
    *,
    receive_count: int,
    max_receives: int,
    store: RecordStore,
    sender: ChinaSender,
    clock: Clock,
    backoff_base_seconds: int = BASE_BACKOFF_SECONDS,
) -> DispatchResult:
    """One attempt at delivering ``message``'s version (or match result). ``receive_count`` is how often the
    queue has handed this message out; on the last receive a failure parks the delivery (the queue then
    dead-letters it)."""
    record: CertificateRecord | None = None
    if message.declaration_id is not None:
        delivery = store.get_result_delivery(message.declaration_id)
        declaration = store.get_declaration(message.declaration_id)
        if delivery is None or declaration is None:
            raise NotFound(f"{message.declaration_id}: no result to deliver")
        if delivery.state in FINAL_STATES:
            return DispatchResult(delivery, settled=True)
        body = message_body(china_result_message(declaration, delivery.version))
    else:
        number, version = message.certificate_number, message.version
        delivery = store.get_delivery(number, version)
        record = store.get_certificate(number)
        if delivery is None or record is None:
            raise NotFound(f"{number} v{version}: no delivery to make")
        if delivery.state in FINAL_STATES:
            return DispatchResult(delivery, settled=True)
        if record.version != version:
            raise NotFound(f"{number} v{version}: the stored version is {record.version}")
        body = message_body(china_message(record))

    decision = sender.send(body, delivery.idempotency_key)
    now = clock.now()
    updated, event_type, settled = _outcome(delivery, decision, now, parked=receive_count >= max_receives)
    change = None
    # A certificate's delivery is part of its history; a match result's is recorded on the declaration only.
    if event_type is not None and record is not None:
        event = new_event(
            after=record.history_head,
            certificate_number=record.number,
            type=event_type,
            occurred_at=now,
            actor="jevs-dispatcher",
            version=record.version,
            details=_details(updated, decision),
        )
        change = (record.model_copy(update={"history_head": event.head}), event)
    store.record_delivery(delivery, updated, change)
    retry_in = (
        None
        if settled
        else backoff_seconds(updated.attempts, decision.retry_after_seconds, base_seconds=backoff_base_seconds)
    )
    return DispatchResult(updated, settled=settled, retry_in_seconds=retry_in)


def _outcome(
    delivery: Delivery, decision: Decision, now: datetime, *, parked: bool
) -> tuple[Delivery, EventType | None, bool]:
    """The delivery after this attempt, the history event its change of state is, and whether it is settled."""
    attempts = delivery.attempts + 1
    if decision.outcome is Outcome.DELIVERED:
        updated = delivery.model_copy(
            update={
                "state": DeliveryState.DELIVERED,
                "attempts": attempts,
                "receipt_id": decision.receipt_id,
                "delivered_at": now,
                "updated_at": now,
            }
        )
        return updated, EventType.DELIVERY_ACKNOWLEDGED, True
    if decision.outcome is Outcome.REJECTED:
        updated = delivery.model_copy(
            update={
                "state": DeliveryState.REJECTED,
                "attempts": attempts,
                "rejection_reason": decision.reason,
                "updated_at": now,
            }
        )
        return updated, EventType.DELIVERY_REJECTED, True
    updated = delivery.model_copy(
        update={
            "state": DeliveryState.PARKED if parked else DeliveryState.PENDING,
            "attempts": attempts,
            "last_error": decision.reason,
            "updated_at": now,
        }
    )
    return updated, (EventType.DELIVERY_PARKED if parked else None), False


def _details(delivery: Delivery, decision: Decision) -> dict[str, str | int | bool | None]:
    return {
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "receipt_id": delivery.receipt_id,
        "reason": None if delivery.state is DeliveryState.DELIVERED else decision.reason,
    }


def resume_parked(message: OutboxMessage, *, store: RecordStore, clock: Clock) -> Delivery | None:
    """A redrive brings the parked delivery of ``message`` back to PENDING (a certificate's with an event).
    None if it was not parked."""
    if message.declaration_id is not None:
        parked = store.get_result_delivery(message.declaration_id)
        if parked is None or parked.state is not DeliveryState.PARKED:
            return None
        resumed = parked.model_copy(update={"state": DeliveryState.PENDING, "updated_at": clock.now()})
        store.record_delivery(parked, resumed, None)
        return resumed
    number, version = message.certificate_number, message.version
    delivery = store.get_delivery(number, version)
    record = store.get_certificate(number)
    if delivery is None or record is None or delivery.state is not DeliveryState.PARKED:
        return None
    now = clock.now()
    resumed = delivery.model_copy(update={"state": DeliveryState.PENDING, "updated_at": now})
    event = new_event(
        after=record.history_head,
        certificate_number=number,
        type=EventType.DELIVERY_RESUMED,
        occurred_at=now,
        actor="ops",
        version=version,
        details={"state": DeliveryState.PENDING.value, "attempts": delivery.attempts},
    )
    store.record_delivery(delivery, resumed, (record.model_copy(update={"history_head": event.head}), event))
    return resumed


# A delivery normally completes in seconds; its five attempts with backoff (2 + 4 + 8 + 16 s plus the
# receive waits) end well within five minutes. One still PENDING fifteen minutes after it was queued has lost
# its message (or the dispatcher is down): reconciliation queues it again, then waits another bound.
RECONCILIATION_BOUND = timedelta(minutes=15)


@dataclass(frozen=True)
class ReconciliationReport:
    requeued: Sequence[Delivery]

    @property
    def count(self) -> int:
        return len(self.requeued)


def reconcile(
    *,
    store: RecordStore,
    publisher: OutboxPublisher,
    clock: Clock,
    bound: timedelta = RECONCILIATION_BOUND,
    limit: int = 500,
) -> ReconciliationReport:
    """Queue again every delivery still PENDING ``bound`` after it was last queued (DESIGN §6.2)."""
    now = clock.now()
    requeued = []
    for delivery in store.pending_deliveries(now - bound, limit):
        publisher.publish(
            OutboxMessage(
                message_id=f"{delivery.idempotency_key}/{OutboxChannel.DELIVERY_TO_CHINA}",
                channel=OutboxChannel.DELIVERY_TO_CHINA,
                kind=RESULT_MESSAGE_TYPE if delivery.declaration_id is not None else MESSAGE_TYPE,
                certificate_number=delivery.certificate_number,
                version=delivery.version,
                created_at=now,
                declaration_id=delivery.declaration_id,
            )
        )
        store.requeued(delivery, now)
        requeued.append(delivery)
    return ReconciliationReport(requeued)
