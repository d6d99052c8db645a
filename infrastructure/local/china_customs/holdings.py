"""What China Customs holds per certificate, from the messages it filed: the versions issued (copies
included), what the certificate replaces, and whether it was replaced (by what) or revoked.

China holds a certificate once a ``certificate.issued`` for its number is filed. Deliveries are retried
independently and may arrive in any order, so a message about a certificate China does not hold yet is not
refused for good: it is too early (the issue may still be on its way), and the sender tries again. A message
that contradicts what China holds is refused, for no order of delivery makes it true:

- ``certificate.replaced`` and ``certificate.revoked`` need the certificate held, and still ISSUED: a revoked
  certificate is not replaced, a replaced one is not revoked (JEVS changes only an issued certificate, once).
  Revoking or replacing twice can only come under the same key (``<number>/revoked``, ``<number>/replaced``),
  so it is a replay (the first receipt again) or, with other bytes, an idempotency conflict;
- ``certificate.issued`` with ``replaces`` needs the original held, not revoked, and replaced (if China was
  told so) by this certificate and no other; ``certificate.replaced`` agrees with a replacement already held;
- ``certificate.copy_issued`` needs its certificate held: a certified true copy is a later version of it. A copy
  is filed whatever the certificate's status: JEVS copies only an issued certificate, so a copy arriving after
  the revocation was made before it, and only its delivery was late. Every version of a certificate agrees on
  what it replaces.

Not thread-safe: the receiver consults and changes it under its own lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from infrastructure.local.china_customs.kinds import VERSION_TYPES, MessageType, parse_instant


class HeldStatus(StrEnum):
    ISSUED = "ISSUED"
    REPLACED = "REPLACED"
    REVOKED = "REVOKED"


@dataclass(frozen=True)
class HeldVersion:
    """One version of a certificate China filed: as issued, or a certified true copy."""

    version: int
    message_type: MessageType
    message_id: str
    receipt_id: str
    received_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "message_type": str(self.message_type),
            "message_id": self.message_id,
            "receipt_id": self.receipt_id,
            "received_at": self.received_at.isoformat(),
        }


@dataclass(frozen=True)
class HeldCertificate:
    """What China holds about one certificate."""

    certificate_number: str
    status: HeldStatus
    # By version number, whatever order they arrived in.
    versions: tuple[HeldVersion, ...]
    # The certificate this one replaces, as its versions say.
    replaces: str | None = None
    replaced_by: str | None = None
    # Why it was replaced or revoked.
    reason: str | None = None
    replaced_at: datetime | None = None
    revoked_at: datetime | None = None
    # Every history head JEVS's messages about it carried, (sequence, hash) by sequence: China's anchors of the
    # certificate's history, outside JEVS's table.
    history_heads: tuple[tuple[int, str], ...] = ()

    @property
    def version_numbers(self) -> tuple[int, ...]:
        return tuple(held.version for held in self.versions)

    @property
    def latest_version(self) -> int:
        return self.versions[-1].version

    def as_json(self) -> dict[str, Any]:
        return {
            "certificate_number": self.certificate_number,
            "status": str(self.status),
            "latest_version": self.latest_version,
            "versions": [held.as_json() for held in self.versions],
            "replaces": self.replaces,
            "replaced_by": self.replaced_by,
            "reason": self.reason,
            "replaced_at": self.replaced_at.isoformat() if self.replaced_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "history_heads": [{"sequence": sequence, "hash": hash_} for sequence, hash_ in self.history_heads],
        }

    def anchored(self, head: Mapping[str, Any] | None) -> HeldCertificate:
        """With ``head`` (a message's ``history_head``) kept among its anchors."""
        if head is None:
            return self
        heads = dict(self.history_heads)
        heads[int(head["sequence"])] = str(head["hash"])
        return replace(self, history_heads=tuple(sorted(heads.items())))


@dataclass(frozen=True)
class NotHeldYet:
    """The message is about a certificate China does not hold yet: too early, not wrong."""

    # The certificate whose ``certificate.issued`` China waits for.
    certificate_number: str
    detail: str


@dataclass(frozen=True)
class Contradiction:
    """The message contradicts what China holds: refused for good."""

    reason: str


class Holdings:
    """China's picture of every certificate it holds, in the order it first held them."""

    def __init__(self) -> None:
        self._held: dict[str, HeldCertificate] = {}
        # Original -> the held certificate issued to replace it (from its versions' ``replaces``), so a second
        # replacement, or a revocation of a certificate already replaced, is seen before China is told so.
        self._replacements: dict[str, str] = {}

    @property
    def certificates(self) -> dict[str, HeldCertificate]:
        return dict(self._held)

    def get(self, certificate_number: str) -> HeldCertificate | None:
        return self._held.get(certificate_number)

    def clear(self) -> None:
        self._held.clear()
        self._replacements.clear()

    def check(self, document: Mapping[str, Any]) -> NotHeldYet | Contradiction | None:
        """Whether a new, well-formed message can be filed against what China holds; None if it can."""
        kind = MessageType(document["message_type"])
        if kind in VERSION_TYPES:
            return self._check_version(kind, document)
        if kind == MessageType.CERTIFICATE_REPLACED:
            return self._check_replaced(document)
        if kind == MessageType.CERTIFICATE_REVOKED:
            return self._check_revoked(document)
        # A match result (or a verification answer) is China's own question answered: it changes nothing held.
        return None

    def file(self, document: Mapping[str, Any], *, receipt_id: str, received_at: datetime) -> None:
        """Record a message ``check`` admitted and the receiver stored."""
        self._file(document, receipt_id=receipt_id, received_at=received_at)
        number = str(document["certificate_number"])
        held = self._held.get(number)
        if held is not None:
            self._held[number] = held.anchored(document.get("history_head"))

    def _file(self, document: Mapping[str, Any], *, receipt_id: str, received_at: datetime) -> None:
        kind = MessageType(document["message_type"])
        if kind in (MessageType.DECLARATION_RESULT, MessageType.VERIFICATION_RESPONSE):
            # China's own declaration, or its own verification request, answered: nothing about the certificate
            # changes (but its history head, which ``file`` keeps).
            return
        number = str(document["certificate_number"])
        held = self._held.get(number)
        if kind in VERSION_TYPES:
            version = HeldVersion(int(document["version"]), kind, str(document["message_id"]), receipt_id, received_at)
            if held is None:
                replaces = document.get("replaces")
                self._held[number] = HeldCertificate(number, HeldStatus.ISSUED, (version,), replaces=replaces)
                if replaces is not None:
                    self._replacements[replaces] = number
            else:
                versions = tuple(sorted((*held.versions, version), key=lambda each: each.version))
                self._held[number] = replace(held, versions=versions)
            return
        assert held is not None  # check admitted it
        if kind == MessageType.CERTIFICATE_REPLACED:
            self._held[number] = replace(
                held,
                status=HeldStatus.REPLACED,
                replaced_by=document["replaced_by"],
                reason=document["reason"],
                replaced_at=parse_instant(document["replaced_at"]),
            )
        elif kind == MessageType.CERTIFICATE_REVOKED:
            self._held[number] = replace(
                held,
                status=HeldStatus.REVOKED,
                reason=document["reason"],
                revoked_at=parse_instant(document["revoked_at"]),
            )

    def _check_version(self, kind: MessageType, document: Mapping[str, Any]) -> NotHeldYet | Contradiction | None:
        number: str = document["certificate_number"]
        replaces: str | None = document.get("replaces")
        held = self._held.get(number)
        if held is not None:
            if replaces != held.replaces:
                return Contradiction(
                    f"certificate {number} was issued {_replacing(held.replaces)}, not {_replacing(replaces)}"
                )
            return None
        if kind == MessageType.CERTIFICATE_COPY_ISSUED:
            return NotHeldYet(
                number, f"it is a certified true copy of certificate {number}, whose issue China has not received"
            )
        if replaces is None:
            return None
        original = self._held.get(replaces)
        if original is None:
            return NotHeldYet(replaces, f"it replaces certificate {replaces}, whose issue China has not received")
        if original.status is HeldStatus.REVOKED:
            return Contradiction(f"certificate {replaces}, which it replaces, was revoked")
        if original.replaced_by not in (None, number):
            return Contradiction(f"certificate {replaces}, which it replaces, was replaced by {original.replaced_by}")
        other = self._replacements.get(replaces)
        if other is not None:
            return Contradiction(f"certificate {replaces}, which it replaces, is replaced by {other} already")
        return None

    def _check_replaced(self, document: Mapping[str, Any]) -> NotHeldYet | Contradiction | None:
        number: str = document["certificate_number"]
        by: str = document["replaced_by"]
        held = self._held.get(number)
        if held is None:
            return NotHeldYet(number, f"China has not received the issue of certificate {number}")
        if held.status is not HeldStatus.ISSUED:
            return Contradiction(f"certificate {number} is {held.status}: only an issued certificate is replaced")
        replacement = self._held.get(by)
        if replacement is not None and replacement.replaces != number:
            return Contradiction(f"certificate {by} was issued {_replacing(replacement.replaces)}")
        other = self._replacements.get(number)
        if other is not None and other != by:
            return Contradiction(f"certificate {other} was issued to replace certificate {number}, not {by}")
        return None

    def _check_revoked(self, document: Mapping[str, Any]) -> NotHeldYet | Contradiction | None:
        number: str = document["certificate_number"]
        held = self._held.get(number)
        if held is None:
            return NotHeldYet(number, f"China has not received the issue of certificate {number}")
        if held.status is not HeldStatus.ISSUED:
            return Contradiction(f"certificate {number} is {held.status}: only an issued certificate is revoked")
        replacement = self._replacements.get(number)
        if replacement is not None:
            # China has the replacement: the certificate was replaced, whether or not China was told so yet.
            return Contradiction(f"certificate {replacement} was issued to replace certificate {number}")
        return None


def _replacing(original: str | None) -> str:
    return f"replacing certificate {original}" if original else "replacing no certificate"
