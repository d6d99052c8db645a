"""How China's side checks that a message comes from JEVS: a detached JWS (ES256, RFC 7515 Appendix F) in
``X-JWS-Signature`` over the exact body bytes, with the keys JEVS publishes in its JWKS.

joserfc does the checking rather than JEVS's own signing code, so a mistake in JEVS cannot be mirrored by
the check that should catch it.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-JWS-Signature"
ACCEPTED_ALGORITHM = "ES256"
JWKS_TIMEOUT_SECONDS = 5.0

# Where the sender's keys come from: its JWKS URL, or a callable returning the JWKS document.
JwksSource = str | Callable[[], Mapping[str, Any]]


class SignatureRefused(Exception):
    """The X-JWS-Signature header does not prove the body came from JEVS; the message says why."""


class JwksUnavailable(Exception):
    """The sender's keys could not be fetched, so no signature can be checked right now."""


def _verification_registry(max_body_bytes: int) -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ACCEPTED_ALGORITHM])
    # joserfc caps the base64url payload at 128 kB; the receiver's own body limit is the one that counts.
    registry.max_payload_length = max_body_bytes * 4 // 3 + 4
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

    def __init__(self, keys: JwksKeys, *, max_body_bytes: int) -> None:
        self._keys = keys
        self._registry = _verification_registry(max_body_bytes)

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
    # Written out rather than imported from jevs.adapters.jws: the simulator shares no code with the sender.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
