"""A certificate's standing on a given day, in the one word a person holding its paper needs (DESIGN.md §2, §3, §5):
may the goods it covers still claim the preference with it, and if not, why not.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from jevs.domain.records import CertificateRecord, CertificateStatus, Usage


class Standing(StrEnum):
    # Issued, within validity, and not yet used by an import declaration in China.
    VALID = "VALID"
    # Issued and within validity, but already used by an import declaration in China: one certificate serves one
    # import declaration, so it cannot be used for another (nor can its certified true copy).
    USED = "USED"
    # Issued, but its validity has ended.
    EXPIRED = "EXPIRED"
    # Issued, but its validity has not begun (issued before shipment, verified before the day it starts).
    NOT_YET_VALID = "NOT_YET_VALID"
    # Superseded by a replacement certificate, which is the one to verify now.
    REPLACED = "REPLACED"
    # Withdrawn by its issuing body.
    REVOKED = "REVOKED"


def standing_on(record: CertificateRecord, today_in_new_zealand: date) -> Standing:
    """What became of the certificate comes first (a revoked or replaced one is void whatever its dates), then its
    dates, then its use: an expired certificate reads expired whether or not it was used."""
    if record.status is CertificateStatus.REVOKED:
        return Standing.REVOKED
    if record.status is CertificateStatus.REPLACED:
        return Standing.REPLACED
    if today_in_new_zealand > record.valid_until:
        return Standing.EXPIRED
    if today_in_new_zealand < record.valid_from:
        return Standing.NOT_YET_VALID
    if record.usage is Usage.USED:
        return Standing.USED
    return Standing.VALID
