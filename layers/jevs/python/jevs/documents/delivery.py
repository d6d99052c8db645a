"""The documents of one certificate version (DESIGN §2, issue 6), made when the version is issued: its PDF in
the documents bucket, NZ Customs' data file in the exchange bucket, and for a certificate certified from a
hosted application, an email to the applicant with the PDF attached.

Each step can run again without harm, because a notification may be delivered more than once: the objects'
keys are the version's business key and their bytes are the same on every run, and the email is sent only
while the version's marker is absent; the marker is written after the send succeeds. A run that ends between
the send and the marker (a crash, a timeout) sends the email again on its retry: that window is one S3 write,
and a second copy of the same certificate is the lesser failure than a certificate never emailed.

No AWS here: the bucket and the mail service are ports (``jevs.adapters.documents`` implements them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from typing import Protocol

from jevs.documents.certificate_pdf import render_certificate_pdf, verification_url
from jevs.domain.applications import Application
from jevs.domain.china_message import china_message, message_body
from jevs.domain.errors import NotFound
from jevs.domain.ports import Clock
from jevs.domain.records import CertificateRecord
from jevs.resources import certificate_document_key, email_marker_key, nz_customs_certificate_key

PDF_CONTENT_TYPE = "application/pdf"
JSON_CONTENT_TYPE = "application/json"


class Records(Protocol):
    """What reading a version's documents needs of the record store."""

    def get_certificate(self, number: str) -> CertificateRecord | None: ...

    def get_application(self, application_id: str) -> Application | None: ...


class ObjectStore(Protocol):
    """One bucket: objects put under a key, and whether a key holds one."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class Mailer(Protocol):
    def send(self, raw: bytes, *, sender: str, recipient: str) -> str:
        """Send a MIME message as it is; the mail service's message id."""
        ...


@dataclass(frozen=True)
class DocumentsOutcome:
    number: str
    version: int
    # A newer version was issued before this message was handled: its own message makes its documents.
    superseded: bool = False
    document_key: str | None = None
    data_file_key: str | None = None
    # The application whose applicant was emailed by this run; None when not hosted or emailed before.
    emailed_application: str | None = None
    # A hosted certificate whose email an earlier run sent (the marker was there).
    emailed_before: bool = False


def nz_customs_data_file(record: CertificateRecord) -> bytes:
    """NZ Customs' file of the version: the FTA form's data elements with box 15, validity and printed
    remarks, exactly as China Customs receives them for the same version (no commercial details), in
    canonical JSON, so both administrations hold the same data and a rewrite gives the same bytes."""
    return message_body(china_message(record))


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


def deliver_documents(
    number: str,
    version: int,
    *,
    records: Records,
    documents: ObjectStore,
    exchange: ObjectStore,
    mailer: Mailer,
    clock: Clock,
    sender: str,
    verification_base_url: str,
) -> DocumentsOutcome:
    """Make (again) the documents of ``number``'s ``version``. Raises ``NotFound`` while the version cannot be
    read yet, or when its application is missing: the message is then retried, and dead-lettered in the end."""
    record = records.get_certificate(number)
    if record is None:
        raise NotFound(f"certificate {number} is not stored")
    if record.version > version:
        return DocumentsOutcome(number, version, superseded=True)
    if record.version < version:
        raise NotFound(f"certificate {number} v{version}: the stored version is still {record.version}")

    pdf = render_certificate_pdf(record, verification_base_url=verification_base_url)
    document_key = certificate_document_key(number, version)
    documents.put(document_key, pdf, PDF_CONTENT_TYPE)
    data_file_key = nz_customs_certificate_key(number, version)
    exchange.put(data_file_key, nz_customs_data_file(record), JSON_CONTENT_TYPE)
    outcome = DocumentsOutcome(number, version, document_key=document_key, data_file_key=data_file_key)
    if record.application_id is None:
        return outcome

    marker = email_marker_key(number, version)
    if documents.exists(marker):
        return replace(outcome, emailed_before=True)
    application = records.get_application(record.application_id)
    if application is None:
        raise NotFound(f"certificate {number}: its application {record.application_id} is not stored")
    raw = certificate_email(record, application, sender=sender, pdf=pdf, verification_base_url=verification_base_url)
    message_id = mailer.send(raw, sender=sender, recipient=application.applicant_email)
    # Ids and times only: the applicant's address is a signatory's contact detail (DESIGN §1).
    note = {
        "certificate_number": number,
        "version": version,
        "application_id": application.id,
        "message_id": message_id,
        "sent_at": clock.now().isoformat(),
    }
    documents.put(marker, json.dumps(note, sort_keys=True).encode(), JSON_CONTENT_TYPE)
    return replace(outcome, emailed_application=application.id)
