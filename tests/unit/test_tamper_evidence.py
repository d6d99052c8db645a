"""Tamper evidence in the domain (DESIGN.md §6.4): each event fixes the state of the record it left, so a change to
the current record alone is found; each event's seal, which a rewrite cannot remake; and the offline verifier on
histories built and sealed here, with a key of the test's own (no AWS)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from jevs.adapters.table.repositories import Sealing
from jevs.domain.canonical import canonical_json
from jevs.domain.history import ChainCheck, ChainHead, ChainVerification, statement_bytes, verify_chain, verify_seals
from jevs.domain.records import CertificateRecord, Usage
from jevs.verify import event_hash, verify_history
from tests.factories import ISSUING_BODY
from tests.fakes import LocalSigner
from tests.unit.support import certificate, party
from tests.unit.test_record_history import APPROVE, signatory

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


def test_the_seal_statement_is_canonical_json_of_where_the_chain_ended_when_the_event_was_written() -> None:
    _, events = three_changes()

    assert statement_bytes(events[2].seal_statement()) == (
        b'{"certificate_number":"11.1234.12345","head_hash":"' + events[2].hash.encode() + b'","head_sequence":3,'
        b'"signed_at":"2026-11-25T00:00:00Z"}'
    )


def test_the_seal_is_no_part_of_the_hash_it_signs() -> None:
    _, events = three_changes()

    assert Sealing(LocalSigner())(events[1]).computed_hash() == events[1].hash


# -- seals, checked in the domain with any key's check ------------------------------------------------------------


def sealed(events: list[Any], key: LocalSigner) -> list[Any]:
    """The events as JEVS stores them: each sealed by the function that wrote it."""
    return [Sealing(key)(event) for event in events]


def test_every_event_sealed_by_jevs_verifies() -> None:
    key = LocalSigner()
    _, events = three_changes()

    assert verify_seals(sealed(events, key), key.check_seal) == ChainVerification(True, 3)


def test_the_first_event_whose_seal_does_not_hold_is_named() -> None:
    key, other = LocalSigner(), LocalSigner()
    _, events = three_changes()
    stored = sealed(events, key)
    # Event 2 rewritten (and rehashed) by someone who holds only a key of their own.
    stored[1] = Sealing(other)(events[1].model_copy(update={"actor": "someone-else"}))

    verification = verify_seals(stored, key.check_seal)

    assert (verification.valid, verification.check, verification.broken_at) == (False, ChainCheck.SIGNATURE, 2)
    assert verification.reason == f"JEVS's seal does not hold: no key with kid {other.jwk['kid']!r} in the JWKS"


def test_an_event_without_a_seal_fails_its_seal_check() -> None:
    key = LocalSigner()
    _, events = three_changes()

    verification = verify_seals([*sealed(events[:2], key), events[2]], key.check_seal)

    assert (verification.check, verification.broken_at, verification.reason) == (
        ChainCheck.SIGNATURE,
        3,
        "JEVS's seal does not hold: the event is not sealed",
    )


# -- the offline verifier -----------------------------------------------------------------------------------------


def saved_history(record: CertificateRecord, events: list[Any], key: LocalSigner) -> dict[str, Any]:
    """What the history route answers for a verified chain, as JSON (the shape the verifier reads)."""
    stored = sealed(events, key)
    shown: dict[str, Any] = json.loads(
        json.dumps(
            {
                "certificate_number": record.number,
                "events": [event.model_dump(mode="json", exclude={"certificate_number"}) for event in stored],
                "chain": {"valid": True, "events_checked": len(events)},
                "head": record.history_head.model_dump(),
                "record_state_hash": record.state_hash,
                "signed_head": {"statement": stored[-1].seal_statement(), "jws": stored[-1].seal},
            }
        )
    )
    return shown


def findings(history: dict[str, Any], *keys: LocalSigner, **anchors: Any) -> list[str]:
    return [str(failure) for failure in verify_history(history, {"keys": [key.jwk for key in keys]}, **anchors)]


def rehash_from(history: dict[str, Any], sequence: int, change: Any) -> None:
    """What a careful attacker with the table does: change event ``sequence``, recompute every hash and link from
    there on, and move the head; the seals they cannot remake stay as they were."""
    previous = "0" * 64
    for event in history["events"]:
        if event["sequence"] == sequence:
            change(event)
        if event["sequence"] >= sequence:
            event["previous_hash"] = previous
            hashed = {k: v for k, v in event.items() if k not in ("hash", "seal")}
            event["hash"] = hashlib.sha256(canonical_json({**hashed, "certificate_number": NUMBER})).hexdigest()
        previous = event["hash"]
    history["head"]["hash"] = previous


def test_the_verifier_recomputes_the_hash_the_domain_computed() -> None:
    record, events = three_changes()
    shown = events[1].model_dump(mode="json", exclude={"certificate_number"})

    assert event_hash(("certificate_number", record.number), json.loads(json.dumps(shown))) == events[1].hash


def test_a_genuine_history_verifies_with_the_jwks_alone() -> None:
    key = LocalSigner()
    record, events = three_changes()

    assert findings(saved_history(record, events, key), key) == []


def test_a_seal_by_a_key_not_in_the_jwks_fails_at_the_first_event() -> None:
    signer, published = LocalSigner(), LocalSigner()
    record, events = three_changes()

    assert findings(saved_history(record, events, signer), published) == [
        f"FAIL event 1 [signature]: JEVS's seal does not hold: no key with kid {signer.jwk['kid']!r} in the JWKS"
    ]


def test_an_event_stored_without_its_seal_fails() -> None:
    key = LocalSigner()
    record, events = three_changes()
    history = saved_history(record, events, key)
    del history["events"][1]["seal"]

    assert findings(history, key) == ["FAIL event 2 [signature]: JEVS's seal does not hold: the event is not sealed"]


def test_a_history_without_a_signed_head_fails() -> None:
    key = LocalSigner()
    record, events = three_changes()
    history = saved_history(record, events, key)
    del history["signed_head"]

    assert findings(history, key) == ["FAIL signed_head [signature]: absent: JEVS did not vouch for this history"]


def test_a_signed_head_of_an_earlier_point_does_not_vouch_for_a_longer_history() -> None:
    key = LocalSigner()
    record, events = three_changes()
    history = saved_history(record, events, key)
    history["signed_head"] = {"statement": _statement(history, 2), "jws": _seal(history, 2)}

    assert findings(history, key) == [
        "FAIL signed_head [signature]: signs another head than this history's latest event"
    ]


def _statement(history: dict[str, Any], sequence: int) -> dict[str, Any]:
    event = history["events"][sequence - 1]
    return {
        "certificate_number": NUMBER,
        "head_sequence": sequence,
        "head_hash": event["hash"],
        "signed_at": event["occurred_at"],
    }


def _seal(history: dict[str, Any], sequence: int) -> str:
    seal: str = history["events"][sequence - 1]["seal"]
    return seal


def test_a_statement_changed_after_signing_fails() -> None:
    key = LocalSigner()
    record, events = three_changes()
    history = saved_history(record, events, key)
    history["signed_head"]["statement"]["signed_at"] = "2030-01-01T00:00:00Z"

    assert findings(history, key) == ["FAIL signed_head [signature]: the signature does not verify"]


def test_a_rewrite_with_every_hash_recomputed_fails_at_the_first_event_changed() -> None:
    key = LocalSigner()
    record, events = three_changes()
    rewritten = saved_history(record, events, key)

    rehash_from(rewritten, 2, lambda event: event["details"].update(reason="never asked"))

    assert findings(rewritten, key) == [
        "FAIL event 2 [signature]: JEVS's seal does not hold: the signature does not verify"
    ]


def test_a_history_cut_back_to_an_earlier_seal_fails_only_against_a_head_fixed_outside_the_table() -> None:
    key = LocalSigner()
    record, events = three_changes()
    earlier = saved_history(record, events, key)
    # The last event removed and the record rolled back to the state before it: every seal that is left holds.
    cut = saved_history(record.model_copy(update={"history_head": events[1].head}), events[:2], key)
    cut["events"] = earlier["events"][:2]
    cut["signed_head"] = {"statement": _statement(cut, 2), "jws": _seal(cut, 2)}
    cut["record_state_hash"] = events[1].state_hash

    assert findings(cut, key) == []
    assert findings(cut, key, earlier=[earlier]) == [
        "FAIL event 3 [anchor]: the earlier history had this event; the history lacks it"
    ]
    assert findings(cut, key, anchor_heads=[(3, events[2].hash)]) == [
        "FAIL event 3 [anchor]: the anchor fixed event 3; the history lacks it"
    ]


def test_a_head_signed_before_a_rotation_verifies_with_the_jwks_that_lists_both_keys() -> None:
    before, after = LocalSigner(), LocalSigner()
    record, events = three_changes()
    signed_before = saved_history(record, events, before)

    assert findings(signed_before, after, before) == []
    assert findings(signed_before, after) == [
        f"FAIL event 1 [signature]: JEVS's seal does not hold: no key with kid {before.jwk['kid']!r} in the JWKS"
    ]


def test_a_registration_history_verifies_offline_and_its_rewrite_is_named() -> None:
    key = LocalSigner()
    lodged = signatory().lodged()
    approved = lodged.record.decided(APPROVE, by="akl-chamber", at=AT + timedelta(hours=1))
    stored = sealed([lodged.event, approved.event], key)
    history: dict[str, Any] = json.loads(
        json.dumps(
            {
                "id": approved.record.id,
                "events": [event.model_dump(mode="json", exclude={"record_id"}) for event in stored],
                "signed_head": {"statement": stored[-1].seal_statement(), "jws": stored[-1].seal},
            }
        )
    )
    assert findings(history, key) == []

    history["events"][1]["details"]["decision"] = "REFUSED"
    history["events"][1]["hash"] = event_hash(("record_id", approved.record.id), history["events"][1])

    assert findings(history, key) == [
        "FAIL event 2 [signature]: JEVS's seal does not hold: the signature does not verify"
    ]
