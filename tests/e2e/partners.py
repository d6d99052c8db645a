"""The issuing body and the customs administrations as the e2e tests play them: over HTTP, with tokens from the
stack's token endpoint, each certificate and declaration under a number no other test of the session uses."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from infrastructure.local.stack import LocalStack
from tests.e2e.conftest import PARTNER_TIMEOUT_SECONDS, token_source
from tests.factories import certificate_payload, declaration_payload

ISSUER, EXPORTER, OTHER_EXPORTER = "local-akl-chamber", "local-kauri-dairy", "local-tui-wines"
NZ_CUSTOMS, CN_CUSTOMS, OPS = "local-nz-customs", "local-cn-customs", "local-ops"

# One counter for the session: certificate numbers, declaration numbers and idempotency keys never repeat.
_serials = itertools.count(1)


def certificate_number() -> str:
    return f"11.5555.{next(_serials):05d}"


def declaration_number() -> str:
    return f"2233202610{next(_serials):08d}"


class Partners:
    """Every party's calls: ``post`` and ``get`` as a demo client id, and the steps the tests repeat."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.api_url, timeout=PARTNER_TIMEOUT_SECONDS)
        self.token_for = token_source(stack)

    def close(self) -> None:
        self.http.close()

    def headers(self, client_id: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token_for(client_id)}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def post(self, path: str, body: Any, client_id: str = ISSUER) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers(client_id, f"partners-{uuid.uuid4()}"))

    def get(self, path: str, client_id: str = ISSUER, accept: str | None = None) -> httpx.Response:
        """``accept``: the Accept header; a certificate's document is asked for as a partner must (its PDF)."""
        headers = self.headers(client_id)
        if accept is not None or path.endswith("/document"):
            headers["Accept"] = accept or "application/pdf"
        return self.http.get(path, headers=headers)

    def certificate(self, number: str | None = None, **overrides: Any) -> str:
        """A certificate submitted by the issuing body: its number."""
        number = number or certificate_number()
        response = self.post("/v1/certificates", certificate_payload(certificate_number=number, **overrides))
        assert response.status_code == 201, response.text
        return number

    def read(self, number: str, client_id: str = ISSUER) -> dict[str, Any]:
        response = self.get(f"/v1/certificates/{number}", client_id)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def lodge(self, client_id: str, **fields: Any) -> httpx.Response:
        body = declaration_payload(**fields)
        return self.http.post(
            "/v1/declarations", json=body, headers=self.headers(client_id, f"partners-{uuid.uuid4()}")
        )

    def decided(self, client_id: str, location: str, timeout: float = 15) -> dict[str, Any]:
        """The declaration once decided (or as it is when ``timeout`` runs out)."""
        return self.eventually(client_id, location, lambda found: found["status"] != "RECEIVED", timeout)

    def eventually(
        self, client_id: str, path: str, holds: Callable[[dict[str, Any]], bool], timeout: float = 15
    ) -> dict[str, Any]:
        """What ``path`` answers once ``holds`` is true of it (or as it is when ``timeout`` runs out)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(path, client_id)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if holds(body) or time.monotonic() > deadline:
                return body
            time.sleep(0.1)
