"""Tamper evidence in the domain (DESIGN.md §6.4): each event fixes the state of the record it left, so a change to
the current record alone is found; the head statement JEVS signs; and the offline verifier on histories built
and signed here, with a key of its own (no AWS)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jevs.adapters.jws import sign_detached
from jevs.adapters.kms_signer import public_jwk
from jevs.domain.canonical import canonical_json
from jevs.domain.history import ChainCheck, ChainHead, head_statement, statement_bytes, verify_chain
from jevs.domain.records import CertificateRecord, Usage
from jevs.verify import event_hash, verify_history
from tests.factories import ISSUING_BODY
from tests.unit.support import certificate, party

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
NUMBER = "11.1234.12345"


def issued() -> CertificateRecord:
    return CertificateRecord.issue(certificate(), issuer=party(ISSUING_BODY), at=AT).record


def three_changes() -> tuple[CertificateRecord, list[Any]]:
    """Issued, copied, revoked: the record as it ends, and its three events."""
    first = CertificateRecord.issue(certificate(), issuer=party(ISSUING_BODY), at=AT)
    copy = first.record.copied(reason="lost", at=AT + timedelta(hours=1), actor="akl-chamber")
    revocation = copy.record.revoked(reason="origin not proven", at=AT + timedelta(hours=2), actor="akl-chamber")
    return revocation.record, [first.event, copy.event, revocation.event]


# -- the state each event fixes -----------------------------------------------------------------------------------


def test_each_event_fixes_the_state_of_the_record_it_left() -> None:
    first = CertificateRecord.issue(certificate(), issuer=party(ISSUING_BODY), at=AT)
    revocation = first.record.revoked(reason="origin not proven", at=AT, actor="akl-chamber")

    assert first.event.state_hash == first.record.state_hash
    assert revocation.event.state_hash == revocation.record.state_hash
    assert revocation.record.state_hash != first.record.state_hash


def test_the_state_hash_leaves_out_only_where_the_history_ends() -> None:
    record = issued()

    assert record.model_copy(update={"history_head": ChainHead(sequence=9, hash="f" * 64)}).state_hash == (
        record.state_hash
    )


def test_a_record_and_its_history_as_made_verify() -> None:
    record, events = three_changes()

    assert verify_chain(events, record.history_head, state_hash=record.state_hash).valid


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"valid_until": date(2099, 12, 31)}, id="valid_until"),
        pytest.param({"usage": Usage.USED}, id="usage"),
        pytest.param({"issuing_body_name": "Someone Else"}, id="issuing body name"),
        pytest.param({"replaced_by": "11.1234.99999"}, id="a lifecycle link"),
        pytest.param({"version": 1}, id="version"),
    ],
)
def test_a_change_to_the_current_record_alone_fails_the_state_check_at_the_latest_event(change: dict[str, Any]) -> None:
    record, events = three_changes()
    tampered = record.model_copy(update=change)

    verification = verify_chain(events, tampered.history_head, state_hash=tampered.state_hash)

    assert (verification.valid, verification.check, verification.broken_at) == (False, ChainCheck.STATE, 3)


def test_each_broken_link_names_its_check() -> None:
    record, events = three_changes()

    edited = [events[0], events[1].model_copy(update={"actor": "x"}), events[2]]
    assert verify_chain(edited, record.history_head).check is ChainCheck.HASH
    assert verify_chain([events[0], events[2]], record.history_head).check is ChainCheck.SEQUENCE
    relinked = [events[0], events[1], events[2].model_copy(update={"previous_hash": "a" * 64})]
    assert verify_chain(relinked, record.history_head).check is ChainCheck.PREVIOUS_HASH
    assert verify_chain(events[:2], record.history_head).check is ChainCheck.HEAD


def test_the_head_statement_is_canonical_json_of_where_the_chain_ends() -> None:
    statement = head_statement(NUMBER, ChainHead(sequence=3, hash="a" * 64), AT)

    assert statement_bytes(statement) == (
        b'{"certificate_number":"11.1234.12345","head_hash":"' + b"a" * 64 + b'","head_sequence":3,'
        b'"signed_at":"2026-11-24T22:00:00+00:00"}'
    )


# -- the offline verifier -----------------------------------------------------------------------------------------


class LocalKey:
    """An ES256 key of the test's own, with the JWK the JWKS would list."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        der = self._private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        self.jwk = public_jwk(der)

    def sign(self, payload: bytes) -> str:
        return sign_detached(
            payload, kid=self.jwk["kid"], sign_der=lambda data: self._private.sign(data, ec.ECDSA(hashes.SHA256()))
        )


def saved_history(record: CertificateRecord, events: list[Any], key: LocalKey) -> dict[str, Any]:
    """What the history route answers for a verified chain, as JSON (the shape the verifier reads)."""
    statement = head_statement(record.number, record.history_head, AT)
    shown: dict[str, Any] = json.loads(
        json.dumps(
            {
                "certificate_number": record.number,
                "events": [event.model_dump(mode="json", exclude={"certificate_number"}) for event in events],
                "chain": {"valid": True, "events_checked": len(events)},
                "head": record.history_head.model_dump(),
                "record_state_hash": record.state_hash,
                "signed_head": {"statement": statement, "jws": key.sign(statement_bytes(statement))},
            }
        )
    )
    return shown


def findings(history: dict[str, Any], *keys: LocalKey, **anchors: Any) -> list[str]:
    return [str(failure) for failure in verify_history(history, {"keys": [key.jwk for key in keys]}, **anchors)]


def test_the_verifier_recomputes_the_hash_the_domain_computed() -> None:
    record, events = three_changes()
    shown = events[1].model_dump(mode="json", exclude={"certificate_number"})

    assert event_hash(record.number, json.loads(json.dumps(shown))) == events[1].hash


def test_a_genuine_history_verifies_with_the_jwks_alone() -> None:
    key = LocalKey()
    record, events = three_changes()

    assert findings(saved_history(record, events, key), key) == []


def test_a_signature_by_a_key_not_in_the_jwks_fails() -> None:
    signer, published = LocalKey(), LocalKey()
    record, events = three_changes()

    assert findings(saved_history(record, events, signer), published) == [
        f"FAIL signed_head [signature]: no key with kid {signer.jwk['kid']!r} in the JWKS"
    ]


def test_a_history_without_a_signed_head_fails() -> None:
    key = LocalKey()
    record, events = three_changes()
    history = saved_history(record, events, key)
    del history["signed_head"]

    assert findings(history, key) == ["FAIL signed_head [signature]: absent: JEVS did not vouch for this history"]


def test_a_signed_head_of_an_earlier_point_does_not_vouch_for_a_longer_history() -> None:
    key = LocalKey()
    record, events = three_changes()
    history = saved_history(record, events, key)
    shorter = saved_history(record.model_copy(update={"history_head": events[1].head}), events[:2], key)
    history["signed_head"] = shorter["signed_head"]

    assert findings(history, key) == [
        "FAIL signed_head [signature]: signs another head than this history's latest event"
    ]


def test_a_statement_changed_after_signing_fails() -> None:
    key = LocalKey()
    record, events = three_changes()
    history = saved_history(record, events, key)
    history["signed_head"]["statement"]["signed_at"] = "2030-01-01T00:00:00+00:00"

    assert findings(history, key) == ["FAIL signed_head [signature]: the signature does not verify"]


def test_a_rewrite_with_every_hash_recomputed_fails_only_against_an_earlier_signed_head() -> None:
    key = LocalKey()
    record, events = three_changes()
    earlier = saved_history(record, events, key)
    rewritten = json.loads(json.dumps(earlier))
    previous = "0" * 64
    for event in rewritten["events"]:
        if event["sequence"] == 2:
            event["details"]["reason"] = "never asked"
        event["previous_hash"] = previous
        event["hash"] = hashlib.sha256(
            canonical_json({**{k: v for k, v in event.items() if k != "hash"}, "certificate_number": NUMBER})
        ).hexdigest()
        previous = event["hash"]
    rewritten["head"]["hash"] = previous
    statement = head_statement(NUMBER, ChainHead(sequence=3, hash=previous), AT)
    rewritten["signed_head"] = {"statement": statement, "jws": key.sign(statement_bytes(statement))}

    assert findings(rewritten, key) == []  # JEVS signs what its table holds
    assert findings(rewritten, key, earlier=[earlier]) == [
        "FAIL event 2 [anchor]: differs from the earlier history: rewritten since"
    ]
    assert findings(rewritten, key, anchor_heads=[(3, events[2].hash)]) == [
        "FAIL event 3 [anchor]: its hash is not the one the anchor fixed: rewritten since"
    ]


def test_a_head_signed_before_a_rotation_verifies_with_the_jwks_that_lists_both_keys() -> None:
    before, after = LocalKey(), LocalKey()
    record, events = three_changes()
    signed_before = saved_history(record, events, before)

    assert findings(signed_before, after, before) == []
    assert findings(signed_before, after) == [
        f"FAIL signed_head [signature]: no key with kid {before.jwk['kid']!r} in the JWKS"
    ]
