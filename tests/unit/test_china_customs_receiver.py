"""China Customs' receiver on its own, as production must expect it: no server, no faults, no sockets.

It verifies JEVS's detached signature against the JWKS, files each of the five kinds of message with the
fields its kind needs, once per Idempotency-Key and bytes, keeps what China holds per certificate (a change
to a certificate whose issue has not arrived is too early, one that contradicts what China holds is refused),
and otherwise refuses only through its business check."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from werkzeug.datastructures import Headers

from infrastructure.local.china_customs import examples
from infrastructure.local.china_customs.holdings import HeldStatus
from infrastructure.local.china_customs.kinds import REQUIRED_FIELDS, MessageType
from infrastructure.local.china_customs.receiver import BusinessRefusal, Received, Receiver
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

    def signed(self, body: bytes, *, key: str | None = None) -> Headers:
        """Headers for ``body``, signed over its bytes, under ``key`` (by default its ``message_id``, as JEVS)."""
        signature = sign_detached(
            body, kid=self.kid, sign_der=lambda data: self._private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        )
        key = key if key is not None else json.loads(body)["message_id"]
        return Headers({"Content-Type": "application/json", "Idempotency-Key": key, "X-JWS-Signature": signature})

    def deliver(self, receiver: Receiver, message: dict[str, Any]) -> Received:
        body = examples.encode(message)
        return receiver.receive(self.signed(body), body)


NUMBER = "11.1234.00001"
REPLACEMENT = "11.1234.00002"


def message_bytes(number: str = NUMBER, version: int = 1, **changes: Any) -> bytes:
    return examples.encode(examples.issued(number, version, **changes))


def refusal(received: Received) -> dict[str, Any]:
    assert not received.held
    document: dict[str, Any] = json.loads(received.answer.body)
    assert document["status"] == received.answer.status
    return document


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
    other = message_bytes(printed_remarks="ISSUED RETROSPECTIVELY")

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
    first, second = message_bytes(NUMBER), message_bytes(REPLACEMENT)
    receiver.receive(sender.signed(first), first)
    receiver.receive(sender.signed(second), second)
    assert sender.jwks_fetches == 1

    stranger = Sender()
    refused = receiver.receive(stranger.signed(first), first)

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

    refused = receiver.receive(sender.signed(second), second)

    assert refused.answer.status == 422
    assert json.loads(refused.answer.body)["reason"] == "version 2 is not admitted"
    assert not refused.held
    assert asked == ["11.1234.00001/v1", "11.1234.00001/v2"]
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


# -- the six kinds -----------------------------------------------------------------------------------------

# One message of each kind about certificate NUMBER, and what must arrive first for China to file it.
_KINDS: dict[MessageType, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    MessageType.CERTIFICATE_ISSUED: ([], examples.issued(NUMBER)),
    MessageType.CERTIFICATE_COPY_ISSUED: ([examples.issued(NUMBER)], examples.copy_issued(NUMBER)),
    MessageType.CERTIFICATE_REPLACED: ([examples.issued(NUMBER)], examples.replaced(NUMBER, by=REPLACEMENT)),
    MessageType.CERTIFICATE_REVOKED: ([examples.issued(NUMBER)], examples.revoked(NUMBER)),
    MessageType.DECLARATION_RESULT: ([], examples.declaration_result("DEC-000001", NUMBER)),
    MessageType.VERIFICATION_RESPONSE: ([examples.issued(NUMBER)], examples.verification_response("VR-1", NUMBER)),
}


@pytest.mark.parametrize("kind", list(MessageType))
def test_each_kind_is_filed_with_its_kind(receiver: Receiver, sender: Sender, kind: MessageType) -> None:
    first, message = _KINDS[kind]
    for earlier in first:
        sender.deliver(receiver, earlier)

    received = sender.deliver(receiver, message)

    assert received.answer.status == 201
    stored = receiver.message(message["message_id"])
    assert stored is not None
    assert stored.message_type is kind
    assert (stored.certificate_number, stored.body) == (NUMBER, message)


@pytest.mark.parametrize(
    ("kind", "field"), [(kind, field) for kind, fields in REQUIRED_FIELDS.items() for field in fields]
)
def test_a_message_without_a_field_its_kind_needs_is_a_bad_request(
    receiver: Receiver, sender: Sender, kind: MessageType, field: str
) -> None:
    first, message = _KINDS[kind]
    for earlier in first:
        sender.deliver(receiver, earlier)
    body = examples.encode({name: value for name, value in message.items() if name != field})

    refused = receiver.receive(sender.signed(body, key=message["message_id"]), body)

    assert refused.answer.status == 400
    assert f"{field} must be" in refusal(refused)["detail"]
    assert receiver.message(message["message_id"]) is None


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ({**examples.issued(NUMBER), "version": "1"}, "version must be a positive integer"),
        (examples.issued(NUMBER, version=True), "version must be a positive integer"),
        (examples.issued(NUMBER, status="REVOKED"), 'status must be "ISSUED"'),
        (examples.issued(NUMBER, retrospective="no"), "retrospective must be true or false"),
        (examples.issued(NUMBER, valid_until="2027-02-30"), "valid_until must be a date"),
        (examples.issued(NUMBER, issued_at="2026-03-02T01:15:00"), "issued_at must be a date and time with its"),
        (examples.issued(NUMBER, issued_at="2026-03-02"), "issued_at must be a date and time with its"),
        (examples.issued(NUMBER, certification={"issuing_body": "MPI"}), "certification must be an object"),
        (examples.issued(NUMBER, certificate=[]), "certificate must be an object"),
        ({**examples.issued(NUMBER), "replaces": 17}, "replaces must be a non-empty string when present"),
        (examples.issued(NUMBER, replaces=NUMBER), "a certificate does not replace itself"),
        (examples.issued(NUMBER, certified_true_copy_of=NUMBER), "sent as certificate.copy_issued"),
        (examples.issued(NUMBER, message_id=f"msg-{NUMBER}"), "message_id must be '11.1234.00001/v1'"),
        (examples.copy_issued(NUMBER, certified_true_copy_of=REPLACEMENT), "must be the certificate's own number"),
        (examples.copy_issued(NUMBER, version=1), "version must be 2 or more"),
        (examples.replaced(NUMBER, by=NUMBER), "not replaced by itself"),
        (examples.replaced(NUMBER, by=REPLACEMENT, message_id=f"{NUMBER}/v1"), "must be '11.1234.00001/replaced'"),
        (examples.revoked(NUMBER, reason=" "), "reason must be a non-empty string"),
        (examples.revoked(NUMBER, revoked_at="yesterday"), "revoked_at must be a date and time"),
        (examples.declaration_result("DEC-1", NUMBER, version=-1), "version must be an integer, 0 or more"),
        (examples.declaration_result("DEC-1", NUMBER, discrepancies={}), "discrepancies must be a list of objects"),
        (examples.declaration_result("DEC-1", NUMBER, message_id="DEC-1/result"), "'<declaration id>/result/1'"),
        (examples.declaration_result("DEC-1", NUMBER, message_id="/result/1"), "'<declaration id>/result/1'"),
        ({**examples.issued(NUMBER), "message_type": "certificate.version"}, "message_type must be one of"),
        (
            examples.verification_response("VR-1", NUMBER, message_id=f"{NUMBER}/verification/VR-2"),
            "message_id must be '11.1234.00001/verification/VR-1'",
        ),
        (
            examples.verification_response("VR-1", NUMBER, attachments=[{"name": "x.exe", "media_type": "x"}]),
            "attachments must be a list of {name, media_type, size, sha256}",
        ),
    ],
)
def test_a_message_whose_fields_are_not_what_its_kind_says_is_a_bad_request(
    receiver: Receiver, sender: Sender, message: dict[str, Any], why: str
) -> None:
    body = examples.encode(message)

    refused = receiver.receive(sender.signed(body), body)

    assert refused.answer.status == 400
    assert why in refusal(refused)["detail"]
    assert receiver.stats.bad_request == 1


def test_optional_fields_may_be_null_or_absent(receiver: Receiver, sender: Sender) -> None:
    with_null = examples.issued(NUMBER)
    with_null["replaces"] = None
    result = examples.declaration_result("DEC-1", "11.9999.00009", version=0)

    assert sender.deliver(receiver, with_null).answer.status == 201
    assert "replacement_certificate_number" not in result
    # A declaration may quote a certificate China never held: its result is filed all the same.
    assert sender.deliver(receiver, result).answer.status == 201


def test_the_idempotency_key_must_be_the_message_id(receiver: Receiver, sender: Sender) -> None:
    body = message_bytes()

    refused = receiver.receive(sender.signed(body, key=f"{NUMBER}/v2"), body)

    assert refused.answer.status == 400
    assert "Idempotency-Key header must be the message_id" in refusal(refused)["detail"]


# -- what China holds per certificate -----------------------------------------------------------------------

_TOO_EARLY = [
    (examples.revoked(NUMBER), NUMBER),
    (examples.replaced(NUMBER, by=REPLACEMENT), NUMBER),
    (examples.copy_issued(NUMBER), NUMBER),
    (examples.issued(REPLACEMENT, replaces=NUMBER), NUMBER),
]


@pytest.mark.parametrize(("message", "awaited"), _TOO_EARLY)
def test_a_message_about_a_certificate_not_held_yet_is_too_early_then_filed_once_its_issue_arrives(
    receiver: Receiver, sender: Sender, message: dict[str, Any], awaited: str
) -> None:
    early = sender.deliver(receiver, message)

    assert early.answer.status == 425
    assert ("Retry-After", "1") in early.answer.headers
    problem = refusal(early)
    assert problem["type"].endswith(":certificate-not-held")
    assert problem["certificate_number"] == awaited
    assert receiver.received == []
    assert receiver.stats.too_early == 1

    sender.deliver(receiver, examples.issued(awaited))
    again = sender.deliver(receiver, message)

    assert again.answer.status == 201
    assert receiver.stats.too_early == 1


def test_china_holds_each_certificate_with_its_versions_and_what_became_of_it(
    receiver: Receiver, sender: Sender
) -> None:
    other = "11.1234.00003"
    for message in [
        examples.issued(NUMBER),
        examples.copy_issued(NUMBER, version=2),
        examples.issued(REPLACEMENT, replaces=NUMBER),
        examples.replaced(NUMBER, by=REPLACEMENT, version=2, reason="Consignee corrected"),
        examples.issued(other),
        examples.revoked(other, reason="Issued in error"),
        examples.declaration_result("DEC-1", REPLACEMENT),
    ]:
        assert sender.deliver(receiver, message).answer.status == 201

    held = receiver.certificates

    assert list(held) == [NUMBER, REPLACEMENT, other]
    original, replacement, withdrawn = held.values()
    assert (original.status, original.replaced_by, original.reason) == (
        HeldStatus.REPLACED,
        REPLACEMENT,
        "Consignee corrected",
    )
    assert original.version_numbers == (1, 2)
    assert [version.message_type for version in original.versions] == [
        MessageType.CERTIFICATE_ISSUED,
        MessageType.CERTIFICATE_COPY_ISSUED,
    ]
    assert original.latest_version == 2
    assert original.replaced_at is not None
    assert original.replaced_at.isoformat() == "2026-03-04T22:00:00+00:00"
    assert (replacement.status, replacement.replaces, replacement.version_numbers) == (HeldStatus.ISSUED, NUMBER, (1,))
    assert (withdrawn.status, withdrawn.reason, withdrawn.replaced_by) == (HeldStatus.REVOKED, "Issued in error", None)
    assert receiver.certificate(other) == withdrawn
    assert receiver.certificate("11.1234.09999") is None


def test_the_receipt_of_a_version_is_the_one_china_holds(receiver: Receiver, sender: Sender) -> None:
    receipt = json.loads(sender.deliver(receiver, examples.issued(NUMBER)).answer.body)

    held = receiver.certificate(NUMBER)

    assert held is not None
    [version] = held.versions
    assert (version.message_id, version.receipt_id) == (f"{NUMBER}/v1", receipt["receipt_id"])
    assert version.received_at.isoformat() == receipt["received_at"]


def test_versions_are_held_in_their_order_whatever_order_they_arrive_in(receiver: Receiver, sender: Sender) -> None:
    for version in (1, 3, 2):
        sender.deliver(receiver, examples.copy_issued(NUMBER, version) if version > 1 else examples.issued(NUMBER))

    held = receiver.certificate(NUMBER)

    assert held is not None
    assert held.version_numbers == (1, 2, 3)


_REPLACEMENT_STORY = [
    examples.issued(NUMBER),
    examples.copy_issued(NUMBER, version=2),
    examples.issued(REPLACEMENT, replaces=NUMBER),
    examples.replaced(NUMBER, by=REPLACEMENT, version=2),
    examples.copy_issued(REPLACEMENT, version=2, replaces=NUMBER),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(_REPLACEMENT_STORY)))))
def test_in_any_order_of_arrival_retrying_the_early_ones_gives_one_picture(
    sender: Sender, order: tuple[int, ...]
) -> None:
    receiver = Receiver(JwksKeys(sender.jwks))
    waiting = [_REPLACEMENT_STORY[index] for index in order]

    while waiting:
        answers = [(message, sender.deliver(receiver, message).answer.status) for message in waiting]
        assert {status for _, status in answers} <= {201, 425}
        assert any(status == 201 for _, status in answers)
        waiting = [message for message, status in answers if status == 425]

    original, replacement = receiver.certificates.values()
    assert (original.certificate_number, original.status, original.replaced_by) == (
        NUMBER,
        HeldStatus.REPLACED,
        REPLACEMENT,
    )
    assert original.version_numbers == replacement.version_numbers == (1, 2)
    assert (replacement.status, replacement.replaces) == (HeldStatus.ISSUED, NUMBER)


def test_a_revocation_again_is_a_replay_or_with_other_bytes_a_conflict(receiver: Receiver, sender: Sender) -> None:
    sender.deliver(receiver, examples.issued(NUMBER))
    first = sender.deliver(receiver, examples.revoked(NUMBER))

    again = sender.deliver(receiver, examples.revoked(NUMBER))
    otherwise = sender.deliver(receiver, examples.revoked(NUMBER, reason="Goods not originating"))

    assert (again.answer.status, again.answer.body) == (200, first.answer.body)
    assert otherwise.answer.status == 409
    held = receiver.certificate(NUMBER)
    assert held is not None
    assert (held.status, held.reason) == (HeldStatus.REVOKED, "Issued in error")


@pytest.mark.parametrize(
    ("story", "message", "why"),
    [
        (
            [examples.issued(NUMBER), examples.revoked(NUMBER)],
            examples.replaced(NUMBER, by=REPLACEMENT),
            "certificate 11.1234.00001 is REVOKED: only an issued certificate is replaced",
        ),
        (
            [examples.issued(NUMBER), examples.replaced(NUMBER, by=REPLACEMENT)],
            examples.revoked(NUMBER),
            "certificate 11.1234.00001 is REPLACED: only an issued certificate is revoked",
        ),
        (
            [examples.issued(NUMBER), examples.issued(REPLACEMENT, replaces=NUMBER)],
            examples.revoked(NUMBER),
            "certificate 11.1234.00002 was issued to replace certificate 11.1234.00001",
        ),
        (
            [examples.issued(NUMBER), examples.revoked(NUMBER)],
            examples.issued(REPLACEMENT, replaces=NUMBER),
            "certificate 11.1234.00001, which it replaces, was revoked",
        ),
        (
            [examples.issued(NUMBER), examples.replaced(NUMBER, by="11.1234.00003")],
            examples.issued(REPLACEMENT, replaces=NUMBER),
            "certificate 11.1234.00001, which it replaces, was replaced by 11.1234.00003",
        ),
        (
            [examples.issued(NUMBER), examples.issued("11.1234.00003", replaces=NUMBER)],
            examples.issued(REPLACEMENT, replaces=NUMBER),
            "certificate 11.1234.00001, which it replaces, is replaced by 11.1234.00003 already",
        ),
        (
            [examples.issued(NUMBER), examples.issued(REPLACEMENT)],
            examples.replaced(NUMBER, by=REPLACEMENT),
            "certificate 11.1234.00002 was issued replacing no certificate",
        ),
        (
            [examples.issued(NUMBER), examples.issued("11.1234.00003", replaces=NUMBER)],
            examples.replaced(NUMBER, by=REPLACEMENT),
            "certificate 11.1234.00003 was issued to replace certificate 11.1234.00001, not 11.1234.00002",
        ),
        (
            [examples.issued(NUMBER)],
            examples.copy_issued(NUMBER, replaces="11.1234.00003"),
            "certificate 11.1234.00001 was issued replacing no certificate, not replacing certificate 11.1234.00003",
        ),
    ],
)
def test_a_message_that_contradicts_what_china_holds_is_refused_with_the_reason(
    receiver: Receiver, sender: Sender, story: list[dict[str, Any]], message: dict[str, Any], why: str
) -> None:
    for earlier in story:
        assert sender.deliver(receiver, earlier).answer.status == 201
    before = receiver.certificates

    refused = sender.deliver(receiver, message)

    assert refused.answer.status == 422
    problem = refusal(refused)
    assert problem["reason"] == why
    assert problem["type"].endswith(":contradicts-certificate")
    assert receiver.certificates == before
    assert receiver.message(message["message_id"]) is None
    assert receiver.stats.contradictory == 1


def test_a_copy_arriving_after_the_revocation_is_filed_and_the_certificate_stays_revoked(
    receiver: Receiver, sender: Sender
) -> None:
    sender.deliver(receiver, examples.issued(NUMBER))
    sender.deliver(receiver, examples.revoked(NUMBER, version=2))

    late = sender.deliver(receiver, examples.copy_issued(NUMBER, version=2))

    assert late.answer.status == 201
    held = receiver.certificate(NUMBER)
    assert held is not None
    assert (held.status, held.version_numbers) == (HeldStatus.REVOKED, (1, 2))


def test_a_too_early_message_does_not_use_up_a_business_refusal(sender: Sender) -> None:
    asked: list[str] = []

    def refuse_once(message: dict[str, Any]) -> BusinessRefusal | None:
        asked.append(message["message_id"])
        return BusinessRefusal(422, "quota exhausted") if len(asked) == 1 else None

    receiver = Receiver(JwksKeys(sender.jwks), business_check=refuse_once)

    assert sender.deliver(receiver, examples.revoked(NUMBER)).answer.status == 425
    assert sender.deliver(receiver, examples.issued(NUMBER)).answer.status == 422
    assert asked == [f"{NUMBER}/v1"]


def test_forgetting_forgets_what_china_holds(receiver: Receiver, sender: Sender) -> None:
    sender.deliver(receiver, examples.issued(NUMBER))

    receiver.forget()

    assert receiver.certificates == {}
    assert sender.deliver(receiver, examples.revoked(NUMBER)).answer.status == 425


def test_waiting_for_what_china_holds_returns_once_it_holds_it(receiver: Receiver, sender: Sender) -> None:
    sender.deliver(receiver, examples.issued(NUMBER))
    timer = threading.Timer(0.05, lambda: sender.deliver(receiver, examples.revoked(NUMBER)))
    timer.start()

    try:
        held = receiver.wait_for_certificates(
            lambda certificates: certificates[NUMBER].status is HeldStatus.REVOKED, timeout=5
        )
    finally:
        timer.join()

    assert held[NUMBER].reason == "Issued in error"
    with pytest.raises(TimeoutError):
        receiver.wait_for_certificates(lambda certificates: REPLACEMENT in certificates, timeout=0.05)


def test_china_keeps_every_history_head_jevs_sent_as_its_anchors(receiver: Receiver, sender: Sender) -> None:
    first, third, second = "a" * 64, "c" * 64, "b" * 64
    for message in [
        examples.issued(NUMBER, history_head={"sequence": 1, "hash": first}),
        examples.revoked(NUMBER, reason="Issued in error", history_head={"sequence": 3, "hash": third}),
        examples.declaration_result("DEC-1", NUMBER, history_head={"sequence": 2, "hash": second}),
    ]:
        assert sender.deliver(receiver, message).answer.status == 201

    held = receiver.certificate(NUMBER)

    assert held is not None
    assert held.history_heads == ((1, first), (2, second), (3, third))
    assert held.as_json()["history_heads"][0] == {"sequence": 1, "hash": first}


def test_a_history_head_that_is_not_a_sequence_and_a_hash_is_a_bad_request(receiver: Receiver, sender: Sender) -> None:
    received = sender.deliver(receiver, examples.issued(NUMBER, history_head={"sequence": 0, "hash": "x"}))

    assert refusal(received)["status"] == 400
