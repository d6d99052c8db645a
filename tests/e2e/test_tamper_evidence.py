"""Tamper evidence and key rotation on the running local stack, over HTTP: every event is sealed by the function
that wrote it (the API, the dispatcher), China Customs keeps each history head JEVS sent it, and a history
rewritten in the table with every hash recomputed is caught by the history route and offline, at the first event
changed; a rotation with the documented command leaves earlier signatures verifiable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from infrastructure.local.china_customs import ChinaCustomsSimulator, HeldStatus
from infrastructure.local.stack import LocalStack
from infrastructure.ops.cli import app
from jevs.domain.canonical import canonical_json
from jevs.resources import RECORDS_TABLE
from jevs.verify import main as verify
from tests.e2e.partners import ISSUER, NZ_CUSTOMS, Partners

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def partners(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


def acknowledged_history(partners: Partners, number: str, deliveries: int) -> dict[str, Any]:
    """The history once China acknowledged ``deliveries`` messages: nothing more is written to it after that."""
    return partners.eventually(
        NZ_CUSTOMS,
        f"/v1/certificates/{number}/history",
        lambda body: sum(event["type"] == "DELIVERY_ACKNOWLEDGED" for event in body["events"]) == deliveries,
    )


def save(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def offline(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = verify(list(arguments))
    return code, capsys.readouterr().out.strip().splitlines()


def rewrite_every_hash(stack: LocalStack, number: str, events: int) -> None:
    """Event 1's actor changed, every hash and link after it recomputed, the head moved: the table agrees with
    itself again."""
    dynamodb = stack.aws_client("dynamodb")
    partition = {"S": f"CERTIFICATE#{number}"}

    def read(sort_key: str, attribute: str) -> dict[str, Any]:
        item = dynamodb.get_item(TableName=RECORDS_TABLE.name, Key={"pk": partition, "sk": {"S": sort_key}})["Item"]
        document: dict[str, Any] = json.loads(item[attribute]["S"])
        return document

    def write(sort_key: str, attribute: str, document: dict[str, Any]) -> None:
        dynamodb.update_item(
            TableName=RECORDS_TABLE.name,
            Key={"pk": partition, "sk": {"S": sort_key}},
            UpdateExpression="SET #a = :v",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"S": json.dumps(document)}},
        )

    previous = "0" * 64
    for sequence in range(1, events + 1):
        event = read(f"EVENT#{sequence:08d}", "event")
        if sequence == 1:
            event["actor"] = "someone-else"
        event["previous_hash"] = previous
        hashed = {k: v for k, v in event.items() if k not in ("hash", "seal")}  # the algorithm the route states
        event["hash"] = hashlib.sha256(canonical_json(hashed)).hexdigest()
        write(f"EVENT#{sequence:08d}", "event", event)
        previous = event["hash"]
    record = read("HEAD", "record")
    record["history_head"]["hash"] = previous
    write("HEAD", "record", record)


def test_china_holds_each_head_it_was_sent_and_a_rewrite_of_the_table_fails_its_seals(
    stack: LocalStack, partners: Partners, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    china = stack.china
    assert isinstance(china, ChinaCustomsSimulator)
    number = partners.certificate()
    china.wait_for_certificates(lambda held: number in held, timeout=15)
    assert partners.post(f"/v1/certificates/{number}/revocation", {"reason": "Origin not proven"}, ISSUER).is_success
    china.wait_for_certificates(lambda held: number in held and held[number].status is HeldStatus.REVOKED, timeout=15)
    genuine = acknowledged_history(partners, number, deliveries=2)
    held = china.certificate(number)
    assert held is not None
    # China holds the head of the issue (event 1) and of the revocation, each as JEVS's history has it.
    hashes = {event["sequence"]: event["hash"] for event in genuine["events"]}
    assert held.history_heads[0] == (1, hashes[1])
    assert [hashes[sequence] for sequence, _ in held.history_heads] == [hash_ for _, hash_ in held.history_heads]
    anchors = [argument for head in held.history_heads for argument in ("--anchor-head", f"{head[0]}:{head[1]}")]
    # Every event sealed by whoever wrote it: the API (issue, revocation) and the dispatcher (acknowledgements).
    assert "jevs-dispatcher" in {event["actor"] for event in genuine["events"]}
    assert all(event["seal"] for event in genuine["events"])
    jwks = save(tmp_path, "jwks.json", partners.http.get("/.well-known/jwks.json", params={"retired": "all"}).json())
    assert offline(capsys, save(tmp_path, "genuine.json", genuine), "--jwks", jwks, *anchors)[0] == 0

    rewrite_every_hash(stack, number, len(genuine["events"]))

    rewritten = partners.get(f"/v1/certificates/{number}/history", NZ_CUSTOMS).json()
    assert (rewritten["chain"]["valid"], rewritten["chain"]["check"], rewritten["chain"]["broken_at"]) == (
        False,
        "signature",
        1,
    )
    assert offline(capsys, save(tmp_path, "rewritten.json", rewritten), "--jwks", jwks, *anchors) == (
        1,
        ["FAIL event 1 [signature]: JEVS's seal does not hold: the signature does not verify"],
    )


# -- key rotation, on a stack of its own (the session's China simulator keeps the keys it fetched) --------------


def test_rotate_key_against_the_local_stack_keeps_what_was_signed_before_verifiable(
    stack: LocalStack,
    partners: Partners,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # On the session's stack: a stack of its own would reset moto's state, which is per process, under the
    # session's stack (its functions would then sign with a key that no longer exists). A rotation keeps the old
    # key signing until the signers look again, and in the JWKS, so the modules after this one are unaffected.
    number = partners.certificate()
    signed_before = partners.get(f"/v1/certificates/{number}/history", NZ_CUSTOMS).json()
    (before,) = [key["kid"] for key in partners.http.get("/.well-known/jwks.json").json()["keys"]]

    rotated = CliRunner().invoke(app, ["rotate-key"], env={"JEVS_AWS_URL": stack.aws_url})
    assert rotated.exit_code == 0, rotated.output

    after = partners.http.get("/.well-known/jwks.json").json()
    assert [key["kid"] for key in after["keys"]][1:] == [before]
    jwks = save(tmp_path, "jwks-after.json", after)
    code, out = offline(capsys, save(tmp_path, "before.json", signed_before), "--jwks", jwks)
    assert (code, out[0].split(":")[0]) == (0, f"OK {number}")
