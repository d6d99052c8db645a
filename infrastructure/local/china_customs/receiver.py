"""China Customs' certificate endpoint as the dispatcher must expect it in production (DESIGN.md §6.2-6.3):

- it verifies the detached JWS in ``X-JWS-Signature`` over the exact body bytes against JEVS's JWKS
  (``signatures``), fetching the JWKS once more on an unknown ``kid``, as a receiver does when the sender
  has rotated its key;
- it files only JSON messages of the five kinds JEVS sends (``kinds``: ``certificate.issued``,
  ``certificate.copy_issued``, ``certificate.replaced``, ``certificate.revoked``, ``declaration.result``), each
  with the fields its kind needs, under an ``Idempotency-Key`` equal to its ``message_id``;
- it deduplicates on that key: the same key and the same bytes get the first receipt again, the same key
  with other bytes is a conflict;
- it keeps what China holds per certificate (``holdings``) and files a new message against it: a message
  about a certificate China does not hold yet is too early (425 with Retry-After: the issue may still be on its
  way), one that contradicts what China holds is refused (422), and so is one its business check refuses.

It knows nothing of HTTP servers or of faults: it takes a message's headers and bytes, and gives the answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from werkzeug.datastructures import Headers
from werkzeug.http import parse_options_header

from infrastructure.local.china_customs.answers import Answer, problem
from infrastructure.local.china_customs.holdings import Contradiction, HeldCertificate, Holdings, NotHeldYet
from infrastructure.local.china_customs.kinds import MessageType, problems_with
from infrastructure.local.china_customs.signatures import (
    SIGNATURE_HEADER,
    JwksKeys,
    JwksUnavailable,
    SignatureRefused,
    SignatureVerifier,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
# What a sender is told to wait before trying a message again that came before its certificate's issue:
# short, for the issue is usually in flight already (JEVS's backoff never waits less than this).
TOO_EARLY_RETRY_AFTER_SECONDS = 1
# Far above any certificate (20 items at most), far below anything that could hurt the process.
MAX_BODY_BYTES = 1024 * 1024

logger = logging.getLogger(__name__)

_Snapshot = TypeVar("_Snapshot")


def _now() -> datetime:
    return datetime.now(UTC)


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
    def message_type(self) -> MessageType:
        return MessageType(self.body["message_type"])

    @property
    def certificate_number(self) -> str:
        """The certificate it is about: every kind names one (a match result, the one the declaration quoted)."""
        return str(self.body["certificate_number"])

    @property
    def version(self) -> int:
        """The certificate version it carries or refers to (0 in a match result that found no certificate)."""
        return int(self.body["version"])

    @property
    def declaration_number(self) -> str | None:
        """A match result's declaration; None for the certificate kinds."""
        number = self.body.get("declaration_number")
        return str(number) if number is not None else None

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
            "message_type": str(self.message_type),
            "certificate_number": self.certificate_number,
            "version": self.version,
            "declaration_number": self.declaration_number,
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
class ReceiverStats:
    """Counts of what the receiver has decided since the start or the last ``forget``
    (``jwks_fetches``: since the start)."""

    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    bad_signature: int = 0
    bad_request: int = 0
    # About a certificate China does not hold yet (425: the sender tries again).
    too_early: int = 0
    # Refused for contradicting what China holds about the certificate (422).
    contradictory: int = 0
    # Refused by the business check.
    rejected: int = 0
    # The JWKS could not be fetched, so nothing could be verified (503).
    jwks_unavailable: int = 0
    jwks_fetches: int = 0


@dataclass(frozen=True)
class BusinessRefusal:
    """China will not take a new message on business grounds (a 4xx other than 401, 409 and 429)."""

    status: int
    reason: str


# Asked once for each new, validly signed and well-formed message that China's picture of its certificate
# admits, before it is stored.
BusinessCheck = Callable[[dict[str, Any]], BusinessRefusal | None]


def admit_every_message(message: dict[str, Any]) -> BusinessRefusal | None:
    return None


@dataclass(frozen=True)
class Received:
    """The receiver's answer to one message, and whether China holds the message now (stored by this call
    or by an earlier one with the same key and bytes)."""

    answer: Answer
    held: bool


class Receiver:
    """What China's side does with a delivered message; safe to call from many threads at once."""

    def __init__(
        self,
        keys: JwksKeys,
        *,
        business_check: BusinessCheck = admit_every_message,
        max_body_bytes: int = MAX_BODY_BYTES,
        too_early_retry_after: int = TOO_EARLY_RETRY_AFTER_SECONDS,
    ) -> None:
        self.keys = keys
        self._verifier = SignatureVerifier(keys, max_body_bytes=max_body_bytes)
        self._business_check = business_check
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stored: dict[str, _Stored] = {}
        self._holdings = Holdings()
        self._counts = ReceiverStats()
        self._too_early_retry_after = too_early_retry_after

    def receive(self, headers: Headers, body: bytes) -> Received:
        """Check, deduplicate and file one message: ``headers`` as received, ``body`` the exact bytes."""
        try:
            kid = self._verifier.verify(headers.get(SIGNATURE_HEADER), body)
        except SignatureRefused as refused:
            self._count(bad_signature=1)
            return _refused(problem(401, str(refused), code="bad-signature"))
        except JwksUnavailable as unavailable:
            self._count(jwks_unavailable=1)
            logger.warning("%s", unavailable)
            return _refused(
                problem(503, f"The signature cannot be checked now: {unavailable}.", code="jwks-unavailable")
            )

        media_type, _ = parse_options_header(headers.get("Content-Type"))
        if media_type.lower() != "application/json":
            self._count(bad_request=1)
            return _refused(problem(415, "Send the message as application/json.", code="unsupported-media-type"))
        key = (headers.get(IDEMPOTENCY_HEADER) or "").strip()
        if not key:
            self._count(bad_request=1)
            return _refused(
                problem(400, f"The {IDEMPOTENCY_HEADER} header is required.", code="missing-idempotency-key")
            )
        document = _fileable(body, key)
        if isinstance(document, str):
            self._count(bad_request=1)
            return _refused(problem(400, f"The message cannot be filed: {document}.", code="bad-message"))
        return self._file(headers, body, key, kid, document)

    def _file(self, headers: Headers, body: bytes, key: str, kid: str, document: dict[str, Any]) -> Received:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            stored = self._stored.get(key)
            if stored is not None and stored.body_sha256 != digest:
                self._count_locked(conflicts=1)
                return _refused(
                    problem(
                        409,
                        f"Idempotency-Key {key!r} was first used with another body (receipt {stored.receipt_id}).",
                        code="idempotency-key-reused",
                    )
                )
            if stored is not None:
                stored.times_seen += 1
                self._count_locked(duplicates=1)
                replayed = True
            else:
                # Under the lock: a message is checked once, however many deliveries of it arrive together,
                # against a picture no other delivery changes meanwhile.
                verdict = self._holdings.check(document)
                if isinstance(verdict, NotHeldYet):
                    self._count_locked(too_early=1)
                    return _refused(self._too_early(document, verdict))
                if isinstance(verdict, Contradiction):
                    self._count_locked(contradictory=1)
                    return _refused(
                        problem(
                            422,
                            f"Message {document['message_id']} contradicts what China holds: {verdict.reason}.",
                            code="contradicts-certificate",
                            reason=verdict.reason,
                        )
                    )
                refusal = self._business_check(document)
                if refusal is not None:
                    self._count_locked(rejected=1)
                    return _refused(
                        problem(
                            refusal.status,
                            f"Message {document['message_id']} is refused: {refusal.reason}.",
                            code="rejected",
                            reason=refusal.reason,
                        )
                    )
                stored = _Stored(
                    message_id=document["message_id"],
                    idempotency_key=key,
                    receipt_id=f"CN-RCPT-{uuid.uuid4()}",
                    received_at=_now(),
                    body_bytes=body,
                    body_sha256=digest,
                    headers={name.lower(): value for name, value in headers.items()},
                    kid=kid,
                )
                self._stored[key] = stored
                self._holdings.file(document, receipt_id=stored.receipt_id, received_at=stored.received_at)
                self._count_locked(accepted=1)
                replayed = False
            self._changed.notify_all()
            receipt = stored.snapshot().receipt()
        if replayed:
            return Received(Answer.json(200, receipt, headers=[("Idempotent-Replayed", "true")], note="replayed"), True)
        return Received(Answer.json(201, receipt, note="accepted"), True)

    def _too_early(self, document: dict[str, Any], verdict: NotHeldYet) -> Answer:
        answer = problem(
            425,
            f"Message {document['message_id']} is too early: {verdict.detail}; try again later.",
            code="certificate-not-held",
            note=f"too early: {verdict.certificate_number} not held",
            certificate_number=verdict.certificate_number,
        )
        return answer.with_headers(("Retry-After", str(self._too_early_retry_after)))

    # -- what it holds -----------------------------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedMessage]:
        """Every stored message, oldest first: a snapshot, safe to keep while requests go on."""
        with self._lock:
            return [stored.snapshot() for stored in self._stored.values()]

    @property
    def stats(self) -> ReceiverStats:
        with self._lock:
            return replace(self._counts, jwks_fetches=self.keys.fetches)

    def message(self, idempotency_key: str) -> ReceivedMessage | None:
        with self._lock:
            stored = self._stored.get(idempotency_key)
            return stored.snapshot() if stored else None

    @property
    def certificates(self) -> dict[str, HeldCertificate]:
        """What China holds per certificate, by number, in the order it first held them: a snapshot."""
        with self._lock:
            return self._holdings.certificates

    def certificate(self, certificate_number: str) -> HeldCertificate | None:
        with self._lock:
            return self._holdings.get(certificate_number)

    def wait_for(
        self, predicate: Callable[[list[ReceivedMessage]], bool], timeout: float = 5.0
    ) -> list[ReceivedMessage]:
        """The stored messages once ``predicate`` holds for them; ``TimeoutError`` if it does not in time."""
        return self._wait(lambda: [stored.snapshot() for stored in self._stored.values()], predicate, timeout)

    def wait_for_certificates(
        self, predicate: Callable[[dict[str, HeldCertificate]], bool], timeout: float = 5.0
    ) -> dict[str, HeldCertificate]:
        """What China holds per certificate once ``predicate`` holds for it; ``TimeoutError`` if it does not in
        time."""
        return self._wait(lambda: self._holdings.certificates, predicate, timeout)

    def _wait(
        self, snapshot: Callable[[], _Snapshot], predicate: Callable[[_Snapshot], bool], timeout: float
    ) -> _Snapshot:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                taken = snapshot()
                if predicate(taken):
                    return taken
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"China Customs did not receive what was awaited within {timeout} s")
                self._changed.wait(remaining)

    def forget(self) -> None:
        """Drop every stored message and what China holds, and zero the counts."""
        with self._lock:
            self._stored.clear()
            self._holdings.clear()
            self._counts = ReceiverStats()
            self._changed.notify_all()

    def _count(self, **increments: int) -> None:
        with self._lock:
            self._count_locked(**increments)

    def _count_locked(self, **increments: int) -> None:
        self._counts = replace(
            self._counts, **{name: getattr(self._counts, name) + step for name, step in increments.items()}
        )


def _refused(answer: Answer) -> Received:
    return Received(answer, held=False)


def _fileable(body: bytes, key: str) -> dict[str, Any] | str:
    """The body as a JSON object of a kind China files, with the fields its kind needs, sent under its own
    ``message_id``; or what is wrong with it."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return "the body is not JSON"
    if not isinstance(document, dict):
        return "the body is not a JSON object"
    problems = problems_with(document)
    if not problems and document["message_id"] != key:
        # One key per event: a message sent under another key would be filed twice, or shadow another.
        problems.append(f"the {IDEMPOTENCY_HEADER} header must be the message_id, {document['message_id']!r}")
    return "; ".join(problems) if problems else document
