"""China Customs' receiving endpoint, simulated: where JEVS delivers certificates on one machine (DESIGN §6.2-6.3).

It plays the receiving side as the dispatcher must expect it in production:

- it verifies the detached JWS in ``X-JWS-Signature`` (ES256, RFC 7515 Appendix F) over the exact body
  bytes, with keys fetched from JEVS's JWKS, using joserfc rather than JEVS's own signing code, so a
  mistake in JEVS cannot be mirrored by the check that should catch it; an unknown ``kid`` makes it
  fetch the JWKS once more, as a receiver does when the sender has rotated its key;
- it deduplicates on the ``Idempotency-Key`` header: the same key and the same bytes get the first
  receipt again, the same key with other bytes is a conflict;
- it misbehaves on request: fails, throttles, stalls, drops the connection, rejects on business grounds,
  or stores a message and then loses the answer, so delivery can be tested against every way the far
  side of a network lets a sender down.

Faults are switched from Python (``simulator.faults``) or over HTTP under ``/_control/``; nothing under
``/_control/`` is part of what China would serve.

Run it alone with ``python -m infrastructure.local.china_customs --jwks-url URL [--port N]``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import logging
import random
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import urlsplit

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

from infrastructure.local.serving import QuietThreadingServer, log_to_console, stop_on_signal

logger = logging.getLogger(__name__)

ENDPOINT_PATH = "/jevs/v1/certificates"
CONTROL_PREFIX = "/_control"
FAULTS_PATH = f"{CONTROL_PREFIX}/faults"
RECEIVED_PATH = f"{CONTROL_PREFIX}/received"
STATS_PATH = f"{CONTROL_PREFIX}/stats"
DEFAULT_PORT = 8090

SIGNATURE_HEADER = "X-JWS-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
ACCEPTED_ALGORITHM = "ES256"
# What China files each kind of message under: a certificate version, or the match result of an import
# declaration it lodged with JEVS.
REQUIRED_FIELDS = {
    "certificate.version": ("message_id", "certificate_number", "version"),
    "declaration.result": ("message_id", "declaration_number", "certificate_number", "status"),
}
# Far above any certificate (20 items at most), far below anything that could hurt the process.
MAX_BODY_BYTES = 1024 * 1024
JWKS_TIMEOUT_SECONDS = 5.0
DEFAULT_REJECT_REASON = "HS code not admitted for preference"

PROBLEM_JSON = "application/problem+json"
_PROBLEM_TITLES = {
    400: "Bad request",
    401: "Signature not accepted",
    404: "Not found",
    405: "Method not allowed",
    409: "Idempotency key reused",
    411: "Length required",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Rejected",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

JwksSource = str | Callable[[], Mapping[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC)


# -- faults ------------------------------------------------------------------------------------------------


class InvalidFaults(ValueError):
    """A fault setting that makes no sense (a negative count, a fraction above 1, a 2xx failure...)."""


@dataclass(frozen=True)
class FaultSettings:
    """What the simulator does wrong, and how often. Also the JSON of ``/_control/faults``.

    Counts (``*_next``) go down by one for each request they hit; fractions are drawn from a
    ``random.Random`` seeded with ``seed`` (reseeded whenever ``seed`` is set), so a test is reproducible.
    """

    # Answer the next N calls with fail_status, before anything is checked or stored.
    fail_next: int = 0
    # And a fraction (0..1) of the calls after those.
    fail_fraction: float = 0.0
    # 5xx, or 429 (with Retry-After when retry_after is set): what "fail" answers.
    fail_status: int = 503
    retry_after: int | None = None
    # Hold every matching response back this long before the request is handled (it is still handled).
    delay_seconds: float = 0.0
    delay_fraction: float = 1.0
    # Refuse the next N new, validly signed messages on business grounds; a refused message is not stored.
    reject_next: int = 0
    reject_status: int = 422
    reject_reason: str = DEFAULT_REJECT_REASON
    # Read the next N requests, then close the connection without a word.
    drop_next: int = 0
    # Store (or find stored) the next N messages, then answer accept_then_fail_status, or drop the connection.
    accept_then_fail_next: int = 0
    accept_then_fail_status: int = 503
    accept_then_fail_drop: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("fail_next", "reject_next", "drop_next", "accept_then_fail_next"):
            if getattr(self, name) < 0:
                raise InvalidFaults(f"{name} must not be negative")
        for name in ("fail_fraction", "delay_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidFaults(f"{name} must be between 0 and 1")
        if self.delay_seconds < 0:
            raise InvalidFaults("delay_seconds must not be negative")
        for name in ("fail_status", "accept_then_fail_status"):
            status = getattr(self, name)
            if not (status == 429 or 500 <= status <= 599):
                raise InvalidFaults(f"{name} must be 429 or a 5xx status")
        if not 400 <= self.reject_status <= 499 or self.reject_status in (401, 409, 429):
            # 401, 409 and 429 mean something else here; a business rejection is a plain 4xx.
            raise InvalidFaults("reject_status must be a 4xx status other than 401, 409 and 429")
        if self.retry_after is not None and self.retry_after < 0:
            raise InvalidFaults("retry_after must not be negative")

    @classmethod
    def from_json(cls, document: object, base: FaultSettings | None = None) -> FaultSettings:
        """``base`` with the fields ``document`` names changed; unknown fields and wrong types are refused."""
        if not isinstance(document, dict):
            raise InvalidFaults("the faults are a JSON object")
        # With postponed annotations a field's type is its source text: "int", "float", "int | None"...
        kinds = {item.name: str(item.type) for item in fields(cls)}
        unknown = sorted(set(document) - set(kinds))
        if unknown:
            raise InvalidFaults(f"unknown fault settings: {', '.join(unknown)}; known: {', '.join(kinds)}")
        changes: dict[str, Any] = {}
        for name, value in document.items():
            kind = kinds[name].split("|")[0].strip()
            if value is None and "None" in kinds[name]:
                changes[name] = None
            elif kind == "bool" and isinstance(value, bool):
                changes[name] = value
            elif isinstance(value, bool):
                raise InvalidFaults(f"{name}={value!r} is not a valid {kinds[name]}")
            elif kind == "int" and isinstance(value, int):
                changes[name] = value
            elif kind == "float" and isinstance(value, int | float):
                changes[name] = float(value)
            elif kind == "str" and isinstance(value, str) and value.strip():
                changes[name] = value
            else:
                raise InvalidFaults(f"{name}={value!r} is not a valid {kinds[name]}")
        return replace(base or cls(), **changes)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The simulator's live fault settings: switch them from a test, or over HTTP at ``/_control/faults``.

    Every method returns ``self``, so ``simulator.faults.clear().fail_next(2)`` reads as it does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._random = random.Random()  # noqa: S311  (chance, not secrecy; seeded for reproducible tests)

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def update(self, **changes: Any) -> Self:
        """Change the named settings (the fields of ``FaultSettings``), keep the others."""
        self.update_from_json(changes)
        return self

    def update_from_json(self, document: object) -> FaultSettings:
        """As ``update``, from the JSON ``POST /_control/faults`` takes; giving a ``seed`` reseeds the draws."""
        with self._lock:
            self._settings = FaultSettings.from_json(document, self._settings)
            if isinstance(document, dict) and document.get("seed") is not None:
                self._random.seed(self._settings.seed)
            return self._settings

    def clear(self) -> Self:
        """No faults any more (the random draws carry on from where they were)."""
        with self._lock:
            self._settings = FaultSettings()
        return self

    # The fault modes, as a test spells them. Every injected failure answer carries Retry-After when
    # retry_after is set (fail_next and fail_fraction set it; accept-then-fail uses what is there).

    def fail_next(self, count: int, *, status: int = 503, retry_after: int | None = None) -> Self:
        return self.update(fail_next=count, fail_status=status, retry_after=retry_after)

    def fail_fraction(
        self, fraction: float, *, status: int = 503, retry_after: int | None = None, seed: int | None = None
    ) -> Self:
        return self.update(fail_fraction=fraction, fail_status=status, retry_after=retry_after, **_seeded(seed))

    def delay(self, seconds: float, *, fraction: float = 1.0, seed: int | None = None) -> Self:
        return self.update(delay_seconds=seconds, delay_fraction=fraction, **_seeded(seed))

    def reject_next(self, count: int, *, reason: str = DEFAULT_REJECT_REASON, status: int = 422) -> Self:
        return self.update(reject_next=count, reject_reason=reason, reject_status=status)

    def drop_next(self, count: int) -> Self:
        return self.update(drop_next=count)

    def accept_then_fail(self, count: int, *, status: int = 503, drop: bool = False) -> Self:
        return self.update(accept_then_fail_next=count, accept_then_fail_status=status, accept_then_fail_drop=drop)

    # What the request path asks; each call uses up what it hits.

    def _chance(self, fraction: float) -> bool:
        return fraction >= 1.0 or (fraction > 0.0 and self._random.random() < fraction)

    def _take_delay(self) -> float:
        with self._lock:
            settings = self._settings
            return settings.delay_seconds if settings.delay_seconds and self._chance(settings.delay_fraction) else 0.0

    def _take_transport_fault(self) -> _Injected | None:
        """A drop or a failure answer for this call, before it is checked or stored; None lets it through."""
        with self._lock:
            settings = self._settings
            if settings.drop_next:
                self._settings = replace(settings, drop_next=settings.drop_next - 1)
                return _Injected(status=None, retry_after=None)
            if settings.fail_next:
                self._settings = replace(settings, fail_next=settings.fail_next - 1)
                return _Injected(settings.fail_status, settings.retry_after)
            if self._chance(settings.fail_fraction):
                return _Injected(settings.fail_status, settings.retry_after)
            return None

    def _take_rejection(self) -> tuple[int, str] | None:
        with self._lock:
            settings = self._settings
            if not settings.reject_next:
                return None
            self._settings = replace(settings, reject_next=settings.reject_next - 1)
            return settings.reject_status, settings.reject_reason

    def _take_lost_answer(self) -> _Injected | None:
        with self._lock:
            settings = self._settings
            if not settings.accept_then_fail_next:
                return None
            self._settings = replace(settings, accept_then_fail_next=settings.accept_then_fail_next - 1)
            status = None if settings.accept_then_fail_drop else settings.accept_then_fail_status
            return _Injected(status, settings.retry_after)


def _seeded(seed: int | None) -> dict[str, int]:
    return {} if seed is None else {"seed": seed}


@dataclass(frozen=True)
class _Injected:
    # None: drop the connection instead of answering.
    status: int | None
    retry_after: int | None


# -- what is received --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """A message China accepted and stored, as it stands at the moment of the snapshot."""

    message_id: str
    idempotency_key: str
    receipt_id: str
    received_at: datetime
    # Requests that delivered this message with this key: the first one and every replay.
    times_seen: int
    body: dict[str, Any]
    body_bytes: bytes
    # As received, names in lower case.
    headers: dict[str, str]
    # The key that signed the first delivery.
    kid: str

    @property
    def message_type(self) -> str:
        return str(self.body["message_type"])

    @property
    def certificate_number(self) -> str:
        return str(self.body["certificate_number"])

    @property
    def version(self) -> int:
        return int(self.body["version"])

    def receipt(self) -> dict[str, str]:
        """The acknowledgement China answers for this message, the first time and on every replay."""
        return {
            "receipt_id": self.receipt_id,
            "received_at": self.received_at.isoformat(),
            "message_id": self.message_id,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            **self.receipt(),
            "idempotency_key": self.idempotency_key,
            "times_seen": self.times_seen,
            "message_type": self.message_type,
            "certificate_number": self.certificate_number,
            "version": self.version,
            "kid": self.kid,
            "body": self.body,
            "headers": self.headers,
        }


@dataclass
class _Stored:
    message_id: str
    idempotency_key: str
    receipt_id: str
    received_at: datetime
    body_bytes: bytes
    body_sha256: str
    headers: dict[str, str]
    kid: str
    times_seen: int = 1

    def snapshot(self) -> ReceivedMessage:
        # Parsed afresh for each snapshot, so no caller can change what the simulator holds.
        return ReceivedMessage(
            message_id=self.message_id,
            idempotency_key=self.idempotency_key,
            receipt_id=self.receipt_id,
            received_at=self.received_at,
            times_seen=self.times_seen,
            body=json.loads(self.body_bytes),
            body_bytes=self.body_bytes,
            headers=dict(self.headers),
            kid=self.kid,
        )


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


# -- signature verification --------------------------------------------------------------------------------


class SignatureRefused(Exception):
    """The X-JWS-Signature header does not prove the body came from JEVS; the message says why."""


class JwksUnavailable(Exception):
    """The sender's keys could not be fetched, so no signature can be checked right now."""


def _verification_registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ACCEPTED_ALGORITHM])
    # joserfc caps the base64url payload at 128 kB; the simulator's own body limit is the one that counts.
    registry.max_payload_length = MAX_BODY_BYTES * 4 // 3 + 4
    return registry


class JwksKeys:
    """The sender's public keys by kid, fetched when first needed and again when a kid is unknown."""

    def __init__(self, source: JwksSource, *, timeout: float = JWKS_TIMEOUT_SECONDS) -> None:
        self._source = source
        self._timeout = timeout
        self._lock = threading.Lock()
        self._keys: dict[str, Key] | None = None
        # Bumped by each fetch, so threads that all missed the same kid fetch once between them.
        self._generation = 0
        self.fetches = 0

    def key(self, kid: str) -> Key | None:
        with self._lock:
            keys, generation = self._keys, self._generation
        if keys is not None and kid in keys:
            return keys[kid]
        # Not fetched yet, or a kid we have not seen: the sender may have rotated its key since.
        return self._refresh(generation).get(kid)

    def _refresh(self, seen_generation: int) -> dict[str, Key]:
        with self._lock:
            if self._generation != seen_generation and self._keys is not None:
                return self._keys
            self._keys = self._fetch()
            self._generation += 1
            self.fetches += 1
            return self._keys

    def _fetch(self) -> dict[str, Key]:
        document: object
        if callable(self._source):
            try:
                document = self._source()
            except Exception as error:
                # Whatever a key source fails with, the answer is the same: no keys, try again later.
                raise JwksUnavailable(f"cannot fetch the sender's JWKS: {error!r}") from error
        else:
            try:
                response = httpx.get(self._source, timeout=self._timeout)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise JwksUnavailable(f"cannot fetch the sender's JWKS: {error}") from error
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise JwksUnavailable("the sender's JWKS is not a JSON object with a list of keys")
        keys: dict[str, Key] = {}
        for entry in document["keys"]:
            kid = entry.get("kid") if isinstance(entry, Mapping) else None
            if not isinstance(kid, str) or not kid:
                logger.warning("a JWKS entry without a kid is ignored: nothing could name it")
                continue
            try:
                keys[kid] = JWKRegistry.import_key(dict(entry))
            except (JoseError, ValueError, TypeError) as error:
                logger.warning("the JWKS key %s is ignored: %s", kid, error)
        logger.info("fetched the sender's JWKS: %d key(s) %s", len(keys), sorted(keys))
        return keys


class SignatureVerifier:
    """Checks a detached compact JWS over the exact body bytes, as China's side would, with joserfc."""

    def __init__(self, keys: JwksKeys) -> None:
        self._keys = keys
        self._registry = _verification_registry()

    def verify(self, signature: str | None, body: bytes) -> str:
        """The kid that signed ``body``; ``SignatureRefused`` (or ``JwksUnavailable``) otherwise."""
        if signature is None or not signature.strip():
            raise SignatureRefused(f"the {SIGNATURE_HEADER} header is missing")
        parts = signature.strip().split(".")
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise SignatureRefused(f"{SIGNATURE_HEADER} is not a compact JWS (<header>..<signature>)")
        if parts[1]:
            raise SignatureRefused(f"{SIGNATURE_HEADER} carries a payload; it must be detached (RFC 7515 Appendix F)")
        # The signature covers the bytes received: put them back between the dots (RFC 7515 Appendix F).
        compact = f"{parts[0]}.{_b64url(body)}.{parts[2]}".encode("ascii")
        try:
            token = jws.extract_compact(compact, registry=self._registry)
        except (JoseError, ValueError) as error:
            raise SignatureRefused(f"{SIGNATURE_HEADER} cannot be decoded: {error}") from None
        header = token.headers()
        algorithm = header.get("alg")
        if algorithm != ACCEPTED_ALGORITHM:
            raise SignatureRefused(f"alg {algorithm!r} is not accepted; only {ACCEPTED_ALGORITHM}")
        if "crit" in header or "b64" in header:
            raise SignatureRefused("critical or unencoded-payload (RFC 7797) headers are not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise SignatureRefused("the JWS header names no kid")
        key = self._keys.key(kid)
        if key is None:
            raise SignatureRefused(f"kid {kid!r} is not among the sender's published keys")
        try:
            valid = jws.validate_compact(token, key, registry=self._registry)
        except (JoseError, ValueError) as error:
            raise SignatureRefused(f"the signature cannot be checked with key {kid!r}: {error}") from None
        if not valid:
            raise SignatureRefused(f"the signature does not match the body received (key {kid!r})")
        return kid


def _b64url(data: bytes) -> str:
    # Written out rather than imported from jevs.domain.jws: the simulator shares no code with the sender.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- the endpoint ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Answer:
    # None: close the connection without answering.
    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # Shown in the request's log line: why the answer is what it is.
    note: str = ""

    @classmethod
    def json(
        cls, status: int, document: object, *, headers: list[tuple[str, str]] | None = None, note: str = ""
    ) -> Answer:
        return cls(
            status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(document).encode(), note
        )


def problem(status: int, detail: str, *, code: str, note: str = "", **extra: Any) -> Answer:
    """An RFC 9457 problem, as China's side answers every refusal."""
    document = {
        "type": f"urn:cn-customs-simulator:problem:{code}",
        "title": _PROBLEM_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return Answer(status, [("Content-Type", PROBLEM_JSON)], json.dumps(document).encode(), note or code)


def _injected_failure(injected: _Injected, note: str) -> Answer:
    if injected.status is None:
        return Answer(None, note=note)
    headers = [("Retry-After", str(injected.retry_after))] if injected.retry_after is not None else []
    answer = problem(injected.status, "Injected failure: try again later.", code="injected-failure", note=note)
    return replace(answer, headers=[*answer.headers, *headers])


def _required_fields(body: bytes) -> dict[str, Any] | str:
    """The body as a JSON object with the fields China files a message under, or what is wrong with it."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return "the body is not JSON"
    if not isinstance(document, dict):
        return "the body is not a JSON object"
    problems = []
    message_type = document.get("message_type")
    required = REQUIRED_FIELDS.get(message_type) if isinstance(message_type, str) else None
    if required is None:
        return f"message_type must be one of {', '.join(REQUIRED_FIELDS)}"
    for name in required:
        value = document.get(name)
        if name == "version":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append("version must be a positive integer")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{name} must be a non-empty string")
    return "; ".join(problems) if problems else document


class ChinaCustomsSimulator:
    """China Customs' certificate endpoint, bound to ``host:port`` (0 picks a free port) as soon as it is made.

    ``jwks_url`` is where JEVS publishes its public keys, or a callable returning the JWKS document.
    """

    def __init__(self, jwks_url: JwksSource, host: str = "127.0.0.1", port: int = 0) -> None:
        self.jwks = JwksKeys(jwks_url)
        self._verifier = SignatureVerifier(self.jwks)
        self.faults = Faults()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stored: dict[str, _Stored] = {}
        self._counts = Stats()
        self._stopping = threading.Event()
        self._server = _SimulatorServer((host, port), _RequestHandler, self)
        self.host, self.port = host, int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self.endpoint_url = f"{self.url}{ENDPOINT_PATH}"
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                # A short poll keeps stop() quick: tests start and stop a simulator each.
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="china-customs",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        # Wakes delayed requests, so none holds a thread after the server has gone.
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

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
        with self._lock:
            return [stored.snapshot() for stored in self._stored.values()]

    @property
    def stats(self) -> Stats:
        with self._lock:
            return replace(self._counts, jwks_fetches=self.jwks.fetches)

    def message(self, idempotency_key: str) -> ReceivedMessage | None:
        with self._lock:
            stored = self._stored.get(idempotency_key)
            return stored.snapshot() if stored else None

    def wait_for(
        self, predicate: Callable[[list[ReceivedMessage]], bool], timeout: float = 5.0
    ) -> list[ReceivedMessage]:
        """The stored messages once ``predicate`` holds for them; ``TimeoutError`` if it does not in time.

        For tests where delivery happens in the background (a dispatcher fed by a poller).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                snapshot = [stored.snapshot() for stored in self._stored.values()]
                if predicate(snapshot):
                    return snapshot
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"China Customs did not receive what was awaited within {timeout} s")
                self._changed.wait(remaining)

    def forget(self) -> None:
        """Drop every stored message and zero the counts (faults stay as they are)."""
        with self._lock:
            self._stored.clear()
            self._counts = Stats()
            self._changed.notify_all()

    def reset(self) -> None:
        """As freshly started: nothing stored, nothing counted, no faults."""
        self.forget()
        self.faults.clear()

    def _count(self, **increments: int) -> None:
        with self._lock:
            self._counts = replace(
                self._counts, **{name: getattr(self._counts, name) + step for name, step in increments.items()}
            )

    # -- the endpoint ------------------------------------------------------------------------------------

    def respond(self, request: Request) -> Answer:
        path = request.path
        if path == CONTROL_PREFIX or path.startswith(f"{CONTROL_PREFIX}/"):
            return self._control(request)
        if path != ENDPOINT_PATH:
            return problem(404, f"Nothing here; certificates go to POST {ENDPOINT_PATH}.", code="not-found")
        if request.method != "POST":
            return replace(
                problem(405, "Certificates are delivered with POST.", code="method-not-allowed"),
                headers=[("Content-Type", PROBLEM_JSON), ("Allow", "POST")],
            )
        self._count(requests=1)
        return self._receive(request)

    def _receive(self, request: Request) -> Answer:
        delay = self.faults._take_delay()
        if delay:
            self._count(delayed_injected=1)
            # The request is handled after the pause even if the sender gave up: a slow server still works.
            self._stopping.wait(delay)
        injected = self.faults._take_transport_fault()
        if injected is not None:
            self._count(failed_injected=1, dropped_injected=int(injected.status is None))
            return _injected_failure(injected, "injected drop" if injected.status is None else "injected failure")

        try:
            kid = self._verifier.verify(request.header(SIGNATURE_HEADER), request.body)
        except SignatureRefused as refused:
            self._count(bad_signature=1)
            return problem(401, str(refused), code="bad-signature")
        except JwksUnavailable as unavailable:
            self._count(jwks_unavailable=1)
            logger.warning("%s", unavailable)
            return problem(503, f"The signature cannot be checked now: {unavailable}.", code="jwks-unavailable")

        media_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/json":
            self._count(bad_request=1)
            return problem(415, "Send the message as application/json.", code="unsupported-media-type")
        key = (request.header(IDEMPOTENCY_HEADER) or "").strip()
        if not key:
            self._count(bad_request=1)
            return problem(400, f"The {IDEMPOTENCY_HEADER} header is required.", code="missing-idempotency-key")
        document = _required_fields(request.body)
        if isinstance(document, str):
            self._count(bad_request=1)
            return problem(400, f"The message cannot be filed: {document}.", code="bad-message")
        return self._file(request, key, kid, document)

    def _file(self, request: Request, key: str, kid: str, document: dict[str, Any]) -> Answer:
        digest = hashlib.sha256(request.body).hexdigest()
        with self._lock:
            stored = self._stored.get(key)
            if stored is not None and stored.body_sha256 != digest:
                self._counts = replace(self._counts, conflicts=self._counts.conflicts + 1)
                return problem(
                    409,
                    f"Idempotency-Key {key!r} was first used with another body (receipt {stored.receipt_id}).",
                    code="idempotency-key-reused",
                )
            if stored is not None:
                stored.times_seen += 1
                self._counts = replace(self._counts, duplicates=self._counts.duplicates + 1)
                replayed = True
            else:
                rejection = self.faults._take_rejection()
                if rejection is not None:
                    self._counts = replace(self._counts, rejected_injected=self._counts.rejected_injected + 1)
                    status, reason = rejection
                    return problem(
                        status,
                        f"Message {document['message_id']} is refused: {reason}.",
                        code="rejected",
                        note="injected rejection",
                        reason=reason,
                    )
                stored = _Stored(
                    message_id=document["message_id"],
                    idempotency_key=key,
                    receipt_id=f"CN-RCPT-{uuid.uuid4()}",
                    received_at=_now(),
                    body_bytes=request.body,
                    body_sha256=digest,
                    headers={name.lower(): value for name, value in request.headers.items()},
                    kid=kid,
                )
                self._stored[key] = stored
                self._counts = replace(self._counts, accepted=self._counts.accepted + 1)
                replayed = False
            self._changed.notify_all()
            receipt = stored.snapshot().receipt()

        lost = self.faults._take_lost_answer()
        if lost is not None:
            # China has it; the sender will not know until it tries again with the same key.
            self._count(failed_injected=1, dropped_injected=int(lost.status is None))
            return _injected_failure(lost, "stored, answer lost")
        if replayed:
            return Answer.json(200, receipt, headers=[("Idempotent-Replayed", "true")], note="replayed")
        return Answer.json(201, receipt, note="accepted")

    # -- control -----------------------------------------------------------------------------------------

    def _control(self, request: Request) -> Answer:
        route = (request.method, request.path)
        if route == ("GET", FAULTS_PATH):
            return Answer.json(200, self.faults.settings.as_json())
        if route == ("POST", FAULTS_PATH):
            try:
                document = json.loads(request.body or b"{}")
                settings = self.faults.update_from_json(document)
            except (ValueError, InvalidFaults) as error:
                return problem(400, f"Fault settings refused: {error}", code="bad-faults")
            logger.info("faults now %s", _changed_settings(settings))
            return Answer.json(200, settings.as_json())
        if route == ("DELETE", FAULTS_PATH):
            self.faults.clear()
            logger.info("faults cleared")
            return Answer.json(200, self.faults.settings.as_json())
        if route == ("GET", RECEIVED_PATH):
            return Answer.json(200, {"messages": [message.as_json() for message in self.received]})
        if route == ("DELETE", RECEIVED_PATH):
            self.forget()
            return Answer.json(200, {"messages": []})
        if route == ("GET", STATS_PATH):
            return Answer.json(200, self.stats.as_json())
        known = f"GET/POST/DELETE {FAULTS_PATH}, GET/DELETE {RECEIVED_PATH}, GET {STATS_PATH}"
        return problem(404, f"No control route {request.method} {request.path}; there are {known}.", code="not-found")


def _changed_settings(settings: FaultSettings) -> dict[str, Any]:
    defaults = FaultSettings().as_json()
    return {name: value for name, value in settings.as_json().items() if defaults[name] != value}


class _SimulatorServer(QuietThreadingServer):
    # A sender that times out and hangs up mid-answer is routine here (that is what delays are for).

    def __init__(
        self, address: tuple[str, int], handler_class: type[BaseHTTPRequestHandler], simulator: ChinaCustomsSimulator
    ) -> None:
        self.simulator = simulator
        super().__init__(address, handler_class)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cn-customs-simulator"
    timeout = 60
    # Headers and body go out in separate writes; with Nagle's algorithm against the client's delayed ACK
    # every answer would wait ~40 ms, which adds up in a retry test.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def _handle(self) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        try:
            answer = self._read_and_respond(path)
        except Exception:
            logger.exception("the China Customs simulator failed on %s %s", self.command, path)
            self.close_connection = True
            answer = problem(500, "The simulator failed; see its log.", code="internal-error")
        elapsed = (time.monotonic() - started) * 1000
        status = "dropped" if answer.status is None else str(answer.status)
        key = self.headers.get(IDEMPOTENCY_HEADER, "-")
        # Logged before the answer goes out, so whoever reads the answer finds the line already written.
        logger.info("%s %s %s %.1fms key=%s %s", self.command, path, status, elapsed, key, answer.note)
        if answer.status is None:
            self._drop()
        else:
            self._send(answer)

    def _read_and_respond(self, path: str) -> Answer:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return problem(411, "Send the body with a Content-Length header.", code="length-required")
        length_header = self.headers.get("Content-Length", "0")
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            self.close_connection = True
            return problem(400, f"Content-Length {length_header!r} is not a length.", code="bad-length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return problem(413, f"The body is {length} bytes; at most {MAX_BODY_BYTES} are accepted.", code="too-large")
        body = self.rfile.read(length) if length else b""
        request = Request(method=self.command, path=path, headers=dict(self.headers.items()), body=body)
        return cast(_SimulatorServer, self.server).simulator.respond(request)

    def _drop(self) -> None:
        """Hang up with the request read and no answer sent, as a crashed or cut-off server does."""
        self.close_connection = True
        # Already gone is as good as hung up.
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, answer: Answer) -> None:
        assert answer.status is not None
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and answer.body:
            self.wfile.write(answer.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: ``_handle`` logs one line per request."""

    def log_error(self, format: str, *args: Any) -> None:
        logger.info(format, *args)


# -- standalone --------------------------------------------------------------------------------------------


def banner(simulator: ChinaCustomsSimulator, jwks_url: str) -> str:
    return "\n".join(
        [
            "China Customs simulator",
            f"  certificates  POST {simulator.endpoint_url}",
            f"  keys from     {jwks_url}",
            f"  faults        GET/POST/DELETE {simulator.url}{FAULTS_PATH}",
            f"  received      GET/DELETE {simulator.url}{RECEIVED_PATH}",
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
    arguments = parser.parse_args(argv)

    log_to_console()
    stopping = stop_on_signal()
    try:
        simulator = ChinaCustomsSimulator(arguments.jwks_url, host=arguments.host, port=arguments.port).start()
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


if __name__ == "__main__":
    sys.exit(main())
