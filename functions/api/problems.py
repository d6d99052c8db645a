"""Every error the API answers, as RFC 9457 problem details, mapped in this one place."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import Field

from functions.api.models import ApiModel
from jevs.domain import strict_json
from jevs.domain.errors import (
    Conflict,
    FieldError,
    NotFound,
    RetryableFailure,
    RuleViolation,
    TooLarge,
    Unauthenticated,
)
from jevs.resources import PROBLEM_TYPES, problem_instance, problem_type
from jevs.service.unit_of_work import InvalidCursor

PROBLEM_JSON = "application/problem+json"
logger = Logger(child=True)


class FieldProblem(ApiModel):
    field: str = Field(description="Where the problem is: a dotted path into the body (items[0].hs_code) or a header.")
    message: str


class Problem(ApiModel):
    """RFC 9457 problem details, with field-level errors for validation failures."""

    type: str = Field(
        description="A URI naming the kind of problem, stable across versions: its page of the documentation "
        "site, <docs URL>/problems/<slug>/ (e.g. `.../problems/not-found/`).",
        json_schema_extra={"format": "uri"},
    )
    title: str = Field(description="The kind of problem, in words.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    instance: str | None = Field(
        default=None, description="This occurrence: urn:jevs:request:<request id>, the id to quote to JEVS's operators."
    )
    errors: list[FieldProblem] | None = Field(default=None, description="Each field at fault, where there are any.")


@dataclass(frozen=True)
class Occasion:
    """What every problem of one request names: where the documentation is, and the request's id."""

    docs_url: str
    request_id: str | None


# Set by the handler for each request (``answering``); outside one, a type is a relative reference to the page.
_OUTSIDE_A_REQUEST = Occasion(docs_url="", request_id=None)
_occasion: ContextVar[Occasion | None] = ContextVar("problem_occasion", default=None)


@contextmanager
def answering(docs_url: str, request_id: str | None) -> Iterator[None]:
    """Every problem made inside names ``docs_url``'s pages and the request ``request_id``."""
    token = _occasion.set(Occasion(docs_url, request_id))
    try:
        yield
    finally:
        _occasion.reset(token)


def problem(status: int, code: str, detail: str, errors: Sequence[FieldError] = ()) -> Response[str]:
    """The problem response of kind ``code`` (a slug of ``jevs.resources.PROBLEM_TYPES``, which gives its title)."""
    occasion = _occasion.get() or _OUTSIDE_A_REQUEST
    body = Problem(
        type=problem_type(occasion.docs_url, code),
        title=PROBLEM_TYPES[code],
        status=status,
        detail=detail,
        instance=problem_instance(occasion.request_id) if occasion.request_id else None,
        errors=[FieldProblem(field=error.field, message=error.message) for error in errors] or None,
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(status, PROBLEM_JSON, body.model_dump_json(exclude_none=True), headers=headers)


def field_path(location: Iterable[Any]) -> str:
    """Where a validation error is, as a partner reads it.

    ('body', 'items', 0, 'hs_code') -> 'items[0].hs_code'; ('header', 'idempotency-key') -> 'header.Idempotency-Key'.
    """
    parts = list(location)
    source = parts.pop(0) if parts and parts[0] in ("body", "header", "query", "path") else "body"
    if source == "header":
        return "header." + "-".join(word.capitalize() for word in str(parts[0]).split("-"))
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if source != "body":
        return f"{source}.{path}"
    return path or "body"


def _field_errors(raw_errors: Sequence[Any]) -> list[FieldError]:
    errors = []
    for raw in raw_errors:
        location = tuple(raw.get("loc", ()))
        if raw.get("type") == "json_invalid":
            # Powertools puts the character position where a field would be.
            reason = raw.get("ctx", {}).get("error", "decode error")
            errors.append(FieldError("body", f"not valid JSON: {reason} at character {location[-1]}"))
            continue
        message = str(raw.get("msg", raw.get("type", "invalid"))).removeprefix("Value error, ")
        errors.append(FieldError(field_path(location), message))
    return errors


def invalid_request(error: RequestValidationError) -> Response[str]:
    raw_errors = error.errors()
    errors = _field_errors(raw_errors)
    if any(raw.get("type") == "json_invalid" for raw in raw_errors):
        return problem(400, "malformed-json", "The request body is not valid JSON.", errors)
    if all(tuple(raw.get("loc", ("body",)))[:1] != ("body",) for raw in raw_errors):
        return problem(400, "invalid-request", "A header or parameter is missing or wrong.", errors)
    return problem(422, "validation-error", f"{len(errors)} field(s) are invalid.", errors)


def rule_violation(error: RuleViolation) -> Response[str]:
    return problem(422, "rule-violation", str(error), error.errors)


def unauthenticated(error: Unauthenticated) -> Response[str]:
    return problem(401, "unauthenticated", "A valid bearer token of a registered party is required.")


def not_found(error: NotFound) -> Response[str]:
    return problem(404, "not-found", f"No such resource: {error}.")


def conflict(error: Conflict) -> Response[str]:
    return problem(409, error.code, error.detail)


def too_large(error: TooLarge) -> Response[str]:
    return problem(413, "payload-too-large", error.detail, [FieldError(error.field, error.detail)])


def invalid_cursor(error: InvalidCursor) -> Response[str]:
    return problem(400, "invalid-cursor", str(error), [FieldError("query.cursor", str(error))])


def not_acceptable(media_type: str) -> Response[str]:
    """406 from a binary route to a request whose Accept header does not ask first for its media type: API Gateway
    would send that client the base64 text of the bytes (``functions.api.negotiation.asks_first_for``)."""
    response = problem(
        406,
        "not-acceptable",
        f"This resource is {media_type}: ask for it with 'Accept: {media_type}' (first in the header), "
        "so that it arrives as bytes.",
    )
    response.headers["Vary"] = "Accept"
    return response


def retryable(error: RetryableFailure) -> Response[str]:
    logger.warning("retryable failure", extra={"reason": str(error)})
    response = problem(503, "try-again", "Please retry the same request; nothing was changed.")
    response.headers["Retry-After"] = "1"
    return response


def no_route(app: APIGatewayRestResolver) -> Response[str]:
    """404 for a path no route has; 405 with ``Allow`` for a path that routes have, but for other methods."""
    event = app.current_event
    # Powertools keeps its routes in these lists and offers no public way to ask which methods a path has.
    routes = app._static_routes + app._dynamic_routes
    allowed = sorted({route.method for route in routes if route.rule.match(event.path)})
    if not allowed:
        return problem(404, "not-found", "No such resource.")
    response = problem(405, "method-not-allowed", f"This resource does not take {event.http_method}.")
    response.headers["Allow"] = ", ".join(allowed)
    return response


def register(app: APIGatewayRestResolver) -> None:
    """Attach the handlers that turn domain and validation errors into problem responses."""
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(RuleViolation)(rule_violation)
    app.exception_handler(Unauthenticated)(unauthenticated)
    app.exception_handler(NotFound)(not_found)
    app.exception_handler(Conflict)(conflict)
    app.exception_handler(InvalidCursor)(invalid_cursor)
    app.exception_handler(TooLarge)(too_large)
    app.exception_handler(RetryableFailure)(retryable)
    app.not_found(lambda _: no_route(app))


def reject_unacceptable_body(event: dict[str, Any], max_bytes: int) -> dict[str, Any] | None:
    """What the API refuses before routing: a body over the size limit (413), a body that is not JSON (415),
    JSON this API does not read (400: not UTF-8, nested too deep, a key twice, a number too long or too large,
    a lone surrogate; see ``jevs.domain.strict_json``), or JSON that is not an object, which every request
    model is (422). The one place a body is judged, so neither the routing's validation nor the idempotency
    digest ever parses what could crash them. Returns the proxy response, or None to go on."""
    body = event.get("body")
    if body is None or event.get("httpMethod") not in ("POST", "PUT", "PATCH"):
        return None
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode(errors="surrogatepass"))
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    if size > max_bytes:
        response = problem(
            413,
            "payload-too-large",
            f"The body is {size} bytes; the limit is {max_bytes}.",
            [FieldError("body", f"at most {max_bytes} bytes")],
        )
    else:
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json")):
            refusal = _unreadable_json(body, bool(event.get("isBase64Encoded")))
            return _proxy_response(refusal) if refusal is not None else None
        response = problem(
            415,
            "unsupported-media-type",
            "The body must be application/json.",
            [FieldError("header.Content-Type", f"expected application/json, got {media_type or 'nothing'}")],
        )
    return _proxy_response(response)


def _proxy_response(response: Response[str]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": PROBLEM_JSON},
        "body": response.body,
        "isBase64Encoded": False,
    }


def _unreadable_json(body: str, base64_encoded: bool) -> Response[str] | None:
    try:
        value = strict_json.loads(base64.b64decode(body, validate=True) if base64_encoded else body)
    except (strict_json.UnacceptableJson, binascii.Error) as error:
        reason = error.reason if isinstance(error, strict_json.UnacceptableJson) else "not valid base64"
        return problem(
            400,
            "malformed-json",
            "The request body is not JSON this API reads.",
            [FieldError("body", reason)],
        )
    if not isinstance(value, dict):
        return problem(
            422,
            "validation-error",
            "1 field(s) are invalid.",
            [FieldError("body", f"expected a JSON object, got {_json_kind(value)}")],
        )
    return None


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"
