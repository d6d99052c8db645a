"""The histories of goods registrations, signatories and applications through the API function against moto
(DESIGN.md §3, §5): each decision appears as an event after the lodging, with a chain that verifies and JEVS's seal
on every event; the history is read by those who read the record, and nobody else; an event or a record edited in
the table directly makes the history report its chain broken, at that event, even with every hash recomputed; the
offline verifier agrees."""

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
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OTHER_EXPORTER
from tests.integration.conftest import ApiCall
from tests.integration.hosted_support import approved_goods, approved_signatory, lodged_application, post

pytestmark = pytest.mark.integration

NZBN = "9429041234563"


def rejected_application(call_api: ApiCall) -> str:
    application_id = lodged_application(call_api)
    rejection = {"reasons": ["The invoice does not match the goods registration."]}
    response = post(call_api, f"/v1/applications/{application_id}/rejection", ISSUING_BODY, rejection)
    assert response["statusCode"] == 200, response
    return application_id


# Each kind of record, decided through the API: its collection, how to make one, and the events it then has.
DECIDED: dict[str, tuple[str, Callable[[ApiCall], str], list[str]]] = {
    "goods": ("/v1/goods-registrations", approved_goods, ["GOODS_REGISTRATION_LODGED", "GOODS_REGISTRATION_APPROVED"]),
    "signatory": ("/v1/signatories", approved_signatory, ["SIGNATORY_LODGED", "SIGNATORY_APPROVED"]),
    "application": ("/v1/applications", rejected_application, ["APPLICATION_LODGED", "APPLICATION_REJECTED"]),
}


def history(call_api: ApiCall, path: str, client_id: str = ISSUING_BODY) -> dict[str, Any]:
    response = call_api("GET", f"{path}/history", client_id=client_id)
    assert response["statusCode"] == 200, response
    return dict(response["json"])


@pytest.mark.parametrize(("collection", "decided", "types"), list(DECIDED.values()), ids=list(DECIDED))
def test_a_decision_appears_after_the_lodging_with_a_chain_that_verifies(
    call_api: ApiCall, collection: str, decided: Callable[[ApiCall], str], types: list[str]
) -> None:
    # Given a record lodged by the exporter and decided
    path = f"{collection}/{decided(call_api)}"
    # When the exporter and its issuing body read its history (where the record links to it)
    assert call_api("GET", path, client_id=EXPORTER)["json"]["links"]["history"] == f"{path}/history"
    for client_id in (EXPORTER, ISSUING_BODY):
        read = history(call_api, path, client_id)
        # Then it is the lodging and the decision, linked, and the chain verifies
        events = read["events"]
        assert [event["type"] for event in events] == types
        assert events[0]["previous_hash"] == "0" * 64
        assert events[1]["previous_hash"] == events[0]["hash"]
        assert (events[0]["actor"], events[1]["actor"]) == (f"exp-{NZBN}", "akl-chamber")
        assert read["chain"] == {
            "valid": True,
            "events_checked": 2,
            "algorithm": read["chain"]["algorithm"],
        }
        assert read["signed_head"]["statement"]["head_hash"] == events[1]["hash"]
        assert read["signed_head"]["jws"] == events[1]["seal"]
        assert read["links"] == {"self": f"{path}/history", "record": path}


@pytest.mark.parametrize(("collection", "decided", "types"), list(DECIDED.values()), ids=list(DECIDED))
def test_a_history_is_not_found_by_those_who_may_not_read_the_record(
    call_api: ApiCall, collection: str, decided: Callable[[ApiCall], str], types: list[str]
) -> None:
    path = f"{collection}/{decided(call_api)}/history"

    for stranger in (OTHER_EXPORTER, NZ_CUSTOMS, CN_CUSTOMS):
        assert call_api("GET", path, client_id=stranger)["statusCode"] == 404


def test_a_goods_registration_has_no_history_as_a_signatory(call_api: ApiCall) -> None:
    goods = approved_goods(call_api)

    assert call_api("GET", f"/v1/signatories/{goods}/history", client_id=ISSUING_BODY)["statusCode"] == 404


def _rewrite(sort_key: str, attribute: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit a stored item of the exporter's partition directly in the table, as someone with write access could."""
    client = boto3.client("dynamodb")
    key = {"pk": {"S": f"EXPORTER#{NZBN}"}, "sk": {"S": sort_key}}
    document = json.loads(client.get_item(TableName=RECORDS_TABLE.name, Key=key)["Item"][attribute]["S"])
    change(document)
    client.update_item(
        TableName=RECORDS_TABLE.name,
        Key=key,
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"S": json.dumps(document)}},
    )


@pytest.mark.parametrize(("collection", "decided", "types"), list(DECIDED.values()), ids=list(DECIDED))
@pytest.mark.parametrize(
    ("sequence", "change"),
    [
        pytest.param(1, lambda event: event.update(actor="someone-else"), id="lodging's actor"),
        pytest.param(2, lambda event: event["details"].update(status="WITHDRAWN"), id="decision's details"),
        pytest.param(2, lambda event: event.update(occurred_at="2020-01-01T00:00:00Z"), id="decision's time"),
    ],
)
def test_an_event_edited_in_the_table_breaks_the_chain_at_that_event(
    call_api: ApiCall,
    collection: str,
    decided: Callable[[ApiCall], str],
    types: list[str],
    sequence: int,
    change: Callable[[dict[str, Any]], None],
) -> None:
    # Given a decided record, one of whose stored events is then edited in the table
    record_id = decided(call_api)
    _rewrite(f"EVENT#{record_id}#{sequence:08d}", "event", change)
    # When its history is read
    chain = history(call_api, f"{collection}/{record_id}")["chain"]
    # Then its chain is reported broken at that event
    assert (chain["valid"], chain["broken_at"]) == (False, sequence)
    assert chain["reason"] == "the event's content does not match its hash"


@pytest.mark.parametrize(
    ("collection", "decided", "sort_prefix", "change"),
    [
        pytest.param(
            "/v1/goods-registrations",
            approved_goods,
            "GR",
            lambda record: record.update(approved_until="2099-12-31"),
            id="goods approved for longer",
        ),
        pytest.param(
            "/v1/signatories",
            approved_signatory,
            "SG",
            lambda record: record["person"].update(email="someone@else.example"),
            id="signatory's email",
        ),
        pytest.param(
            "/v1/applications",
            rejected_application,
            "AP",
            lambda record: record.update(status="CERTIFIED", reasons=[]),
            id="rejection turned certification",
        ),
    ],
)
def test_a_record_edited_in_the_table_is_reported_as_not_the_state_its_history_recorded(
    call_api: ApiCall,
    collection: str,
    decided: Callable[[ApiCall], str],
    sort_prefix: str,
    change: Callable[[dict[str, Any]], None],
) -> None:
    record_id = decided(call_api)
    _rewrite(f"{sort_prefix}#{record_id}", "record", change)

    chain = history(call_api, f"{collection}/{record_id}")["chain"]

    assert (chain["valid"], chain["events_checked"]) == (False, 2)
    assert chain["reason"] == "the record's current state is not the state its latest event recorded"


def _rehash(event: dict[str, Any], record_id: str) -> None:
    # The algorithm the route states: all but the hash and the seal, with the record's id.
    hashed = {k: v for k, v in event.items() if k not in ("hash", "seal")} | {"record_id": record_id}
    event["hash"] = hashlib.sha256(canonical_json(hashed)).hexdigest()


@pytest.mark.parametrize(("collection", "decided", "types"), list(DECIDED.values()), ids=list(DECIDED))
def test_a_decision_rewritten_with_its_hash_and_head_recomputed_fails_its_seal_in_the_api_and_offline(
    call_api: ApiCall,
    collection: str,
    decided: Callable[[ApiCall], str],
    types: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record_id = decided(call_api)
    path = f"{collection}/{record_id}"
    genuine = history(call_api, path)
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(call_api("GET", "/.well-known/jwks.json", query={"retired": "all"})["body"])
    (tmp_path / "genuine.json").write_text(json.dumps(genuine))
    assert verify([str(tmp_path / "genuine.json"), "--jwks", str(jwks_file)]) == 0

    # The decision turned round, its hash recomputed, and the record's head moved to match: the table agrees.
    def turned(event: dict[str, Any]) -> None:
        event["details"]["status"] = "WITHDRAWN"
        _rehash(event, record_id)

    _rewrite(f"EVENT#{record_id}#{2:08d}", "event", turned)
    new_hash = history(call_api, path)["events"][1]["hash"]
    sort_key = next(key for key in _sort_keys() if key.endswith(f"#{record_id}") and not key.startswith("EVENT#"))
    _rewrite(sort_key, "record", lambda record: record["history_head"].update(hash=new_hash))

    rewritten = history(call_api, path)
    (tmp_path / "rewritten.json").write_text(json.dumps(rewritten))
    capsys.readouterr()
    code = verify([str(tmp_path / "rewritten.json"), "--jwks", str(jwks_file)])

    assert (rewritten["chain"]["valid"], rewritten["chain"]["check"], rewritten["chain"]["broken_at"]) == (
        False,
        "signature",
        2,
    )
    assert "signed_head" not in rewritten
    assert (code, capsys.readouterr().out.strip()) == (
        1,
        "FAIL event 2 [signature]: JEVS's seal does not hold: the signature does not verify",
    )


def _sort_keys() -> list[str]:
    client = boto3.client("dynamodb")
    found = client.query(
        TableName=RECORDS_TABLE.name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"EXPORTER#{NZBN}"}},
    )["Items"]
    return [item["sk"]["S"] for item in found]
