"""Rules of issue that depend on dates: when a certificate is retrospective, how long it is valid, and
that it is not dated in the future (DESIGN §2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from jevs.domain.certificate import RETROSPECTIVE_REMARK, CertificateContent
from jevs.domain.errors import FieldError, RuleViolation


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Validity:
    retrospective: bool
    valid_from: date
    # The last day on which the certificate may be used: one year from issue (or, if issued
    # retrospectively, from shipment), so the day before that date's anniversary.
    valid_until: date

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


def assess_validity(content: CertificateContent, today_in_new_zealand: date) -> Validity:
    """Decide retrospective issue and the validity period, or raise ``RuleViolation``.

    A certificate issued after the goods left is retrospective; since the 2022 upgrade that is allowed
    within one year of shipment, and it is then valid for one year from shipment.
    """
    errors: list[FieldError] = []
    issued, shipped = content.issue_date, content.transport.departure_date
    if issued > today_in_new_zealand:
        errors.append(FieldError("issue_date", f"a certificate cannot be dated after today ({today_in_new_zealand})"))
    retrospective = issued > shipped
    # Within one year of shipment: on the anniversary the year of validity from shipment is already over.
    if retrospective and issued >= add_years(shipped, 1):
        errors.append(
            FieldError(
                "issue_date",
                "a certificate may be issued retrospectively only within one year of shipment "
                f"(departure {shipped}, so before {add_years(shipped, 1)})",
            )
        )
    if errors:
        raise RuleViolation(errors)
    # Issued retrospectively, it covers the goods from shipment: an import declared before the certificate
    # was issued may still claim the preference.
    starts = shipped if retrospective else issued
    return Validity(
        retrospective=retrospective,
        valid_from=starts,
        valid_until=add_years(starts, 1) - timedelta(days=1),
    )


def printed_remarks(content: CertificateContent, validity: Validity) -> str:
    """Box 6 as printed: the system's retrospective marking first, then what the issuing body wrote."""
    if not validity.retrospective:
        return content.remarks
    return f"{RETROSPECTIVE_REMARK}. {content.remarks}".strip() if content.remarks else RETROSPECTIVE_REMARK
