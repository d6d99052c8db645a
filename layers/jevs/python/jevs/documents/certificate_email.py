"""The email that takes a certified certificate to its applicant (DESIGN.md §2, hosted issuing): a short text naming
the certificate, and its PDF attached, as raw MIME ready for SES."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from jevs.documents.printed import verification_url
from jevs.domain.applications import Application
from jevs.domain.records import CertificateRecord


def attachment_name(number: str) -> str:
    return f"certificate-{number}.pdf"


def certificate_email(
    record: CertificateRecord, application: Application, *, sender: str, pdf: bytes, verification_base_url: str
) -> bytes:
    """The email to the applicant: a short text naming the certificate, and the PDF attached. Raw MIME (CRLF
    line ends), ready for SES."""
    form = record.content
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr(("JEVS certificates of origin", sender))
    message["To"] = application.applicant_email
    message["Subject"] = f"Certificate of origin {record.number} certified"
    lines = [
        "Kia ora,",
        "",
        f"Your application {application.id} has been certified by {record.issuing_body_name}.",
        "",
        f"Certificate of origin: {record.number} (version {record.version})",
        "Agreement: China-New Zealand Free Trade Agreement",
        f"Exporter: {form.exporter.name}",
        f"Consignee: {form.consignee.name}",
        f"Issued: {form.issue_date.isoformat()} in {record.place_of_issue}",
        f"Valid until: {record.valid_until.isoformat()}",
        "",
        f"The certificate is attached as {attachment_name(record.number)}. Anyone holding it can check it at:",
        verification_url(verification_base_url, record),
        "",
        "This message was sent by JEVS, the Joint Electronic Verification System; please do not reply to it.",
    ]
    # Quoted-printable keeps the message 7-bit whatever the names hold (macrons, Chinese characters).
    message.set_content("\n".join(lines), cte="quoted-printable")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=attachment_name(record.number))
    return message.as_bytes()
