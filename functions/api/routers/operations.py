"""``/v1/ops``: what operations staff do to keep delivery flowing (DESIGN.md §1: state, queues, redrive; no
commercial content)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.api.edge import caller, dependencies, idempotent_checked_first, logger, unit_of_work
from functions.api.responses import RedriveOut, render_redriven
from functions.api.routers.parameters import IdempotencyKey
from jevs.service.delivery import Redrive, Redriven, redrive

router = Router()  # type: ignore[no-untyped-call]


def redriven_answer(redriven: Redriven) -> Response[RedriveOut]:
    return Response(200, "application/json", render_redriven(redriven))


@router.post(
    "/v1/ops/deliveries/redrive",
    summary="Operations: move every parked delivery back to the delivery queue, resuming it",
    tags=["operations"],
    responses={200: {"description": "What was redriven", "content": {"application/json": {"model": RedriveOut}}}},
    middlewares=[idempotent_checked_first],
)
def redrive_parked(idempotency_key: IdempotencyKey) -> Response[RedriveOut]:
    redriven = redrive(
        Redrive(caller(router)), unit_of_work(router, redriven_answer), dependencies(router).dead_letters()
    )
    logger.info("redrive", extra={"count": redriven.count})
    return redriven_answer(redriven)
