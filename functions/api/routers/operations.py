"""``/v1/ops``: what operations staff do to keep messages flowing (DESIGN.md §1: state, queues, redrive; no
commercial content). A redrive is a job: started here, worked by the reconciler a page at a time, its progress read
here. These routes are not there for anyone but operations: 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.api import examples
from functions.api.edge import caller, idempotent, logger, unit_of_work
from functions.api.redrive_models import (
    REDRIVES_PATH,
    RedriveJobList,
    RedriveJobOut,
    RedriveRequest,
    redrive_path,
    render_redrive,
)
from functions.api.routers.parameters import IdempotencyKey
from jevs.domain.recovery import RedriveJob, RedriveQueue
from jevs.service import recovery
from jevs.service.recovery import MAX_PAGE_SIZE, StartRedrive

router = Router()  # type: ignore[no-untyped-call]

TAGS = ["operations"]
RedriveIdPath = Annotated[str, Path(max_length=64, description="The id the redrive was started under.")]
_STARTED: dict[int, OpenAPIResponse] = {
    202: {
        "description": "Started, RUNNING: the reconciler works it within a minute (follow Location for its progress)",
        "content": {"application/json": {"model": RedriveJobOut}},
    }
}


def started_answer(job: RedriveJob) -> Response[RedriveJobOut]:
    return Response(202, "application/json", render_redrive(job), {"Location": redrive_path(job.id)})


def _start(queue: RedriveQueue) -> Response[RedriveJobOut]:
    job = recovery.start_redrive(StartRedrive(caller(router), queue), unit_of_work(router, started_answer))
    logger.info("redrive started", extra={"redrive": job.id, "queue": job.queue.value})
    return started_answer(job)


@router.post(
    REDRIVES_PATH,
    operation_id="startRedrive",
    summary="Operations: empty a dead-letter queue back into the system, as a job worked in the background",
    description="Operations empty one dead-letter queue back into the system. The job runs in the background, a page "
    "at a time; follow `Location` for its progress.",
    tags=TAGS,
    responses=_STARTED,
    middlewares=[idempotent],
)
def start_redrive(
    request: Annotated[RedriveRequest, Body(openapi_examples=examples.REDRIVE)],
    idempotency_key: IdempotencyKey,
) -> Response[RedriveJobOut]:
    return _start(request.queue)


@router.get(
    REDRIVES_PATH,
    operation_id="listRedrives",
    summary="Operations: the latest redrives, newest first",
    description="The latest redrive jobs, newest first, with their progress.",
    tags=TAGS,
    responses={200: {"description": "The latest jobs", "content": {"application/json": {"model": RedriveJobList}}}},
)
def list_redrives(limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20) -> RedriveJobList:
    jobs = recovery.list_redrives(caller(router), limit, unit_of_work(router))
    return RedriveJobList(items=[render_redrive(job) for job in jobs])


@router.get(
    f"{REDRIVES_PATH}/<redrive_id>",
    operation_id="readRedrive",
    summary="Operations: a redrive and its progress (moved, pages, quarantined)",
    description="A redrive job: its queue, status, and how many messages it moved, in how many pages, and how many it "
    "set aside.",
    tags=TAGS,
    responses={200: {"description": "The job", "content": {"application/json": {"model": RedriveJobOut}}}},
)
def read_redrive(redrive_id: RedriveIdPath) -> RedriveJobOut:
    return render_redrive(recovery.read_redrive(caller(router), redrive_id, unit_of_work(router)))


@router.post(
    "/v1/ops/deliveries/redrive",
    operation_id="redriveParkedDeliveries",
    summary="Operations: redrive the delivery queue's dead letters (as POST /v1/ops/redrives with deliveries)",
    description='Deprecated: use `startRedrive` with `{"queue": "deliveries"}`, which this does.',
    tags=TAGS,
    responses=_STARTED,
    middlewares=[idempotent],
    deprecated=True,
)
def redrive_parked(idempotency_key: IdempotencyKey) -> Response[RedriveJobOut]:
    return _start(RedriveQueue.DELIVERIES)
