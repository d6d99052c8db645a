"""Detached JSON Web Signatures over the exact bytes JEVS sends to China (DESIGN §6.3).

ES256 per RFC 7518 §3.4: the signature is R and S, each 32 bytes, concatenated. KMS (like most crypto
libraries) returns ECDSA signatures DER-encoded, so they are converted here. The compact form is detached
(RFC 7515 Appendix F): ``<protected header>..<signature>``; the receiver puts the body it got back between
the dots to verify.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

ES256_COORDINATE_BYTES = 32

# Signs the JWS signing input with the key named by the header's kid, returning a DER ECDSA signature.
DerSigner = Callable[[bytes], bytes]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _der_length(der: bytes, at: int) -> tuple[int, int]:
    first = der[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count == 0 or count > 2:
        raise ValueError("unsupported DER length")
    return int.from_bytes(der[at + 1 : at + 1 + count], "big"), at + 1 + count


def _der_integer(der: bytes, at: int) -> tuple[int, int]:
    if der[at] != 0x02:
        raise ValueError("expected a DER INTEGER")
    length, start = _der_length(der, at + 1)
    end = start + length
    if length == 0 or end > len(der):
        raise ValueError("truncated DER INTEGER")
    return int.from_bytes(der[start:end], "big"), end


def der_to_raw(der: bytes, coordinate_bytes: int = ES256_COORDINATE_BYTES) -> bytes:
    """An ECDSA signature ``SEQUENCE { INTEGER r, INTEGER s }`` as JOSE's fixed-width ``r || s``."""
    if len(der) < 8 or der[0] != 0x30:
        raise ValueError("expected a DER SEQUENCE")
    length, at = _der_length(der, 1)
    if at + length != len(der):
        raise ValueError("the DER SEQUENCE's length does not match the signature")
    r, at = _der_integer(der, at)
    s, at = _der_integer(der, at)
    if at != len(der):
        raise ValueError("trailing bytes after the DER signature")
    limit = 1 << (8 * coordinate_bytes)
    if not (0 < r < limit and 0 < s < limit):
        raise ValueError("r or s does not fit the curve's size")
    return r.to_bytes(coordinate_bytes, "big") + s.to_bytes(coordinate_bytes, "big")


def raw_to_der(raw: bytes) -> bytes:
    """The inverse of ``der_to_raw`` (for verifiers whose library wants DER)."""
    if len(raw) % 2:
        raise ValueError("a raw signature is r || s of equal lengths")
    half = len(raw) // 2

    def integer(value: bytes) -> bytes:
        stripped = value.lstrip(b"\x00") or b"\x00"
        if stripped[0] & 0x80:
            stripped = b"\x00" + stripped
        return b"\x02" + bytes([len(stripped)]) + stripped

    body = integer(raw[:half]) + integer(raw[half:])
    return b"\x30" + bytes([len(body)]) + body


def protected_header(kid: str) -> str:
    header = {"alg": "ES256", "kid": kid}
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def sign_detached(payload: bytes, *, kid: str, sign_der: DerSigner) -> str:
    """The detached compact JWS of ``payload``: ``<header>..<signature>``."""
    header = protected_header(kid)
    signing_input = f"{header}.{b64url(payload)}".encode("ascii")
    return f"{header}..{b64url(der_to_raw(sign_der(signing_input)))}"
