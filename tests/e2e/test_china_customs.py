"""The China Customs simulator over real HTTP: it verifies JEVS's detached signatures with joserfc, files the
five kinds of message JEVS sends, deduplicates on the Idempotency-Key, keeps what China holds per certificate
(answering 425 to a change that arrives before the certificate's issue), and misbehaves on request the ways a
far endpoint can."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from infrastructure.local.china_customs import (
    CERTIFICATES_PATH,
    ENDPOINT_PATH,
    FAULTS_PATH,
    RECEIVED_PATH,
    STATS_PATH,
    ChinaCustomsSimulator,
    HeldStatus,
    MessageType,
    examples,
)
from jevs.adapters.jws import b64url, protected_header, sign_detached

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(autouse=True)
def _functions_fed() -> None:
    """Overrides the e2e tier's autouse fixture: the simulator needs none of the local stack."""


class SigningKey:
    """A P-256 key as JEVS's KMS key would sign with it: kid is the RFC 7638 thumbprint of its public part."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = ECKey.import_key(self.private_key.public_key())
        self.kid = self.jwk.thumbprint()

    def public_jwk(self) -> dict[str, Any]:
        return {**self.jwk.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": "ES256"}

    def sign(self, body: bytes, *, kid: str | None = None) -> str:
        return sign_detached(
            body, kid=kid or self.kid, sign_der=lambda data: self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        )


class Publisher:
    """JEVS's JWKS, as the simulator's callable source; counts how often it is fetched."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [key.public_jwk() for key in self.keys]}


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey()


@pytest.fixture
def publisher(signing_key: SigningKey) -> Publisher:
    return Publisher(signing_key)


@pytest.fixture
def simulator(publisher: Publisher) -> Iterator[ChinaCustomsSimulator]:
    with ChinaCustomsSimulator(publisher) as running:
        yield running


@pytest.fixture
def client(simulator: ChinaCustomsSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.url, timeout=5) as http:
        yield http


_numbers = iter(range(10_000, 99_999))


def a_number() -> str:
    return f"11.1234.{next(_numbers)}"


def certificate_message(number: str | None = None, version: int = 1, **changes: Any) -> dict[str, Any]:
    """A ``certificate.issued`` of a new certificate, unless ``number`` is given."""
    return examples.issued(number or a_number(), version, **changes)


encode = examples.encode


def key_of(message: dict[str, Any]) -> str:
    """The Idempotency-Key JEVS sends a message under: its message_id."""
    return str(message["message_id"])


def deliver(
    client: httpx.Client,
    signer: SigningKey,
    message: dict[str, Any],
    *,
    body: bytes | None = None,
    key: str | None = None,
    signature: str | None = None,
    timeout: float | None = None,
) -> httpx.Response:
    """POST ``message`` as the dispatcher does: signed over the exact bytes sent, keyed on its message_id."""
    body = encode(message) if body is None else body
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key or key_of(message),
        "X-JWS-Signature": signature if signature is not None else signer.sign(body),
    }
    if timeout is None:
        return client.post(ENDPOINT_PATH, content=body, headers=headers)
    return client.post(ENDPOINT_PATH, content=body, headers=headers, timeout=timeout)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    document: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == status
    return document


# -- acceptance and idempotency ----------------------------------------------------------------------------


def test_a_signed_message_is_accepted_with_a_receipt_and_stored_once(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()

    response = deliver(client, signing_key, message)

    assert response.status_code == 201
    receipt = response.json()
    assert receipt["receipt_id"].startswith("CN-RCPT-")
    assert receipt["message_id"] == message["message_id"]
    assert datetime.fromisoformat(receipt["received_at"]).tzinfo is not None
    [stored] = simulator.received
    assert stored.receipt_id == receipt["receipt_id"]
    assert stored.idempotency_key == key_of(message)
    assert stored.body == message
    assert stored.body_bytes == encode(message)
    assert (stored.certificate_number, stored.version, stored.kid) == (
        message["certificate_number"],
        1,
        signing_key.kid,
    )
    assert stored.times_seen == 1
    assert simulator.stats.accepted == 1


def test_the_same_key_and_body_again_returns_the_same_receipt_and_stores_nothing_new(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    first = deliver(client, signing_key, message)

    again = deliver(client, signing_key, message)

    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    [stored] = simulator.received
    assert stored.times_seen == 2
    assert (simulator.stats.accepted, simulator.stats.duplicates) == (1, 1)


def test_the_same_key_with_another_body_is_a_conflict_and_the_first_message_stands(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    deliver(client, signing_key, message)

    response = deliver(client, signing_key, {**message, "printed_remarks": "ISSUED RETROSPECTIVELY"})

    assert "another body" in problem(response, 409)["detail"]
    [stored] = simulator.received
    assert stored.body == message
    assert stored.times_seen == 1


def test_concurrent_deliveries_of_one_message_store_it_once(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: deliver(client, signing_key, message), range(8)))

    assert sorted(response.status_code for response in responses) == [200] * 7 + [201]
    assert len({response.json()["receipt_id"] for response in responses}) == 1
    [stored] = simulator.received
    assert stored.times_seen == 8


# -- signatures --------------------------------------------------------------------------------------------


def test_a_body_changed_after_signing_is_refused(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    signature = signing_key.sign(encode(message))

    response = deliver(client, signing_key, message, body=encode({**message, "version": 2}), signature=signature)

    assert "does not match the body" in problem(response, 401)["detail"]
    assert simulator.received == []
    assert simulator.stats.bad_signature == 1


def test_an_unsigned_message_is_refused(simulator: ChinaCustomsSimulator, client: httpx.Client) -> None:
    message = certificate_message()
    body = encode(message)

    response = client.post(
        ENDPOINT_PATH,
        content=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": key_of(message)},
    )

    assert "X-JWS-Signature header is missing" in problem(response, 401)["detail"]
    assert simulator.received == []


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        ("garbage", "not a compact JWS"),
        ("a.b.c", "must be detached"),
        ("!!!..AAAA", "cannot be decoded"),
        (f"{b64url(b'not json')}..AAAA", "cannot be decoded"),
    ],
)
def test_a_garbled_signature_is_refused_with_the_reason(
    client: httpx.Client, signing_key: SigningKey, signature: str, why: str
) -> None:
    response = deliver(client, signing_key, certificate_message(), signature=signature)

    assert why in problem(response, 401)["detail"]


@pytest.mark.parametrize("algorithm", ["HS256", "none", "RS256", "ES384"])
def test_an_algorithm_other_than_es256_is_refused(
    client: httpx.Client, signing_key: SigningKey, algorithm: str
) -> None:
    message = certificate_message()
    valid = signing_key.sign(encode(message))
    header = b64url(json.dumps({"alg": algorithm, "kid": signing_key.kid}).encode())

    response = deliver(client, signing_key, message, signature=f"{header}..{valid.split('..')[1]}")

    assert "only ES256" in problem(response, 401)["detail"]


def test_a_signature_by_a_key_the_sender_does_not_publish_is_refused_after_one_refetch(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey, publisher: Publisher
) -> None:
    deliver(client, signing_key, certificate_message())
    assert publisher.fetches == 1

    response = deliver(client, SigningKey(), certificate_message())

    assert "is not among the sender's published keys" in problem(response, 401)["detail"]
    assert publisher.fetches == 2
    assert simulator.stats.jwks_fetches == 2


def test_a_signature_by_another_key_under_a_published_kid_is_refused(
    client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    forged = SigningKey().sign(encode(message), kid=signing_key.kid)

    response = deliver(client, signing_key, message, signature=forged)

    assert "does not match the body" in problem(response, 401)["detail"]


def test_a_key_published_after_the_keys_were_cached_is_accepted(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey, publisher: Publisher
) -> None:
    assert deliver(client, signing_key, certificate_message()).status_code == 201
    rotated = SigningKey()
    publisher.keys.append(rotated)

    response = deliver(client, rotated, certificate_message())

    assert response.status_code == 201
    assert publisher.fetches == 2
    assert [message.kid for message in simulator.received] == [signing_key.kid, rotated.kid]
    # The old key still verifies without another fetch: both are cached now.
    assert deliver(client, signing_key, certificate_message()).status_code == 201
    assert publisher.fetches == 2


class _JwksServer(ThreadingHTTPServer):
    daemon_threads = True
    document: bytes = b""


class _JwksHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        document = self.server.document if isinstance(self.server, _JwksServer) else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(document)))
        self.end_headers()
        self.wfile.write(document)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_the_keys_can_be_fetched_from_a_jwks_url(signing_key: SigningKey) -> None:
    server = _JwksServer(("127.0.0.1", 0), _JwksHandler)
    server.document = json.dumps({"keys": [signing_key.public_jwk()]}).encode()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        jwks_url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
        with ChinaCustomsSimulator(jwks_url) as simulator, httpx.Client(base_url=simulator.url) as http:
            response = deliver(http, signing_key, certificate_message())
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 201


def test_without_the_senders_keys_nothing_is_accepted_and_the_sender_may_retry(signing_key: SigningKey) -> None:
    with ChinaCustomsSimulator(f"http://127.0.0.1:{_closed_port()}/jwks.json") as simulator:
        with httpx.Client(base_url=simulator.url) as http:
            response = deliver(http, signing_key, certificate_message())
        assert simulator.received == []
        assert simulator.stats.jwks_unavailable == 1

    assert "cannot fetch the sender's JWKS" in problem(response, 503)["detail"]


def _closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- what must be in a message -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (encode(certificate_message(message_id=None)), "message_id must be a non-empty string"),
        (encode({**certificate_message(), "version": "1"}), "version must be a positive integer"),
        (encode({**certificate_message(), "version": True}), "version must be a positive integer"),
        (encode({**certificate_message(), "message_type": "CERTIFICATE_ISSUED"}), "message_type must be one of"),
        (encode({**certificate_message(), "message_type": "certificate.version"}), "message_type must be one of"),
        (
            encode(examples.declaration_result("CNIM-1", "11.1234.1", declaration_number=None)),
            "declaration_number",
        ),
        (encode(examples.revoked("11.1234.1", revoked_at=None)), "revoked_at must be"),
    ],
)
def test_a_signed_body_without_the_fields_china_files_by_is_a_bad_request(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey, body: bytes, why: str
) -> None:
    response = deliver(client, signing_key, certificate_message(), body=body)

    assert why in problem(response, 400)["detail"]
    assert simulator.received == []


def test_a_message_without_an_idempotency_key_is_a_bad_request(client: httpx.Client, signing_key: SigningKey) -> None:
    body = encode(certificate_message())
    headers = {"Content-Type": "application/json", "X-JWS-Signature": signing_key.sign(body)}

    response = client.post(ENDPOINT_PATH, content=body, headers=headers)

    assert "Idempotency-Key" in problem(response, 400)["detail"]


def test_a_message_that_is_not_json_by_its_content_type_is_unsupported(
    client: httpx.Client, signing_key: SigningKey
) -> None:
    body = encode(certificate_message())
    headers = {"Content-Type": "text/plain", "Idempotency-Key": "k", "X-JWS-Signature": signing_key.sign(body)}

    problem(client.post(ENDPOINT_PATH, content=body, headers=headers), 415)


def test_other_paths_and_methods_are_refused(client: httpx.Client) -> None:
    problem(client.get("/nothing"), 404)
    response = client.get(ENDPOINT_PATH)
    problem(response, 405)
    assert response.headers["allow"] == "POST"


# -- the five kinds, and what China holds per certificate ----------------------------------------------------


def test_each_kind_is_accepted_and_listed_with_its_kind(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    original, replacement, withdrawn = a_number(), a_number(), a_number()
    story = [
        examples.issued(original),
        examples.copy_issued(original, version=2),
        examples.issued(replacement, replaces=original),
        examples.replaced(original, by=replacement, version=2),
        examples.issued(withdrawn),
        examples.revoked(withdrawn),
        examples.declaration_result("CNIM-2026-000042", replacement, replacement_certificate_number=None),
    ]

    statuses = [deliver(client, signing_key, message).status_code for message in story]

    assert statuses == [201] * len(story)
    listed = client.get(RECEIVED_PATH).json()["messages"]
    assert [(item["message_type"], item["idempotency_key"]) for item in listed] == [
        (message["message_type"], message["message_id"]) for message in story
    ]
    assert [message.message_type for message in simulator.received] == [
        MessageType(message["message_type"]) for message in story
    ]
    assert listed[-1]["declaration_number"] == story[-1]["declaration_number"]
    revocations = client.get(RECEIVED_PATH, params={"message_type": "certificate.revoked"}).json()["messages"]
    assert [item["body"] for item in revocations] == [story[5]]
    versions = client.get(
        RECEIVED_PATH, params=[("message_type", "certificate.issued"), ("message_type", "certificate.copy_issued")]
    ).json()["messages"]
    assert len(versions) == 4
    problem(client.get(RECEIVED_PATH, params={"message_type": "certificate.version"}), 400)


def test_a_change_before_the_certificates_issue_is_too_early_and_accepted_once_the_issue_arrives(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    number = a_number()
    revocation = examples.revoked(number)

    early = deliver(client, signing_key, revocation)
    assert deliver(client, signing_key, certificate_message(number)).status_code == 201
    late = deliver(client, signing_key, revocation)

    assert problem(early, 425)["certificate_number"] == number
    assert early.headers["retry-after"] == "1"
    assert late.status_code == 201
    assert [message.idempotency_key for message in simulator.received] == [f"{number}/v1", f"{number}/revoked"]
    stats = client.get(STATS_PATH).json()
    assert (stats["too_early"], stats["accepted"]) == (1, 2)


def test_a_change_that_contradicts_what_china_holds_is_rejected_with_its_reason(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    number = a_number()
    deliver(client, signing_key, certificate_message(number))
    deliver(client, signing_key, examples.revoked(number))

    response = deliver(client, signing_key, examples.replaced(number, by=a_number()))

    assert (
        problem(response, 422)["reason"] == f"certificate {number} is REVOKED: only an issued certificate is replaced"
    )
    assert simulator.stats.contradictory == 1


def test_what_china_holds_per_certificate_can_be_read_over_http(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    original, replacement = a_number(), a_number()
    receipt = deliver(client, signing_key, examples.issued(original)).json()
    deliver(client, signing_key, examples.issued(replacement, replaces=original))
    deliver(client, signing_key, examples.replaced(original, by=replacement, reason="Consignee corrected"))

    listed = client.get(CERTIFICATES_PATH).json()["certificates"]
    one = client.get(f"{CERTIFICATES_PATH}/{original}")

    assert [item["certificate_number"] for item in listed] == [original, replacement]
    assert one.json() == listed[0]
    assert listed[0] == {
        "certificate_number": original,
        "status": "REPLACED",
        "latest_version": 1,
        "versions": [
            {
                "version": 1,
                "message_type": "certificate.issued",
                "message_id": f"{original}/v1",
                "receipt_id": receipt["receipt_id"],
                "received_at": receipt["received_at"],
            }
        ],
        "replaces": None,
        "replaced_by": replacement,
        "reason": "Consignee corrected",
        "replaced_at": "2026-03-04T22:00:00+00:00",
        "revoked_at": None,
        "history_heads": [],  # the simulator's own example messages carry no history head
    }
    assert (listed[1]["status"], listed[1]["replaces"]) == ("ISSUED", original)
    held = simulator.certificate(original)
    assert held is not None
    assert held.status is HeldStatus.REPLACED
    assert problem(client.get(f"{CERTIFICATES_PATH}/11.1234.00000"), 404)["type"].endswith("certificate-not-held")
    client.delete(RECEIVED_PATH)
    assert client.get(CERTIFICATES_PATH).json() == {"certificates": []}


# -- faults ------------------------------------------------------------------------------------------------


def test_the_next_calls_can_fail_with_503_and_then_delivery_succeeds(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    simulator.faults.fail_next(2)

    statuses = [deliver(client, signing_key, message).status_code for _ in range(3)]

    assert statuses == [503, 503, 201]
    assert len(simulator.received) == 1
    assert simulator.received[0].times_seen == 1
    assert simulator.stats.failed_injected == 2


def test_a_throttling_answer_carries_retry_after(client: httpx.Client, simulator: ChinaCustomsSimulator) -> None:
    simulator.faults.fail_next(1, status=429, retry_after=7)

    response = deliver(client, SigningKey(), certificate_message())

    problem(response, 429)
    assert response.headers["retry-after"] == "7"


def test_a_fraction_of_calls_fails_the_same_way_for_the_same_seed(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    def run() -> list[int]:
        return [deliver(client, signing_key, certificate_message()).status_code for _ in range(30)]

    simulator.faults.fail_fraction(0.5, seed=2026)
    first = run()
    simulator.faults.fail_fraction(0.5, seed=2026)
    second = run()

    assert first == second
    assert 0 < first.count(503) < 30
    assert set(first) == {201, 503}


def test_a_delay_longer_than_the_senders_timeout_times_it_out(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    simulator.faults.delay(0.5)

    with pytest.raises(httpx.TimeoutException):
        deliver(client, signing_key, certificate_message(), timeout=0.1)

    # A slow server still does its work: the message lands after the pause, unbeknown to the sender.
    assert len(simulator.wait_for(lambda messages: len(messages) == 1, timeout=3)) == 1


def test_a_held_call_leaves_faults_switched_on_while_it_waits_to_the_calls_after_it(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    """A sender that gave up on a held call, then arms one failure for its next call, gets it on that call: the
    held call, answered to no one, does not use it up (it did, and test_logs_clean's campaign saw its one 401
    taken by a delivery the dispatcher had timed out on)."""
    simulator.faults.delay(0.5)
    with pytest.raises(httpx.TimeoutException):
        deliver(client, signing_key, certificate_message(), timeout=0.1)

    simulator.faults.clear().fail_next(1, status=401)

    assert len(simulator.wait_for(lambda messages: len(messages) == 1, timeout=3)) == 1
    assert deliver(client, signing_key, certificate_message()).status_code == 401
    assert simulator.faults.settings.fail_next == 0


def test_a_fraction_of_calls_can_be_delayed(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    simulator.faults.delay(0.02, fraction=0.5, seed=7)

    for _ in range(12):
        assert deliver(client, signing_key, certificate_message()).status_code == 201

    assert 0 < simulator.stats.delayed_injected < 12


def test_a_business_rejection_gives_its_reason_and_stores_nothing(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    simulator.faults.reject_next(1, reason="HS code not admitted for preference")

    rejection = problem(deliver(client, signing_key, message), 422)

    assert rejection["reason"] == "HS code not admitted for preference"
    assert simulator.received == []
    assert simulator.stats.rejected_injected == 1
    assert deliver(client, signing_key, message).status_code == 201


def test_a_rejection_is_decided_after_the_signature_is_checked(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    simulator.faults.reject_next(1)

    problem(deliver(client, signing_key, certificate_message(), signature=""), 401)

    assert simulator.faults.settings.reject_next == 1


def test_a_dropped_connection_is_a_transport_error_and_nothing_is_stored(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    simulator.faults.drop_next(1)

    with pytest.raises(httpx.TransportError):
        deliver(client, signing_key, message)

    assert simulator.received == []
    assert simulator.stats.dropped_injected == 1
    assert deliver(client, signing_key, message).status_code == 201


def test_a_message_stored_whose_answer_is_lost_gets_the_same_receipt_on_retry(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    simulator.faults.accept_then_fail(1)

    lost = deliver(client, signing_key, message)
    [stored] = simulator.received
    retry = deliver(client, signing_key, message)

    problem(lost, 503)
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["receipt_id"] == stored.receipt_id
    [after] = simulator.received
    assert after.times_seen == 2


def test_a_message_stored_before_the_connection_drops_is_kept(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    simulator.faults.accept_then_fail(1, drop=True)

    with pytest.raises(httpx.TransportError):
        deliver(client, signing_key, message)

    assert [stored.idempotency_key for stored in simulator.received] == [key_of(message)]
    assert deliver(client, signing_key, message).json()["receipt_id"] == simulator.received[0].receipt_id


def test_under_a_fault_campaign_every_kind_is_filed_once_by_a_sender_that_retries(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    """Failures, drops, lost answers and early arrivals, across all five kinds delivered in a shuffled order:
    a sender that retries what is transient gets each message filed once, and China's picture comes out whole."""
    original, replacement, withdrawn = a_number(), a_number(), a_number()
    story = [
        examples.issued(original),
        examples.copy_issued(original, version=2),
        examples.issued(replacement, replaces=original),
        examples.replaced(original, by=replacement, version=2),
        examples.issued(withdrawn),
        examples.revoked(withdrawn),
        examples.declaration_result("CNIM-2026-000007", withdrawn, decision=2),
    ]
    random.Random(2026).shuffle(story)
    simulator.faults.fail_fraction(0.3, status=503, seed=2026).accept_then_fail(3).drop_next(2)
    waiting, rounds, seen = story, 0, set()

    while waiting and rounds < 30:
        rounds += 1
        answered = [(message, _attempt(client, signing_key, message)) for message in waiting]
        seen |= {status for _, status in answered}
        assert seen <= {200, 201, 425, 503, None}
        waiting = [message for message, status in answered if status not in (200, 201)]

    assert waiting == []
    assert {425, 503, None} <= seen
    assert sorted(message.idempotency_key for message in simulator.received) == sorted(
        message["message_id"] for message in story
    )
    held = simulator.certificates
    assert (held[original].status, held[original].replaced_by, held[original].version_numbers) == (
        HeldStatus.REPLACED,
        replacement,
        (1, 2),
    )
    assert (held[replacement].status, held[replacement].replaces) == (HeldStatus.ISSUED, original)
    assert held[withdrawn].status is HeldStatus.REVOKED
    stats = simulator.stats
    assert stats.too_early > 0
    assert stats.dropped_injected == 2


def _attempt(client: httpx.Client, signing_key: SigningKey, message: dict[str, Any]) -> int | None:
    """One delivery attempt's status; None when the connection was dropped."""
    try:
        return deliver(client, signing_key, message).status_code
    except httpx.TransportError:
        return None


# -- control over HTTP -------------------------------------------------------------------------------------


def test_faults_can_be_switched_over_http(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    switched = client.post(FAULTS_PATH, json={"fail_next": 1, "fail_status": 429, "retry_after": 3})
    assert switched.status_code == 200
    assert switched.json()["fail_next"] == 1
    assert client.get(FAULTS_PATH).json() == switched.json()

    throttled = deliver(client, signing_key, certificate_message())

    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "3"
    assert client.get(FAULTS_PATH).json()["fail_next"] == 0
    client.post(FAULTS_PATH, json={"reject_next": 5})
    cleared = client.delete(FAULTS_PATH)
    assert cleared.json()["reject_next"] == 0
    assert deliver(client, signing_key, certificate_message()).status_code == 201


@pytest.mark.parametrize(
    "settings",
    [
        {"fail_nex": 1},
        {"fail_fraction": 2},
        {"fail_next": True},
        {"fail_next": -1},
        {"fail_status": 200},
        {"reject_status": 409},
        {"delay_seconds": "1"},
        [1],
    ],
)
def test_nonsense_fault_settings_are_refused_over_http(
    simulator: ChinaCustomsSimulator, client: httpx.Client, settings: object
) -> None:
    problem(client.post(FAULTS_PATH, json=settings), 400)

    assert simulator.faults.settings == type(simulator.faults.settings)()


def test_what_was_received_can_be_listed_and_forgotten_over_http(
    simulator: ChinaCustomsSimulator, client: httpx.Client, signing_key: SigningKey
) -> None:
    message = certificate_message()
    receipt = deliver(client, signing_key, message).json()
    deliver(client, signing_key, message)

    [listed] = client.get(RECEIVED_PATH).json()["messages"]
    stats = client.get(STATS_PATH).json()
    forgotten = client.delete(RECEIVED_PATH)

    assert listed["receipt_id"] == receipt["receipt_id"]
    assert listed["idempotency_key"] == key_of(message)
    assert listed["times_seen"] == 2
    assert listed["body"] == message
    assert listed["kid"] == signing_key.kid
    assert listed["headers"]["idempotency-key"] == key_of(message)
    assert listed["headers"]["x-jws-signature"].startswith(protected_header(signing_key.kid) + "..")
    assert (stats["requests"], stats["accepted"], stats["duplicates"]) == (2, 1, 1)
    assert forgotten.status_code == 200
    assert client.get(RECEIVED_PATH).json() == {"messages": []}
    assert simulator.stats.requests == 0
    # Forgotten means forgotten: the same message is new again.
    assert deliver(client, signing_key, message).status_code == 201


def test_each_request_is_logged_on_one_line(
    client: httpx.Client, signing_key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    message = certificate_message()

    with caplog.at_level(logging.INFO, logger="infrastructure.local.china_customs"):
        deliver(client, signing_key, message)
        deliver(client, signing_key, message)

    lines = [record.getMessage() for record in caplog.records if ENDPOINT_PATH in record.getMessage()]
    assert len(lines) == 2
    assert lines[0].startswith(f"POST {ENDPOINT_PATH} 201 ")
    assert f"key={key_of(message)} accepted" in lines[0]
    assert lines[1].endswith("replayed")


# -- standalone --------------------------------------------------------------------------------------------


def test_it_runs_standalone_and_stops_cleanly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infrastructure.local.china_customs",
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
            "--port",
            "0",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        endpoint_url = lines[1].split("POST ", 1)[1].strip()
        answer = httpx.post(endpoint_url, content=b"{}", headers={"Content-Type": "application/json"})
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert lines[0].startswith("China Customs simulator")
    assert endpoint_url.endswith(ENDPOINT_PATH)
    assert lines[2].rstrip() == (
        "  kinds         certificate.issued, certificate.copy_issued, certificate.replaced, certificate.revoked,"
        " declaration.result, verification.response"
    )
    assert answer.status_code == 401
    assert process.returncode == 0
    assert out.strip().endswith("Stopped.")
