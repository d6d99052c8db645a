"""Signing with the KMS key (ES256), and the JSON Web Key Set that verifies it (DESIGN §6.3).

The key's ``kid`` is its RFC 7638 thumbprint: derived from the public key itself, so a rotated key gets a
new kid with no registry to keep, and a receiver that meets an unknown kid knows to fetch the set again.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from joserfc.jwk import ECKey

from jevs.adapters.jws import sign_detached
from jevs.domain.errors import RetryableFailure

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


def public_jwk(der_public_key: bytes) -> dict[str, str]:
    """The JWK of a P-256 public key (SubjectPublicKeyInfo DER, as KMS GetPublicKey returns it), with its kid:
    the key's RFC 7638 thumbprint."""
    key = load_der_public_key(der_public_key)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the signing key is not an ECC_NIST_P256 key")
    jwk = ECKey.import_key(key)
    members = {name: str(value) for name, value in jwk.as_dict().items()}
    return {**members, "kid": jwk.thumbprint(), "use": "sig", "alg": "ES256"}


class KmsSigner:
    def __init__(self, client: KMSClient, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    @cached_property
    def jwk(self) -> dict[str, str]:
        try:
            response = self._client.get_public_key(KeyId=self._key_id)
        except ClientError as error:
            raise RetryableFailure(f"KMS GetPublicKey failed: {error.response['Error']['Code']}") from error
        return public_jwk(response["PublicKey"])

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def sign_der(self, signing_input: bytes) -> bytes:
        try:
            response = self._client.sign(
                KeyId=self._key_id, Message=signing_input, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
            )
        except ClientError as error:
            raise RetryableFailure(f"KMS Sign failed: {error.response['Error']['Code']}") from error
        return response["Signature"]

    def sign_detached(self, payload: bytes) -> str:
        return sign_detached(payload, kid=self.kid, sign_der=self.sign_der)
