"""``GET /v1/ops/deliveries/status``: how delivery to China stands, for operations (DESIGN.md §6.2): China's circuit
breaker (closed, open and since when, or probing) and what waits to be delivered."""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import Field

from functions.api.edge import caller, unit_of_work
from functions.api.models import ApiModel
from jevs.domain.breaker import CircuitState
from jevs.service.delivery import DeliveryStatus, delivery_status

router = Router()  # type: ignore[no-untyped-call]


class CircuitOut(ApiModel):
    destination: str
    state: CircuitState = Field(
        description="CLOSED: sending. OPEN: China kept failing; nothing is sent until retry_at, and deliveries wait "
        "without spending attempts. HALF_OPEN: one delivery is probing China."
    )
    consecutive_failures: int
    opened_at: datetime | None = None
    retry_at: datetime | None = Field(
        default=None, description="OPEN: when a probe may go. HALF_OPEN: the probe's lease."
    )
    last_error: str | None = None


class PendingOut(ApiModel):
    count: int
    count_is_at_least: bool = Field(description="True when there are more than the count (it stops counting).")
    oldest_delivery: str | None = Field(default=None, description="The oldest pending delivery's key.")
    oldest_created_at: datetime | None = None
    oldest_last_error: str | None = None


class DeliveryStatusOut(ApiModel):
    circuit: CircuitOut
    pending: PendingOut


def render_status(status: DeliveryStatus) -> DeliveryStatusOut:
    circuit, oldest = status.circuit, status.oldest_pending
    return DeliveryStatusOut(
        circuit=CircuitOut.model_validate(circuit.model_dump(exclude={"cooldown_seconds", "revision"})),
        pending=PendingOut(
            count=status.pending,
            count_is_at_least=status.pending_at_least,
            oldest_delivery=oldest.idempotency_key if oldest else None,
            oldest_created_at=oldest.created_at if oldest else None,
            oldest_last_error=oldest.last_error if oldest else None,
        ),
    )


@router.get(
    "/v1/ops/deliveries/status",
    operation_id="readDeliveryStatus",
    summary="Operations: China's circuit breaker and the deliveries still pending",
    description="Operations: whether deliveries to China Customs flow (the circuit breaker's state) and how many "
    "wait, the oldest with its last error.",
    tags=["operations"],
    responses={
        200: {"description": "How delivery stands", "content": {"application/json": {"model": DeliveryStatusOut}}}
    },
)
def status() -> DeliveryStatusOut:
    return render_status(delivery_status(caller(router), unit_of_work(router)))
