"""``/v1/applications``: hosted issuing's applications, certified with the next number or rejected by the
issuing body, or withdrawn by the exporter (DESIGN.md §2, §3, §5)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from functions.api.edge import caller, dependencies, idempotent, metrics, unit_of_work
from functions.api.hosted_responses import (
    APPLICATIONS_PATH,
    ApplicationList,
    ApplicationOut,
    RecordHistoryOut,
    render_application,
    render_record_history,
)
from functions.api.requests import ApplicationLodgement, RejectionRequest
from functions.api.responses import CertificateOut, certificate_path, render_certificate
from functions.api.routers.parameters import DEFAULT_PAGE_SIZE, IdempotencyKey, PageCursor, PageLimit, RecordIdPath
from jevs.domain.access import View
from jevs.domain.applications import Application
from jevs.domain.new_zealand import new_zealand_date
from jevs.service import applications
from jevs.service.applications import Certified, DecideApplication, LodgeApplication, RejectApplication
from jevs.service.certificates import VisibleCertificate

router = Router()  # type: ignore[no-untyped-call]


def _now_rendered(record: Application) -> ApplicationOut:
    return render_application(record, dependencies(router).clock.now())


def lodged_answer(record: Application) -> Response[ApplicationOut]:
    location = {"Location": f"{APPLICATIONS_PATH}/{record.id}"}
    return Response(201, "application/json", _now_rendered(record), location)


def decided_answer(record: Application) -> Response[ApplicationOut]:
    return Response(200, "application/json", _now_rendered(record))


def certified_answer(certified: Certified) -> Response[CertificateOut]:
    record = certified.submitted.record
    today = new_zealand_date(dependencies(router).clock.now())
    body = render_certificate(VisibleCertificate(record, View.FULL), today, with_history_link=True)
    return Response(201, "application/json", body, {"Location": certificate_path(record.number)})


def _processing_time(record: Application) -> None:
    """How long the issuing body took, and whether within the one working day (DESIGN.md §2)."""
    if record.decided_at is not None:
        # A duration in a unit CloudWatch reads as one (Seconds), so its statistics and graphs convert it.
        seconds = (record.decided_at - record.lodged_at).total_seconds()
        metrics.add_metric(name="ApplicationProcessingSeconds", unit=MetricUnit.Seconds, value=seconds)
        metrics.add_metric(name="ApplicationsDecidedLate", unit=MetricUnit.Count, value=int(not record.decided_in_time))


@router.post(
    APPLICATIONS_PATH,
    operation_id="lodgeApplication",
    summary="Exporter: apply for a certificate, quoting approved goods registrations and an approved signatory",
    description="An exporter applies to its issuing body for a certificate, quoting approved goods registrations and "
    "an approved signatory. The issuing body decides within one working day (`due_at`).",
    tags=["hosted issuing"],
    responses={
        201: {"description": "Lodged, with its due time", "content": {"application/json": {"model": ApplicationOut}}}
    },
    middlewares=[idempotent],
)
def lodge_certificate_application(
    application: Annotated[ApplicationLodgement, Body()], idempotency_key: IdempotencyKey
) -> Response[ApplicationOut]:
    command = LodgeApplication(caller(router), application.to_domain())
    record = applications.lodge_application(command, unit_of_work(router, lodged_answer), dependencies(router).parties)
    metrics.add_metric(name="ApplicationsLodged", unit=MetricUnit.Count, value=1)
    return lodged_answer(record)


@router.get(
    APPLICATIONS_PATH,
    operation_id="listApplications",
    summary="An exporter's applications, or those lodged with the calling issuing body (past_due=true: overdue only)",
    description="A page of applications, oldest first: an exporter's own, or those lodged with the calling issuing "
    "body. Pass `next_cursor` as `cursor` for the next page.",
    tags=["hosted issuing"],
    responses={200: {"description": "Oldest first", "content": {"application/json": {"model": ApplicationList}}}},
)
def list_applications(
    past_due: Annotated[bool, Query(description="Only those past due: a page may then hold fewer than limit.")] = False,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> ApplicationList:
    page = applications.list_applications(caller(router), unit_of_work(router), limit, cursor)
    now = dependencies(router).clock.now()
    items = [render_application(record, now) for record in page.records if not past_due or record.past_due(now)]
    return ApplicationList(items=items, next_cursor=page.next_cursor)


@router.get(
    f"{APPLICATIONS_PATH}/<application_id>",
    operation_id="readApplication",
    summary="One application: status, due time, decision and certificate",
    description="The application with its status, due time, decision, and the certificate once certified. The "
    "exporter and its issuing body only.",
    tags=["hosted issuing"],
    responses={200: {"description": "It", "content": {"application/json": {"model": ApplicationOut}}}},
)
def read_one_application(application_id: RecordIdPath) -> ApplicationOut:
    return _now_rendered(applications.read_application(caller(router), application_id, unit_of_work(router)))


@router.get(
    f"{APPLICATIONS_PATH}/<application_id>/history",
    operation_id="readApplicationHistory",
    summary="An application's history (its lodging, decision, past-due flag), with the hash chain verified",
    description="Every event of the application, oldest first, each sealed and chained to the one before, with the "
    "chain verified.",
    tags=["hosted issuing"],
    responses={
        200: {"description": "Every event, oldest first", "content": {"application/json": {"model": RecordHistoryOut}}}
    },
)
def read_application_history(application_id: RecordIdPath) -> RecordHistoryOut:
    history = applications.read_application_history(
        caller(router), application_id, unit_of_work(router), dependencies(router).seals
    )
    return render_record_history(history)


@router.post(
    f"{APPLICATIONS_PATH}/<application_id>/certification",
    operation_id="certifyApplication",
    summary="Issuing body: certify the application; the certificate is issued with the next number",
    description="The issuing body certifies the application: the certificate is issued under its next number and "
    "queued for China Customs, as a submitted one would be.",
    tags=["hosted issuing"],
    responses={201: {"description": "The certificate", "content": {"application/json": {"model": CertificateOut}}}},
    middlewares=[idempotent],
)
def certify(application_id: RecordIdPath, idempotency_key: IdempotencyKey) -> Response[CertificateOut]:
    command = DecideApplication(caller(router), application_id)
    certified = applications.certify_application(command, unit_of_work(router, certified_answer))
    _processing_time(certified.application)
    metrics.add_metric(name="CertificatesCertified", unit=MetricUnit.Count, value=1)
    return certified_answer(certified)


@router.post(
    f"{APPLICATIONS_PATH}/<application_id>/rejection",
    operation_id="rejectApplication",
    summary="Issuing body: reject the application with reasons",
    description="The issuing body rejects the application with its reasons. An application already decided or "
    "withdrawn is 409.",
    tags=["hosted issuing"],
    responses={200: {"description": "Rejected", "content": {"application/json": {"model": ApplicationOut}}}},
    middlewares=[idempotent],
)
def reject(
    application_id: RecordIdPath, rejection: Annotated[RejectionRequest, Body()], idempotency_key: IdempotencyKey
) -> Response[ApplicationOut]:
    command = RejectApplication(caller(router), application_id, tuple(rejection.reasons))
    rejected = applications.reject_application(command, unit_of_work(router, decided_answer))
    _processing_time(rejected)
    return decided_answer(rejected)


@router.post(
    f"{APPLICATIONS_PATH}/<application_id>/withdrawal",
    operation_id="withdrawApplication",
    summary="Exporter: withdraw the application before a decision",
    description="The exporter withdraws its application before the issuing body decides. An application already "
    "decided is 409.",
    tags=["hosted issuing"],
    responses={200: {"description": "Withdrawn", "content": {"application/json": {"model": ApplicationOut}}}},
    middlewares=[idempotent],
)
def withdraw(application_id: RecordIdPath, idempotency_key: IdempotencyKey) -> Response[ApplicationOut]:
    command = DecideApplication(caller(router), application_id)
    return decided_answer(applications.withdraw_application(command, unit_of_work(router, decided_answer)))
