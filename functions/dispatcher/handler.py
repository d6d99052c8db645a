"""The dispatcher function, on the delivery queue (DESIGN.md §6.2).

Each SQS record is one message to China (a certificate version, or a match result). The outcome is committed
before the record is acknowledged. A transient failure holds the message back for the backoff the domain chose
and reports it as a batch item failure; so does a message that waits for China's circuit to close. A delivery
parked (its horizon passed, or China's answer says a configuration is wrong) has its message in the dead-letter
queue already, where an alarm waits for it, and is acknowledged here.

A batch never outlives the function: before each message the dispatcher checks that the invocation has time left
for one whole attempt (``DispatcherSettings.attempt_seconds``: connect and read timeouts, signing, recording), and
hands the rest back at once, unattempted, for the next invocation.
"""

from __future__ import annotations

import importlib

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from jevs import bootstrap
from jevs.adapters.lambda_batches import SqsRecord, batch_handler
from jevs.bootstrap import DispatcherDependencies, Handler
from jevs.domain.breaker import Circuit, CircuitState
from jevs.domain.delivery import Delivery, DeliveryState
from jevs.domain.messages import ToChina
from jevs.service.delivery import Attempt, dispatch
from jevs.settings import DispatcherSettings

logger = Logger(service="jevs-dispatcher")
metrics = Metrics(namespace="JEVS", service="jevs-dispatcher")


class DeliveryRecord(SqsRecord):
    body: Json[ToChina]


class DeliveryNotSettled(Exception):
    """The attempt failed in a way that may pass; the message stays on the queue."""


def make_handler(dependencies: DispatcherDependencies) -> Handler:
    def deliver(record: DeliveryRecord, lambda_context: LambdaContext) -> None:
        if lambda_context.get_remaining_time_in_millis() < dependencies.attempt_seconds * 1000:
            dependencies.backoff.hold(record.receiptHandle, 0)
            metrics.add_metric(name="DeliveriesHandedBack", unit=MetricUnit.Count, value=1)
            raise DeliveryNotSettled("not attempted: too little time left in this invocation")
        attempt = Attempt(
            message=record.body,
            receive_count=record.attributes.ApproximateReceiveCount,
            max_receives=dependencies.max_receives,
            retry=dependencies.retry,
            circuit=dependencies.circuit,
        )
        result = dispatch(attempt, dependencies.unit_of_work(None), dependencies.sender, dependencies.parking)
        delivery = result.delivery
        # Ids and outcomes only (DESIGN.md §1): China's answer by its status, never by its words (a refusal's
        # reason may quote the certificate; the delivery record keeps it, and the certificate's history).
        log: dict[str, object] = {
            "delivery": delivery.idempotency_key,
            "state": delivery.state,
            "attempts": delivery.attempts,
        }
        if result.decision is not None:
            log["answer"] = result.decision.summary
        if result.circuit is not None:
            _circuit_changed(result.circuit)
        if result.settled:
            if result.changed:
                _settled(delivery, log, sent=result.sent)
            return
        if result.sent:
            metrics.add_metric(name="DeliveryRetries", unit=MetricUnit.Count, value=1)
            logger.info("will retry", extra={**log, "in_seconds": result.retry_in_seconds})
        else:
            metrics.add_metric(name="DeliveriesWaitingOnCircuit", unit=MetricUnit.Count, value=1)
        dependencies.backoff.hold(record.receiptHandle, result.retry_in_seconds or 0)
        raise DeliveryNotSettled(result.decision.summary if result.decision else "waits on China's circuit")

    return batch_handler(logger=logger, metrics=metrics, record_handler=deliver, model=DeliveryRecord)


def _settled(delivery: Delivery, log: dict[str, object], *, sent: bool) -> None:
    """Metrics and logs of a delivery this attempt settled (not of one found settled before)."""
    if delivery.state is DeliveryState.DELIVERED and delivery.delivered_at is not None:
        latency = (delivery.delivered_at - delivery.created_at).total_seconds() * 1000
        metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Milliseconds, value=latency)
        metrics.add_metric(name="DeliveriesDelivered", unit=MetricUnit.Count, value=1)
    elif delivery.state is DeliveryState.REJECTED:
        metrics.add_metric(name="DeliveriesRejected", unit=MetricUnit.Count, value=1)
        logger.warning("China rejected", extra=log)
    elif delivery.state is DeliveryState.PARKED:
        metrics.add_metric(name="DeliveriesParked", unit=MetricUnit.Count, value=1)
        # Parked unsent (China's circuit stayed open): the error is our own account of China's silence.
        logger.error("parked", extra=log if sent else {**log, "error": delivery.last_error})
    logger.info("settled", extra=log)


def _circuit_changed(circuit: Circuit) -> None:
    """China's circuit opened or closed: a metric (alarmed while open) and a log line an operator can find."""
    is_open = circuit.state is not CircuitState.CLOSED
    metrics.add_metric(name="ChinaCircuitOpen", unit=MetricUnit.Count, value=1 if is_open else 0)
    log = logger.warning if is_open else logger.info
    log(
        "China circuit",
        extra={"state": circuit.state, "failures": circuit.consecutive_failures, "error": circuit.last_error},
    )


# What the first delivery imports on its way (signing: reading the key's JWK, turning KMS's DER signature into JOSE's),
# imported before SnapStart's snapshot instead. httpx comes with the handler's dependencies (HttpChinaSender).
WARM_MODULES = (
    "cryptography.hazmat.primitives.asymmetric.utils",
    "cryptography.hazmat.primitives.serialization",
    "joserfc.jwk",
)


def warm() -> None:
    """Before SnapStart's snapshot: the modules of ``WARM_MODULES``."""
    for module in WARM_MODULES:
        importlib.import_module(module)


handler = bootstrap.lambda_entry(DispatcherSettings, bootstrap.dispatcher, make_handler)
bootstrap.snap_start(handler, warm)
