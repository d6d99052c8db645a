"""What JEVS makes for people and partners once a change is stored (DESIGN.md §2, §4), one use case per
notification: a certificate version's documents (its PDF in the documents bucket, NZ Customs' data file in the
exchange bucket, and for a certificate certified from a hosted application the email to the applicant with the
PDF attached), and an NZ export entry's match result filed for NZ Customs.

Each can run again without harm, because a notification may be delivered more than once (a retry, or
reconciliation queuing a version's documents again): object keys are business keys and their bytes are the same on
every run, and the email is sent only while the version's marker is absent; the marker is written after the send
succeeds. A run that ends between the send and the marker (a crash, a timeout) sends the email again on its retry:
a second copy of the same certificate is the lesser failure than a certificate never emailed. Once everything is
stored, the version's documents are noted made, which ends the open work reconciliation watches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from jevs.documents.certificate_email import certificate_email
from jevs.documents.certificate_pdf import render_certificate_pdf
from jevs.domain.china_message import message_body, version_issued
from jevs.domain.declarations import DeclarationRecord, result_document
from jevs.domain.errors import NotFound
from jevs.domain.messages import FileExportResult, MakeDocuments
from jevs.domain.records import CertificateRecord
from jevs.resources import (
    NZ_CUSTOMS_RESULTS_PREFIX,
    certificate_document_key,
    email_marker_key,
    nz_customs_certificate_key,
)
from jevs.service.ports import Mailer, ObjectStore
from jevs.service.unit_of_work import UnitOfWork, VersionKey

PDF_CONTENT_TYPE = "application/pdf"
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class DocumentOutlets:
    """Where a version's documents go, and what they carry."""

    documents: ObjectStore
    exchange: ObjectStore
    mailer: Mailer
    sender: str
    # The public API's base URL: the PDF's QR code opens its /v1/verify.
    verification_base_url: str


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
    """NZ Customs' file of the version: the FTA form's data elements with box 15, validity and printed remarks,
    exactly as China Customs receives them for the same version (no commercial details), in canonical JSON, so
    both administrations hold the same data and a rewrite gives the same bytes. Without China's history anchor:
    the head moves on after the version's issue, and the file is made (and made again) later."""
    return message_body(version_issued(record).model_copy(update={"history_head": None}))


def make_documents(command: MakeDocuments, uow: UnitOfWork, outlets: DocumentOutlets) -> DocumentsOutcome:
    """Make (again) the documents of a certificate version. Raises ``NotFound`` while the version cannot be read
    yet, or when its application is missing: the message is then retried, and dead-lettered in the end."""
    number, version = command.certificate_number, command.version
    record = uow.certificates.get(number)
    if record is None:
        raise NotFound(f"certificate {number} is not stored")
    if record.version > version:
        # Its documents can no longer be made (the record is the newer version's): nothing is left to do for it.
        _made(uow, number, version)
        return DocumentsOutcome(number, version, superseded=True)
    if record.version < version:
        raise NotFound(f"certificate {number} v{version}: the stored version is still {record.version}")

    pdf = render_certificate_pdf(record, verification_base_url=outlets.verification_base_url)
    document_key = certificate_document_key(number, version)
    outlets.documents.put(document_key, pdf, PDF_CONTENT_TYPE)
    data_file_key = nz_customs_certificate_key(number, version)
    outlets.exchange.put(data_file_key, nz_customs_data_file(record), JSON_CONTENT_TYPE)
    outcome = DocumentsOutcome(number, version, document_key=document_key, data_file_key=data_file_key)
    if record.application_id is not None:
        outcome = _emailed(record, pdf, outcome, uow, outlets)
    _made(uow, number, version)
    return outcome


def _made(uow: UnitOfWork, number: str, version: int) -> None:
    uow.certificates.documents_made(VersionKey(number, version))
    uow.commit()


def _emailed(
    record: CertificateRecord, pdf: bytes, outcome: DocumentsOutcome, uow: UnitOfWork, outlets: DocumentOutlets
) -> DocumentsOutcome:
    """The applicant of a hosted certificate emailed the version's PDF, once (the marker says whether it was)."""
    number, version = record.number, record.version
    assert record.application_id is not None  # only a hosted certificate has an applicant
    marker = email_marker_key(number, version)
    if outlets.documents.exists(marker):
        return replace(outcome, emailed_before=True)
    application = uow.applications.get(record.application_id)
    if application is None:
        raise NotFound(f"certificate {number}: its application {record.application_id} is not stored")
    raw = certificate_email(
        record, application, sender=outlets.sender, pdf=pdf, verification_base_url=outlets.verification_base_url
    )
    message_id = outlets.mailer.send(raw, sender=outlets.sender, recipient=application.applicant_email)
    # Ids and times only: the applicant's address is a signatory's contact detail (DESIGN.md §1).
    note = {
        "certificate_number": number,
        "version": version,
        "application_id": application.id,
        "message_id": message_id,
        "sent_at": uow.now().isoformat(),
    }
    outlets.documents.put(marker, json.dumps(note, sort_keys=True).encode(), JSON_CONTENT_TYPE)
    return replace(outcome, emailed_application=application.id)


def result_key(declaration_id: str) -> str:
    """Where NZ Customs finds the result of its export entry in the exchange bucket."""
    return f"{NZ_CUSTOMS_RESULTS_PREFIX}{declaration_id}.json"


def file_export_result(command: FileExportResult, uow: UnitOfWork, exchange: ObjectStore) -> DeclarationRecord:
    """The decided export entry's result, for NZ Customs (DESIGN.md §4: results go back to the declarant)."""
    declaration = uow.declarations.get(command.declaration_id)
    if declaration is None or declaration.result is None:
        raise NotFound(f"declaration {command.declaration_id} has no result to file")
    body = json.dumps(result_document(declaration), sort_keys=True).encode()
    exchange.put(result_key(declaration.id), body, JSON_CONTENT_TYPE)
    return declaration
