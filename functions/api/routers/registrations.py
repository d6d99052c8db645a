"""``/v1/goods-registrations`` and ``/v1/signatories``: one family of routes for the two kinds of registration an
exporter lodges and its issuing body decides (DESIGN.md §5)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.api.edge import caller, dependencies, idempotent, unit_of_work
from functions.api.hosted_responses import (
    GOODS_PATH,
    SIGNATORIES_PATH,
    GoodsRegistrationList,
    GoodsRegistrationOut,
    RecordHistoryOut,
    SignatoryList,
    SignatoryOut,
    render_record_history,
    render_registration,
)
from functions.api.requests import ApprovalDecision, GoodsLodgement, SignatoryLodgement
from functions.api.routers.parameters import DEFAULT_PAGE_SIZE, IdempotencyKey, PageCursor, PageLimit, RecordIdPath
from jevs.domain.registrations import GoodsRegistration, Signatory
from jevs.service import registrations
from jevs.service.registrations import DecideRegistration, LodgeRegistration, Registration

router = Router()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _Family:
    """How one kind of registration appears on the wire: its path, its id's name, models, words, the names of its
    route functions, and their operationIds in the OpenAPI document."""

    kind: type[GoodsRegistration] | type[Signatory]
    path: str
    id_name: str
    body: type[GoodsLodgement] | type[SignatoryLodgement]
    body_name: str
    out: type[GoodsRegistrationOut] | type[SignatoryOut]
    # family.answer, as the routes that answer with one record declare their return.
    answer: object
    listing: type[GoodsRegistrationList] | type[SignatoryList]
    summaries: dict[str, str]
    descriptions: dict[str, str]
    function_names: dict[str, str]
    operation_ids: dict[str, str]


GOODS = _Family(
    kind=GoodsRegistration,
    path=GOODS_PATH,
    id_name="registration_id",
    body=GoodsLodgement,
    body_name="goods",
    out=GoodsRegistrationOut,
    answer=Response[GoodsRegistrationOut],
    listing=GoodsRegistrationList,
    summaries={
        "lodge": "Exporter: lodge goods (HS code, origin criterion, producer, confidential evidence) for approval",
        "list": "An exporter's goods registrations, or those lodged with the calling issuing body",
        "read": "One goods registration, with its evidence (the exporter and its issuing body only)",
        "decide": "Issuing body: approve the goods until a date, or refuse them with reasons",
        "history": "A goods registration's history (its lodging and decision), with the hash chain verified",
    },
    descriptions={
        "lodge": "An exporter registers goods it will ask certificates for, with the evidence of their origin; its "
        "issuing body approves or refuses them. The evidence is confidential: only the exporter and its issuing body "
        "read it.",
        "list": "A page of goods registrations, oldest first: an exporter's own, or those lodged with the calling "
        "issuing body. Pass `next_cursor` as `cursor` for the next page.",
        "read": "The goods registration with its evidence and decision. The exporter and its issuing body only.",
        "decide": "The issuing body approves the goods until a date, or refuses them with reasons. A registration "
        "already decided is 409.",
        "history": "Every event of the goods registration, oldest first, each sealed and chained to the one before, "
        "with the chain verified.",
    },
    function_names={
        "lodge": "lodge_goods_registration",
        "list": "list_goods",
        "read": "read_goods_registration",
        "decide": "decide_goods_registration",
        "history": "read_goods_registration_history",
    },
    operation_ids={
        "lodge": "lodgeGoodsRegistration",
        "list": "listGoodsRegistrations",
        "read": "readGoodsRegistration",
        "decide": "decideGoodsRegistration",
        "history": "readGoodsRegistrationHistory",
    },
)
SIGNATORIES = _Family(
    kind=Signatory,
    path=SIGNATORIES_PATH,
    id_name="signatory_id",
    body=SignatoryLodgement,
    body_name="signatory",
    out=SignatoryOut,
    answer=Response[SignatoryOut],
    listing=SignatoryList,
    summaries={
        "lodge": "Exporter: register a person who signs its applications",
        "list": "An exporter's signatories, or those registered with the calling issuing body",
        "read": "One signatory, with contact details (the exporter and its issuing body only)",
        "decide": "Issuing body: approve the signatory, or refuse with reasons",
        "history": "A signatory's history (its registration and decision), with the hash chain verified",
    },
    descriptions={
        "lodge": "An exporter registers a person who signs its applications, with contact details; its issuing "
        "body approves or refuses them.",
        "list": "A page of signatories, oldest first: an exporter's own, or those registered with the calling "
        "issuing body. Pass `next_cursor` as `cursor` for the next page.",
        "read": "The signatory with contact details and decision. The exporter and its issuing body only.",
        "decide": "The issuing body approves the signatory, or refuses with reasons. A signatory already decided is "
        "409.",
        "history": "Every event of the signatory's registration, oldest first, each sealed and chained to the one "
        "before, with the chain verified.",
    },
    function_names={
        "lodge": "lodge_signatory_registration",
        "list": "list_signatories",
        "read": "read_one_signatory",
        "decide": "decide_signatory_registration",
        "history": "read_signatory_history",
    },
    operation_ids={
        "lodge": "lodgeSignatory",
        "list": "listSignatories",
        "read": "readSignatory",
        "decide": "decideSignatory",
        "history": "readSignatoryHistory",
    },
)


def created(record: Registration) -> Response[Any]:
    path = f"{GOODS_PATH if isinstance(record, GoodsRegistration) else SIGNATORIES_PATH}/{record.id}"
    return Response(201, "application/json", render_registration(record), {"Location": path})


def decided(record: Registration) -> Response[Any]:
    return Response(200, "application/json", render_registration(record))


Route = Callable[..., Any]


def _named(
    function: Route, name: str, returns: object, defaults: Mapping[str, object] | None = None, /, **parameters: object
) -> Route:
    """``function`` as the event handler should see it: named ``name``, taking ``parameters`` (name: annotation)
    as keywords, those in ``defaults`` optional. Powertools reads a route's parameters and return type from its
    signature; the family's routes share one body each, and this gives each kind its own names on the wire."""
    function.__name__ = function.__qualname__ = name
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                parameter,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation,
                default=(defaults or {}).get(parameter, inspect.Parameter.empty),
            )
            for parameter, annotation in parameters.items()
        ],
        return_annotation=returns,
    )
    return function


def _include(family: _Family) -> None:
    """The five routes of one kind of registration: lodge, list, read one, decide, read its history."""
    tags = ["hosted issuing"]
    names, summaries, out = family.function_names, family.summaries, family.out
    one = f"{family.path}/<{family.id_name}>"

    def lodge(**arguments: Any) -> Response[Any]:
        command = LodgeRegistration(caller(router), arguments[family.body_name].to_domain())
        record = registrations.lodge_registration(command, unit_of_work(router, created), dependencies(router).parties)
        return created(record)

    def list_all(**arguments: Any) -> Any:
        page = registrations.list_registrations(
            caller(router), family.kind, unit_of_work(router), arguments["limit"], arguments["cursor"]
        )
        items = [render_registration(record) for record in page.records]
        return family.listing.model_validate({"items": items, "next_cursor": page.next_cursor})

    def read_one(**arguments: Any) -> Any:
        record_id = arguments[family.id_name]
        return render_registration(
            registrations.read_registration(caller(router), family.kind, record_id, unit_of_work(router))
        )

    def decide(**arguments: Any) -> Response[Any]:
        decision: ApprovalDecision = arguments["decision"]
        command = DecideRegistration(caller(router), family.kind, arguments[family.id_name], decision.to_domain())
        return decided(registrations.decide_registration(command, unit_of_work(router, decided)))

    def history(**arguments: Any) -> Any:
        record_id = arguments[family.id_name]
        return render_record_history(
            registrations.read_registration_history(
                caller(router), family.kind, record_id, unit_of_work(router), dependencies(router).seals
            )
        )

    body = Annotated[family.body, Body()]  # type: ignore[name-defined]
    router.post(
        family.path,
        summary=summaries["lodge"],
        description=family.descriptions["lodge"],
        operation_id=family.operation_ids["lodge"],
        tags=tags,
        responses={201: {"description": "Lodged", "content": {"application/json": {"model": out}}}},
        middlewares=[idempotent],
    )(_named(lodge, names["lodge"], family.answer, **{family.body_name: body, "idempotency_key": IdempotencyKey}))
    router.get(
        family.path,
        summary=summaries["list"],
        description=family.descriptions["list"],
        operation_id=family.operation_ids["list"],
        tags=tags,
        responses={200: {"description": "Oldest first", "content": {"application/json": {"model": family.listing}}}},
    )(
        _named(
            list_all,
            names["list"],
            family.listing,
            {"limit": DEFAULT_PAGE_SIZE, "cursor": None},
            limit=PageLimit,
            cursor=PageCursor,
        )
    )
    router.get(
        one,
        summary=summaries["read"],
        description=family.descriptions["read"],
        operation_id=family.operation_ids["read"],
        tags=tags,
        responses={200: {"description": "It", "content": {"application/json": {"model": out}}}},
    )(_named(read_one, names["read"], out, **{family.id_name: RecordIdPath}))
    router.get(
        f"{one}/history",
        summary=summaries["history"],
        description=family.descriptions["history"],
        operation_id=family.operation_ids["history"],
        tags=tags,
        responses={
            200: {
                "description": "Every event, oldest first",
                "content": {"application/json": {"model": RecordHistoryOut}},
            }
        },
    )(_named(history, names["history"], RecordHistoryOut, **{family.id_name: RecordIdPath}))
    router.post(
        f"{one}/approval",
        summary=summaries["decide"],
        description=family.descriptions["decide"],
        operation_id=family.operation_ids["decide"],
        tags=tags,
        responses={200: {"description": "Decided", "content": {"application/json": {"model": out}}}},
        middlewares=[idempotent],
    )(
        _named(
            decide,
            names["decide"],
            family.answer,
            **{
                family.id_name: RecordIdPath,
                "decision": Annotated[ApprovalDecision, Body()],
                "idempotency_key": IdempotencyKey,
            },
        )
    )


_include(GOODS)
_include(SIGNATORIES)
