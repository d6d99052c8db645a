"""``/v1/verification-requests``: verification of origin (DESIGN.md §3, §5). China Customs raises and closes; the
certificate's issuing body or NZ Customs answers; those three read; anyone else gets 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from functions.api import examples
from functions.api.edge import caller, dependencies, idempotent, logger, metrics, unit_of_work
from functions.api.negotiation import asks_first_for
from functions.api.problems import not_acceptable
from functions.api.routers.parameters import IdempotencyKey
from functions.api.verification_models import (
    VERIFICATIONS_PATH,
    AnswerRequest,
    ClosureRequest,
    RaiseRequest,
    VerificationList,
    VerificationRequestOut,
    render_verification,
    verification_path,
)
from jevs.domain.errors import RetryableFailure
from jevs.domain.verification import MediaType, VerificationRequest, VerificationStatus
from jevs.service import verification
from jevs.service.verification import (
    MAX_PAGE_SIZE,
    AnswerVerification,
    CloseVerification,
    ListVerifications,
    RaiseVerification,
)

router = Router()  # type: ignore[no-untyped-call]

RequestIdPath = Annotated[str, Path(max_length=64, description="The id the request was raised under.")]
TAGS = ["verification"]


def raised_answer(request: VerificationRequest) -> Response[VerificationRequestOut]:
    location = {"Location": verification_path(request.id)}
    return Response(201, "application/json", render_verification(request), location)


def changed_answer(request: VerificationRequest) -> Response[VerificationRequestOut]:
    return Response(200, "application/json", render_verification(request))


@router.post(
    VERIFICATIONS_PATH,
    operation_id="raiseVerificationRequest",
    summary="Ask New Zealand to verify the origin of a certificate's goods (China Customs)",
    description="China Customs asks New Zealand to verify the origin of a certificate's goods, with its questions. "
    "Without `due_date`, the request is due at the end of the FTA's reply period.",
    tags=TAGS,
    responses={
        201: {
            "description": "Raised, OPEN until its due date",
            "content": {"application/json": {"model": VerificationRequestOut}},
        }
    },
    middlewares=[idempotent],
)
def raise_request(
    request: Annotated[RaiseRequest, Body(openapi_examples=examples.VERIFICATION_REQUEST)],
    idempotency_key: IdempotencyKey,
) -> Response[VerificationRequestOut]:
    command = RaiseVerification(
        caller(router),
        request.certificate_number,
        list(request.questions),
        request.due_date,
        dependencies(router).verification.reply_days,
    )
    raised = verification.raise_verification(command, unit_of_work(router, raised_answer))
    metrics.add_metric(name="VerificationRequestsRaised", unit=MetricUnit.Count, value=1)
    logger.info("verification requested", extra={"verification": raised.id})
    return raised_answer(raised)


@router.get(
    VERIFICATIONS_PATH,
    operation_id="listVerificationRequests",
    summary="Verification requests, newest first (China Customs, NZ Customs; an issuing body: about its own)",
    description="A page of verification requests, newest first, optionally of one status: China Customs and NZ "
    "Customs see all, an issuing body those about its certificates.",
    tags=TAGS,
    responses={200: {"description": "A page", "content": {"application/json": {"model": VerificationList}}}},
)
def list_requests(
    status: Annotated[VerificationStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> VerificationList:
    page = verification.list_verifications(
        ListVerifications(caller(router), status, limit, cursor), unit_of_work(router)
    )
    return VerificationList(items=[render_verification(each) for each in page.requests], next_cursor=page.next_cursor)


@router.get(
    f"{VERIFICATIONS_PATH}/<request_id>",
    operation_id="readVerificationRequest",
    summary="A verification request, its answer and conclusion (the parties involved)",
    description="The request, its questions, the answer with its documents, and China's conclusion. China Customs, NZ "
    "Customs and the certificate's issuing body only.",
    tags=TAGS,
    responses={200: {"description": "The request", "content": {"application/json": {"model": VerificationRequestOut}}}},
)
def read_request(request_id: RequestIdPath) -> VerificationRequestOut:
    return render_verification(verification.read_verification(caller(router), request_id, unit_of_work(router)))


@router.post(
    f"{VERIFICATIONS_PATH}/<request_id>/response",
    operation_id="answerVerificationRequest",
    summary="Answer a verification request, with documents (the certificate's issuing body or NZ Customs)",
    description="The certificate's issuing body or NZ Customs answers with a text and documents (PDF, PNG or JPEG, "
    "base64). The answer is sent to China Customs, signed. An answered or closed request is 409.",
    tags=TAGS,
    responses={
        200: {
            "description": "ANSWERED; the answer is on its way to China, signed",
            "content": {"application/json": {"model": VerificationRequestOut}},
        }
    },
    middlewares=[idempotent],
)
def answer_request(
    request_id: RequestIdPath,
    answer: Annotated[AnswerRequest, Body(openapi_examples=examples.VERIFICATION_ANSWER)],
    idempotency_key: IdempotencyKey,
) -> Response[VerificationRequestOut]:
    deps = dependencies(router)
    command = AnswerVerification(
        caller(router), request_id, answer.text, answer.uploads(), deps.verification.attachment_limits
    )
    answered = verification.answer_verification(command, unit_of_work(router, changed_answer), deps.documents)
    metrics.add_metric(name="VerificationRequestsAnswered", unit=MetricUnit.Count, value=1)
    logger.info("verification answered", extra={"verification": answered.id})
    return changed_answer(answered)


@router.post(
    f"{VERIFICATIONS_PATH}/<request_id>/closure",
    operation_id="closeVerificationRequest",
    summary="Close a verification request with China's conclusion (China Customs)",
    description="China Customs closes the request with its conclusion: the origin confirmed or not.",
    tags=TAGS,
    responses={200: {"description": "CLOSED", "content": {"application/json": {"model": VerificationRequestOut}}}},
    middlewares=[idempotent],
)
def close_request(
    request_id: RequestIdPath,
    closure: Annotated[ClosureRequest, Body(openapi_examples=examples.VERIFICATION_CLOSURE)],
    idempotency_key: IdempotencyKey,
) -> Response[VerificationRequestOut]:
    command = CloseVerification(caller(router), request_id, closure.conclusion, closure.text)
    closed = verification.close_verification(command, unit_of_work(router, changed_answer))
    logger.info("verification closed", extra={"verification": closed.id, "conclusion": closed.status.value})
    return changed_answer(closed)


@router.get(
    f"{VERIFICATIONS_PATH}/<request_id>/attachments/<index>",
    operation_id="readVerificationAttachment",
    summary="A document of a verification answer, as it was sent (the parties involved)",
    description="One document of the answer, its bytes as they were sent, in their media type. Ask with `Accept:` "
    "the attachment's `media_type` (first in the header): API Gateway sends the bytes only then, so any other "
    "Accept header (`*/*` too) is answered 406.",
    tags=TAGS,
    responses={
        200: {
            "description": "The document's bytes, in its media type",
            "content": {media_type.value: {} for media_type in MediaType},
        },
        406: {"description": "Accept does not ask first for the attachment's media type"},
    },
)
def attachment(request_id: RequestIdPath, index: Annotated[int, Path(ge=0, le=99)]):  # type: ignore[no-untyped-def]
    # No return annotation on purpose: Powertools validates an annotated return value as JSON, and a PDF is not.
    found = verification.attachment_of(caller(router), request_id, index, unit_of_work(router))
    if not asks_first_for(router.current_event.headers.get("Accept"), found.media_type.value):
        return not_acceptable(found.media_type.value)
    content = dependencies(router).documents.get(found.key)
    if content is None:
        raise RetryableFailure(f"the document {found.key} is not readable yet")
    disposition = {"Content-Disposition": f'attachment; filename="{found.name}"'}
    return Response(200, found.media_type.value, content, headers=disposition)
