"""The rules of issue the form alone does not decide (DESIGN.md §2): the dates (when a certificate is retrospective,
how long it is valid, that it is not dated in the future) and box 4's route, checked against the UN/LOCODE
edition JEVS carries.

They are checked when a certificate is issued (and when an application for one is lodged), never when a stored
certificate is read back: one issued under today's code list stays readable when a later edition drops a place
it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from jevs.domain.certificate import RETROSPECTIVE_REMARK, CertificateContent, Transport
from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.identifiers import check_listed_location, locode_country

# Certificates under this FTA are issued in New Zealand, for goods imported into China.
EXPORTING_COUNTRY = "NZ"
IMPORTING_COUNTRY = "CN"


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
    """Decide retrospective issue and the validity period, or raise ``RuleViolation`` naming every field that
    breaks a rule of issue, the route's (``route_errors``) with the dates', so a partner mends them all at once.

    A certificate issued after the goods left is retrospective; since the 2022 upgrade that is allowed
    within one year of shipment, and it is then valid for one year from shipment. Its validity must not have
    ended by the day it is submitted, and the goods depart while it is valid.
    """
    errors: list[FieldError] = []
    issued, shipped = content.issue_date, content.transport.departure_date
    if issued > today_in_new_zealand:
        errors.append(FieldError("issue_date", f"a certificate cannot be dated after today ({today_in_new_zealand})"))
    retrospective = issued > shipped
    # Issued retrospectively, it covers the goods from shipment: an import declared before the certificate
    # was issued may still claim the preference.
    starts = shipped if retrospective else issued
    validity = Validity(
        retrospective=retrospective,
        valid_from=starts,
        valid_until=add_years(starts, 1) - timedelta(days=1),
    )
    # Within one year of shipment: on the anniversary the year of validity from shipment is already over.
    if retrospective and issued >= add_years(shipped, 1):
        errors.append(
            FieldError(
                "issue_date",
                "a certificate may be issued retrospectively only within one year of shipment "
                f"(departure {shipped}, so before {add_years(shipped, 1)})",
            )
        )
    else:
        # Only a certificate that may be issued at all has a period to judge: one issued too late after
        # shipment is refused for that, not once more for the period it never had.
        errors += _period_errors(content, validity, today_in_new_zealand)
    errors += route_errors(content.transport)
    if errors:
        raise RuleViolation(errors)
    return validity


def _period_errors(content: CertificateContent, validity: Validity, today_in_new_zealand: date) -> list[FieldError]:
    """The validity period's own rules: it has not ended by the day of submission (nobody could use the
    certificate), and it covers the day the goods depart."""
    issued, shipped = content.issue_date, content.transport.departure_date
    errors: list[FieldError] = []
    if validity.valid_until < today_in_new_zealand:
        # A retrospective certificate's year runs from shipment: the departure date is as much at fault as the
        # issue date, and either may be the one mistyped.
        since = (
            f"shipment on {shipped}, as it is issued retrospectively"
            if validity.retrospective
            else f"issue on {issued}"
        )
        message = (
            f"the certificate's validity ended on {validity.valid_until} (one year from {since}), before today "
            f"({today_in_new_zealand}): a certificate is submitted while it can still be used"
        )
        errors.append(FieldError("issue_date", message))
        if validity.retrospective:
            errors.append(FieldError("transport.departure_date", message))
    if not validity.covers(shipped):
        message = (
            f"the goods depart on {shipped}, after the certificate's validity ends on {validity.valid_until} (one "
            f"year from issue on {issued}): they depart while the certificate is valid"
        )
        errors += [FieldError("issue_date", message), FieldError("transport.departure_date", message)]
    return errors


def route_errors(transport: Transport) -> list[FieldError]:
    """What is wrong with box 4's route, field by field: the goods are loaded in New Zealand; they are discharged
    in China, or box 4 names the transit and a final port in China; every port of New Zealand or China is in
    UN/LOCODE (a port elsewhere, such as a transit in Hong Kong, is checked for its form only)."""
    errors: list[FieldError] = []
    loading, discharge, transit = transport.port_of_loading, transport.port_of_discharge, transport.transit
    if locode_country(loading) != EXPORTING_COUNTRY:
        errors.append(
            FieldError(
                "transport.port_of_loading",
                f"{loading} is not in New Zealand: the port of loading is where the goods leave New Zealand",
            )
        )
    else:
        errors += _unlisted("transport.port_of_loading", loading)
    if transit is None and locode_country(discharge) != IMPORTING_COUNTRY:
        errors.append(
            FieldError(
                "transport.port_of_discharge",
                f"{discharge} is not in China: every certificate under this FTA is for import into China, so the "
                "goods are discharged in China, or box 4 names the transit and the final port in China "
                "(transport.transit)",
            )
        )
    else:
        errors += _unlisted("transport.port_of_discharge", discharge)
    if transit is not None:
        for index, place in enumerate(transit.via):
            errors += _unlisted(f"transport.transit.via[{index}]", place)
        if locode_country(transit.final_port) != IMPORTING_COUNTRY:
            errors.append(
                FieldError(
                    "transport.transit.final_port",
                    f"{transit.final_port} is not in China: the final port is where the goods arrive in China",
                )
            )
        else:
            errors += _unlisted("transport.transit.final_port", transit.final_port)
    return errors


def _unlisted(field: str, code: str) -> list[FieldError]:
    try:
        check_listed_location(code)
    except ValueError as error:
        return [FieldError(field, str(error))]
    return []


def printed_remarks(content: CertificateContent, validity: Validity) -> str:
    """Box 6 as printed: the system's retrospective marking first, then what the issuing body wrote."""
    if not validity.retrospective:
        return content.remarks
    return f"{RETROSPECTIVE_REMARK}. {content.remarks}".strip() if content.remarks else RETROSPECTIVE_REMARK
