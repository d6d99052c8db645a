"""What the local HTTP servers (the gateway, the China Customs simulator) and their console commands share:
a WSGI application served by werkzeug from a background thread, the body framing both accept, hanging up
without an answer, and the console's log and signal handling."""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, cast

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import WSGIRequestHandler, make_server, select_address_family
from werkzeug.wrappers import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

# The request's header lines as received, in the WSGI environ (see QuietRequestHandler.make_environ).
HEADER_LINES_KEY = "infrastructure.local.header_lines"
# Seconds between checks for a stop request: short, so tests that start and stop servers stay quick.
_POLL_SECONDS = 0.05
_DIGITS = re.compile(r"[0-9]+")


class ConnectionDropped(ConnectionAbortedError):
    """Raised by an application that has hung up on purpose (``hang_up``).

    werkzeug takes any ``ConnectionError`` out of an application for a client that went away: it writes
    nothing more and lets the connection close, which is exactly what hanging up needs."""


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, with the servers' own one-line request logs instead of its access log."""

    # Said here so werkzeug does not set it on its own handler class, which moto's server uses too.
    # werkzeug still ends every connection after one answer ("Connection: close"): its server cannot drain
    # an unread body before the next request, and HTTP/1.1 clients simply open a new connection.
    protocol_version = "HTTP/1.1"
    # Seconds a connection may stall mid-request before it is closed, so none holds a thread forever.
    timeout = 60
    # Headers and body go out in separate writes; with Nagle's algorithm against the client's delayed ACK
    # an answer could wait ~40 ms, which adds up in a retry test.
    disable_nagle_algorithm = True

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        # WSGI folds a repeated header into one comma-joined value and leaves out names with "_"; the
        # gateway's proxy event keeps every line as sent (multiValueHeaders), as API Gateway does.
        environ[HEADER_LINES_KEY] = list(self.headers.items())
        return environ

    def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
        if not isinstance(error, ConnectionDropped):
            # A sender that times out and hangs up mid-answer is routine (that is what delays are for).
            logger.info("client %s went away (%s)", self.address_string(), type(error).__name__)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: each application logs one line per request, with what it did and how long it took."""

    def log_error(self, format: str, *args: Any) -> None:
        # Malformed request lines and stalled connections: the client's business, not an error of ours.
        logger.info(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info(format, *args)


class BackgroundServer:
    """One WSGI application on werkzeug's threaded server, bound to ``host:port`` (0 picks a free port) as
    soon as it is made, serving from a daemon thread between ``start()`` and ``stop()``; over TLS when given
    ``tls`` (a server context: a handshake it refuses closes the connection before any request is read)."""

    def __init__(
        self, app: WSGIApplication, *, host: str, port: int, name: str, tls: ssl.SSLContext | None = None
    ) -> None:
        # Bound here rather than by werkzeug, which answers a port in use by printing and exiting the
        # process: the callers report an OSError (the stack's start-up, the simulator's command line).
        listening = socket.create_server((host, port), family=select_address_family(host, port))
        try:
            # werkzeug serves a duplicate of the descriptor; this one is closed either way.
            self._server = make_server(
                host,
                listening.getsockname()[1],
                app,
                threaded=True,
                request_handler=QuietRequestHandler,
                ssl_context=tls,
                fd=listening.fileno(),
            )
        finally:
            listening.close()
        self.host = host
        self.port = int(self._server.port)
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": _POLL_SECONDS}, name=self._name, daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop accepting and close the listening socket; requests under way finish on their daemon threads."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


@dataclass(frozen=True)
class BodyRefused:
    """Why a request's body is not read: the status to answer, and the reason in words."""

    status: int
    detail: str


def read_body(request: Request, *, max_bytes: int) -> bytes | BodyRefused:
    """The body as its Content-Length frames it, or why it is refused without being read.

    Both servers stand in for endpoints that want the length up front (API Gateway; China's gateway), and
    a body over ``max_bytes`` is refused from the header alone: its bytes are not worth receiving.
    """
    if request.headers.get("Transfer-Encoding"):
        # werkzeug would de-chunk it, but every ordinary client sends a length, and the real endpoints
        # do not take a body of unknown size either.
        return BodyRefused(411, "Send the body with a Content-Length header.")
    # The header as sent: werkzeug reads one that is not a number as 0, which would hide the mistake.
    declared = str(request.environ.get("CONTENT_LENGTH") or "0").strip()
    if not _DIGITS.fullmatch(declared):
        return BodyRefused(400, f"Content-Length {declared!r} is not a length.")
    length = int(declared)
    if length > max_bytes:
        return BodyRefused(413, f"The body is {length} bytes; at most {max_bytes} are accepted.")
    try:
        return request.get_data(cache=False)
    except ClientDisconnected:
        return BodyRefused(400, f"The body ended before the {length} bytes its Content-Length announced.")


def header_lines(request: Request) -> list[tuple[str, str]]:
    """Every header line of ``request`` as received, repeated names and all."""
    lines = request.environ.get(HEADER_LINES_KEY)
    if lines is None:
        # Not served by QuietRequestHandler (a werkzeug test client, say): the environ's view is all there is.
        return list(request.headers.items())
    return cast(list[tuple[str, str]], lines)


def hang_up(environ: WSGIEnvironment) -> NoReturn:
    """Close the connection with the request read and no answer sent, as a crashed or cut-off server does.

    Call it from a WSGI application before ``start_response``: the socket is shut down both ways, so the
    client sees the connection end with no answer, and ``ConnectionDropped`` tells werkzeug not to write.
    """
    connection = cast(socket.socket, environ["werkzeug.socket"])
    # Already gone is as good as hung up.
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionDropped("hung up on purpose")


def log_to_console() -> None:
    """The local pieces' own log lines on stderr, with their time and origin."""
    local_log = logging.getLogger("infrastructure.local")
    local_log.setLevel(logging.INFO)
    log_handler = logging.StreamHandler(sys.stderr)
    log_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    local_log.addHandler(log_handler)


def stop_on_signal() -> threading.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM. Install it before starting anything, so a signal during
    start-up still ends in a clean stop."""
    stopping = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stopping
