"""The simulator itself: the receiver and the faults composed into one werkzeug application on a port, the
``/_control/`` routes that switch faults and show what was received and what China holds per certificate, and
the command line."""

from __future__ import annotations

import argparse
import json
import logging
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from infrastructure.local.china_customs.answers import Answer, problem
from infrastructure.local.china_customs.faults import Faults, FaultSettings, HangUp, InvalidFaults
from infrastructure.local.china_customs.holdings import HeldCertificate
from infrastructure.local.china_customs.kinds import MessageType
from infrastructure.local.china_customs.receiver import IDEMPOTENCY_HEADER, MAX_BODY_BYTES, ReceivedMessage, Receiver
from infrastructure.local.china_customs.signatures import JwksKeys, JwksSource
from infrastructure.local.serving import (
    BackgroundServer,
    BodyRefused,
    hang_up,
    log_to_console,
    read_body,
    stop_on_signal,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

ENDPOINT_PATH = "/jevs/v1/certificates"
CONTROL_PREFIX = "/_control"
FAULTS_PATH = f"{CONTROL_PREFIX}/faults"
RECEIVED_PATH = f"{CONTROL_PREFIX}/received"
CERTIFICATES_PATH = f"{CONTROL_PREFIX}/certificates"
STATS_PATH = f"{CONTROL_PREFIX}/stats"
DEFAULT_PORT = 8090

# The problem codes of the bodies refused unread (see serving.read_body), by status.
_FRAMING_CODES = {400: "bad-length", 411: "length-required", 413: "too-large"}

# Called with the request, its body, and the values its route took from the path.
Endpoint = Callable[[Request, bytes, Mapping[str, str]], Answer | HangUp]


@dataclass(frozen=True)
class Stats:
    """Counts of what the certificate endpoint has seen since the start or the last ``forget``
    (``jwks_fetches``: since the start)."""

    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    bad_signature: int = 0
    bad_request: int = 0
    # About a certificate China does not hold yet: 425, for the sender to try again.
    too_early: int = 0
    # Refused for contradicting what China holds about the certificate (422).
    contradictory: int = 0
    # Every injected failure the sender sees as one: failure answers and dropped connections alike.
    failed_injected: int = 0
    # The dropped connections among them.
    dropped_injected: int = 0
    delayed_injected: int = 0
    rejected_injected: int = 0
    # The JWKS could not be fetched, so nothing could be verified (503).
    jwks_unavailable: int = 0
    jwks_fetches: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


class ChinaCustomsSimulator:
    """China Customs' certificate endpoint, bound to ``host:port`` (0 picks a free port) as soon as it is made.

    ``jwks_url`` is where JEVS publishes its public keys, or a callable returning the JWKS document. With
    ``tls`` (``server_tls``) it answers over HTTPS only, and requires a client certificate when that context
    says so: China's mutual TLS.
    """

    def __init__(
        self, jwks_url: JwksSource, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.jwks = JwksKeys(jwks_url)
        self.faults = Faults()
        # China's business check, here: the rejections the faults inject, and nothing else.
        self.receiver = Receiver(self.jwks, business_check=self.faults.take_rejection)
        self._lock = threading.Lock()
        self._requests = 0
        self._stopping = threading.Event()
        endpoints: list[tuple[str, str, Endpoint]] = [
            (ENDPOINT_PATH, "POST", self._deliver),
            (FAULTS_PATH, "GET", self._show_faults),
            (FAULTS_PATH, "POST", self._change_faults),
            (FAULTS_PATH, "DELETE", self._clear_faults),
            (RECEIVED_PATH, "GET", self._list_received),
            (RECEIVED_PATH, "DELETE", self._forget_received),
            (CERTIFICATES_PATH, "GET", self._list_certificates),
            (f"{CERTIFICATES_PATH}/<certificate_number>", "GET", self._show_certificate),
            (STATS_PATH, "GET", self._show_stats),
        ]
        self._routes = Map([Rule(path, methods=[method], endpoint=handle) for path, method, handle in endpoints])
        self._server = BackgroundServer(self.wsgi_app, host=host, port=port, name="china-customs", tls=tls)
        self.host, self.port = host, self._server.port
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.endpoint_url = f"{self.url}{ENDPOINT_PATH}"

    # -- life cycle --------------------------------------------------------------------------------------

    def start(self) -> Self:
        self._stopping.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        # Wakes delayed requests, so none holds a thread after the server has gone.
        self._stopping.set()
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- what it holds -----------------------------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedMessage]:
        """Every stored message, oldest first: a snapshot, safe to keep while requests go on."""
        return self.receiver.received

    @property
    def stats(self) -> Stats:
        received, injected = self.receiver.stats, self.faults.injected
        with self._lock:
            requests = self._requests
        return Stats(
            requests=requests,
            accepted=received.accepted,
            duplicates=received.duplicates,
            conflicts=received.conflicts,
            bad_signature=received.bad_signature,
            bad_request=received.bad_request,
            too_early=received.too_early,
            contradictory=received.contradictory,
            failed_injected=injected.failed,
            dropped_injected=injected.dropped,
            delayed_injected=injected.delayed,
            rejected_injected=injected.rejected,
            jwks_unavailable=received.jwks_unavailable,
            jwks_fetches=received.jwks_fetches,
        )

    def message(self, idempotency_key: str) -> ReceivedMessage | None:
        return self.receiver.message(idempotency_key)

    @property
    def certificates(self) -> dict[str, HeldCertificate]:
        """What China holds per certificate, by number, in the order it first held them: a snapshot."""
        return self.receiver.certificates

    def certificate(self, certificate_number: str) -> HeldCertificate | None:
        """What China holds about one certificate; None if it has not received its issue."""
        return self.receiver.certificate(certificate_number)

    def wait_for(
        self, predicate: Callable[[list[ReceivedMessage]], bool], timeout: float = 5.0
    ) -> list[ReceivedMessage]:
        """The stored messages once ``predicate`` holds for them; ``TimeoutError`` if it does not in time.

        For tests where delivery happens in the background (a dispatcher fed by a poller).
        """
        return self.receiver.wait_for(predicate, timeout)

    def wait_for_certificates(
        self, predicate: Callable[[dict[str, HeldCertificate]], bool], timeout: float = 5.0
    ) -> dict[str, HeldCertificate]:
        """What China holds per certificate once ``predicate`` holds for it; ``TimeoutError`` if it does not in
        time."""
        return self.receiver.wait_for_certificates(predicate, timeout)

    def forget(self) -> None:
        """Drop every stored message and what China holds, and zero the counts (faults stay as they are)."""
        self.receiver.forget()
        self.faults.reset_counts()
        with self._lock:
            self._requests = 0

    def reset(self) -> None:
        """As freshly started: nothing stored, nothing counted, no faults."""
        self.forget()
        self.faults.clear()

    # -- over HTTP ---------------------------------------------------------------------------------------

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        try:
            outcome = self._respond(request)
        except Exception:
            logger.exception("the China Customs simulator failed on %s %s", request.method, request.path)
            outcome = problem(500, "The simulator failed; see its log.", code="internal-error")
        elapsed = (time.monotonic() - started) * 1000
        status = "dropped" if isinstance(outcome, HangUp) else str(outcome.status)
        key = request.headers.get(IDEMPOTENCY_HEADER, "-")
        # Logged before the answer goes out, so whoever reads the answer finds the line already written.
        logger.info("%s %s %s %.1fms key=%s %s", request.method, request.path, status, elapsed, key, outcome.note)
        if isinstance(outcome, HangUp):
            hang_up(environ)
        return Response(outcome.body, outcome.status, outcome.headers)(environ, start_response)

    def _respond(self, request: Request) -> Answer | HangUp:
        body = read_body(request, max_bytes=MAX_BODY_BYTES)
        if isinstance(body, BodyRefused):
            return problem(body.status, body.detail, code=_FRAMING_CODES[body.status])
        try:
            endpoint, values = self._routes.bind_to_environ(request.environ).match()
        except MethodNotAllowed as wrong_method:
            return _unrouted(request, allowed=sorted(wrong_method.valid_methods or ()))
        except HTTPException:
            return _unrouted(request, allowed=[])
        return cast(Endpoint, endpoint)(request, body, values)

    def _deliver(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer | HangUp:
        """A message for China, through whatever faults are switched on."""
        with self._lock:
            self._requests += 1
        arrival = self.faults.take_arrival()
        if arrival.delay_seconds:
            # The request is handled after the pause even if the sender gave up: a slow server still works.
            self._stopping.wait(arrival.delay_seconds)
        if arrival.failure is not None:
            return arrival.failure.answer("injected drop" if arrival.failure.status is None else "injected failure")
        received = self.receiver.receive(request.headers, body)
        if received.held:
            lost = self.faults.take_lost_answer()
            if lost is not None:
                # China has it; the sender will not know until it tries again with the same key.
                return lost.answer("stored, answer lost")
        return received.answer

    # -- control: nothing under /_control/ is part of what China would serve ----------------------------

    def _show_faults(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        return Answer.json(200, self.faults.settings.as_json())

    def _change_faults(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        try:
            settings = self.faults.update_from_json(json.loads(body or b"{}"))
        except (ValueError, InvalidFaults) as error:
            return problem(400, f"Fault settings refused: {error}", code="bad-faults")
        logger.info("faults now %s", _changed_settings(settings))
        return Answer.json(200, settings.as_json())

    def _clear_faults(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        self.faults.clear()
        logger.info("faults cleared")
        return Answer.json(200, self.faults.settings.as_json())

    def _list_received(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        """Every stored message, or those of the kinds named by ``?message_type=`` (repeatable)."""
        kinds = request.args.getlist("message_type")
        unknown = sorted(set(kinds) - set(MessageType))
        if unknown:
            known = ", ".join(MessageType)
            return problem(400, f"No message type {', '.join(unknown)}; there are {known}.", code="bad-filter")
        messages = [message for message in self.received if not kinds or message.message_type in kinds]
        return Answer.json(200, {"messages": [message.as_json() for message in messages]})

    def _forget_received(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        self.forget()
        return Answer.json(200, {"messages": []})

    def _show_stats(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        return Answer.json(200, self.stats.as_json())

    def _list_certificates(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        return Answer.json(200, {"certificates": [held.as_json() for held in self.certificates.values()]})

    def _show_certificate(self, request: Request, body: bytes, values: Mapping[str, str]) -> Answer:
        number = values["certificate_number"]
        held = self.certificate(number)
        if held is None:
            return problem(404, f"China does not hold certificate {number}.", code="certificate-not-held")
        return Answer.json(200, held.as_json())


def server_tls(certificate_file: str, key_file: str, client_ca: str | None = None) -> ssl.SSLContext:
    """The simulator's TLS: its certificate and key (PEM files), TLS 1.2 or later, and with ``client_ca`` (a PEM
    file) a client certificate issued by that CA required of every sender, as China's gateway requires of JEVS."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate_file, key_file)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


def _unrouted(request: Request, *, allowed: list[str]) -> Answer:
    if request.path == CONTROL_PREFIX or request.path.startswith(f"{CONTROL_PREFIX}/"):
        known = (
            f"GET/POST/DELETE {FAULTS_PATH}, GET/DELETE {RECEIVED_PATH}, GET {CERTIFICATES_PATH}[/<number>], "
            f"GET {STATS_PATH}"
        )
        return problem(404, f"No control route {request.method} {request.path}; there are {known}.", code="not-found")
    if allowed:
        refusal = problem(405, "Messages are delivered with POST.", code="method-not-allowed")
        return refusal.with_headers(("Allow", ", ".join(allowed)))
    return problem(404, f"Nothing here; messages go to POST {ENDPOINT_PATH}.", code="not-found")


def _changed_settings(settings: FaultSettings) -> dict[str, Any]:
    defaults = FaultSettings().as_json()
    return {name: value for name, value in settings.as_json().items() if defaults[name] != value}


# -- standalone --------------------------------------------------------------------------------------------


def banner(simulator: ChinaCustomsSimulator, jwks_url: str) -> str:
    return "\n".join(
        [
            "China Customs simulator",
            f"  certificates  POST {simulator.endpoint_url}",
            f"  kinds         {', '.join(MessageType)}",
            f"  keys from     {jwks_url}",
            f"  faults        GET/POST/DELETE {simulator.url}{FAULTS_PATH}",
            f"  received      GET/DELETE {simulator.url}{RECEIVED_PATH}[?message_type=...]",
            f"  held          GET {simulator.url}{CERTIFICATES_PATH}[/<number>]",
            f"  stats         GET {simulator.url}{STATS_PATH}",
            "Ctrl-C stops it.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infrastructure.local.china_customs",
        description="China Customs' certificate endpoint, simulated: verifies, deduplicates, misbehaves on request.",
    )
    parser.add_argument("--jwks-url", required=True, help="where the sender publishes its public keys")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free port")
    parser.add_argument("--tls-certificate", help="serve HTTPS with this certificate (PEM file; with --tls-key)")
    parser.add_argument("--tls-key", help="the private key of --tls-certificate (PEM file)")
    parser.add_argument("--tls-client-ca", help="require a client certificate issued by this CA (PEM file)")
    arguments = parser.parse_args(argv)
    if bool(arguments.tls_certificate) != bool(arguments.tls_key) or (
        arguments.tls_client_ca and not arguments.tls_certificate
    ):
        parser.error("--tls-certificate and --tls-key go together, and --tls-client-ca needs them")
    tls = (
        server_tls(arguments.tls_certificate, arguments.tls_key, arguments.tls_client_ca)
        if arguments.tls_certificate
        else None
    )

    log_to_console()
    stopping = stop_on_signal()
    try:
        simulator = ChinaCustomsSimulator(arguments.jwks_url, host=arguments.host, port=arguments.port, tls=tls).start()
    except OSError as error:
        print(f"china-customs: cannot start on {arguments.host}:{arguments.port}: {error}", file=sys.stderr)
        return 1
    try:
        print(banner(simulator, arguments.jwks_url), flush=True)
        stopping.wait()
        print("\nStopping...", flush=True)
    finally:
        simulator.stop()
    print("Stopped.", flush=True)
    return 0
