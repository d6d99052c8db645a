"""Detached ES256 signatures: DER to JOSE's raw r||s and back, and a signature any JOSE library verifies."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey

from jevs.adapters.jws import b64url, b64url_decode, der_to_raw, raw_to_der, sign_detached

pytestmark = pytest.mark.unit

COORDINATE = st.integers(min_value=1, max_value=(1 << 256) - 1)


@settings(max_examples=200)
@given(r=COORDINATE, s=COORDINATE)
def test_der_to_raw_is_r_then_s_in_32_bytes_each(r: int, s: int) -> None:
    raw = der_to_raw(encode_dss_signature(r, s))

    assert len(raw) == 64
    assert (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")) == (r, s)


@settings(max_examples=200)
@given(r=COORDINATE, s=COORDINATE)
def test_raw_to_der_is_the_inverse(r: int, s: int) -> None:
    der = encode_dss_signature(r, s)

    assert raw_to_der(der_to_raw(der)) == der
    assert decode_dss_signature(raw_to_der(der_to_raw(der))) == (r, s)


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x31\x06\x02\x01\x01\x02\x01\x01",  # a SET, not a SEQUENCE
        b"\x30\x07\x02\x01\x01\x02\x01\x01",  # length says one byte more
        b"\x30\x06\x02\x01\x01\x04\x01\x01",  # s is not an INTEGER
        b"\x30\x08\x02\x01\x01\x02\x01\x01\x00\x00",  # trailing bytes inside
        encode_dss_signature(1 << 256, 1),  # r wider than P-256
        encode_dss_signature(0, 1),  # r of zero is no signature
    ],
)
def test_a_malformed_der_signature_is_refused(der: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        der_to_raw(der)


def test_a_detached_signature_verifies_with_an_independent_jose_library() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    body = b'{"certificate_number":"11.1234.12345","version":1}'

    compact = sign_detached(body, kid="key-1", sign_der=lambda data: private.sign(data, ec.ECDSA(hashes.SHA256())))

    header, empty, signature = compact.split(".")
    assert empty == ""
    assert len(b64url_decode(signature)) == 64
    public = ECKey.import_key(private.public_key())
    verified = jws.deserialize_compact(f"{header}.{b64url(body)}.{signature}", public)
    assert verified.payload == body
    assert verified.protected == {"alg": "ES256", "kid": "key-1"}


def test_a_changed_body_does_not_verify() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    compact = sign_detached(b'{"a":1}', kid="k", sign_der=lambda data: private.sign(data, ec.ECDSA(hashes.SHA256())))
    header, _, signature = compact.split(".")
    tampered = b64url(b'{"a":2}')

    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{header}.{tampered}.{signature}", ECKey.import_key(private.public_key()))
