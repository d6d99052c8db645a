"""What a certificate's paper prints, as data (DESIGN.md §2): the FTA form's data elements (never the commercial
block), the number and version, box 15's certification, the printed remarks, the validity and any lifecycle marks.

Its digest travels in the QR code's verification URL, so the public verification endpoint (the API) can tell
whether a paper in someone's hand still says what JEVS certified, and the PDF (``certificate_pdf``, the notifier)
is drawn from exactly this data. Apart from the drawing, so the API reads it without the PDF stack, which only the
notifier's Lambda layers hold (README "Packaging").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from jevs.domain.access import View, project_content
from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.issuance import Validity, printed_remarks
from jevs.domain.records import CertificateRecord


@dataclass(frozen=True)
class Printed:
    """Everything the paper shows, in one place: ``printed_data`` and the drawing both read it."""

    number: str
    version: int
    # The FTA form's data elements (View.FTA_FORM): no commercial details.
    form: CertificateContent
    issuing_body_name: str
    place_of_issue: str
    issue_date: date
    remarks: str
    validity: Validity
    # What the paper says of the certificate's place in its life (DESIGN.md §2, §3): under the number, at the top of
    # box 6 and in every page's footer.
    marks: tuple[str, ...]


def read_printed(record: CertificateRecord) -> Printed:
    form = project_content(record, View.FTA_FORM)
    assert form is not None  # the FTA form view always has content
    validity = Validity(record.retrospective, record.valid_from, record.valid_until)
    return Printed(
        number=record.number,
        version=record.version,
        form=form,
        issuing_body_name=record.issuing_body_name,
        place_of_issue=record.place_of_issue,
        issue_date=form.issue_date,
        remarks=printed_remarks(form, validity),
        validity=validity,
        marks=record.lifecycle_marks,
    )


def _data(printed: Printed) -> dict[str, object]:
    data: dict[str, object] = {
        "certificate_number": printed.number,
        "version": printed.version,
        # Absent and null are the same on paper: an optional field added to the form later leaves the digest
        # of every certificate already printed as it was.
        "form": printed.form.model_dump(mode="json", exclude={"commercial"}, exclude_none=True),
        "certification": {
            "issuing_body_name": printed.issuing_body_name,
            "place_of_issue": printed.place_of_issue,
            "issue_date": printed.issue_date.isoformat(),
        },
        "printed_remarks": printed.remarks,
        "validity": {
            "retrospective": printed.validity.retrospective,
            "valid_from": printed.validity.valid_from.isoformat(),
            "valid_until": printed.validity.valid_until.isoformat(),
        },
    }
    # Only when there are any: the digest of every certificate printed before the marks existed stays as it was.
    if printed.marks:
        data["lifecycle_marks"] = list(printed.marks)
    return data


def printed_data(record: CertificateRecord) -> dict[str, object]:
    """Exactly what the PDF prints, as JSON-ready data: boxes 1 to 13 of the FTA form (no commercial
    details), the number and version, box 15 (issuing body's name, place, date), the printed remarks (with
    ``ISSUED RETROSPECTIVELY`` when so issued), the validity, and any lifecycle marks (``lifecycle_marks``:
    printed under the number and in box 6, above the remarks)."""
    return _data(read_printed(record))


def printed_digest(record: CertificateRecord) -> str:
    """SHA-256 (lowercase hex) of the canonical JSON of ``printed_data``: what the QR code's URL carries."""
    return digest(printed_data(record))


def verification_url(base_url: str, record: CertificateRecord) -> str:
    """The public verification URL of ``record``, with the digest of what its paper prints."""
    return f"{verify_at(base_url, record.number)}?digest={printed_digest(record)}"


def verify_at(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/v1/verify/{quote(number, safe='')}"
