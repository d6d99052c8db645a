"""The kinds of message China Customs files from JEVS, and what each must carry to be filed (DESIGN.md §6.3).

Every body names its kind in ``message_type``, and its ``message_id`` is the ``Idempotency-Key`` it is sent
under, made from the body itself, so each event of a certificate's life has exactly one key:

- ``certificate.issued``: a version of a certificate as issued, a replacement included (``replaces``);
  key ``<number>/v<version>``;
- ``certificate.copy_issued``: a certified true copy, a later version of the same certificate
  (``certified_true_copy_of`` is its own number); key ``<number>/v<version>``;
- ``certificate.replaced``: the certificate was replaced by ``replaced_by``; key ``<number>/replaced``;
- ``certificate.revoked``: the certificate was revoked; key ``<number>/revoked``;
- ``declaration.result``: the result of an import declaration China lodged; key
  ``<declaration id>/result/<decision>``;
- ``verification.response``: New Zealand's answer to a verification request China raised, with each document's
  name, type, size and SHA-256; key ``<number>/verification/<verification id>``.

Fields other than these are filed as they come: a receiver ignores what it does not read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class MessageType(StrEnum):
    CERTIFICATE_ISSUED = "certificate.issued"
    CERTIFICATE_COPY_ISSUED = "certificate.copy_issued"
    CERTIFICATE_REPLACED = "certificate.replaced"
    CERTIFICATE_REVOKED = "certificate.revoked"
    DECLARATION_RESULT = "declaration.result"
    VERIFICATION_RESPONSE = "verification.response"


# The kinds that issue a version of a certificate; the other certificate kinds change its status.
VERSION_TYPES = frozenset({MessageType.CERTIFICATE_ISSUED, MessageType.CERTIFICATE_COPY_ISSUED})


@dataclass(frozen=True)
class _Field:
    accepts: Callable[[object], bool]
    # What the field must be, as the refusal says it: "<name> must be <expected>".
    expected: str
    # An optional field may be absent or null (JEVS leaves null fields out of what it signs).
    required: bool = True


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _positive(value: object) -> bool:
    # bool is an int in Python, never in a message.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _not_negative(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_instant(value: object) -> datetime | None:
    """``value`` as an ISO 8601 date and time with its offset, or None: a moment China can place."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _instant(value: object) -> bool:
    return parse_instant(value) is not None


def _object(value: object) -> bool:
    return isinstance(value, dict)


def _list_of_objects(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _attachment_digests(value: object) -> bool:
    """Each document of an answer: its name, type, size and the SHA-256 of its bytes."""
    return isinstance(value, list) and all(
        isinstance(item, dict)
        and _text(item.get("name"))
        and item.get("media_type") in ("application/pdf", "image/png", "image/jpeg")
        and _positive(item.get("size"))
        and isinstance(item.get("sha256"), str)
        and len(item["sha256"]) == 64
        for item in value
    )


def _certification(value: object) -> bool:
    """Box 15: who certified, where and when."""
    return (
        isinstance(value, dict)
        and all(_text(value.get(name)) for name in ("issuing_body", "issuing_body_name", "place"))
        and _date(value.get("issue_date"))
    )


def _history_head(value: object) -> bool:
    """Where the certificate's history ended when JEVS sent this: China keeps it as an anchor outside JEVS."""
    if not isinstance(value, dict):
        return False
    hash_ = value.get("hash")
    sequence_ok = _positive(value.get("sequence"))
    return sequence_ok and isinstance(hash_, str) and len(hash_) == 64 and all(c in "0123456789abcdef" for c in hash_)


_TEXT = _Field(_text, "a non-empty string")
_OPTIONAL_TEXT = _Field(_text, "a non-empty string when present", required=False)
_VERSION = _Field(_positive, "a positive integer")
_INSTANT = _Field(_instant, "a date and time with its UTC offset (ISO 8601)")
_DATE = _Field(_date, "a date (YYYY-MM-DD)")

_COMMON = {
    "message_type": _TEXT,
    "message_id": _TEXT,
    "history_head": _Field(
        _history_head, "an object with sequence (a positive integer) and hash (64 hex digits) when present", False
    ),
}
_VERSION_FIELDS = {
    **_COMMON,
    "certificate_number": _TEXT,
    "version": _VERSION,
    "status": _Field(lambda value: value == "ISSUED", '"ISSUED"'),
    "certification": _Field(
        _certification, "an object with issuing_body, issuing_body_name, place and issue_date (a date)"
    ),
    "retrospective": _Field(_flag, "true or false"),
    "valid_from": _DATE,
    "valid_until": _DATE,
    # Box 6 as printed; empty when there is nothing to print.
    "printed_remarks": _Field(lambda value: isinstance(value, str), "a string"),
    "issued_at": _INSTANT,
    "replaces": _OPTIONAL_TEXT,
    # Boxes 1-4 and 6-13 of the FTA form.
    "certificate": _Field(_object, "an object (the FTA form's boxes)"),
}

FIELDS: Mapping[MessageType, Mapping[str, _Field]] = {
    MessageType.CERTIFICATE_ISSUED: _VERSION_FIELDS,
    MessageType.CERTIFICATE_COPY_ISSUED: {**_VERSION_FIELDS, "certified_true_copy_of": _TEXT},
    MessageType.CERTIFICATE_REPLACED: {
        **_COMMON,
        "certificate_number": _TEXT,
        "version": _VERSION,
        "replaced_by": _TEXT,
        "reason": _TEXT,
        "replaced_at": _INSTANT,
    },
    MessageType.CERTIFICATE_REVOKED: {
        **_COMMON,
        "certificate_number": _TEXT,
        "version": _VERSION,
        "reason": _TEXT,
        "revoked_at": _INSTANT,
    },
    MessageType.DECLARATION_RESULT: {
        **_COMMON,
        "declaration_number": _TEXT,
        "revision": _VERSION,
        "decision": _VERSION,
        "certificate_number": _TEXT,
        # The certificate version the declaration was matched against; 0 when no certificate was found.
        "version": _Field(_not_negative, "an integer, 0 or more"),
        "status": _TEXT,
        "discrepancies": _Field(_list_of_objects, "a list of objects"),
        "decided_at": _INSTANT,
        "replacement_certificate_number": _OPTIONAL_TEXT,
    },
    MessageType.VERIFICATION_RESPONSE: {
        **_COMMON,
        "verification_id": _TEXT,
        "certificate_number": _TEXT,
        "version": _VERSION,
        "due_date": _DATE,
        "text": _TEXT,
        "attachments": _Field(_attachment_digests, "a list of {name, media_type, size, sha256}"),
        "answered_by": _TEXT,
        "answered_at": _INSTANT,
    },
}

# The fields each kind of message is filed under, by name (the optional ones left out).
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = {
    kind: tuple(name for name, field in fields.items() if field.required) for kind, fields in FIELDS.items()
}


def expected_key(document: Mapping[str, Any]) -> str | None:
    """The ``message_id`` (and so the ``Idempotency-Key``) a well-formed message of its kind has; None for a
    match result, whose key starts with JEVS's own declaration id (see ``key_problem``)."""
    kind = document["message_type"]
    number = document.get("certificate_number")
    if kind in VERSION_TYPES:
        return f"{number}/v{document['version']}"
    if kind == MessageType.CERTIFICATE_REPLACED:
        return f"{number}/replaced"
    if kind == MessageType.CERTIFICATE_REVOKED:
        return f"{number}/revoked"
    if kind == MessageType.VERIFICATION_RESPONSE:
        return f"{number}/verification/{document['verification_id']}"
    return None


def problems_with(document: Mapping[str, Any]) -> list[str]:
    """What keeps ``document`` (a JSON object) from being filed, in words; empty when it can be."""
    raw_type = document.get("message_type")
    if not isinstance(raw_type, str) or raw_type not in FIELDS:
        return [f"message_type must be one of {', '.join(FIELDS)}"]
    kind = MessageType(raw_type)
    problems = [
        f"{name} must be {field.expected}"
        for name, field in FIELDS[kind].items()
        if not (field.accepts(document.get(name)) or (not field.required and document.get(name) is None))
    ]
    if problems:
        return problems
    return _contradictions(kind, document)


def _contradictions(kind: MessageType, document: Mapping[str, Any]) -> list[str]:
    """What a message of ``kind`` says against itself, its fields each well-formed."""
    number = document["certificate_number"]
    problems = []
    if kind in VERSION_TYPES and document.get("replaces") == number:
        problems.append("a certificate does not replace itself")
    if kind == MessageType.CERTIFICATE_ISSUED and document.get("certified_true_copy_of") is not None:
        problems.append(f"a certified true copy is sent as {MessageType.CERTIFICATE_COPY_ISSUED}")
    if kind == MessageType.CERTIFICATE_COPY_ISSUED:
        # A certified true copy is a later version of the same certificate, never its first.
        if document["certified_true_copy_of"] != number:
            problems.append("certified_true_copy_of must be the certificate's own number")
        if document["version"] < 2:
            problems.append("a certified true copy is a later version: version must be 2 or more")
    if kind == MessageType.CERTIFICATE_REPLACED and document["replaced_by"] == number:
        problems.append("a certificate is not replaced by itself")
    key = expected_key(document)
    message_id = document["message_id"]
    if key is not None and message_id != key:
        problems.append(f"message_id must be {key!r} for a {kind}")
    if kind == MessageType.DECLARATION_RESULT:
        suffix = f"/result/{document['decision']}"
        if not message_id.endswith(suffix) or message_id == suffix:
            problems.append(f"message_id must be '<declaration id>{suffix}' for a {kind}")
    return problems
