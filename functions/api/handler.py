"""The API function: routes are thin, each parsing its input, calling one domain function and rendering
its result. Errors become problem details in ``problems``; rules live in ``jevs.domain``."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.models import (
    OAuth2,
    OAuthFlowClientCredentials,
    OAuthFlows,
    SecurityScheme,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import problems
from functions.api.dependencies import dependencies
from functions.api.issuing_schemas import (
    APPLICATIONS_PATH,
    GOODS_PATH,
    SIGNATORIES_PATH,
    ApplicationList,
    ApplicationOut,
    GoodsRegistrationList,
    GoodsRegistrationOut,
    SignatoryList,
    SignatoryOut,
    render_application,
    render_goods,
    render_signatory,
)
from functions.api.schemas import (
    CERTIFICATES_PATH,
    DECLARATIONS_PATH,
    CertificateList,
    CertificateOut,
    DeclarationOut,
    DeliveryList,
    HistoryOut,
    MatchList,
    RedriveOut,
    VerificationOut,
    certificate_path,
    declaration_path,
    render_certificate,
    render_declaration,
    render_deliveries,
    render_history,
    render_matches,
    summarise,
)
from jevs.domain.access import View, may_operate, may_read_history
from jevs.domain.applications import Application, ApplicationLodgement, RejectionRequest
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import DeclarationContent, DeclarationRecord
from jevs.domain.declaring import lodge_declaration, read_declaration
from jevs.domain.dispatch import resume_parked
from jevs.domain.errors import Forbidden, NotFound, RetryableFailure, Unauthenticated
from jevs.domain.hosted_issuing import (
    certify_application,
    decide_goods,
    decide_signatory,
    list_records,
    lodge_application,
    lodge_registration,
    read_application,
    read_goods,
    read_signatory,
    reject_application,
    withdraw_application,
)
from jevs.domain.idempotency import SubmissionResult
from jevs.domain.parties import Party
from jevs.domain.ports import HostedRecord, ListingConstraints
from jevs.domain.reading import (
    MAX_PAGE_SIZE,
    VisibleCertificate,
    list_certificates,
    read_certificate,
    read_deliveries,
    read_history,
    read_matches,
    verify_certificate,
)
from jevs.domain.records import CertificateRecord, CertificateStatus, OutboxMessage, StoredAnswer
from jevs.domain.registrations import (
    ApprovalDecision,
    GoodsLodgement,
    GoodsRegistration,
    RegistrationKind,
    Signatory,
    SignatoryLodgement,
)
from jevs.domain.submission import submit_certificate

NEW_ZEALAND = ZoneInfo("Pacific/Auckland")
API_TITLE = "JEVS: Joint Electronic Verification System"
API_VERSION = "1.0.0"
OPENAPI_SECURITY: dict[str, SecurityScheme] = {
    "oauth2": OAuth2(
        flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth2/token", scopes={})),
        description="OAuth2 client credentials: each partner system is a client standing for one party.",
    )
}

logger = Logger(service="jevs-api")
metrics = Metrics(namespace="JEVS", service="jevs-api")
app = APIGatewayRestResolver(enable_validation=True)
problems.register(app)
app.enable_swagger(
    path="/docs",
    title=API_TITLE,
    version=API_VERSION,
    security_schemes=OPENAPI_SECURITY,
    security=[{"oauth2": []}],
)

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A key the client makes per request: a retry with the same key and body gets the first answer.",
    ),
]
CertificateNumberPath = Annotated[
    str, Path(description="NN.NNNN.NNNNN, or the COO form NZ export entries quote.", examples=["11.1234.12345"])
]


def caller() -> Party:
    """The party behind the token the API Gateway authorizer (Cognito, or the local gateway) accepted."""
    claims = (app.current_event.request_context.authorizer.claims or {}) if app.current_event.request_context else {}
    client_id = claims.get("client_id")
    party = dependencies().parties.party_for_client(client_id) if client_id else None
    if party is None:
        raise Unauthenticated()
    logger.append_keys(party=party.id)
    return party


def today_in_new_zealand() -> date:
    return dependencies().clock.now().astimezone(NEW_ZEALAND).date()


def json_response(status: int, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status, "application/json", body, headers=headers)


def stored_answer_response(result: SubmissionResult) -> Response[str]:
    """The answer an idempotent POST stored, with its Location, marked when it replays an earlier request."""
    headers = {"Location": result.answer.location} if result.answer.location else {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = json.dumps(result.answer.body, separators=(",", ":"), ensure_ascii=False)
    return json_response(result.answer.status_code, body, headers)


@app.post(
    CERTIFICATES_PATH,
    summary="Submit a certificate issued by the caller's own system",
    tags=["certificates"],
    responses={
        201: {"description": "Stored", "content": {"application/json": {"model": CertificateOut}}},
        200: {
            "description": "Already stored with the same content",
            "content": {"application/json": {"model": CertificateOut}},
        },
    },
)
def submit(certificate: Annotated[CertificateContent, Body()], idempotency_key: IdempotencyKey) -> Response[str]:
    party = caller()
    deps = dependencies()
    today = today_in_new_zealand()

    def answer_for(record: CertificateRecord, created: bool) -> StoredAnswer:
        body = render_certificate(VisibleCertificate(record, View.FULL), today, with_history_link=True)
        return StoredAnswer(
            status_code=201 if created else 200,
            body=body.model_dump(mode="json", exclude_none=True),
            location=certificate_path(record.number),
        )

    result = submit_certificate(
        party=party,
        content=certificate,
        idempotency_key=idempotency_key,
        store=deps.store,
        clock=deps.clock,
        answer_for=answer_for,
    )
    if result.answer.status_code == 201 and not result.replayed:
        metrics.add_metric(name="CertificatesSubmitted", unit=MetricUnit.Count, value=1)
    logger.info("certificate submitted", extra={"status": result.answer.status_code, "replayed": result.replayed})
    return stored_answer_response(result)


@app.get(
    f"{CERTIFICATES_PATH}/<number>",
    summary="Read a certificate, as the caller may see it",
    tags=["certificates"],
    responses={200: {"description": "The certificate", "content": {"application/json": {"model": CertificateOut}}}},
)
def read(number: CertificateNumberPath) -> Response[str]:
    party = caller()
    visible = read_certificate(party, number, dependencies().store)
    body = render_certificate(
        visible, today_in_new_zealand(), with_history_link=may_read_history(party, visible.record)
    )
    return json_response(200, body.model_dump_json(exclude_none=True))


@app.get(
    CERTIFICATES_PATH,
    summary="List the certificates the caller may see, newest first",
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
    issued_from: Annotated[date | None, Query()] = None,
    issued_to: Annotated[date | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    party = caller()
    filters = ListingConstraints(
        issuing_body=issuing_body,
        exporter_business_number=exporter,
        importing_country=importing_country,
        status=status,
        issued_from=issued_from,
        issued_to=issued_to,
    )
    page = list_certificates(party, filters, limit, cursor, dependencies().store)
    body = CertificateList(items=[summarise(visible) for visible in page.certificates], next_cursor=page.next_cursor)
    return json_response(200, body.model_dump_json(exclude_none=True))


@app.get(
    f"{CERTIFICATES_PATH}/<number>/history",
    summary="Every event of a certificate, with its hash chain verified",
    tags=["certificates"],
    responses={200: {"description": "The history", "content": {"application/json": {"model": HistoryOut}}}},
)
def history(number: CertificateNumberPath) -> Response[str]:
    party = caller()
    verified = read_history(party, number, dependencies().store)
    return json_response(200, render_history(verified).model_dump_json(exclude_none=True))


@app.get(
    f"{CERTIFICATES_PATH}/<number>/delivery",
    summary="The delivery to China Customs of each version: state, attempts, last error, receipt",
    tags=["delivery"],
    responses={200: {"description": "Deliveries", "content": {"application/json": {"model": DeliveryList}}}},
)
def deliveries(number: CertificateNumberPath) -> Response[str]:
    party = caller()
    visible = read_deliveries(party, number, dependencies().store)
    return json_response(200, render_deliveries(visible).model_dump_json(exclude_none=True))


@app.post(
    "/v1/ops/deliveries/redrive",
    summary="Operations: move every parked delivery back to the delivery queue, resuming it",
    tags=["operations"],
    responses={200: {"description": "What was redriven", "content": {"application/json": {"model": RedriveOut}}}},
)
def redrive_parked(idempotency_key: IdempotencyKey) -> Response[str]:
    party = caller()
    if not may_operate(party):
        raise Forbidden("only operations redrive deliveries")
    deps = dependencies()

    def resume(message: OutboxMessage) -> None:
        resume_parked(message, store=deps.store, clock=deps.clock)

    moved = deps.redrive(resume)
    logger.info("redrive", extra={"count": len(moved)})
    redriven = [
        f"{m.declaration_id}/result" if m.declaration_id is not None else f"{m.certificate_number}/v{m.version}"
        for m in moved
    ]
    body = RedriveOut(count=len(moved), redriven=redriven)
    return json_response(200, body.model_dump_json())


@app.get(
    f"{CERTIFICATES_PATH}/<number>/match-results",
    summary="The certificate's usage and the result of every declaration that quoted it (its owner only)",
    tags=["declarations"],
    responses={200: {"description": "Match results", "content": {"application/json": {"model": MatchList}}}},
)
def match_results(number: CertificateNumberPath) -> Response[str]:
    party = caller()
    visible = read_matches(party, number, dependencies().store)
    return json_response(200, render_matches(visible).model_dump_json())


DeclarationIdPath = Annotated[
    str, Path(description="The id the lodgement answered, e.g. CNIM-223320261000123456.", max_length=64)
]


@app.post(
    DECLARATIONS_PATH,
    summary="Lodge an export entry (NZ Customs) or an import declaration (China Customs) for matching",
    tags=["declarations"],
    responses={
        202: {"description": "Received; matched shortly", "content": {"application/json": {"model": DeclarationOut}}},
        200: {
            "description": "Already lodged with the same content: the first lodgement, and its result once decided",
            "content": {"application/json": {"model": DeclarationOut}},
        },
    },
)
def lodge(declaration: Annotated[DeclarationContent, Body()], idempotency_key: IdempotencyKey) -> Response[str]:
    party = caller()
    deps = dependencies()

    def answer_for(record: DeclarationRecord, created: bool) -> StoredAnswer:
        return StoredAnswer(
            status_code=202 if created else 200,
            body=render_declaration(record).model_dump(mode="json"),
            location=declaration_path(record.id),
        )

    result = lodge_declaration(
        party=party,
        content=declaration,
        idempotency_key=idempotency_key,
        store=deps.store,
        clock=deps.clock,
        answer_for=answer_for,
    )
    if result.answer.status_code == 202 and not result.replayed:
        metrics.add_metric(name="DeclarationsLodged", unit=MetricUnit.Count, value=1)
    logger.info("declaration lodged", extra={"status": result.answer.status_code, "replayed": result.replayed})
    return stored_answer_response(result)


@app.get(
    f"{DECLARATIONS_PATH}/<declaration_id>",
    summary="A declaration's status and, once decided, its match result (the customs that lodged it)",
    tags=["declarations"],
    responses={200: {"description": "The declaration", "content": {"application/json": {"model": DeclarationOut}}}},
)
def read_one_declaration(declaration_id: DeclarationIdPath) -> Response[str]:
    party = caller()
    record = read_declaration(party, declaration_id, dependencies().store)
    return json_response(200, render_declaration(record).model_dump_json())


# -- hosted issuing (DESIGN §5): goods registrations, signatories, applications, certification --------------


def _created(record: HostedRecord) -> StoredAnswer:
    """The 201 answer to a lodgement, stored for idempotent retries."""
    if isinstance(record, GoodsRegistration):
        body, path = render_goods(record).model_dump(mode="json"), f"{GOODS_PATH}/{record.id}"
    elif isinstance(record, Signatory):
        body, path = render_signatory(record).model_dump(mode="json"), f"{SIGNATORIES_PATH}/{record.id}"
    else:
        body = render_application(record, past_due=False).model_dump(mode="json")
        path = f"{APPLICATIONS_PATH}/{record.id}"
    return StoredAnswer(status_code=201, body=body, location=path)


RecordIdPath = Annotated[str, Path(max_length=64, description="The id the lodgement answered.")]


@app.post(
    GOODS_PATH,
    summary="Exporter: lodge goods (HS code, origin criterion, producer, confidential evidence) for approval",
    tags=["hosted issuing"],
    responses={201: {"description": "Lodged", "content": {"application/json": {"model": GoodsRegistrationOut}}}},
)
def lodge_goods_registration(
    goods: Annotated[GoodsLodgement, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    deps = dependencies()
    result = lodge_registration(
        party=caller(),
        lodged=goods,
        idempotency_key=idempotency_key,
        store=deps.store,
        parties=deps.parties,
        clock=deps.clock,
        answer_for=_created,
    )
    return stored_answer_response(result)


@app.get(
    GOODS_PATH,
    summary="An exporter's goods registrations, or those lodged with the calling issuing body",
    tags=["hosted issuing"],
    responses={200: {"description": "Oldest first", "content": {"application/json": {"model": GoodsRegistrationList}}}},
)
def list_goods() -> Response[str]:
    records = [
        r
        for r in list_records(caller(), RegistrationKind.GOODS, dependencies().store)
        if isinstance(r, GoodsRegistration)
    ]
    return json_response(200, GoodsRegistrationList(items=[render_goods(r) for r in records]).model_dump_json())


@app.get(
    f"{GOODS_PATH}/<registration_id>",
    summary="One goods registration, with its evidence (the exporter and its issuing body only)",
    tags=["hosted issuing"],
    responses={200: {"description": "It", "content": {"application/json": {"model": GoodsRegistrationOut}}}},
)
def read_goods_registration(registration_id: RecordIdPath) -> Response[str]:
    record = read_goods(caller(), registration_id, dependencies().store)
    return json_response(200, render_goods(record).model_dump_json())


@app.post(
    f"{GOODS_PATH}/<registration_id>/approval",
    summary="Issuing body: approve the goods until a date, or refuse them with reasons",
    tags=["hosted issuing"],
    responses={200: {"description": "Decided", "content": {"application/json": {"model": GoodsRegistrationOut}}}},
)
def decide_goods_registration(
    registration_id: RecordIdPath, decision: Annotated[ApprovalDecision, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    deps = dependencies()
    record = decide_goods(
        party=caller(), registration_id=registration_id, decision=decision, store=deps.store, clock=deps.clock
    )
    return json_response(200, render_goods(record).model_dump_json())


@app.post(
    SIGNATORIES_PATH,
    summary="Exporter: register a person who signs its applications",
    tags=["hosted issuing"],
    responses={201: {"description": "Lodged", "content": {"application/json": {"model": SignatoryOut}}}},
)
def lodge_signatory_registration(
    signatory: Annotated[SignatoryLodgement, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    deps = dependencies()
    result = lodge_registration(
        party=caller(),
        lodged=signatory,
        idempotency_key=idempotency_key,
        store=deps.store,
        parties=deps.parties,
        clock=deps.clock,
        answer_for=_created,
    )
    return stored_answer_response(result)


@app.get(
    SIGNATORIES_PATH,
    summary="An exporter's signatories, or those registered with the calling issuing body",
    tags=["hosted issuing"],
    responses={200: {"description": "Oldest first", "content": {"application/json": {"model": SignatoryList}}}},
)
def list_signatories() -> Response[str]:
    records = [
        r for r in list_records(caller(), RegistrationKind.SIGNATORY, dependencies().store) if isinstance(r, Signatory)
    ]
    return json_response(200, SignatoryList(items=[render_signatory(r) for r in records]).model_dump_json())


@app.get(
    f"{SIGNATORIES_PATH}/<signatory_id>",
    summary="One signatory, with contact details (the exporter and its issuing body only)",
    tags=["hosted issuing"],
    responses={200: {"description": "It", "content": {"application/json": {"model": SignatoryOut}}}},
)
def read_one_signatory(signatory_id: RecordIdPath) -> Response[str]:
    record = read_signatory(caller(), signatory_id, dependencies().store)
    return json_response(200, render_signatory(record).model_dump_json())


@app.post(
    f"{SIGNATORIES_PATH}/<signatory_id>/approval",
    summary="Issuing body: approve the signatory, or refuse with reasons",
    tags=["hosted issuing"],
    responses={200: {"description": "Decided", "content": {"application/json": {"model": SignatoryOut}}}},
)
def decide_signatory_registration(
    signatory_id: RecordIdPath, decision: Annotated[ApprovalDecision, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    deps = dependencies()
    record = decide_signatory(
        party=caller(), signatory_id=signatory_id, decision=decision, store=deps.store, clock=deps.clock
    )
    return json_response(200, render_signatory(record).model_dump_json())


def _past_due(record: Application) -> bool:
    return record.open and dependencies().clock.now() > record.due_at


@app.post(
    APPLICATIONS_PATH,
    summary="Exporter: apply for a certificate, quoting approved goods registrations and an approved signatory",
    tags=["hosted issuing"],
    responses={
        201: {"description": "Lodged, with its due time", "content": {"application/json": {"model": ApplicationOut}}}
    },
)
def lodge_certificate_application(
    application: Annotated[ApplicationLodgement, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    deps = dependencies()
    result = lodge_application(
        party=caller(),
        lodged=application,
        idempotency_key=idempotency_key,
        store=deps.store,
        parties=deps.parties,
        clock=deps.clock,
        answer_for=_created,
    )
    if not result.replayed:
        metrics.add_metric(name="ApplicationsLodged", unit=MetricUnit.Count, value=1)
    return stored_answer_response(result)


@app.get(
    APPLICATIONS_PATH,
    summary="An exporter's applications, or those lodged with the calling issuing body (past_due=true: overdue only)",
    tags=["hosted issuing"],
    responses={200: {"description": "Oldest first", "content": {"application/json": {"model": ApplicationList}}}},
)
def list_applications(past_due: Annotated[bool, Query()] = False) -> Response[str]:
    records = [
        r
        for r in list_records(caller(), RegistrationKind.APPLICATION, dependencies().store)
        if isinstance(r, Application)
    ]
    rendered = [render_application(r, past_due=_past_due(r)) for r in records]
    items = [r for r in rendered if r.past_due] if past_due else rendered
    return json_response(200, ApplicationList(items=items).model_dump_json())


@app.get(
    f"{APPLICATIONS_PATH}/<application_id>",
    summary="One application: status, due time, decision and certificate",
    tags=["hosted issuing"],
    responses={200: {"description": "It", "content": {"application/json": {"model": ApplicationOut}}}},
)
def read_one_application(application_id: RecordIdPath) -> Response[str]:
    record = read_application(caller(), application_id, dependencies().store)
    return json_response(200, render_application(record, past_due=_past_due(record)).model_dump_json())


def _processing_time(record: Application) -> None:
    """How long the issuing body took, and whether within the one working day (DESIGN §2)."""
    if record.decided_at is not None:
        minutes = (record.decided_at - record.lodged_at).total_seconds() / 60
        metrics.add_metric(name="ApplicationProcessingMinutes", unit=MetricUnit.Count, value=minutes)
        metrics.add_metric(name="ApplicationsDecidedLate", unit=MetricUnit.Count, value=int(not record.decided_in_time))


@app.post(
    f"{APPLICATIONS_PATH}/<application_id>/certification",
    summary="Issuing body: certify the application; the certificate is issued with the next number",
    tags=["hosted issuing"],
    responses={201: {"description": "The certificate", "content": {"application/json": {"model": CertificateOut}}}},
)
def certify(application_id: RecordIdPath, idempotency_key: IdempotencyKey) -> Response[str]:
    party = caller()
    deps = dependencies()
    today = today_in_new_zealand()

    def answer_for(record: CertificateRecord, created: bool) -> StoredAnswer:
        body = render_certificate(VisibleCertificate(record, View.FULL), today, with_history_link=True)
        return StoredAnswer(
            status_code=201 if created else 200,
            body=body.model_dump(mode="json", exclude_none=True),
            location=certificate_path(record.number),
        )

    result = certify_application(
        party=party,
        application_id=application_id,
        idempotency_key=idempotency_key,
        store=deps.store,
        clock=deps.clock,
        answer_for=answer_for,
    )
    if not result.replayed:
        certified = deps.store.get_application(application_id)
        if certified is not None:
            _processing_time(certified)
        metrics.add_metric(name="CertificatesCertified", unit=MetricUnit.Count, value=1)
    return stored_answer_response(result)


@app.post(
    f"{APPLICATIONS_PATH}/<application_id>/rejection",
    summary="Issuing body: reject the application with reasons",
    tags=["hosted issuing"],
    responses={200: {"description": "Rejected", "content": {"application/json": {"model": ApplicationOut}}}},
)
def reject(
    application_id: RecordIdPath, rejection: Annotated[RejectionRequest, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    deps = dependencies()
    record = reject_application(
        party=caller(), application_id=application_id, reasons=rejection.reasons, store=deps.store, clock=deps.clock
    )
    _processing_time(record)
    return json_response(200, render_application(record, past_due=False).model_dump_json())


@app.post(
    f"{APPLICATIONS_PATH}/<application_id>/withdrawal",
    summary="Exporter: withdraw the application before a decision",
    tags=["hosted issuing"],
    responses={200: {"description": "Withdrawn", "content": {"application/json": {"model": ApplicationOut}}}},
)
def withdraw(application_id: RecordIdPath, idempotency_key: IdempotencyKey) -> Response[str]:
    deps = dependencies()
    record = withdraw_application(party=caller(), application_id=application_id, store=deps.store, clock=deps.clock)
    return json_response(200, render_application(record, past_due=False).model_dump_json())


@app.get(
    f"{CERTIFICATES_PATH}/<number>/document",
    summary="The certificate as a PDF in the FTA's layout (its owner and issuing body)",
    tags=["certificates"],
    responses={200: {"description": "The PDF", "content": {"application/pdf": {}}}},
)
def document(number: CertificateNumberPath):  # type: ignore[no-untyped-def]
    # No return annotation on purpose: Powertools validates an annotated return value as JSON, and a PDF is not.
    party = caller()
    visible = read_certificate(party, number, dependencies().store)
    if visible.view is not View.FULL:
        raise NotFound(number)
    pdf = dependencies().pdf(visible.record.number, visible.record.version)
    if pdf is None:
        raise RetryableFailure(f"the PDF of {visible.record.number} is being rendered")
    return Response(
        200,
        "application/pdf",
        pdf,
        headers={"Content-Disposition": f'inline; filename="certificate-{visible.record.number}.pdf"'},
    )


@app.get(
    "/v1/verify/<number>",
    summary="Public: is this certificate valid, who issued it, and does the printed digest match",
    tags=["verification"],
    responses={200: {"description": "The verification", "content": {"application/json": {"model": VerificationOut}}}},
)
def verify(
    number: CertificateNumberPath,
    digest: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="The digest the QR code carries.")
    ] = None,
) -> Response[str]:
    # Imported here: only verification and the documents function need the PDF's printed data (and reportlab).
    from jevs.documents.certificate_pdf import printed_digest

    checked = verify_certificate(
        number, digest, store=dependencies().store, today=today_in_new_zealand(), digest_of=printed_digest
    )
    record = checked.record
    body = VerificationOut(
        certificate_number=record.number,
        status=record.status,
        currently_valid=checked.currently_valid,
        issuing_body=record.issuing_body_name,
        issue_date=record.content.issue_date,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        digest_matches=checked.digest_matches,
    )
    return json_response(200, body.model_dump_json(), headers={"Cache-Control": "no-store"})


@app.get("/.well-known/jwks.json", include_in_schema=True, summary="The keys that verify what JEVS signs")
def jwks() -> Response[str]:
    return Response(
        200,
        "application/jwk-set+json",
        json.dumps(dependencies().jwks()),
        headers={"Cache-Control": "public, max-age=300"},
    )


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    spec = app.get_openapi_json_schema(
        title=API_TITLE, version=API_VERSION, security_schemes=OPENAPI_SECURITY, security=[{"oauth2": []}]
    )
    return json_response(200, spec)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rejection = problems.reject_unacceptable_body(event, dependencies().max_request_bytes)
    if rejection is not None:
        return rejection
    return app.resolve(event, context)
