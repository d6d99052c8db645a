"""Sending a signed message to China Customs over HTTPS and reading what the answer means.

Strict timeouts, no redirects followed, TLS 1.2 or later with China's certificate verified (against the CA
bundle configured for China, or the public CAs), and mutual TLS when a client certificate is configured. The
``Idempotency-Key`` is the (certificate, version) business key, the same on every attempt.
"""

from __future__ import annotations

import json
import ssl
from typing import TYPE_CHECKING, Any

from jevs.domain.delivery import Decision, decide, transport_failure

if TYPE_CHECKING:
    import httpx

    from jevs.adapters.kms_signer import KmsSigner

SIGNATURE_HEADER = "X-JWS-Signature"


def tls_context(*, client_certificate: tuple[str, str] | None = None, trusted_ca: str | None = None) -> ssl.SSLContext:
    """TLS to China: its server certificate verified, for its host name, against ``trusted_ca`` (PEM: the CA
    China's endpoint certificate chains to, and no other) or else the public CAs; and our certificate presented
    when ``client_certificate`` (certificate file, key file) is given, for China's mutual TLS."""
    # httpx and certifi are imported where they are used: only the dispatcher's Lambda layers hold them, and every
    # function's composition root imports this module (README "Packaging").
    import certifi

    context = ssl.create_default_context(cadata=trusted_ca, cafile=None if trusted_ca else certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_certificate is not None:
        context.load_cert_chain(*client_certificate)
    return context


class HttpChinaSender:
    def __init__(
        self,
        *,
        endpoint: str,
        signer: KmsSigner,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        import httpx  # see tls_context

        self._endpoint = endpoint
        self._signer = signer
        self._client = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            verify=tls or tls_context(),
            headers={"User-Agent": "jevs-dispatcher/1"},
        )

    def send(self, body: bytes, idempotency_key: str) -> Decision:
        import httpx  # see tls_context; bound once the client exists

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
