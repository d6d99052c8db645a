"""The local API Gateway: an HTTP server that does what the REST API and its Cognito authorizer do in AWS.

For each request it
- serves the token endpoint itself (Cognito's job in AWS, see ``tokens``),
- refuses what API Gateway refuses before any function runs: a protected path without a valid bearer
  token (401), a body over API Gateway's 10 MB payload limit (413), and, as the WAF's rate-based rule does,
  public verification from an address that asks too often (429 with ``Retry-After``), and a party past its usage
  plan's throttle (``jevs.resources.PARTY_THROTTLES``, 429 with ``Retry-After``),
- otherwise builds the REST API proxy event (payload version 1.0) that API Gateway would send for the
  ``ANY /`` and ``ANY /{proxy+}`` methods ``LambdaRestApi`` creates, with the authorizer's claims,
  calls the API function in this process with a Lambda-like context, and sends its proxy response: a base64 body
  as bytes only to a request whose first ``Accept`` media type is a binary media type, as API Gateway does.

Errors the gateway itself answers are RFC 9457 problem details, as the deployed API's gateway responses
are configured to be (DESIGN.md §5): their ``type`` is the problem's page of the documentation site, their
``instance`` the request's id, which the function also gets (``requestContext.requestId``) and every answer
carries in ``x-amzn-RequestId``.

It also serves the built documentation site (``make docs`` writes ``build/site``) at ``/site/``, when it is
there, so the problem types of the local stack open their pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import mimetypes
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from aws_lambda_powertools.utilities.typing import LambdaContext
from werkzeug.wrappers import Request, Response

from infrastructure.local.serving import BackgroundServer, BodyRefused, header_lines, read_body
from infrastructure.local.tokens import JWKS_PATH, TOKEN_PATH, Client, TokenService
from jevs.resources import (
    PROBLEM_TYPES,
    PROXY_METHODS,
    UNSUPPORTED_METHOD_PROBLEM,
    VERIFY_PATH_PREFIX,
    RateLimitDefinition,
    ThrottleDefinition,
    delivers_binary,
    problem_instance,
    problem_type,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

# API Gateway's own payload limit: bigger requests never reach the function.
MAX_BODY_BYTES = 10 * 1024 * 1024
# API Gateway's maximum integration timeout: a slower answer is replaced by 504.
INTEGRATION_TIMEOUT_MS = 29_000
# Paths with no authorizer on their methods (DESIGN.md §5: the spec, the docs, the keys, public verification).
PUBLIC_PATHS = frozenset({"/docs", "/openapi.json", "/.well-known/jwks.json"})
PUBLIC_PREFIXES = ("/v1/verify/",)

PROBLEM_JSON = "application/problem+json"
# Where the gateway serves the built documentation site: the local stack's docs URL is the gateway's URL and this.
SITE_PATH = "/site"
REQUEST_ID_HEADER = "x-amzn-RequestId"
# Cognito's authorizer renders the time claims as dates, and every other claim as a string.
_COGNITO_TIME_CLAIMS = frozenset({"exp", "iat"})
_COGNITO_TIME_FORMAT = "%a %b %d %H:%M:%S UTC %Y"
# Hop-by-hop and framing headers are the server's business, not the function's.
_GATEWAY_OWNED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

ProxyEvent = dict[str, Any]
ProxyResponse = Mapping[str, Any]
Handler = Callable[[ProxyEvent, LambdaContext], ProxyResponse]


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


@dataclass(frozen=True)
class AwsIdentity:
    """Where the API pretends to live: it shows in ARNs and in the event's request context."""

    region: str = "ap-southeast-2"
    account_id: str = "123456789012"
    api_id: str = "jevslocal1"
    stage: str = "local"
    function_name: str = "jevs-api"
    memory_limit_in_mb: int = 1024


class LocalLambdaContext(LambdaContext):
    """The context object the Python runtime passes a handler, for one invocation."""

    def __init__(self, identity: AwsIdentity, request_id: str, timeout_ms: int = INTEGRATION_TIMEOUT_MS) -> None:
        self._function_name = identity.function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            f"arn:aws:lambda:{identity.region}:{identity.account_id}:function:{identity.function_name}"
        )
        self._memory_limit_in_mb = identity.memory_limit_in_mb
        self._aws_request_id = request_id
        self._log_group_name = f"/aws/lambda/{identity.function_name}"
        self._log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # an instance method in Lambda
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class HttpRequest:
    method: str
    # The request target as received: path and query string.
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The last value of a header, as API Gateway's single-value ``headers`` keeps it."""
        wanted = name.lower()
        values = [value for key, value in self.headers if key.lower() == wanted]
        return values[-1] if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


# Problem types the gateway answers, from the one list the API function's come from (jevs.resources), so a
# client sees one vocabulary whichever of the two refused it.
_PROBLEMS = {
    400: "bad-request",
    404: "not-found",
    500: "internal-error",
    401: "unauthenticated",
    405: "method-not-allowed",
    411: "length-required",
    413: "payload-too-large",
    429: "throttled",
    502: "bad-gateway",
    504: "gateway-timeout",
}


def problem_response(
    status: int, detail: str, headers: Iterable[tuple[str, str]] = (), *, docs_url: str, request_id: str
) -> HttpResponse:
    """An RFC 9457 problem the gateway answers itself, before or instead of the function, for request
    ``request_id``."""
    code = _PROBLEMS[status]
    document = {
        "type": problem_type(docs_url, code),
        "title": PROBLEM_TYPES[code],
        "status": status,
        "detail": detail,
        "instance": problem_instance(request_id),
    }
    return HttpResponse(
        status,
        [("Content-Type", PROBLEM_JSON), *headers, (REQUEST_ID_HEADER, request_id)],
        json.dumps(document).encode(),
    )


def _grouped(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]] | tuple[None, None]:
    """API Gateway's two views of repeated names: the last value, and every value; both None when empty."""
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    if not multi:
        return None, None
    return {name: values[-1] for name, values in multi.items()}, multi


def cognito_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as the Cognito authorizer puts them in ``requestContext.authorizer.claims``."""
    rendered = {}
    for name, value in claims.items():
        if name in _COGNITO_TIME_CLAIMS and isinstance(value, int):
            rendered[name] = datetime.fromtimestamp(value, UTC).strftime(_COGNITO_TIME_FORMAT)
        else:
            rendered[name] = value if isinstance(value, str) else json.dumps(value)
    return rendered


def proxy_event(
    request: HttpRequest,
    *,
    identity: AwsIdentity,
    request_id: str,
    claims: Mapping[str, Any] | None,
    host: str,
    port: int,
) -> ProxyEvent:
    """The REST API proxy event (payload 1.0) API Gateway sends for ``request``."""
    split = urlsplit(request.target)
    path = split.path or "/"
    now = datetime.now(UTC)
    headers = [
        *request.headers,
        # API Gateway adds these on the way in.
        ("X-Amzn-Trace-Id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"),
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(port)),
        ("X-Forwarded-Proto", "http"),
    ]
    single_headers, multi_headers = _grouped(headers)
    single_query, multi_query = _grouped(parse_qsl(split.query, keep_blank_values=True))
    # LambdaRestApi wires the function to "/" and to "/{proxy+}" for everything under it.
    resource, path_parameters = ("/", None) if path == "/" else ("/{proxy+}", {"proxy": unquote(path[1:])})
    body: str | None = None
    encoded = False
    if request.body:
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    user_agent = request.header("User-Agent")
    request_context: dict[str, Any] = {
        "resourceId": "proxy0",
        "resourcePath": resource,
        "httpMethod": request.method,
        "extendedRequestId": base64.b32encode(uuid.uuid4().bytes[:10]).decode("ascii"),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        # As through a custom domain (how partners reach the API, DESIGN.md §7): no stage in the path.
        "path": path,
        "accountId": identity.account_id,
        "protocol": request.protocol,
        "stage": identity.stage,
        "domainPrefix": host,
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": user_agent,
            "user": None,
        },
        "domainName": f"{host}:{port}",
        "apiId": identity.api_id,
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": cognito_claims(claims)}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": encoded,
    }


class MalformedProxyResponse(ValueError):
    """The function answered something API Gateway could not turn into an HTTP response."""


def http_response(result: object, accept: str | None) -> HttpResponse:
    """API Gateway's reading of a proxy response: ``multiValueHeaders`` win over ``headers`` for a name, and a
    base64-encoded body is sent as its bytes only when the request's first ``Accept`` media type is a binary media
    type of the REST API (``jevs.resources.delivers_binary``); otherwise as the base64 text itself."""
    if not isinstance(result, Mapping):
        raise MalformedProxyResponse(f"the response is a {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status!r} is not an HTTP status")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedProxyResponse("headers and multiValueHeaders are objects")
    headers: list[tuple[str, str]] = []
    multi_names = {str(name).lower() for name in multi}
    for name, value in single.items():
        if str(name).lower() not in multi_names:
            headers.append((str(name), str(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] is not a list")
        headers.extend((str(name), str(value)) for value in values)
    headers = [(name, value) for name, value in headers if name.lower() not in _GATEWAY_OWNED_HEADERS]
    for name, value in headers:
        if any(breaking in f"{name}{value}" for breaking in ("\r", "\n")):
            raise MalformedProxyResponse(f"header {name!r} has a line break: one header is one line")
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedProxyResponse("body is not a string")
    elif result.get("isBase64Encoded") and delivers_binary(accept):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise MalformedProxyResponse(f"body is not base64: {error}") from None
    else:
        payload = body.encode("utf-8")
    return HttpResponse(status, headers, payload)


class AddressRateLimit:
    """At most ``limit.requests`` requests from one client address in any ``limit.window_seconds`` (a sliding
    window, as WAF's rate-based rule counts): ``admit`` says whether one more may pass, or how long to wait."""

    def __init__(self, limit: RateLimitDefinition, clock: Callable[[], float] = time.monotonic) -> None:
        if limit.requests < 1 or limit.window_seconds <= 0:
            raise ValueError(f"a rate limit admits at least one request in a window of some time, not {limit}")
        self.limit = limit
        self._clock = clock
        # Per address, when each request of the current window was admitted, oldest first.
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, address: str) -> int | None:
        """None when the request from ``address`` may pass (and is counted); otherwise the whole seconds until it
        would, for ``Retry-After``. A refused request is not counted: waiting as told is enough."""
        now = self._clock()
        with self._lock:
            for known in list(self._admitted):
                self._forget_before(known, now - self.limit.window_seconds)
            admitted = self._admitted.setdefault(address, deque())
            if len(admitted) < self.limit.requests:
                admitted.append(now)
                return None
            return max(1, math.ceil(admitted[0] + self.limit.window_seconds - now))

    def _forget_before(self, address: str, start: float) -> None:
        admitted = self._admitted[address]
        while admitted and admitted[0] <= start:
            admitted.popleft()
        if not admitted:
            # An address that has gone quiet costs nothing.
            del self._admitted[address]


class PartyThrottle:
    """Each party's usage-plan throttle as API Gateway applies it: a token bucket per client, ``burst`` deep, refilled
    at ``rate_per_second``. ``admit`` says whether one more request may pass, or how long to wait."""

    def __init__(
        self, throttles: Mapping[str, ThrottleDefinition], clock: Callable[[], float] = time.monotonic
    ) -> None:
        # By client id; a client with none is not throttled (as a key in no usage plan would not be).
        self.throttles = dict(throttles)
        self._clock = clock
        # Per client: the tokens left and when they were counted.
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def admit(self, client_id: str) -> int | None:
        """None when the client's request may pass (and takes a token); otherwise the whole seconds until a token
        is back, for ``Retry-After``."""
        throttle = self.throttles.get(client_id)
        if throttle is None:
            return None
        now = self._clock()
        with self._lock:
            tokens, counted = self._buckets.get(client_id, (float(throttle.burst), now))
            tokens = min(float(throttle.burst), tokens + (now - counted) * throttle.rate_per_second)
            if tokens >= 1:
                self._buckets[client_id] = (tokens - 1, now)
                return None
            self._buckets[client_id] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / throttle.rate_per_second))


class Gateway:
    """The API Gateway stand-in, bound to ``host:port`` (0 picks a free port) as soon as it is made."""

    def __init__(
        self,
        handler: Handler,
        clients: Iterable[Client],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        identity: AwsIdentity | None = None,
        verify_rate_limit: RateLimitDefinition | None = None,
        party_throttles: Mapping[str, ThrottleDefinition] | None = None,
        site: Path | None = None,
    ) -> None:
        self._handler = handler
        # The built documentation site, served at SITE_PATH while the folder exists (``make docs`` may come later).
        self._site = site
        clients = list(clients)
        self.identity = identity or AwsIdentity()
        # Public verification per client address, as the deployed API's WAF throttles it; None: unthrottled.
        self._verify_rate = AddressRateLimit(verify_rate_limit) if verify_rate_limit is not None else None
        # Each party by its type's usage plan (by party type, as PARTY_THROTTLES), as in AWS; None: unthrottled.
        self._party_rate = (
            PartyThrottle(
                {
                    client.client_id: party_throttles[client.party["type"]]
                    for client in clients
                    if client.party.get("type") in party_throttles
                }
            )
            if party_throttles is not None
            else None
        )
        self._server = BackgroundServer(self.wsgi_app, host=host, port=port, name="jevs-gateway")
        self.host, self.port = host, self._server.port
        self.base_url = f"http://{host}:{self.port}"
        self.docs_url = f"{self.base_url}{SITE_PATH}"
        self.tokens = TokenService(clients, issuer=f"{self.base_url}/oauth2")
        # A Lambda execution environment runs one invocation at a time; the API function keeps
        # per-invocation state in module globals (Powertools' resolver event, logger keys, metrics), so
        # concurrent requests take turns rather than share one environment.
        self._invocation = threading.Lock()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The gateway as a WSGI application: one request in, one answer out, one log line with its duration."""
        request = Request(environ)
        started = time.monotonic()
        try:
            response = self._read_and_respond(request)
        except Exception:
            logger.exception("the gateway failed on %s %s", request.method, request.path)
            response = self._problem(500, "The local gateway failed; see its log.", new_request_id())
        elapsed = (time.monotonic() - started) * 1000
        logger.info("%s %s %d %.1fms", request.method, request.path, response.status, elapsed)
        return _VerbatimResponse(response.body, response.status, response.headers)(environ, start_response)

    def _read_and_respond(self, request: Request) -> HttpResponse:
        body = read_body(request, max_bytes=MAX_BODY_BYTES)
        if isinstance(body, BodyRefused):
            return self._problem(body.status, body.detail, new_request_id())
        environ = request.environ
        return self.respond(
            HttpRequest(
                method=request.method,
                # As received, still percent-encoded: the proxy event decodes only what API Gateway decodes.
                target=environ.get("REQUEST_URI") or request.full_path.rstrip("?"),
                headers=header_lines(request),
                body=body,
                source_ip=request.remote_addr or "",
                protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            )
        )

    def _problem(
        self, status: int, detail: str, request_id: str, headers: Iterable[tuple[str, str]] = ()
    ) -> HttpResponse:
        return problem_response(status, detail, headers, docs_url=self.docs_url, request_id=request_id)

    def respond(self, request: HttpRequest) -> HttpResponse:
        """Everything API Gateway (and Cognito's endpoint) would do with one request."""
        path = urlsplit(request.target).path or "/"
        request_id = new_request_id()
        if path == TOKEN_PATH:
            return self._token_endpoint(request, request_id)
        if path == SITE_PATH or path.startswith(f"{SITE_PATH}/"):
            return self._site_page(request, path, request_id)
        if request.method not in PROXY_METHODS:
            # API Gateway matches the method before it authorizes: no token is asked for a method it has not.
            return self._problem(405, str(UNSUPPORTED_METHOD_PROBLEM["detail"]), request_id)
        if path == JWKS_PATH and request.method in ("GET", "HEAD"):
            return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(self.tokens.jwks()).encode())
        if self._verify_rate is not None and path.startswith(VERIFY_PATH_PREFIX):
            wait = self._verify_rate.admit(request.source_ip)
            if wait is not None:
                limit = self._verify_rate.limit
                return self._problem(
                    429,
                    f"At most {limit.requests} verifications in {limit.window_seconds} s from one address: "
                    f"retry in {wait} s.",
                    request_id,
                    [("Retry-After", str(wait))],
                )
        claims = None
        if not is_public(path):
            authorization = request.header("Authorization")
            claims = self._authorize(authorization)
            if claims is None:
                # RFC 6750 §3.1: a presented token that fails is "invalid_token"; no token gets no error code.
                challenge = 'Bearer realm="jevs", error="invalid_token"' if authorization else 'Bearer realm="jevs"'
                return self._problem(
                    401,
                    "A valid bearer token is required: get one from POST /oauth2/token.",
                    request_id,
                    [("WWW-Authenticate", challenge)],
                )
            wait = self._party_rate.admit(str(claims.get("client_id"))) if self._party_rate is not None else None
            if wait is not None:
                return self._problem(
                    429,
                    f"Too many requests from this party: retry in {wait} s.",
                    request_id,
                    [("Retry-After", str(wait))],
                )
        return self._invoke(request, claims, request_id)

    def _site_page(self, request: HttpRequest, path: str, request_id: str) -> HttpResponse:
        """A file of the built documentation site; a folder is its index.html, as a static web server serves."""
        if request.method not in ("GET", "HEAD"):
            return self._problem(405, "The documentation site is read with GET.", request_id, [("Allow", "GET, HEAD")])
        if path == SITE_PATH:
            return HttpResponse(301, [("Location", f"{SITE_PATH}/")])
        missing = self._problem(404, "No such page: build the site with make docs.", request_id)
        if self._site is None or not self._site.is_dir():
            return missing
        root = self._site.resolve()
        wanted = (root / unquote(path.removeprefix(f"{SITE_PATH}/"))).resolve()
        if not wanted.is_relative_to(root):
            return missing
        if wanted.is_dir():
            if not path.endswith("/"):
                return HttpResponse(301, [("Location", f"{path}/")])
            wanted = wanted / "index.html"
        if not wanted.is_file():
            return missing
        media_type = mimetypes.guess_type(wanted.name)[0] or "application/octet-stream"
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"  # mkdocs writes UTF-8
        body = wanted.read_bytes()
        return HttpResponse(200, [("Content-Type", media_type)], b"" if request.method == "HEAD" else body)

    def _token_endpoint(self, request: HttpRequest, request_id: str) -> HttpResponse:
        if request.method != "POST":
            return self._problem(405, "The token endpoint takes POST only.", request_id, [("Allow", "POST")])
        answer = self.tokens.token_endpoint(
            authorization=request.header("Authorization"),
            content_type=request.header("Content-Type"),
            body=request.body,
        )
        return HttpResponse(answer.status, list(answer.headers.items()), answer.body)

    def _authorize(self, authorization: str | None) -> dict[str, Any] | None:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.tokens.verify(token.strip())

    def _invoke(self, request: HttpRequest, claims: Mapping[str, Any] | None, request_id: str) -> HttpResponse:
        event = proxy_event(
            request, identity=self.identity, request_id=request_id, claims=claims, host=self.host, port=self.port
        )
        try:
            with self._invocation:
                started = time.monotonic()
                context = LocalLambdaContext(self.identity, request_id)
                result = self._handler(event, context)
                elapsed_ms = (time.monotonic() - started) * 1000
            response = http_response(result, request.header("Accept"))
        except Exception:
            # In AWS the traceback lands in the function's log group and the caller sees only a 502.
            logger.exception("the API function failed (request %s)", request_id)
            return self._problem(502, f"The API function failed; request id {request_id}.", request_id)
        if elapsed_ms > INTEGRATION_TIMEOUT_MS:
            return self._problem(
                504, f"The API function did not answer within {INTEGRATION_TIMEOUT_MS} ms.", request_id
            )
        response.headers.append((REQUEST_ID_HEADER, request_id))
        return response


def new_request_id() -> str:
    """A request's id, as API Gateway makes one: a UUID."""
    return str(uuid.uuid4())


class _VerbatimResponse(Response):
    # The headers the function (or the gateway) gave, and no Content-Type werkzeug would make up for a body
    # that has none, as API Gateway sends a proxy response.
    default_mimetype = None
