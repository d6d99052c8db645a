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
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import DeclarationContent, DeclarationRecord
from jevs.domain.declaring import lodge_declaration, read_declaration
from jevs.domain.dispatch import resume_parked
from jevs.domain.errors import Forbidden, Unauthenticated
from jevs.domain.idempotency import SubmissionResult
from jevs.domain.parties import Party
from jevs.domain.ports import ListingConstraints
from jevs.domain.reading import (
    MAX_PAGE_SIZE,
    VisibleCertificate,
    list_certificates,
    read_certificate,
    read_deliveries,
    read_history,
    read_matches,
)
from jevs.domain.records import CertificateRecord, CertificateStatus, OutboxMessage, StoredAnswer
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
