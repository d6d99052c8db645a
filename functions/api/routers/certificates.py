"""``/v1/certificates``: submit, read, list, and what each certificate keeps (history, deliveries, match
results, its PDF)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from functions.api import examples
from functions.api.edge import caller, dependencies, idempotent, logger, metrics, unit_of_work
from functions.api.negotiation import asks_first_for
from functions.api.problems import not_acceptable
from functions.api.requests import CertificateContent, ReasonRequest, ReplacementRequest
from functions.api.responses import (
    CERTIFICATES_PATH,
    CertificateList,
    CertificateOut,
    DeliveryList,
    HistoryOut,
    MatchList,
    certificate_path,
    render_certificate,
    render_deliveries,
    render_history,
    render_matches,
    summarise,
)
from functions.api.routers.parameters import CertificateNumberPath, IdempotencyKey, IsoDate
from jevs.domain.access import (
    FTA_IN_FORCE,
    MAX_ISSUE_SPAN_YEARS,
    ListingConstraints,
    View,
    may_read_history,
)
from jevs.domain.errors import RetryableFailure
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.records import CertificateRecord, CertificateStatus
from jevs.resources import certificate_document_key
from jevs.service import certificates, lifecycle
from jevs.service.certificates import (
    MAX_PAGE_SIZE,
    ListCertificates,
    SubmitCertificate,
    Submitted,
    VisibleCertificate,
)
from jevs.service.lifecycle import CopyCertificate, ReplaceCertificate, Replaced, RevokeCertificate

router = Router()  # type: ignore[no-untyped-call]
PDF = "application/pdf"


def today() -> date:
    return new_zealand_date(dependencies(router).clock.now())


def submitted_answer(submitted: Submitted) -> Response[CertificateOut]:
    """201 with the certificate as stored, or 200 with the one stored before (the same certificate again)."""
    body = render_certificate(VisibleCertificate(submitted.record, View.FULL), today(), with_history_link=True)
    location = {"Location": certificate_path(submitted.record.number)}
    return Response(201 if submitted.created else 200, "application/json", body, location)


@router.post(
    CERTIFICATES_PATH,
    operation_id="submitCertificate",
    summary="Submit a certificate issued by the caller's own system",
    description="Stores the certificate as issued by the caller's own system (an issuing body), with its history's "
    "first event, and queues its delivery to China Customs. The same certificate again answers 200 with the one "
    "stored; another certificate under a number already taken is 409.",
    tags=["certificates"],
    responses={
        201: {"description": "Stored", "content": {"application/json": {"model": CertificateOut}}},
        200: {
            "description": "Already stored with the same content",
            "content": {"application/json": {"model": CertificateOut}},
        },
    },
    middlewares=[idempotent],
)
def submit(
    certificate: Annotated[CertificateContent, Body(openapi_examples=examples.SUBMISSION)],
    idempotency_key: IdempotencyKey,
) -> Response[CertificateOut]:
    command = SubmitCertificate(caller(router), certificate.to_domain())
    submitted = certificates.submit_certificate(command, unit_of_work(router, submitted_answer))
    if submitted.created:
        metrics.add_metric(name="CertificatesSubmitted", unit=MetricUnit.Count, value=1)
    logger.info("certificate submitted", extra={"new": submitted.created})
    return submitted_answer(submitted)


@router.get(
    f"{CERTIFICATES_PATH}/<number>",
    operation_id="readCertificate",
    summary="Read a certificate, as the caller may see it",
    description="The certificate as the caller may see it: in full for its issuing body and exporter, a summary for "
    "customs. Anyone else gets 404.",
    tags=["certificates"],
    responses={200: {"description": "The certificate", "content": {"application/json": {"model": CertificateOut}}}},
)
def read(number: CertificateNumberPath) -> CertificateOut:
    party = caller(router)
    visible = certificates.read_certificate(party, number, unit_of_work(router))
    return render_certificate(visible, today(), with_history_link=may_read_history(party, visible.record))


@router.get(
    CERTIFICATES_PATH,
    operation_id="listCertificates",
    summary="List the certificates the caller may see, newest first",
    description="A page of the certificates the caller may see, newest first, filtered by status, exporter, issuing "
    "body, importing country and issue dates. Pass `next_cursor` as `cursor` for the next page.",
    tags=["certificates"],
    responses={
        200: {"description": "A page of certificates", "content": {"application/json": {"model": CertificateList}}}
    },
)
def list_visible(
    status: Annotated[CertificateStatus | None, Query()] = None,
    exporter: Annotated[str | None, Query(description="The exporter's NZBN.", pattern=r"^\d{13}$")] = None,
    issuing_body: Annotated[str | None, Query(max_length=64)] = None,
    importing_country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    issued_from: Annotated[
        IsoDate | None,
        Query(description=f"Issued on or after this day. Certificates exist from {FTA_IN_FORCE} (the FTA in force)."),
    ] = None,
    issued_to: Annotated[
        IsoDate | None,
        Query(
            description=f"Issued on or before this day; at most {MAX_ISSUE_SPAN_YEARS} years after `issued_from`, "
            "or the listing is refused (422)."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CertificateList:
    filters = ListingConstraints(
        issuing_body=issuing_body,
        exporter_business_number=exporter,
        importing_country=importing_country,
        status=status,
        issued_from=issued_from,
        issued_to=issued_to,
    )
    page = certificates.list_certificates(
        ListCertificates(caller(router), filters, limit, cursor), unit_of_work(router)
    )
    return CertificateList(items=[summarise(visible) for visible in page.certificates], next_cursor=page.next_cursor)


@router.get(
    f"{CERTIFICATES_PATH}/<number>/history",
    operation_id="readCertificateHistory",
    summary="Every event of a certificate, with its hash chain verified",
    description="Every event of the certificate, oldest first, each sealed and chained to the one before; the answer "
    "says whether the chain verified. The certificate's issuing body and exporter only.",
    tags=["certificates"],
    responses={200: {"description": "The history", "content": {"application/json": {"model": HistoryOut}}}},
)
def history(number: CertificateNumberPath) -> HistoryOut:
    seals = dependencies(router).seals
    return render_history(certificates.read_history(caller(router), number, unit_of_work(router), seals))


@router.get(
    f"{CERTIFICATES_PATH}/<number>/delivery",
    operation_id="readCertificateDeliveries",
    summary="The delivery to China Customs of each version: state, attempts, last error, receipt",
    description="For each version of the certificate, its delivery to China Customs: state, attempts, the last error "
    "and China's receipt.",
    tags=["delivery"],
    responses={200: {"description": "Deliveries", "content": {"application/json": {"model": DeliveryList}}}},
)
def deliveries(number: CertificateNumberPath) -> DeliveryList:
    return render_deliveries(certificates.read_deliveries(caller(router), number, unit_of_work(router)))


@router.get(
    f"{CERTIFICATES_PATH}/<number>/match-results",
    operation_id="readCertificateMatchResults",
    summary="The certificate's usage and the result of every declaration that quoted it (its owner only)",
    description="How much of the certificate's quantity has been used, and the result of each customs declaration "
    "that quoted it. The certificate's issuing body and exporter only.",
    tags=["declarations"],
    responses={200: {"description": "Match results", "content": {"application/json": {"model": MatchList}}}},
)
def match_results(number: CertificateNumberPath) -> MatchList:
    return render_matches(certificates.read_matches(caller(router), number, unit_of_work(router)))


# -- the certificate's life after issue (DESIGN.md §3): replacement, revocation, certified true copy ----------------


def replaced_answer(replaced: Replaced) -> Response[CertificateOut]:
    """201 with the replacement, where it can be read."""
    record = replaced.replacement
    body = render_certificate(VisibleCertificate(record, View.FULL), today(), with_history_link=True)
    return Response(201, "application/json", body, {"Location": certificate_path(record.number)})


def revoked_answer(record: CertificateRecord) -> Response[CertificateOut]:
    body = render_certificate(VisibleCertificate(record, View.FULL), today(), with_history_link=True)
    return Response(200, "application/json", body)


def copy_answer(record: CertificateRecord) -> Response[CertificateOut]:
    """201 with the copy: the certificate's new version, under the original's number."""
    body = render_certificate(VisibleCertificate(record, View.FULL), today(), with_history_link=True)
    return Response(201, "application/json", body, {"Location": certificate_path(record.number)})


@router.post(
    f"{CERTIFICATES_PATH}/<number>/replacement",
    operation_id="replaceCertificate",
    summary="Issuing body: replace a certificate with a corrected one under a number of its own",
    description="One transaction: the replacement ISSUED with `replaces`, taking over the original's usage; the "
    "original REPLACED with `replaced_by`; an event in each history; China told of both. Refused with 409 when the "
    "original is not ISSUED, 422 when the replacement's number is not under the original's prefix, 404 for anyone "
    "but the issuing body that issued it.",
    tags=["certificates"],
    responses={201: {"description": "The replacement", "content": {"application/json": {"model": CertificateOut}}}},
    middlewares=[idempotent],
)
def replace(
    number: CertificateNumberPath,
    replacement: Annotated[ReplacementRequest, Body(openapi_examples=examples.REPLACEMENT)],
    idempotency_key: IdempotencyKey,
) -> Response[CertificateOut]:
    command = ReplaceCertificate(caller(router), number, replacement.reason, replacement.certificate.to_domain())
    replaced = lifecycle.replace_certificate(command, unit_of_work(router, replaced_answer))
    metrics.add_metric(name="CertificatesReplaced", unit=MetricUnit.Count, value=1)
    return replaced_answer(replaced)


@router.post(
    f"{CERTIFICATES_PATH}/<number>/revocation",
    operation_id="revokeCertificate",
    summary="Issuing body: revoke a certificate, with the reason",
    description="REVOKED with its reason, in its history, and China told; matching refuses it from then on. "
    "Revoking a certificate that is not ISSUED (revoked already, or replaced) is 409.",
    tags=["certificates"],
    responses={200: {"description": "Revoked", "content": {"application/json": {"model": CertificateOut}}}},
    middlewares=[idempotent],
)
def revoke(
    number: CertificateNumberPath,
    revocation: Annotated[ReasonRequest, Body(openapi_examples=examples.REVOCATION)],
    idempotency_key: IdempotencyKey,
) -> Response[CertificateOut]:
    record = lifecycle.revoke_certificate(
        RevokeCertificate(caller(router), number, revocation.reason), unit_of_work(router, revoked_answer)
    )
    metrics.add_metric(name="CertificatesRevoked", unit=MetricUnit.Count, value=1)
    return revoked_answer(record)


@router.post(
    f"{CERTIFICATES_PATH}/<number>/certified-true-copy",
    operation_id="issueCertifiedTrueCopy",
    summary="Issuing body: issue a certified true copy of a lost original",
    description="Allowed while the original is ISSUED, unused and within validity. The copy is the certificate's "
    "next version: the original's number, issue date and validity, marked CERTIFIED TRUE COPY. Original and copy "
    "share one usage: once either is used, the other is void.",
    tags=["certificates"],
    responses={201: {"description": "The copy", "content": {"application/json": {"model": CertificateOut}}}},
    middlewares=[idempotent],
)
def certified_true_copy(
    number: CertificateNumberPath,
    request: Annotated[ReasonRequest, Body(openapi_examples=examples.COPY)],
    idempotency_key: IdempotencyKey,
) -> Response[CertificateOut]:
    copy = lifecycle.issue_certified_true_copy(
        CopyCertificate(caller(router), number, request.reason), unit_of_work(router, copy_answer)
    )
    metrics.add_metric(name="CertifiedTrueCopiesIssued", unit=MetricUnit.Count, value=1)
    return copy_answer(copy)


@router.get(
    f"{CERTIFICATES_PATH}/<number>/document",
    operation_id="readCertificateDocument",
    summary="The certificate as a PDF in the FTA's layout (its owner and issuing body)",
    description="The certificate's PDF in the FTA's layout, with the QR code that verifies it. Ask with `Accept: "
    "application/pdf` (first in the header): API Gateway sends the bytes only then, so any other Accept header "
    "(`*/*` too) is answered 406. Rendered shortly after issue: until then 503, retry.",
    tags=["certificates"],
    responses={
        200: {"description": "The PDF", "content": {"application/pdf": {}}},
        406: {"description": "Accept does not ask first for application/pdf"},
    },
)
def document(number: CertificateNumberPath):  # type: ignore[no-untyped-def]
    # No return annotation on purpose: Powertools validates an annotated return value as JSON, and a PDF is not.
    record = certificates.document_of(caller(router), number, unit_of_work(router))
    if not asks_first_for(router.current_event.headers.get("Accept"), PDF):
        return not_acceptable(PDF)
    pdf = dependencies(router).documents.get(certificate_document_key(record.number, record.version))
    if pdf is None:
        raise RetryableFailure(f"the PDF of {record.number} is being rendered")
    disposition = {"Content-Disposition": f'inline; filename="certificate-{record.number}.pdf"'}
    return Response(200, PDF, pdf, headers={**disposition, "Vary": "Accept"})
