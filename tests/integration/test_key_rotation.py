"""Keys that rotate (DESIGN.md §6.3): ``jevs rotate-key`` moves the signing alias to a
new KMS key; /.well-known/jwks.json lists the new key and every retired one within the overlap period, so a head
signed before a rotation still verifies, with the JWKS served after it; ``?retired=all`` lists every key ever
retired, so history seals verify however long ago they were made."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from infrastructure.ops.cli import State, app
from jevs.adapters.kms_signer import KmsSigner
from jevs.resources import SIGNING_KEY
from jevs.verify import main as verify
from tests.factories import NZ_CUSTOMS
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import submit_certificate
from tests.integration.test_lifecycle import post

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
OVERLAP = timedelta(days=30)


def jwks(call_api: ApiCall) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(call_api("GET", "/.well-known/jwks.json")["body"])
    return body


def kids(key_set: dict[str, Any]) -> list[str]:
    return [key["kid"] for key in key_set["keys"]]


def rotate() -> dict[str, str]:
    """``jevs rotate-key --json``, its KMS the one moto mocks in this process."""
    state = State(aws=lambda profile, service: boto3.client(service))  # type: ignore[call-overload]
    result = CliRunner().invoke(app, ["rotate-key", "--json"], obj=state)
    assert result.exit_code == 0, result.output
    rotated: dict[str, str] = json.loads(result.stdout)
    return rotated


def test_a_head_signed_before_a_rotation_verifies_with_the_jwks_served_after_it(
    call_api: ApiCall, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit_certificate(call_api)
    (before,) = kids(jwks(call_api))
    signed_before = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=NZ_CUSTOMS)["json"]
    assert json.loads(_b64(signed_before["signed_head"]["jws"].split(".")[0]))["kid"] == before

    rotate()

    after = jwks(call_api)
    assert len(kids(after)) == 2
    assert kids(after)[1] == before  # the current key first, then the retired one
    history_file, jwks_file = tmp_path / "history.json", tmp_path / "jwks.json"
    history_file.write_text(json.dumps(signed_before))
    jwks_file.write_text(json.dumps(after))
    capsys.readouterr()  # what the functions logged
    assert verify([str(history_file), "--jwks", str(jwks_file)]) == 0
    assert capsys.readouterr().out.startswith(f"OK {NUMBER}")


def test_after_a_rotation_the_signer_signs_with_the_new_key_and_the_set_drops_the_old_one_after_the_overlap(
    aws_resources: Any,
) -> None:
    kms = boto3.client("kms")
    (before,) = kids(KmsSigner(kms, SIGNING_KEY.alias).jwks())

    rotate()

    signer = KmsSigner(kms, SIGNING_KEY.alias, overlap=OVERLAP)
    (now,) = [signer.kid]
    assert now != before
    assert json.loads(_b64(signer.sign_detached(b"{}").split(".")[0]))["kid"] == now
    assert kids(signer.jwks()) == [now, before]
    later = KmsSigner(kms, SIGNING_KEY.alias, overlap=OVERLAP, now=lambda: datetime.now(UTC) + OVERLAP * 2)
    assert kids(later.jwks()) == [now]


def test_a_second_rotation_within_the_overlap_keeps_both_retired_keys_listed(aws_resources: Any) -> None:
    kms = boto3.client("kms")
    (first,) = kids(KmsSigner(kms, SIGNING_KEY.alias).jwks())
    rotate()
    (second,) = [KmsSigner(kms, SIGNING_KEY.alias).kid]

    rotate()

    signer = KmsSigner(kms, SIGNING_KEY.alias, overlap=OVERLAP)
    assert kids(signer.jwks())[1:] == [second, first]


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_history_sealed_before_a_rotation_stays_valid_with_events_sealed_after_it(
    call_api: ApiCall, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit_certificate(call_api)
    (before,) = kids(jwks(call_api))
    rotate()
    revoked = post(call_api, f"/v1/certificates/{NUMBER}/revocation", {"reason": "Origin not proven"})
    assert revoked["statusCode"] == 200, revoked

    body = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=NZ_CUSTOMS)["json"]

    assert body["chain"]["valid"] is True
    sealed_by = [json.loads(_b64(event["seal"].split(".")[0]))["kid"] for event in body["events"]]
    # The revocation may be sealed by either key: a running function follows the alias within REFRESH.
    assert sealed_by[0] == before
    assert set(sealed_by) <= set(kids(jwks(call_api)))
    every_key = json.loads(call_api("GET", "/.well-known/jwks.json", query={"retired": "all"})["body"])
    history_file, jwks_file = tmp_path / "history.json", tmp_path / "every-key.json"
    history_file.write_text(json.dumps(body))
    jwks_file.write_text(json.dumps(every_key))
    capsys.readouterr()
    assert verify([str(history_file), "--jwks", str(jwks_file)]) == 0


def test_every_key_ever_retired_still_checks_seals_after_the_overlap_has_passed(aws_resources: Any) -> None:
    kms = boto3.client("kms")
    sealed_before = KmsSigner(kms, SIGNING_KEY.alias).sign_detached(b'{"head_sequence":1}')
    (before,) = kids(KmsSigner(kms, SIGNING_KEY.alias).jwks())
    rotate()
    rotate()

    years_later = KmsSigner(kms, SIGNING_KEY.alias, overlap=OVERLAP, now=lambda: datetime.now(UTC) + OVERLAP * 40)

    assert len(kids(years_later.jwks())) == 1  # what verifies messages to China: the current key alone
    assert kids(years_later.sealing_keys())[2] == before  # what verifies seals: every key, newest first
    assert years_later.check_seal(b'{"head_sequence":1}', sealed_before) is None
    assert years_later.check_seal(b'{"head_sequence":2}', sealed_before) == "the signature does not verify"
