"""The API function: one event handler made of a router per resource family (``routers``), with the problem
details of every error in ``problems`` and idempotency in ``edge``. Routes are thin: each builds a command, calls
one use case (``jevs.service``) and returns its response model.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import documentation, problems
from functions.api.edge import dependencies, in_context, logger, metrics
from functions.api.routers import (
    applications,
    certificates,
    declarations,
    delivery_status,
    exchange,
    operations,
    preferences,
    public,
    registrations,
    verification,
)
from functions.api.verification_models import is_verification_answer
from jevs import bootstrap
from jevs.bootstrap import ApiDependencies, Handler
from jevs.domain import correlation
from jevs.settings import ApiSettings

app = APIGatewayRestResolver(enable_validation=True)
problems.register(app)
for family in (certificates, declarations, registrations, applications, operations, public, verification):
    app.include_router(family.router)
app.include_router(preferences.router)
app.include_router(exchange.router)
app.include_router(delivery_status.router)


@app.get(
    "/openapi.json",
    operation_id="readOpenApiDocument",
    summary="This document",
    description="The OpenAPI 3.1 document of the API, with the token URL of where it runs.",
    tags=["documentation"],
    responses={200: {"description": "The document", "content": {"application/json": {"schema": {"type": "object"}}}}},
)
def openapi():  # type: ignore[no-untyped-def]
    # No return annotation on purpose: the document is sent as it is written, not re-validated through a model.
    return Response(200, "application/json", openapi_document(dependencies(app).token_url))


@app.get(
    "/docs",
    operation_id="readApiReference",
    summary="This document, to read and try in a browser (Swagger UI)",
    description="A page rendering the OpenAPI document, with a form for each operation.",
    tags=["documentation"],
    responses={200: {"description": "The page", "content": {"text/html": {}}}},
)
def swagger_ui():  # type: ignore[no-untyped-def]
    # No return annotation on purpose: a page is not JSON. Its script and style are Powertools' own copies, so the
    # page needs nothing from the internet. Imported here: it imports Powertools' OpenAPI models (pydantic models of
    # the whole OpenAPI specification), a third of a second of every cold start that only this page needs.
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(aws_lambda_powertools.event_handler.__file__).parent / "openapi" / "swagger_ui"
    page = generate_swagger_html(
        openapi_document(dependencies(app).token_url).replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(200, "text/html", page)


@functools.cache
def openapi_document(token_url: str = documentation.DEFAULT_TOKEN_URL) -> str:
    """The API's OpenAPI document, whose OAuth2 flow gets its tokens from ``token_url``: made once per container
    (the routes do not change after import), not at every ``/openapi.json`` or ``/docs``."""
    return documentation.document_json(app, token_url)


def body_limit(event: dict[str, Any], dependencies: ApiDependencies) -> int:
    """The largest body a request may carry: an answer to a verification request carries its documents, every
    other request the usual limit."""
    if is_verification_answer(str(event.get("path") or "")):
        return max(dependencies.max_request_bytes, dependencies.verification.max_answer_request_bytes)
    return dependencies.max_request_bytes


def make_handler(dependencies: ApiDependencies) -> Handler:
    """The function's handler over ``dependencies`` (the composition root builds them, ``jevs.bootstrap``)."""

    # The request id (API Gateway's, or the local gateway's) is the correlation id of every log line of the
    # request, the ``instance`` of its problems, and travels in the messages its unit of work writes.
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request_id = logger.get_correlation_id()
        with correlation.correlated(request_id), problems.answering(dependencies.docs_url, request_id):
            rejection = problems.reject_unacceptable_body(event, body_limit(event, dependencies))
            if rejection is not None:
                return rejection
            app.append_context(**in_context(dependencies))  # type: ignore[no-untyped-call]
            return app.resolve(event, context)

    typed: Handler = handle  # the decorators leave it untyped; this is its Lambda signature
    return typed


# What requests import on the paths that need them (tests/unit/test_cold_start_imports.py), imported before SnapStart's
# snapshot instead: sealing history events and the signing keys (cryptography, joserfc, the seal verifier), business
# numbers (python-stdnum), applications' due times (holidays).
WARM_MODULES = (
    "cryptography.hazmat.primitives.asymmetric.utils",
    "cryptography.hazmat.primitives.serialization",
    "joserfc.jwk",
    "jevs.verify",
    "stdnum.ean",
    "stdnum.cn.uscc",
    "holidays",
)


def warm() -> None:
    """Before SnapStart's snapshot, the one-off work of first requests, so that no restored copy does it again: the
    modules of ``WARM_MODULES``, and every route's parameter and body models, which Powertools builds on a route's
    first request (making the OpenAPI document builds them all)."""
    for module in WARM_MODULES:
        importlib.import_module(module)
    openapi_document()


handler = bootstrap.lambda_entry(ApiSettings, bootstrap.api, make_handler)
bootstrap.snap_start(handler, warm)
