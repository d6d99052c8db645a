"""Signing with the KMS key (ES256), and the JSON Web Key Set that verifies it (DESIGN §6.3).

The key's ``kid`` is its RFC 7638 thumbprint: derived from the public key itself, so a rotated key gets a
new kid with no registry to keep, and a receiver that meets an unknown kid knows to fetch the set again.

Rotation is an alias switch (``retire_and_rotate``): a new key takes the signing alias, and the old key keeps an
alias of its own that says when it was retired (``<alias>-retired-<YYYYMMDDTHHMMSSZ>``). The JWKS lists the
current key and every retired one still within the overlap period, so what was signed before a rotation still
verifies. A signer resolves the alias to one key and signs with that key's id, so the ``kid`` it puts in a header
is always the key that signed; it looks again after ``REFRESH`` (a container may sign with the old key for that
long, which the overlap covers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from joserfc.jwk import ECKey

from jevs.adapters.jws import sign_detached
from jevs.domain.errors import RetryableFailure

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

# How long a signer trusts its reading of which key the alias names.
REFRESH = timedelta(minutes=5)
RETIRED_INFIX = "-retired-"
RETIRED_FORMAT = "%Y%m%dT%H%M%SZ"


def retired_alias(alias: str, at: datetime) -> str:
    return f"{alias}{RETIRED_INFIX}{at.astimezone(UTC).strftime(RETIRED_FORMAT)}"


def retired_at(alias: str, retired: str) -> datetime | None:
    """When the key behind ``retired`` was retired, if it is a retired alias of ``alias``."""
    prefix = f"{alias}{RETIRED_INFIX}"
    if not retired.startswith(prefix):
        return None
    try:
        return datetime.strptime(retired.removeprefix(prefix), RETIRED_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


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
    def __init__(
        self,
        client: KMSClient,
        key_id: str,
        *,
        overlap: timedelta = timedelta(days=30),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._key_id = key_id
        self._overlap = overlap
        self._now = now
        self._current: tuple[str, dict[str, str]] | None = None
        self._read_at = 0.0

    def _public_key(self, key_id: str) -> tuple[str, dict[str, str]]:
        try:
            response = self._client.get_public_key(KeyId=key_id)
        except ClientError as error:
            raise RetryableFailure(f"KMS GetPublicKey failed: {error.response['Error']['Code']}") from error
        return response["KeyId"], public_jwk(response["PublicKey"])

    def _resolved(self) -> tuple[str, dict[str, str]]:
        """The key the signing id names now (its ARN) and its JWK, read again after ``REFRESH``."""
        if self._current is None or time.monotonic() - self._read_at > REFRESH.total_seconds():
            self._current = self._public_key(self._key_id)
            self._read_at = time.monotonic()
        return self._current

    @property
    def jwk(self) -> dict[str, str]:
        return self._resolved()[1]

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def _retired_keys(self) -> list[dict[str, str]]:
        """The JWKs of keys retired from the signing alias within the overlap period, newest first."""
        if not self._key_id.startswith("alias/"):
            return []
        cutoff = self._now() - self._overlap
        retired: list[tuple[datetime, str]] = []
        try:
            for page in self._client.get_paginator("list_aliases").paginate():
                for alias in page["Aliases"]:
                    when = retired_at(self._key_id, alias.get("AliasName", ""))
                    if when is not None and when >= cutoff:
                        retired.append((when, alias["AliasName"]))
        except ClientError as error:
            raise RetryableFailure(f"KMS ListAliases failed: {error.response['Error']['Code']}") from error
        return [self._public_key(name)[1] for _, name in sorted(retired, reverse=True)]

    def jwks(self) -> dict[str, Any]:
        """The current key first, then the retired keys whose signatures may still be met."""
        current = self.jwk
        previous = [key for key in self._retired_keys() if key["kid"] != current["kid"]]
        return {"keys": [current, *previous]}

    def sign_der(self, signing_input: bytes) -> bytes:
        return self._sign_der_with(self._resolved()[0], signing_input)

    def _sign_der_with(self, key_id: str, signing_input: bytes) -> bytes:
        try:
            response = self._client.sign(
                KeyId=key_id, Message=signing_input, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
            )
        except ClientError as error:
            raise RetryableFailure(f"KMS Sign failed: {error.response['Error']['Code']}") from error
        return response["Signature"]

    def sign_detached(self, payload: bytes) -> str:
        key_id, jwk = self._resolved()
        return sign_detached(payload, kid=jwk["kid"], sign_der=lambda data: self._sign_der_with(key_id, data))


def retire_and_rotate(client: KMSClient, alias: str, key_spec: str, at: datetime) -> tuple[str, str]:
    """Rotate the signing key: a new key takes ``alias``; the old one keeps a retired alias (so the JWKS lists it
    through the overlap period). Returns the old and the new key's ids."""
    old = client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    new = client.create_key(
        KeySpec=key_spec,  # type: ignore[arg-type]  # ECC_NIST_P256, from jevs.resources
        KeyUsage="SIGN_VERIFY",
        Description="JEVS: signs what is sent to China (rotated)",
    )["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName=retired_alias(alias, at), TargetKeyId=old)
    client.update_alias(AliasName=alias, TargetKeyId=new)
    return old, new
