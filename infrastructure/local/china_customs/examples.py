"""Well-formed bodies of each kind China Customs files, shaped as JEVS sends them (``kinds``): for trying the
simulator by hand and for its own tests, which must not depend on JEVS's side. Each takes ``changes`` to
replace or add fields; a field changed to None is left out, as JEVS leaves out its null fields."""

from __future__ import annotations

import json
from typing import Any

from infrastructure.local.china_customs.kinds import MessageType

ISSUED_AT = "2026-03-02T01:15:00Z"


def _with(message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**message, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def issued(number: str, version: int = 1, *, replaces: str | None = None, **changes: Any) -> dict[str, Any]:
    """``certificate.issued``: a version of ``number`` as issued (a replacement of ``replaces``)."""
    message = {
        "message_type": str(MessageType.CERTIFICATE_ISSUED),
        "message_id": f"{number}/v{version}",
        "certificate_number": number,
        "version": version,
        "status": "ISSUED",
        "certification": {
            "issuing_body": "MPI",
            "issuing_body_name": "Ministry for Primary Industries",
            "place": "Wellington",
            "issue_date": "2026-03-02",
        },
        "retrospective": False,
        "valid_from": "2026-03-02",
        "valid_until": "2027-03-01",
        "printed_remarks": f"REPLACES {replaces}" if replaces else "",
        "issued_at": ISSUED_AT,
        "replaces": replaces,
        "certificate": {
            "certificate_number": number,
            "exporter": {"name": "Kiwi Dairy Exports Ltd", "country": "NZ"},
            "items": [{"item_number": 1, "hs_code": "040221", "description": "Milk powder"}],
        },
    }
    return _with(message, changes)


def copy_issued(number: str, version: int = 2, **changes: Any) -> dict[str, Any]:
    """``certificate.copy_issued``: a certified true copy of ``number``, its version ``version``."""
    copy = issued(number, version, message_type=str(MessageType.CERTIFICATE_COPY_ISSUED))
    copy["certified_true_copy_of"] = number
    copy["printed_remarks"] = "CERTIFIED TRUE COPY"
    return _with(copy, changes)


def replaced(number: str, by: str, *, version: int = 1, **changes: Any) -> dict[str, Any]:
    """``certificate.replaced``: ``number`` (at its version ``version``) was replaced by ``by``."""
    message = {
        "message_type": str(MessageType.CERTIFICATE_REPLACED),
        "message_id": f"{number}/replaced",
        "certificate_number": number,
        "version": version,
        "replaced_by": by,
        "reason": "Consignee details corrected",
        "replaced_at": "2026-03-04T22:00:00Z",
    }
    return _with(message, changes)


def revoked(number: str, *, version: int = 1, **changes: Any) -> dict[str, Any]:
    """``certificate.revoked``: ``number`` (at its version ``version``) was revoked."""
    message = {
        "message_type": str(MessageType.CERTIFICATE_REVOKED),
        "message_id": f"{number}/revoked",
        "certificate_number": number,
        "version": version,
        "reason": "Issued in error",
        "revoked_at": "2026-03-05T03:30:00Z",
    }
    return _with(message, changes)


def declaration_result(
    declaration_id: str, certificate_number: str, *, decision: int = 1, version: int = 1, **changes: Any
) -> dict[str, Any]:
    """``declaration.result``: the ``decision``-th decision of the declaration JEVS knows as ``declaration_id``,
    matched against ``certificate_number`` at ``version`` (0: no certificate found)."""
    message = {
        "message_type": str(MessageType.DECLARATION_RESULT),
        "message_id": f"{declaration_id}/result/{decision}",
        "declaration_number": f"CN{declaration_id[-6:]}",
        "revision": 1,
        "decision": decision,
        "certificate_number": certificate_number,
        "version": version,
        "status": "MATCHED" if version else "CERTIFICATE_NOT_FOUND",
        "discrepancies": [],
        "decided_at": "2026-03-06T08:00:00Z",
    }
    return _with(message, changes)


def verification_response(verification_id: str, certificate_number: str, **changes: Any) -> dict[str, Any]:
    """``verification.response``: New Zealand's answer to China's request ``verification_id``, with one document."""
    message = {
        "message_type": str(MessageType.VERIFICATION_RESPONSE),
        "message_id": f"{certificate_number}/verification/{verification_id}",
        "verification_id": verification_id,
        "certificate_number": certificate_number,
        "version": 1,
        "due_date": "2026-06-01",
        "text": "All raw milk was collected from the exporter's supplier farms in the Waikato.",
        "attachments": [
            {"name": "cost-statement.pdf", "media_type": "application/pdf", "size": 1024, "sha256": "a" * 64}
        ],
        "answered_by": "akl-chamber",
        "answered_at": "2026-04-01T08:00:00Z",
    }
    return _with(message, changes)


def encode(message: dict[str, Any]) -> bytes:
    """The bytes a sender signs and posts: compact JSON, keys sorted, as JEVS makes them."""
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
