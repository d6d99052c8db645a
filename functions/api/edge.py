"""What every route of the API function shares: the request's dependencies and caller, its unit of work, and
idempotency (DESIGN.md §5: an ``Idempotency-Key`` on every POST).

Idempotency is one middleware, on every POST route. It names the request (party, key, and a digest of route
and body) in the routing context; the route runs its use case in a unit of work that stores the route's answer
with the change (``unit_of_work(router, answer)``), so the answer and the change are one transaction. When the
key was used before, the first answer comes back, marked ``Idempotent-Replayed: true``, whether the commit found
the key taken or the use case refused first (a decision already made, an application already certified); the
same key with another request is a 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from jevs.bootstrap import ApiDependencies
from jevs.domain.canonical import digest
from jevs.domain.errors import DomainError, Unauthenticated
from jevs.domain.parties import Party
from jevs.resources import party_scope
from jevs.service.idempotency import AlreadyAnswered, Answer, IdempotencyRecord, IdempotentRequest, first_answer
from jevs.service.unit_of_work import UnitOfWork

SERVICE = "jevs-api"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="JEVS", service=SERVICE)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_DEPENDENCIES = "dependencies"
_IDEMPOTENCY = "idempotency"

Result = TypeVar("Result")


def dependencies(router: BaseRouter) -> ApiDependencies:
    """The API function's dependencies, which the handler puts in every request's routing context."""
    found = router.context.get(_DEPENDENCIES)
    assert isinstance(found, ApiDependencies), "the handler sets the dependencies before routing"
    return found


def in_context(deps: ApiDependencies) -> dict[str, Any]:
    return {_DEPENDENCIES: deps}


def caller(router: BaseRouter) -> Party:
    """The party behind the token the API Gateway authorizer (Cognito, or the local gateway) accepted, when the
    token carries exactly its party type's scope."""
    event = cast(APIGatewayProxyEvent, router.current_event)
    claims = (event.request_context.authorizer.claims or {}) if event.request_context else {}
    client_id = claims.get("client_id")
    party = dependencies(router).parties.party_for_client(client_id) if client_id else None
    # The authorizer admits a token of any party type's scope; authority comes from the token, not from the
    # registry alone: a client granted another type's scope (a misconfigured app client, a token minted for
    # another purpose) is refused like any invalid token (issue 14, finding 7).
    if party is None or set(str(claims.get("scope") or "").split()) != {party_scope(party.type)}:
        raise Unauthenticated()
    logger.append_keys(party=party.id)
    return party


def stored_answer(response: Response[Any]) -> Answer:
    """A route's answer as the idempotency record keeps it: status, headers and the body as sent."""
    body = response.body
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", by_alias=True)
    return {"status": response.status_code, "headers": dict(response.headers), "body": body}


def replayed(answer: Answer) -> Response[str]:
    headers = {**answer["headers"], REPLAYED_HEADER: "true"}
    return Response(answer["status"], None, json.dumps(answer["body"], separators=(",", ":")), headers)


def unit_of_work(router: BaseRouter, answer: Callable[[Result], Response[Any]] | None = None) -> UnitOfWork:
    """The request's unit of work. A route that changes something passes ``answer``, its rendering of the use
    case's result: for an idempotent request the commit stores that answer with the change, and the route sends
    ``answer(result)``, the very same."""
    named: IdempotentRequest | None = router.context.get(_IDEMPOTENCY)
    if named is not None and answer is not None:
        named = IdempotentRequest(
            named.party_id, named.key, named.request_digest, lambda result: stored_answer(answer(result))
        )
    return dependencies(router).unit_of_work(named)


def _request_digest(router: BaseRouter) -> str:
    event = router.current_event
    body: object = None
    if event.decoded_body:
        try:
            body = json.loads(event.decoded_body)
        except ValueError:
            body = event.decoded_body
    route = router.context["_route"]
    return digest({"method": event.http_method, "route": route.rule, "path": event.path, "body": body})


def _first_answer(router: BaseRouter, party: Party, key: str) -> IdempotencyRecord | None:
    deps = dependencies(router)
    stored = deps.unit_of_work(None).answers.get(party.id, key)
    return stored if stored is not None and stored.live_at(deps.clock.now()) else None


def idempotent(router: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The idempotency middleware of every POST route (see the module's docstring). The request validation before
    it has already checked the header's presence and form."""
    party = caller(router)
    key = router.current_event.headers.get(IDEMPOTENCY_HEADER) or ""
    request = IdempotentRequest(party.id, key, _request_digest(router), answer=lambda _: {})
    router.append_context(**{_IDEMPOTENCY: request})  # type: ignore[no-untyped-call]
    try:
        return next_middleware(router)
    except AlreadyAnswered as answered:
        return _replay(answered.record, request)
    except DomainError:
        # Refused before its commit (decided already, certified already): a retry of a request that succeeded
        # gets its first answer; anything else gets the refusal.
        if (stored := _first_answer(router, party, key)) is not None:
            return _replay(stored, request)
        raise


def _replay(record: IdempotencyRecord, request: IdempotentRequest) -> Response[Any]:
    answer = first_answer(record, request.request_digest)
    logger.info("replayed", extra={"idempotency_key": request.key})
    return replayed(answer)
