"""A client generated from the committed OpenAPI document (docs/openapi.json) by openapi-python-client, as a partner
would generate one, submits a certificate and reads it back from a running local stack: it gets its token where
the document says, sends what the document describes, and parses what comes back with the document's models,
problems included. The stack serves the committed document, but for the token URL of where it runs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from functions.api.documentation import OAUTH2
from functions.api.openapi_document import COMMITTED
from infrastructure.local.stack import LocalStack
from tests.e2e.partners import ISSUER, certificate_number

pytestmark = pytest.mark.e2e

PACKAGE = "jevs_client"
# What a partner would choose: the package's name, and no post-generation hooks (by default it runs ruff on the
# output, which a partner's machine may not have). The PDF is read as bytes, which the generator calls
# application/octet-stream.
CONFIG = {
    "project_name_override": "jevs-client",
    "package_name_override": PACKAGE,
    "post_hooks": [],
    "content_type_overrides": {"application/pdf": "application/octet-stream"},
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the committed document, importable for this module's tests."""
    folder = tmp_path_factory.mktemp("generated-client")
    config = folder / "config.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    output = folder / "jevs-client"
    generator = Path(sys.executable).with_name("openapi-python-client")
    run = subprocess.run(  # noqa: S603 - the venv's generator on the committed document
        [str(generator), "generate", "--path", str(COMMITTED), "--output-path", str(output), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # Every operation has its function: nothing in the document was beyond the generator.
    assert "Warning" not in run.stdout, run.stdout
    sys.path.insert(0, str(output))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(output))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _token_url(document: dict[str, Any]) -> str:
    url: str = document["components"]["securitySchemes"][OAUTH2]["flows"]["clientCredentials"]["tokenUrl"]
    return url


def test_the_stack_serves_the_committed_document_with_its_own_token_url(stack: LocalStack) -> None:
    served = httpx.get(stack.openapi_url, timeout=30).json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))

    assert _token_url(served) == stack.token_url
    committed["components"]["securitySchemes"][OAUTH2]["flows"]["clientCredentials"]["tokenUrl"] = stack.token_url
    assert served == committed


def test_a_client_generated_from_the_document_submits_a_certificate_and_reads_it_back(
    stack: LocalStack, generated: ModuleType
) -> None:
    document = httpx.get(stack.openapi_url, timeout=30).json()
    # The issuing body's client credentials, at the token URL the document gives (the local gateway's here).
    credentials = stack.client(ISSUER)
    issued = httpx.post(
        _token_url(document),
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
        timeout=30,
    )
    issued.raise_for_status()
    # The document's own example certificate, under a number of this test's.
    submission = document["paths"]["/v1/certificates"]["post"]["requestBody"]["content"]["application/json"]
    number = certificate_number()
    body = {**submission["examples"]["milk-powder"]["value"], "certificate_number": number}
    submit = importlib.import_module(f"{PACKAGE}.api.certificates.submit_certificate")
    read = importlib.import_module(f"{PACKAGE}.api.certificates.read_certificate")
    models = importlib.import_module(f"{PACKAGE}.models")

    client = generated.AuthenticatedClient(
        base_url=stack.api_url, token=issued.json()["access_token"], timeout=httpx.Timeout(30)
    )
    with client:
        submitted = submit.sync_detailed(
            client=client, body=models.CertificateContent.from_dict(body), idempotency_key=f"generated-{number}"
        )
        again = read.sync_detailed(client=client, number=number)
        missing = read.sync_detailed(client=client, number=f"{number[:-5]}99999")

    assert submitted.status_code == 201, submitted.content
    assert isinstance(submitted.parsed, models.CertificateOut)
    assert submitted.parsed.certificate_number == number
    assert again.status_code == 200
    assert isinstance(again.parsed, models.CertificateOut)
    assert again.parsed.to_dict() == submitted.parsed.to_dict()
    # A refusal is the document's Problem, parsed as such.
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem)
    assert (missing.parsed.status, missing.parsed.type_.rsplit(":", 1)[-1].strip("/").rsplit("/", 1)[-1]) == (
        404,
        "not-found",
    )
