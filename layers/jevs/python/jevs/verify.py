"""Check a saved history offline, with nothing but JEVS's published keys (DESIGN.md §6.4).

    python -m jevs.verify history.json --jwks jwks.json
    python -m jevs.verify history.json --jwks 'https://<api>/.well-known/jwks.json?retired=all'
    python -m jevs.verify history.json --jwks jwks.json --anchor earlier-history.json
    python -m jevs.verify history.json --jwks jwks.json --anchor-head 2:<hash China holds>

``history.json`` is the body of ``GET /v1/certificates/{number}/history`` (or of a goods registration's,
signatory's or application's ``…/history``). The verifier recomputes every event's hash and link, checks that the
history ends at the head the record names and that the record is the state its latest event fixed, then checks
every event's seal: JEVS's signature, made when the event was written, over where the chain ended then. A chain
rewritten with every hash recomputed fails at the first event changed, since whoever rewrote it could not sign.
Give the JWKS with ``?retired=all`` (every key JEVS ever signed with) to verify seals made before a rotation.

What seals cannot show is a history cut back to an earlier event, with the record rolled back to match: that is
caught against a head fixed outside JEVS: ``--anchor`` an earlier saved history (its seals are checked too, and
the first event that differs is named), or ``--anchor-head SEQUENCE:HASH`` the head China Customs recorded from a
message JEVS sent it.

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
# How ``verify_detached_jws`` begins its answer for a signature by a key the JWKS does not list.
UNKNOWN_KID = "no key with kid"


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


def chain_of(history: Mapping[str, Any]) -> tuple[str, str]:
    """The field every event of the history hashes, and its value: a certificate's number, or another record's id."""
    if "certificate_number" in history:
        return "certificate_number", history["certificate_number"]
    return "record_id", history["id"]


def event_hash(chain: tuple[str, str], event: Mapping[str, Any]) -> str:
    """The hash of an event as a history route shows it: all but its hash and seal, with the chain's id."""
    hashed = {name: value for name, value in event.items() if name not in ("hash", "seal")}
    field, value = chain
    hashed[field] = value
    return hashlib.sha256(canonical_json(hashed)).hexdigest()


def seal_statement(chain: tuple[str, str], event: Mapping[str, Any]) -> dict[str, Any]:
    """What an event's seal signs: that the chain ended at this event, at this hash, when it was written."""
    field, value = chain
    return {
        field: value,
        "head_sequence": event.get("sequence"),
        "head_hash": event.get("hash"),
        "signed_at": event.get("occurred_at"),
    }


def check_chain(history: Mapping[str, Any]) -> list[Failure]:
    """Every event's sequence, link and hash; that the chain ends at the record's head; that the record is the
    state the latest event fixed. Stops at the first broken event: what follows it cannot be trusted."""
    chain = chain_of(history)
    events: Sequence[Mapping[str, Any]] = history["events"]
    previous = GENESIS_HASH
    for expected, event in enumerate(events, start=1):
        where = f"event {event.get('sequence')}"
        if event.get("sequence") != expected:
            return [Failure(f"event {expected}", "sequence", "an event is missing or out of order")]
        if event.get("previous_hash") != previous:
            return [Failure(where, "previous_hash", "does not link to the event before")]
        if event_hash(chain, event) != event.get("hash"):
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
        return f"{UNKNOWN_KID} {header.get('kid')!r} in the JWKS"
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


def check_seals(history: Mapping[str, Any], jwks: Mapping[str, Any]) -> list[Failure]:
    """Every event's seal verifies over its own statement; names the first that does not (an event changed since
    JEVS wrote it, every later hash recomputed or not)."""
    chain = chain_of(history)
    for event in history["events"]:
        seal = event.get("seal")
        problem = (
            "the event is not sealed"
            if not seal
            else verify_detached_jws(seal, canonical_json(seal_statement(chain, event)), jwks)
        )
        if problem:
            return [Failure(f"event {event.get('sequence')}", "signature", f"JEVS's seal does not hold: {problem}")]
    return []


def check_signed_head(history: Mapping[str, Any], jwks: Mapping[str, Any]) -> list[Failure]:
    """JEVS's signature on the head, and that it signs this history's record and latest event."""
    signed = history.get("signed_head")
    if not signed:
        return [Failure("signed_head", "signature", "absent: JEVS did not vouch for this history")]
    statement = signed.get("statement", {})
    problem = verify_detached_jws(signed.get("jws", ""), canonical_json(statement), jwks)
    if problem:
        return [Failure("signed_head", "signature", problem)]
    events = history["events"]
    last = events[-1] if events else {}
    if statement != seal_statement(chain_of(history), last):
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
    if chain_of(earlier) != chain_of(history):
        return [Failure("anchor", "anchor", "the earlier history is of another record")]
    failures = [
        Failure(f"anchor: {failure.where}", failure.check, failure.reason)
        for failure in check_chain(earlier) + check_seals(earlier, jwks) + check_signed_head(earlier, jwks)
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
    failures = check_chain(history) or check_seals(history, jwks)
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
    parser.add_argument("history", help="a saved history: GET /v1/certificates/{number}/history, or a record's")
    parser.add_argument(
        "--jwks", required=True, help="JEVS's JWKS: a file, or the URL of /.well-known/jwks.json?retired=all"
    )
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
    print(f"OK {chain_of(history)[1]}: {len(history['events'])} events sealed, head {last['sequence']}:{last['hash']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
