"""A history no one can quietly rewrite (DESIGN.md §6.4): every tampering with the records table is reported by the
history route and by the offline verifier (``python -m jevs.verify``) with nothing but the JWKS, which names the
event or the field that fails; a rewrite with every hash recomputed too, since each event carries JEVS's seal,
which table access cannot remake. What seals cannot show, a history cut back to an earlier event with the record
rolled back with it, is caught against a head fixed outside the table: one a reader kept, or the one China holds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from jevs.domain.canonical import canonical_json
from jevs.resources import RECORDS_TABLE
from jevs.verify import main as verify
from tests.factories import ISSUING_BODY, NZ_CUSTOMS
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import submit_certificate
from tests.integration.test_lifecycle import china_messages, post

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
PARTITION = {"S": f"CERTIFICATE#{NUMBER}"}


@pytest.fixture
def three_events(call_api: ApiCall) -> None:
    """A certificate issued, copied and revoked: events 1, 2 and 3."""
    submit_certificate(call_api)
    copied = post(call_api, f"/v1/certificates/{NUMBER}/certified-true-copy", {"reason": "Original lost in transit"})
    assert copied["statusCode"] == 201, copied
    revoked = post(call_api, f"/v1/certificates/{NUMBER}/revocation", {"reason": "Origin not proven"})
    assert revoked["statusCode"] == 200, revoked


@pytest.fixture
def stored(call_api: ApiCall) -> None:
    """A certificate issued: event 1."""
    submit_certificate(call_api)


def history(call_api: ApiCall) -> dict[str, Any]:
    response = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=NZ_CUSTOMS)
    assert response["statusCode"] == 200, response
    body: dict[str, Any] = response["json"]
    return body


def saved(call_api: ApiCall, tmp_path: Path) -> tuple[Path, Path]:
    """The history and the JWKS, saved as a partner would: the files the offline verifier reads."""
    history_file = tmp_path / "history.json"
    history_file.write_text(json.dumps(history(call_api)))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(call_api("GET", "/.well-known/jwks.json")["body"])
    return history_file, jwks_file


def offline(capsys: pytest.CaptureFixture[str], *arguments: str | Path) -> tuple[int, str]:
    capsys.readouterr()  # what the functions logged before
    code = verify([str(argument) for argument in arguments])
    return code, capsys.readouterr().out.strip()


# -- the records table, as an attacker with write access changes it ---------------------------------------------


def _table() -> Any:
    return boto3.client("dynamodb")


def _key(sort_key: str) -> dict[str, Any]:
    return {"pk": PARTITION, "sk": {"S": sort_key}}


def _event_key(sequence: int) -> str:
    return f"EVENT#{sequence:08d}"


def _document(sort_key: str, attribute: str) -> dict[str, Any]:
    item = _table().get_item(TableName=RECORDS_TABLE.name, Key=_key(sort_key))["Item"]
    document: dict[str, Any] = json.loads(item[attribute]["S"])
    return document


def _store(sort_key: str, attribute: str, document: dict[str, Any]) -> None:
    _table().update_item(
        TableName=RECORDS_TABLE.name,
        Key=_key(sort_key),
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"S": json.dumps(document)}},
    )


def _edit(sort_key: str, attribute: str, change: Callable[[dict[str, Any]], None]) -> None:
    document = _document(sort_key, attribute)
    change(document)
    _store(sort_key, attribute, document)


def _rehash(event: dict[str, Any]) -> None:
    # The algorithm is public (the history route states it): all but the hash and the seal.
    hashed = {k: v for k, v in event.items() if k not in ("hash", "seal")}
    event["hash"] = hashlib.sha256(canonical_json(hashed)).hexdigest()


def rewrite_every_hash_after(change: Callable[[dict[str, Any]], None], sequence: int, last: int) -> None:
    """What a careful attacker does: change event ``sequence``, then recompute its hash and every later link and
    hash, and move the record's head to the new last hash, so the table agrees with itself again."""
    previous_hash = _document(_event_key(sequence - 1), "event")["hash"] if sequence > 1 else "0" * 64
    for position in range(sequence, last + 1):
        event = _document(_event_key(position), "event")
        if position == sequence:
            change(event)
        event["previous_hash"] = previous_hash
        _rehash(event)
        _store(_event_key(position), "event", event)
        previous_hash = event["hash"]
    _edit("HEAD", "record", lambda record: record["history_head"].update(hash=previous_hash))


# -- a genuine history --------------------------------------------------------------------------------------------


def test_a_genuine_history_is_signed_and_verifies_offline_with_the_jwks_alone(
    call_api: ApiCall, three_events: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = history(call_api)
    assert body["chain"]["valid"] is True
    assert body["head"] == {"sequence": 3, "hash": body["events"][-1]["hash"]}
    assert body["record_state_hash"] == body["events"][-1]["state_hash"]
    assert body["signed_head"]["statement"] | {"signed_at": None} == {
        "certificate_number": NUMBER,
        "head_sequence": 3,
        "head_hash": body["events"][-1]["hash"],
        "signed_at": None,
    }

    code, out = offline(capsys, *_files(call_api, tmp_path))

    assert (code, out.split(":")[0]) == (0, f"OK {NUMBER}")


# -- tampering, each caught by the API and offline ----------------------------------------------------------------

TAMPERING = [
    pytest.param(
        lambda: _edit("HEAD", "record", lambda record: record.update(valid_until="2099-12-31")),
        ("state", 3),
        "FAIL record [state]: the current record is not the state event 3 recorded",
        id="the current record's valid_until",
    ),
    pytest.param(
        lambda: _edit("HEAD", "record", lambda record: record.update(usage="USED")),
        ("state", 3),
        "FAIL record [state]: the current record is not the state event 3 recorded",
        id="the current record's usage",
    ),
    pytest.param(
        lambda: _edit("HEAD", "record", lambda record: record.update(issuing_body_name="Someone Else")),
        ("state", 3),
        "FAIL record [state]: the current record is not the state event 3 recorded",
        id="the current record's issuing body name",
    ),
    pytest.param(
        lambda: _edit(_event_key(2), "event", lambda event: event["details"].update(reason="Not lost")),
        ("hash", 2),
        "FAIL event 2 [hash]: the event's content does not match its hash",
        id="one event's field",
    ),
    pytest.param(
        lambda: _table().delete_item(TableName=RECORDS_TABLE.name, Key=_key(_event_key(2))),
        ("sequence", 2),
        "FAIL event 2 [sequence]: an event is missing or out of order",
        id="an event removed",
    ),
    pytest.param(
        lambda: _swap(2, 3),
        ("sequence", 2),
        "FAIL event 2 [sequence]: an event is missing or out of order",
        id="two events reordered",
    ),
    pytest.param(
        lambda: rewrite_every_hash_after(lambda event: event["details"].update(reason="Copy never asked for"), 2, 3),
        ("signature", 2),
        "FAIL event 2 [signature]: JEVS's seal does not hold: the signature does not verify",
        id="every hash recomputed after a change",
    ),
    pytest.param(
        lambda: rewrite_every_hash_after(lambda event: event.update(actor="someone-else"), 1, 3),
        ("signature", 1),
        "FAIL event 1 [signature]: JEVS's seal does not hold: the signature does not verify",
        id="every hash recomputed from the first event",
    ),
    pytest.param(
        lambda: _edit(
            _event_key(3), "event", lambda event: event.update(seal=_document(_event_key(2), "event")["seal"])
        ),
        ("signature", 3),
        "FAIL event 3 [signature]: JEVS's seal does not hold: the signature does not verify",
        id="a seal moved from another event",
    ),
]


def _swap(one: int, other: int) -> None:
    """Each event stored under the other's key: read back in the other order."""
    first, second = _document(_event_key(one), "event"), _document(_event_key(other), "event")
    _store(_event_key(one), "event", second)
    _store(_event_key(other), "event", first)


@pytest.mark.parametrize(("tamper", "api_finding", "offline_finding"), TAMPERING)
def test_tampering_is_reported_by_the_history_route_and_by_the_offline_verifier(
    call_api: ApiCall,
    three_events: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Callable[[], None],
    api_finding: tuple[str, int],
    offline_finding: str,
) -> None:
    tamper()

    body = history(call_api)
    code, out = offline(capsys, *_files(call_api, tmp_path))

    assert (body["chain"]["valid"], body["chain"]["check"], body["chain"]["broken_at"]) == (False, *api_finding)
    assert "signed_head" not in body  # JEVS signs no head it could not verify
    assert (code, out) == (1, offline_finding)


def _files(call_api: ApiCall, tmp_path: Path) -> tuple[Path, str, Path]:
    history_file, jwks_file = saved(call_api, tmp_path)
    return history_file, "--jwks", jwks_file


def test_the_public_verification_never_reports_a_record_edited_in_the_table_as_valid(
    call_api: ApiCall, stored: None
) -> None:
    before = call_api("GET", f"/v1/verify/{NUMBER}")["json"]

    # An expired or used certificate made to look valid again: here, its validity extended.
    _edit("HEAD", "record", lambda record: record.update(valid_until="2099-12-31"))

    after = call_api("GET", f"/v1/verify/{NUMBER}")["json"]
    assert (before["currently_valid"], before["history_verified"]) == (True, True)
    assert (after["currently_valid"], after["history_verified"], after["valid_until"]) == (False, False, "2099-12-31")


def test_the_public_verification_never_reports_a_certificate_whose_history_was_rewritten_as_valid(
    call_api: ApiCall, stored: None
) -> None:
    rewrite_every_hash_after(lambda event: event.update(actor="someone-else"), 1, 1)

    after = call_api("GET", f"/v1/verify/{NUMBER}")["json"]

    assert (after["currently_valid"], after["history_verified"]) == (False, False)


# -- cut back to an earlier event: caught against a head fixed outside the table ---------------------------------


@pytest.fixture
def cut_back(call_api: ApiCall, three_events: None, tmp_path: Path) -> Path:
    """The revocation (event 3) undone by someone with write access who kept the record as event 2 left it: event 3
    deleted and the record put back. Every seal left holds. Returns the history saved before the cut."""
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(history(call_api)))
    as_event_2_left_it = _document("HEAD", "record")
    as_event_2_left_it.update(
        status="ISSUED",
        revocation_reason=None,
        history_head={"sequence": 2, "hash": history(call_api)["events"][1]["hash"]},
    )
    _table().delete_item(TableName=RECORDS_TABLE.name, Key=_key(_event_key(3)))
    _store("HEAD", "record", as_event_2_left_it)
    return earlier


def test_a_history_cut_back_with_its_record_rolled_back_passes_the_table_alone_but_not_a_head_kept_before(
    call_api: ApiCall, cut_back: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = history(call_api)
    # The table agrees with itself and every seal holds: JEVS alone cannot tell (the README says so)...
    assert (body["chain"]["valid"], body["signed_head"]["statement"]["head_sequence"]) == (True, 2)
    assert offline(capsys, *_files(call_api, tmp_path))[0] == 0
    # ...but a reader who kept the history before holds JEVS's seal on event 3.
    code, out = offline(capsys, *_files(call_api, tmp_path), "--anchor", cut_back)
    assert (code, out) == (1, "FAIL event 3 [anchor]: the earlier history had this event; the history lacks it")


def test_a_history_cut_back_fails_against_the_head_china_was_sent(
    call_api: ApiCall, cut_back: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The revocation's message to China carried the head as the revocation left it: China holds it, not the table.
    (revoked,) = [m.body for m in china_messages(NUMBER) if m.body.message_type == "certificate.revoked"]
    assert revoked.history_head is not None
    assert revoked.history_head.sequence == 3
    china_holds = f"{revoked.history_head.sequence}:{revoked.history_head.hash}"

    code, out = offline(capsys, *_files(call_api, tmp_path), "--anchor-head", china_holds)
    assert (code, out) == (1, "FAIL event 3 [anchor]: the anchor fixed event 3; the history lacks it")


def test_every_message_to_china_carries_the_head_its_change_left(call_api: ApiCall, three_events: None) -> None:
    body = history(call_api)
    heads = {m.body.message_type: m.body.history_head for m in china_messages(NUMBER)}

    assert {kind: (head.sequence, head.hash) for kind, head in heads.items() if head is not None} == {
        "certificate.issued": (1, body["events"][0]["hash"]),
        "certificate.copy_issued": (2, body["events"][1]["hash"]),
        "certificate.revoked": (3, body["events"][2]["hash"]),
    }


def test_the_issuing_body_reads_the_same_signed_head(call_api: ApiCall, three_events: None) -> None:
    response = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=ISSUING_BODY)

    assert response["json"]["signed_head"]["statement"]["head_sequence"] == 3
