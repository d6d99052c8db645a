"""Lambda's Invoke API for the functions of the local stack (``jevs reconcile`` calls it as it calls AWS): moto's
Lambda runs code only in Docker, so this answers ``POST /2015-03-31/functions/<name>/invocations`` by calling the
function's handler in this process with the JSON payload, as a synchronous (RequestResponse) invocation."""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from infrastructure.local.pollers import ContextFactory, Handler
from infrastructure.local.serving import BackgroundServer, BodyRefused, read_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"
# Lambda's own limit on a synchronous invocation's payload.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


class LambdaInvokeServer:
    """``handlers`` by function name, each called with the payload and a fresh context from ``context``."""

    def __init__(self, handlers: Mapping[str, Handler], context: ContextFactory, *, host: str, port: int) -> None:
        self._handlers = dict(handlers)
        self._context = context
        self._server = BackgroundServer(self.wsgi_app, host=host, port=port, name="jevs-lambda")
        self.url = f"http://{host}:{self._server.port}"

    def start(self) -> LambdaInvokeServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        return self.answer(Request(environ))(environ, start_response)

    def answer(self, request: Request) -> Response:
        path = request.path
        if request.method != "POST" or not (path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX)):
            return _error(404, "UnknownOperationException", f"{request.method} {path} is not Lambda's Invoke")
        name = path.removeprefix(INVOKE_PREFIX).removesuffix(INVOKE_SUFFIX)
        handler = self._handlers.get(name)
        if handler is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        invocation = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation != "RequestResponse":
            return _error(400, "InvalidParameterValueException", f"only RequestResponse is served, not {invocation}")
        body = read_body(request, max_bytes=MAX_PAYLOAD_BYTES)
        if isinstance(body, BodyRefused):
            return _error(body.status, "InvalidRequestContentException", body.detail)
        try:
            event = json.loads(body or b"{}")
        except ValueError as error:
            return _error(400, "InvalidRequestContentException", f"Could not parse request body into json: {error}")
        started = time.monotonic()
        try:
            result = handler(event, self._context(name))
        except Exception as error:  # what Lambda does: the invocation fails, the caller is told
            logger.info("invoke %s failed: %s", name, error)
            # Lambda's shape of a function's error: 200, the header, and the error as the payload.
            failure = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            return Response(
                json.dumps(failure),
                200,
                {"X-Amz-Function-Error": "Unhandled"},
                content_type="application/json",
            )
        logger.info("invoke %s: %.0f ms", name, (time.monotonic() - started) * 1000)
        return Response(json.dumps(result), 200, content_type="application/json")


def _error(status: int, kind: str, message: str) -> Response:
    """An error of the Invoke API itself, as boto3 reads it: its kind in the header, the message in the body."""
    return Response(
        json.dumps({"Type": "User", "message": message}),
        status,
        {"X-Amzn-ErrorType": kind},
        content_type="application/json",
    )
