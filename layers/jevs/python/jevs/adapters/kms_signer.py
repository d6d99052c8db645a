"""Signing with the KMS key (ES256), and the JSON Web Key Set that verifies it (DESIGN.md §6.3).

The key's ``kid`` is its RFC 7638 thumbprint: derived from the public key itself, so a rotated key gets a
new kid with no registry to keep, and a receiver that meets an unknown kid knows to fetch the set again.

Rotation is an alias switch (``rotate_signing_key``; ``jevs rotate-key``): a new
key takes the signing alias, and is tagged ``jevs:retired:<old key id>`` = when the old key was retired (with every
such tag of the old key carried over, so the current key names every key ever retired). The JWKS lists the current
key, then every retired key within the overlap period, so what was signed for China before a rotation still
verifies. History seals are kept for good, so ``sealing_keys`` lists every key ever retired, however long ago
(``/.well-known/jwks.json?retired=all``). A retired key is never deleted and keeps an alias of its own
(``<alias>-retired-<key id>``): the functions' IAM grants name the keys by alias.

A signer resolves the alias to one key and signs with that key's id, so the ``kid`` in a header is always the
key that signed; it looks again after ``REFRESH`` (a container may sign with the old key for that long, which
the overlap covers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jevs.adapters.jws import sign_detached
from jevs.domain.errors import RetryableFailure

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_kms.type_defs import TagTypeDef

# How long a signer trusts its reading of which key the alias names.
REFRESH = timedelta(minutes=5)
RETIRED_TAG_PREFIX = "jevs:retired:"


def retired_alias(alias: str, key_id: str) -> str:
    return f"{alias}-retired-{key_id}"


def retired_keys(tags: list[dict[str, str]], since: datetime | None = None) -> dict[str, datetime]:
    """The retired keys a current key's tags name, by key id, that were retired at or after ``since`` (all when
    None)."""
    found = {}
    for tag in tags:
        if tag["TagKey"].startswith(RETIRED_TAG_PREFIX):
            when = datetime.fromisoformat(tag["TagValue"])
            if since is None or when >= since:
                found[tag["TagKey"].removeprefix(RETIRED_TAG_PREFIX)] = when
    return found


def public_jwk(der_public_key: bytes) -> dict[str, str]:
    """The JWK of a P-256 public key (SubjectPublicKeyInfo DER, as KMS GetPublicKey returns it), with its kid:
    the key's RFC 7638 thumbprint."""
    # Imported here, as in check_seal: only reading a public key needs them (joserfc's import is a cold start's
    # largest after the PDF's), and a function that never reads one (the relay, the notifier) never pays.
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from joserfc.jwk import ECKey

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
        self._sealing: tuple[dict[str, Any], float] | None = None

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

    def _tags(self, key_id: str) -> list[dict[str, str]]:
        try:
            pages = self._client.get_paginator("list_resource_tags").paginate(KeyId=key_id)
            return [{"TagKey": t["TagKey"], "TagValue": t["TagValue"]} for page in pages for t in page["Tags"]]
        except ClientError as error:
            raise RetryableFailure(f"KMS ListResourceTags failed: {error.response['Error']['Code']}") from error

    def jwks(self) -> dict[str, Any]:
        """The current key (read afresh: a rotation shows at once), then the keys retired within the overlap
        period, newest first, whose signatures may still be met."""
        return self._key_set(self._now() - self._overlap)

    def sealing_keys(self) -> dict[str, Any]:
        """Every key that ever sealed a history event: the current one, then every key retired from it, however
        long ago (a history sealed years ago still verifies). Read again after ``REFRESH``."""
        if self._sealing is None or time.monotonic() - self._sealing[1] > REFRESH.total_seconds():
            self._sealing = (self._key_set(None), time.monotonic())
        return self._sealing[0]

    def _key_set(self, retired_since: datetime | None) -> dict[str, Any]:
        key_arn, current = self._public_key(self._key_id)
        retired = retired_keys(self._tags(key_arn), retired_since)
        newest_first = sorted(retired, key=lambda key_id: retired[key_id], reverse=True)
        previous = [self._public_key(key_id)[1] for key_id in newest_first]
        return {"keys": [current, *(key for key in previous if key["kid"] != current["kid"])]}

    def check_seal(self, statement: bytes, seal: str) -> str | None:
        """Why ``seal`` is not a detached JWS of ``statement`` by a key JEVS sealed with; None when it is. A kid
        not yet known is looked for again once: a rotation made since the keys were read."""
        from jevs.verify import UNKNOWN_KID, verify_detached_jws  # the verifier's cryptography: see public_jwk

        problem = verify_detached_jws(seal, statement, self.sealing_keys())
        if problem is not None and problem.startswith(UNKNOWN_KID):
            self._sealing = None
            problem = verify_detached_jws(seal, statement, self.sealing_keys())
        return problem

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


class RotationRefused(Exception):
    """The signing key is not what a rotation expects (e.g. not under the alias)."""


def rotate_signing_key(client: KMSClient, alias: str, key_spec: str, *, at: datetime) -> tuple[str, str]:
    """A new key under ``alias``, tagged with the key it retires and every key that one retired before (seals made
    with any of them still verify); the retired key keeps an alias of its own. Returns the retired and the new
    key's ids."""
    if not alias.startswith("alias/"):
        raise RotationRefused(f"{alias} is not an alias: rotation moves the alias to a new key")
    old = client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    retired_before = retired_keys(
        [{"TagKey": t["TagKey"], "TagValue": t["TagValue"]} for t in client.list_resource_tags(KeyId=old)["Tags"]]
    )
    retiring = {old: at, **retired_before}
    tags: list[TagTypeDef] = [
        {"TagKey": f"{RETIRED_TAG_PREFIX}{key_id}", "TagValue": when.isoformat()} for key_id, when in retiring.items()
    ]
    new = client.create_key(
        KeySpec=key_spec,  # type: ignore[arg-type]  # ECC_NIST_P256, from jevs.resources
        KeyUsage="SIGN_VERIFY",
        Description="JEVS: signs what is sent to China and the history heads it vouches for",
        Tags=tags,
    )["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName=retired_alias(alias, old), TargetKeyId=old)
    client.update_alias(AliasName=alias, TargetKeyId=new)
    return old, new
