"""China Customs' receiver on its own, as production must expect it: no server, no faults, no sockets.

It verifies JEVS's detached signature against the JWKS, files a message once per Idempotency-Key and bytes,
and refuses only through its business check."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from werkzeug.datastructures import Headers

from infrastructure.local.china_customs.receiver import BusinessRefusal, Receiver
from infrastructure.local.china_customs.signatures import JwksKeys
from jevs.adapters.jws import sign_detached

pytestmark = pytest.mark.unit


class Sender:
    """JEVS's side: a P-256 key, the JWKS it publishes, and messages signed over their exact bytes."""

    def __init__(self) -> None:
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        self.kid = ECKey.import_key(self._private_key.public_key()).thumbprint()
        self.jwks_fetches = 0

    def jwks(self) -> dict[str, Any]:
        self.jwks_fetches += 1
        public = ECKey.import_key(self._private_key.public_key()).as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def signed(self, body: bytes, *, key: str = "11.1234.00001/v1", **extra: str) -> Headers:
        signature = sign_detached(
            body, kid=self.kid, sign_der=lambda data: self._private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        )
        return Headers(
            {"Content-Type": "application/json", "Idempotency-Key": key, "X-JWS-Signature": signature, **extra}
        )


def message_bytes(number: str = "11.1234.00001", version: int = 1) -> bytes:
    message = {
        "message_type": "certificate.version",
        "message_id": f"msg-{number}-v{version}",
        "certificate_number": number,
        "version": version,
    }
    return json.dumps(message, separators=(",", ":")).encode()


@pytest.fixture
def sender() -> Sender:
    return Sender()


@pytest.fixture
def receiver(sender: Sender) -> Receiver:
    return Receiver(JwksKeys(sender.jwks))


def test_a_signed_message_is_filed_once_with_a_receipt(receiver: Receiver, sender: Sender) -> None:
    body = message_bytes()

    received = receiver.receive(sender.signed(body), body)

    assert received.held
    assert received.answer.status == 201
    receipt = json.loads(received.answer.body)
    [stored] = receiver.received
    assert receipt == stored.receipt()
    assert (stored.body_bytes, stored.kid, stored.times_seen) == (body, sender.kid, 1)
    assert stored.headers["idempotency-key"] == "11.1234.00001/v1"
    assert receiver.stats.accepted == 1


def test_the_same_key_and_bytes_again_get_the_first_receipt(receiver: Receiver, sender: Sender) -> None:
    body = message_bytes()
    first = receiver.receive(sender.signed(body), body)

    again = receiver.receive(sender.signed(body), body)

    assert again.held
    assert again.answer.status == 200
    assert ("Idempotent-Replayed", "true") in again.answer.headers
    assert again.answer.body == first.answer.body
    assert [message.times_seen for message in receiver.received] == [2]
    assert (receiver.stats.accepted, receiver.stats.duplicates) == (1, 1)


def test_the_same_key_with_other_bytes_is_a_conflict_and_not_held(receiver: Receiver, sender: Sender) -> None:
    receiver.receive(sender.signed(message_bytes()), message_bytes())
    other = message_bytes(version=2)

    conflict = receiver.receive(sender.signed(other), other)

    assert conflict.answer.status == 409
    assert not conflict.held
    assert [message.body_bytes for message in receiver.received] == [message_bytes()]
    assert receiver.stats.conflicts == 1


def test_bytes_changed_after_signing_are_refused(receiver: Receiver, sender: Sender) -> None:
    headers = sender.signed(message_bytes())

    refused = receiver.receive(headers, message_bytes(version=2))

    assert refused.answer.status == 401
    assert b"does not match the body" in refused.answer.body
    assert not refused.held
    assert receiver.received == []
    assert receiver.stats.bad_signature == 1


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [("Content-Type", "text/plain", 415), ("Idempotency-Key", " ", 400)],
)
def test_a_signed_message_without_what_filing_needs_is_refused(
    receiver: Receiver, sender: Sender, header: str, value: str, status: int
) -> None:
    body = message_bytes()
    headers = sender.signed(body)
    headers[header] = value

    refused = receiver.receive(headers, body)

    assert refused.answer.status == status
    assert receiver.stats.bad_request == 1


def test_the_media_type_is_read_with_its_parameters(receiver: Receiver, sender: Sender) -> None:
    body = message_bytes()
    headers = sender.signed(body)
    headers["Content-Type"] = "Application/JSON; charset=utf-8"

    assert receiver.receive(headers, body).answer.status == 201


def test_the_keys_are_fetched_once_and_again_only_for_an_unknown_kid(sender: Sender) -> None:
    receiver = Receiver(JwksKeys(sender.jwks))
    first, second = message_bytes("11.1234.00001"), message_bytes("11.1234.00002")
    receiver.receive(sender.signed(first), first)
    receiver.receive(sender.signed(second, key="11.1234.00002/v1"), second)
    assert sender.jwks_fetches == 1

    stranger = Sender()
    refused = receiver.receive(stranger.signed(first, key="other"), first)

    assert refused.answer.status == 401
    assert sender.jwks_fetches == 2
    assert receiver.stats.jwks_fetches == 2


def test_without_the_keys_nothing_is_filed_and_the_sender_may_retry(sender: Sender) -> None:
    def unreachable() -> dict[str, Any]:
        raise ConnectionError("no route to the sender")

    receiver = Receiver(JwksKeys(unreachable))
    body = message_bytes()

    refused = receiver.receive(sender.signed(body), body)

    assert refused.answer.status == 503
    assert receiver.received == []
    assert receiver.stats.jwks_unavailable == 1


def test_the_business_check_is_asked_only_about_new_valid_messages_and_its_refusal_stores_nothing(
    sender: Sender,
) -> None:
    asked: list[str] = []

    def refuse_version_two(message: dict[str, Any]) -> BusinessRefusal | None:
        asked.append(message["message_id"])
        return BusinessRefusal(422, "version 2 is not admitted") if message["version"] == 2 else None

    receiver = Receiver(JwksKeys(sender.jwks), business_check=refuse_version_two)
    first, second = message_bytes(version=1), message_bytes(version=2)
    receiver.receive(sender.signed(first), first)
    receiver.receive(sender.signed(first), first)
    receiver.receive(sender.signed(second), second[:-1])

    refused = receiver.receive(sender.signed(second, key="11.1234.00001/v2"), second)

    assert refused.answer.status == 422
    assert json.loads(refused.answer.body)["reason"] == "version 2 is not admitted"
    assert not refused.held
    assert asked == ["msg-11.1234.00001-v1", "msg-11.1234.00001-v2"]
    assert [message.idempotency_key for message in receiver.received] == ["11.1234.00001/v1"]
    assert receiver.stats.rejected == 1


def test_forgetting_makes_a_message_new_again(receiver: Receiver, sender: Sender) -> None:
    body = message_bytes()
    receiver.receive(sender.signed(body), body)

    receiver.forget()

    assert receiver.received == []
    assert receiver.stats.accepted == 0
    assert receiver.receive(sender.signed(body), body).answer.status == 201


def test_waiting_for_a_message_gives_up_after_the_timeout(receiver: Receiver) -> None:
    with pytest.raises(TimeoutError):
        receiver.wait_for(lambda messages: bool(messages), timeout=0.05)
