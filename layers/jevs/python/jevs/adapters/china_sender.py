"""Sending a signed message to China Customs over HTTPS and reading what the answer means.

Strict timeouts, no redirects followed, TLS verified, and mutual TLS when a client certificate is
configured. The ``Idempotency-Key`` is the (certificate, version) business key, the same on every attempt.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from jevs.adapters.kms_signer import KmsSigner
from jevs.domain.delivery import Decision, decide, transport_failure

SIGNATURE_HEADER = "X-JWS-Signature"


class HttpChinaSender:
    def __init__(
        self,
        *,
        endpoint: str,
        signer: KmsSigner,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        client_certificate: tuple[str, str] | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._signer = signer
        self._client = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            verify=True,
            cert=client_certificate,
            headers={"User-Agent": "jevs-dispatcher/1"},
        )

    def send(self, body: bytes, idempotency_key: str) -> Decision:
        signature = self._signer.sign_detached(body)
        try:
            response = self._client.post(
                self._endpoint,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": idempotency_key,
                    SIGNATURE_HEADER: signature,
                },
            )
        except httpx.TimeoutException as error:
            return transport_failure(f"timeout: {type(error).__name__}")
        except httpx.TransportError as error:
            return transport_failure(f"no answer: {type(error).__name__}: {error}")
        return decide(response.status_code, dict(response.headers), _json(response))

    def close(self) -> None:
        self._client.close()


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = json.loads(response.content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
