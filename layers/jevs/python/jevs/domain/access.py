"""Who may see what (DESIGN.md §1). A party that may not see a certificate is told it does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jevs.domain.certificate import CertificateContent
from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.issuance import add_years
from jevs.domain.parties import Party, PartyType
from jevs.domain.records import CertificateRecord, CertificateStatus

# The China–New Zealand FTA entered into force on this day: no certificate under it is dated earlier.
FTA_IN_FORCE = date(2008, 10, 1)
# The widest issue-date range (``issued_from`` to ``issued_to``) a listing may ask for. A listing with no issuing
# body, exporter or importing country walks the issue years one query each, so the range bounds the work.
MAX_ISSUE_SPAN_YEARS = 20


@dataclass(frozen=True)
class ListingConstraints:
    """What a listing may return: the caller's visibility joined with its filters, all of which must hold."""

    issuing_body: str | None = None
    exporter_business_number: str | None = None
    importing_country: str | None = None
    status: CertificateStatus | None = None
    issued_from: date | None = None
    issued_to: date | None = None


def check_issue_span(filters: ListingConstraints) -> None:
    """Refuse an issue-date range wider than ``MAX_ISSUE_SPAN_YEARS`` (``RuleViolation`` naming ``issued_to``)."""
    issued_from, issued_to = filters.issued_from, filters.issued_to
    if issued_from is not None and issued_to is not None and issued_to > add_years(issued_from, MAX_ISSUE_SPAN_YEARS):
        message = f"at most {MAX_ISSUE_SPAN_YEARS} years after issued_from ({issued_from})"
        raise RuleViolation([FieldError("query.issued_to", message)])


def issue_years(filters: ListingConstraints, today_in_new_zealand: date) -> list[int]:
    """The years, newest first, a certificate matching ``filters`` can be dated in: none before the FTA entered
    into force, none after today (the rules of issue refuse a certificate dated later), whatever the filters ask."""
    issued_from = max(filters.issued_from or FTA_IN_FORCE, FTA_IN_FORCE)
    issued_to = min(filters.issued_to or today_in_new_zealand, today_in_new_zealand)
    return list(range(issued_to.year, issued_from.year - 1, -1))


class View(StrEnum):
    # Everything, commercial details included: the owning exporter and the issuing body.
    FULL = "FULL"
    # The FTA form's data elements only: customs administrations.
    FTA_FORM = "FTA_FORM"
    # State and dates, no content: operations staff.
    OPERATIONS = "OPERATIONS"


def owns(party: Party, record: CertificateRecord) -> bool:
    """The issuing body that issued it, or the exporter whose NZBN is box 1's."""
    if party.type is PartyType.ISSUING_BODY:
        return record.issuing_body == party.id
    if party.type is PartyType.EXPORTER:
        return record.exporter_business_number == party.business_number
    return False


def certificate_view(party: Party, record: CertificateRecord) -> View | None:
    """The projection ``party`` gets of ``record``, or None when it may not see it at all."""
    if owns(party, record):
        return View.FULL
    if party.type is PartyType.NZ_CUSTOMS:
        return View.FTA_FORM
    if party.type is PartyType.CN_CUSTOMS and record.importing_country == "CN":
        return View.FTA_FORM
    if party.type is PartyType.OPS:
        return View.OPERATIONS
    return None


def project_content(record: CertificateRecord, view: View) -> CertificateContent | None:
    """The certificate's data as ``view`` shows it."""
    if view is View.FULL:
        return record.content
    if view is View.FTA_FORM:
        return record.content.model_copy(update={"commercial": None})
    return None


def may_read_history(party: Party, record: CertificateRecord) -> bool:
    return owns(party, record) or party.type is PartyType.NZ_CUSTOMS


def visible_listing(party: Party, filters: ListingConstraints) -> ListingConstraints | None:
    """Narrow ``filters`` to what ``party`` may list; None when the two cannot both hold."""
    scope: dict[str, str] = {}
    if party.type is PartyType.ISSUING_BODY:
        scope["issuing_body"] = party.id
    elif party.type is PartyType.EXPORTER:
        assert party.business_number is not None  # guaranteed by Party's own validation
        scope["exporter_business_number"] = party.business_number
    elif party.type is PartyType.CN_CUSTOMS:
        scope["importing_country"] = "CN"
    fields = {
        "issuing_body": filters.issuing_body,
        "exporter_business_number": filters.exporter_business_number,
        "importing_country": filters.importing_country,
    }
    for name, required in scope.items():
        asked = fields[name]
        if asked is not None and asked != required:
            return None
        fields[name] = required
    return ListingConstraints(
        issuing_body=fields["issuing_body"],
        exporter_business_number=fields["exporter_business_number"],
        importing_country=fields["importing_country"],
        status=filters.status,
        issued_from=filters.issued_from,
        issued_to=filters.issued_to,
    )


def may_read_deliveries(party: Party, record: CertificateRecord) -> bool:
    """Delivery states to China: the issuing body that issued the certificate, and operations."""
    issued_it = party.type is PartyType.ISSUING_BODY and record.issuing_body == party.id
    return issued_it or party.type is PartyType.OPS


def may_read_matches(party: Party, record: CertificateRecord) -> bool:
    """The results of declarations that quoted a certificate: its owner (the exporter and the issuing body,
    DESIGN.md §1). Each customs reads its own declarations' results at /v1/declarations instead."""
    return owns(party, record)


def may_operate(party: Party) -> bool:
    """Redrive, replay, reconcile: operations only."""
    return party.type is PartyType.OPS


def may_decide_preference(party: Party, record: CertificateRecord) -> bool:
    """Box 5 is the importing customs' to fill in: China Customs, on a certificate it may see."""
    return party.type is PartyType.CN_CUSTOMS and certificate_view(party, record) is not None


def may_read_preferences(party: Party, record: CertificateRecord) -> bool:
    """The preference decisions on a certificate (DESIGN.md §1): its exporter and issuing body, NZ Customs, and China
    Customs, which made them. Operations staff see no commercial outcome."""
    if party.type is PartyType.CN_CUSTOMS:
        return may_decide_preference(party, record)
    return owns(party, record) or party.type is PartyType.NZ_CUSTOMS
