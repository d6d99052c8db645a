"""``/v1/declarations``: customs declarations lodged for matching, and their results."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit

from functions.api import examples
from functions.api.edge import caller, idempotent, logger, metrics, unit_of_work
from functions.api.requests import DeclarationContent
from functions.api.responses import DECLARATIONS_PATH, DeclarationOut, declaration_path, render_declaration
from functions.api.routers.parameters import IdempotencyKey
from jevs.service import declarations
from jevs.service.declarations import Lodged, LodgeDeclaration

router = Router()  # type: ignore[no-untyped-call]

DeclarationIdPath = Annotated[
    str, Path(description="The id the lodgement answered, e.g. CNIM-223320261000123456.", max_length=64)
]


def lodged_answer(lodged: Lodged) -> Response[DeclarationOut]:
    """202 while it waits to be matched, or 200 with the declaration lodged before (and its result once decided)."""
    location = {"Location": declaration_path(lodged.declaration.id)}
    return Response(
        202 if lodged.created else 200, "application/json", render_declaration(lodged.declaration), location
    )


@router.post(
    DECLARATIONS_PATH,
    operation_id="lodgeDeclaration",
    summary="Lodge an export entry (NZ Customs) or an import declaration (China Customs) for matching",
    description="Lodges a customs declaration that quotes certificates: NZ Customs' export entry or China Customs' "
    "import declaration. Answered 202 at once; the match result follows, to read at `Location`. The same declaration "
    "again answers 200 with the first.",
    tags=["declarations"],
    responses={
        202: {"description": "Received; matched shortly", "content": {"application/json": {"model": DeclarationOut}}},
        200: {
            "description": "Already lodged with the same content: the first lodgement, and its result once decided",
            "content": {"application/json": {"model": DeclarationOut}},
        },
    },
    middlewares=[idempotent],
)
def lodge(
    declaration: Annotated[DeclarationContent, Body(openapi_examples=examples.LODGEMENT)],
    idempotency_key: IdempotencyKey,
) -> Response[DeclarationOut]:
    command = LodgeDeclaration(caller(router), declaration.to_domain())
    lodged = declarations.lodge_declaration(command, unit_of_work(router, lodged_answer))
    if lodged.created:
        metrics.add_metric(name="DeclarationsLodged", unit=MetricUnit.Count, value=1)
    logger.info("declaration lodged", extra={"new": lodged.created})
    return lodged_answer(lodged)


@router.get(
    f"{DECLARATIONS_PATH}/<declaration_id>",
    operation_id="readDeclaration",
    summary="A declaration's status and, once decided, its match result (the customs that lodged it)",
    description="The declaration as lodged, its status, and once matched, the result for each certificate it quotes. "
    "The customs that lodged it only.",
    tags=["declarations"],
    responses={200: {"description": "The declaration", "content": {"application/json": {"model": DeclarationOut}}}},
)
def read_one_declaration(declaration_id: DeclarationIdPath) -> DeclarationOut:
    return render_declaration(declarations.read_declaration(caller(router), declaration_id, unit_of_work(router)))
