"""The API function: one event handler made of a router per resource family (``routers``), with the problem
details of every error in ``problems`` and idempotency in ``edge``. Routes are thin: each builds a command, calls
one use case (``jevs.service``) and returns its response model.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.models import (
    OAuth2,
    OAuthFlowClientCredentials,
    OAuthFlows,
    SecurityScheme,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import problems
from functions.api.edge import in_context, logger, metrics
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

API_TITLE = "JEVS: Joint Electronic Verification System"
API_VERSION = "1.0.0"
OPENAPI_SECURITY: dict[str, SecurityScheme] = {
    "oauth2": OAuth2(
        flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth2/token", scopes={})),
        description="OAuth2 client credentials: each partner system is a client standing for one party.",
    )
}

app = APIGatewayRestResolver(enable_validation=True)
problems.register(app)
app.enable_swagger(
    path="/docs",
    title=API_TITLE,
    version=API_VERSION,
    security_schemes=OPENAPI_SECURITY,
    security=[{"oauth2": []}],
)
for family in (certificates, declarations, registrations, applications, operations, public, verification):
    app.include_router(family.router)
app.include_router(preferences.router)
app.include_router(exchange.router)
app.include_router(delivery_status.router)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(200, "application/json", openapi_document())


def openapi_document() -> str:
    return app.get_openapi_json_schema(
        title=API_TITLE, version=API_VERSION, security_schemes=OPENAPI_SECURITY, security=[{"oauth2": []}]
    )


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


handler = bootstrap.lambda_entry(ApiSettings, bootstrap.api, make_handler)
