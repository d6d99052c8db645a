"""Secrets Manager behind the dispatcher's composition: the client certificate for mutual TLS to China."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def client_certificate_files(client: SecretsManagerClient, secret_id: str) -> tuple[str, str]:
    """The secret's PEMs (``{"certificate": PEM, "private_key": PEM}``), written once per container to files
    httpx can load: (certificate file, key file)."""
    secret = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    folder = Path(tempfile.mkdtemp(prefix="china-mtls-"))
    certificate, key = folder / "certificate.pem", folder / "key.pem"
    certificate.write_text(secret["certificate"], encoding="ascii")
    key.write_text(secret["private_key"], encoding="ascii")
    key.chmod(0o600)
    return str(certificate), str(key)
