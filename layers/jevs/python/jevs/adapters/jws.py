"""Detached JSON Web Signatures over the exact bytes JEVS sends to China (DESIGN.md §6.3).

ES256 per RFC 7518 §3.4: the signature is R and S, each 32 bytes, concatenated. KMS (like most crypto
libraries) returns ECDSA signatures DER-encoded; ``cryptography`` reads and writes that encoding. The compact
form is detached (RFC 7515 Appendix F): ``<protected header>..<signature>``; the receiver puts the body it got
back between the dots to verify.
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


def der_to_raw(der: bytes, coordinate_bytes: int = ES256_COORDINATE_BYTES) -> bytes:
    """An ECDSA signature ``SEQUENCE { INTEGER r, INTEGER s }`` as JOSE's fixed-width ``r || s``."""
    # Imported here: only signing needs it, and a function that never signs never pays cryptography's import.
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)  # ValueError for anything that is not exactly that DER structure
    limit = 1 << (8 * coordinate_bytes)
    if not (0 < r < limit and 0 < s < limit):
        raise ValueError("r or s does not fit the curve's size")
    return r.to_bytes(coordinate_bytes, "big") + s.to_bytes(coordinate_bytes, "big")


def raw_to_der(raw: bytes) -> bytes:
    """The inverse of ``der_to_raw`` (for verifiers whose library wants DER)."""
    if len(raw) % 2:
        raise ValueError("a raw signature is r || s of equal lengths")
    half = len(raw) // 2
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # as in der_to_raw

    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def protected_header(kid: str) -> str:
    header = {"alg": "ES256", "kid": kid}
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def sign_detached(payload: bytes, *, kid: str, sign_der: DerSigner) -> str:
    """The detached compact JWS of ``payload``: ``<header>..<signature>``."""
    header = protected_header(kid)
    signing_input = f"{header}.{b64url(payload)}".encode("ascii")
    return f"{header}..{b64url(der_to_raw(sign_der(signing_input)))}"
