"""Check a saved certificate history offline, with nothing but JEVS's published keys (DESIGN.md §6.4).

    python -m jevs.verify history.json --jwks jwks.json
    python -m jevs.verify history.json --jwks https://<api>/.well-known/jwks.json --anchor earlier-history.json
    python -m jevs.verify history.json --jwks jwks.json --anchor-head 2:<hash China holds>

``history.json`` is the body of ``GET /v1/certificates/{number}/history``. The verifier recomputes every event's
hash and link, checks that the history ends at the head the record names and that the record is the state its
latest event fixed, and checks JEVS's signature on that head against the JWKS. A chain rewritten with every hash
recomputed passes all of that (JEVS signs what its table holds), so it is caught against a head fixed before:
``--anchor`` an earlier saved history (its own signed head is checked too, and the first event that differs is
named), or ``--anchor-head SEQUENCE:HASH`` the head China Customs recorded from a message JEVS sent it.

It prints ``OK`` or each failure as ``FAIL <where> [<check>]: <why>`` and exits 0 or 1. It imports nothing of
JEVS: only the standard library and ``cryptography``, so a partner may copy this one file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Failure:
    # Where: "event <sequence>", "record", "signed_head" or "anchor <source>".
    where: str
    check: str
    reason: str

    def __str__(self) -> str:
        return f"FAIL {self.where} [{self.check}]: {self.reason}"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: the bytes JEVS hashes and signs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def event_hash(certificate_number: str, event: Mapping[str, Any]) -> str:
    """The hash of an event as the history route shows it (its certificate number is the history's)."""
    hashed = {name: value for name, value in event.items() if name != "hash"}
    hashed["certificate_number"] = certificate_number
    return hashlib.sha256(canonical_json(hashed)).hexdigest()


def check_chain(history: Mapping[str, Any]) -> list[Failure]:
    """Every event's sequence, link and hash; that the chain ends at the record's head; that the record is the
    state the latest event fixed. Stops at the first broken event: what follows it cannot be trusted."""
    number = history["certificate_number"]
    events: Sequence[Mapping[str, Any]] = history["events"]
    previous = GENESIS_HASH
    for expected, event in enumerate(events, start=1):
        where = f"event {event.get('sequence')}"
        if event.get("sequence") != expected:
            return [Failure(f"event {expected}", "sequence", "an event is missing or out of order")]
        if event.get("previous_hash") != previous:
            return [Failure(where, "previous_hash", "does not link to the event before")]
        if event_hash(number, event) != event.get("hash"):
            return [Failure(where, "hash", "the event's content does not match its hash")]
        previous = event["hash"]
    if not events:
        return [Failure("event 1", "sequence", "the history has no events")]
    last = events[-1]
    head = history.get("head")
    if head is not None and (head.get("sequence"), head.get("hash")) != (last["sequence"], last["hash"]):
        return [Failure(f"event {last['sequence']}", "head", "the chain does not end at the record's latest event")]
    state = history.get("record_state_hash")
    if state is not None and state != last.get("state_hash"):
        return [Failure("record", "state", f"the current record is not the state event {last['sequence']} recorded")]
    return []


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key(jwk: Mapping[str, str]) -> ec.EllipticCurvePublicKey:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not a P-256 key")
    x = int.from_bytes(_b64url_decode(jwk["x"]), "big")
    y = int.from_bytes(_b64url_decode(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def verify_detached_jws(jws: str, payload: bytes, jwks: Mapping[str, Any]) -> str | None:
    """None when ``jws`` is a valid detached ES256 signature of ``payload`` by a key of ``jwks``; else why not."""
    try:
        header_part, empty, signature_part = jws.split(".")
        header = json.loads(_b64url_decode(header_part))
    except ValueError:
        return "not a detached compact JWS"
    if empty:
        return "the JWS is not detached"
    if header.get("alg") != "ES256":
        return f"alg {header.get('alg')!r} is not ES256"
    keys = [key for key in jwks.get("keys", []) if key.get("kid") == header.get("kid")]
    if not keys:
        return f"no key with kid {header.get('kid')!r} in the JWKS"
    raw = _b64url_decode(signature_part)
    if len(raw) != 64:
        return "an ES256 signature is 64 bytes"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signing_input = header_part.encode("ascii") + b"." + base64.urlsafe_b64encode(payload).rstrip(b"=")
    try:
        _public_key(keys[0]).verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return "the signature does not verify"
    return None


def check_signed_head(history: Mapping[str, Any], jwks: Mapping[str, Any]) -> list[Failure]:
    """JEVS's signature on the head, and that it signs this history's certificate and latest event."""
    signed = history.get("signed_head")
    if not signed:
        return [Failure("signed_head", "signature", "absent: JEVS did not vouch for this history")]
    statement = signed.get("statement", {})
    problem = verify_detached_jws(signed.get("jws", ""), canonical_json(statement), jwks)
    if problem:
        return [Failure("signed_head", "signature", problem)]
    events = history["events"]
    last = events[-1] if events else {}
    signed_for = (statement.get("certificate_number"), statement.get("head_sequence"), statement.get("head_hash"))
    if signed_for != (history["certificate_number"], last.get("sequence"), last.get("hash")):
        return [Failure("signed_head", "signature", "signs another head than this history's latest event")]
    return []


def check_anchor_head(history: Mapping[str, Any], sequence: int, hash_: str, source: str) -> list[Failure]:
    """The chain passes through a head fixed outside JEVS's table (an earlier signed head, or China's)."""
    events = {event.get("sequence"): event for event in history["events"]}
    if sequence not in events:
        return [Failure(f"event {sequence}", "anchor", f"{source} fixed event {sequence}; the history lacks it")]
    if events[sequence].get("hash") != hash_:
        return [Failure(f"event {sequence}", "anchor", f"its hash is not the one {source} fixed: rewritten since")]
    return []


def check_earlier_history(
    history: Mapping[str, Any], earlier: Mapping[str, Any], jwks: Mapping[str, Any]
) -> list[Failure]:
    """An earlier saved (and signed) history of the same certificate: its signature holds, and every event it
    had is still there unchanged. Names the first event that differs."""
    source = "the earlier history"
    if earlier.get("certificate_number") != history["certificate_number"]:
        return [Failure("anchor", "anchor", "the earlier history is of another certificate")]
    failures = [
        Failure(f"anchor: {failure.where}", failure.check, failure.reason)
        for failure in check_chain(earlier) + check_signed_head(earlier, jwks)
    ]
    if failures:
        return failures
    now = {event.get("sequence"): event for event in history["events"]}
    for event in earlier["events"]:
        sequence = event["sequence"]
        if sequence not in now:
            return [Failure(f"event {sequence}", "anchor", f"{source} had this event; the history lacks it")]
        if now[sequence] != event:
            return [Failure(f"event {sequence}", "anchor", f"differs from {source}: rewritten since")]
    statement = earlier["signed_head"]["statement"]
    return check_anchor_head(history, statement["head_sequence"], statement["head_hash"], source)


def verify_history(
    history: Mapping[str, Any],
    jwks: Mapping[str, Any],
    *,
    earlier: Sequence[Mapping[str, Any]] = (),
    anchor_heads: Sequence[tuple[int, str]] = (),
) -> list[Failure]:
    """Every failure found, the chain's own first; an empty list for a history that verifies."""
    failures = check_chain(history)
    if failures:
        return failures
    failures = check_signed_head(history, jwks)
    for previous in earlier:
        failures += check_earlier_history(history, previous, jwks)
    for sequence, hash_ in anchor_heads:
        failures += check_anchor_head(history, sequence, hash_, "the anchor")
    return failures


def _load(source: str) -> Any:
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 (the caller names the URL)
            return json.load(response)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def _anchor_head(text: str) -> tuple[int, str]:
    sequence, _, hash_ = text.partition(":")
    if not sequence.isdigit() or len(hash_) != 64:
        raise argparse.ArgumentTypeError("SEQUENCE:HASH, e.g. 2:<64 hex digits>")
    return int(sequence), hash_


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jevs.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("history", help="a saved GET /v1/certificates/{number}/history response")
    parser.add_argument("--jwks", required=True, help="JEVS's JWKS: a file, or the URL of /.well-known/jwks.json")
    parser.add_argument("--anchor", action="append", default=[], help="an earlier saved history (repeatable)")
    parser.add_argument(
        "--anchor-head", action="append", default=[], type=_anchor_head, help="SEQUENCE:HASH fixed elsewhere"
    )
    arguments = parser.parse_args(argv)
    history = _load(arguments.history)
    failures = verify_history(
        history,
        _load(arguments.jwks),
        earlier=[_load(source) for source in arguments.anchor],
        anchor_heads=arguments.anchor_head,
    )
    for failure in failures:
        print(failure)
    if failures:
        return 1
    last = history["events"][-1]
    print(
        f"OK {history['certificate_number']}: {len(history['events'])} events, head {last['sequence']}:{last['hash']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
