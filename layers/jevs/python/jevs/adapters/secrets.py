"""Secrets Manager behind the dispatcher's composition: TLS to China, our client certificate for its mutual
TLS and the CA its endpoint's certificate must chain to."""

from __future__ import annotations

import json
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from jevs.adapters.china_sender import tls_context

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class InvalidTlsSecret(ValueError):
    """The secret does not hold what TLS to China needs (its message names the fields, never their values)."""


def china_tls(client: SecretsManagerClient, secret_id: str) -> ssl.SSLContext:
    """TLS to China from the secret ``{"certificate": PEM, "private_key": PEM, "ca_bundle": PEM}``: the client
    certificate and its key (both or neither) for mutual TLS, and the CA bundle China's endpoint certificate must
    chain to (none: the public CAs). Read once per container; the certificate and key are written to files only
    this process can read, which is how OpenSSL loads them."""
    secret = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    if not isinstance(secret, dict) or not set(secret) <= {"certificate", "private_key", "ca_bundle"}:
        raise InvalidTlsSecret(f"{secret_id}: expected an object with certificate, private_key and ca_bundle")
    if ("certificate" in secret) != ("private_key" in secret):
        raise InvalidTlsSecret(f"{secret_id}: certificate and private_key go together")
    client_certificate = None
    if "certificate" in secret:
        folder = Path(tempfile.mkdtemp(prefix="china-mtls-"))
        certificate, key = folder / "certificate.pem", folder / "key.pem"
        certificate.write_text(secret["certificate"], encoding="ascii")
        key.touch(mode=0o600)
        key.write_text(secret["private_key"], encoding="ascii")
        client_certificate = (str(certificate), str(key))
    return tls_context(client_certificate=client_certificate, trusted_ca=secret.get("ca_bundle"))
