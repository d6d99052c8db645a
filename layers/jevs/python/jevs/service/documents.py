"""What JEVS makes for people and partners once a change is stored (DESIGN.md §2, §4), one use case per
notification: a certificate version's documents (its PDF in the documents bucket, NZ Customs' data file in the
exchange bucket, and for a certificate certified from a hosted application the email to the applicant with the
PDF attached), and an NZ export entry's match result filed for NZ Customs.

Each can run again without harm, because a notification may be delivered more than once (a retry, or
reconciliation queuing a version's documents again): object keys are business keys and their bytes are the same on
every run, and the applicant's email of a version is sent once in effect: a run claims the version's marker
(``sent/<number>/v<version>.json``, created only if absent) before it sends, and a run that finds the marker
claimed does not send (see ``_claim``). Once everything is stored, the version's documents are noted made, which
ends the open work reconciliation watches.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from jevs.domain.china_message import message_body, version_issued
from jevs.domain.declarations import DeclarationRecord, result_document
from jevs.domain.errors import NotFound, RetryableFailure
from jevs.domain.messages import FileExportResult, MakeDocuments
from jevs.domain.records import CertificateRecord
from jevs.resources import (
    NOTIFIER_FUNCTION,
    NZ_CUSTOMS_RESULTS_PREFIX,
    certificate_document_key,
    email_marker_key,
    nz_customs_certificate_key,
)
from jevs.service.ports import ConditionalStore, Mailer, MailNotSent, ObjectStore
from jevs.service.unit_of_work import UnitOfWork, VersionKey

PDF_CONTENT_TYPE = "application/pdf"
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class DocumentOutlets:
    """Where a version's documents go, and what they carry."""

    # Holds the PDFs and the emails' markers, which are claimed by a conditional write.
    documents: ConditionalStore
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
    # A hosted certificate whose email an earlier run sent, or claimed (the marker was there).
    emailed_before: bool = False
    # An earlier run claimed the email and stopped before SES answered: it may or may not have gone out, and it is
    # not sent again (see ``_claim``). The notifier logs it for operations (docs/runbook.md).
    email_in_doubt: bool = False


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

    # Imported here: the PDF stack (reportlab, Pillow, the font) is in the notifier's Lambda layers only, and every
    # function's composition root imports this module (README "Packaging"); reportlab is also the heaviest
    # import JEVS has, a cold start's cost for every function that only names DocumentOutlets.
    from jevs.documents.certificate_pdf import render_certificate_pdf

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
    """The applicant of a hosted certificate emailed the version's PDF, once in effect (the marker's claim)."""
    number, version = record.number, record.version
    assert record.application_id is not None  # only a hosted certificate has an applicant
    application = uow.applications.get(record.application_id)
    if application is None:
        raise NotFound(f"certificate {number}: its application {record.application_id} is not stored")
    from jevs.documents.certificate_email import certificate_email  # with the PDF stack (above)

    raw = certificate_email(
        record, application, sender=outlets.sender, pdf=pdf, verification_base_url=outlets.verification_base_url
    )
    marker = email_marker_key(number, version)
    # Ids and times only: the applicant's address is a signatory's contact detail (DESIGN.md §1).
    note = {"certificate_number": number, "version": version, "application_id": application.id}
    claim = _claim(outlets.documents, marker, note, uow.now())
    if claim is Claim.SENT:
        return replace(outcome, emailed_before=True)
    if claim is Claim.IN_DOUBT:
        return replace(outcome, emailed_before=True, email_in_doubt=True)
    assert isinstance(claim, Claimed)
    try:
        message_id = outlets.mailer.send(raw, sender=outlets.sender, recipient=application.applicant_email)
    except MailNotSent:
        # SES did not take it: the claim is released, and the message's retry sends it.
        _write_marker(outlets.documents, marker, note | {"state": MarkerState.RELEASED}, claim)
        raise
    # Sent: a failure from here on (this write, a crash) leaves the claim, so no retry sends it again.
    sent = note | {"state": MarkerState.SENT, "message_id": message_id, "sent_at": uow.now().isoformat()}
    _write_marker(outlets.documents, marker, sent, claim)
    return replace(outcome, emailed_application=application.id)


# A run holding a claim cannot outlive its invocation: past the notifier's timeout, a claim still "sending" was
# left by a run that stopped (a crash, a timeout) before it knew whether SES took the email.
CLAIM_LEASE = timedelta(seconds=NOTIFIER_FUNCTION.timeout_seconds)


class MarkerState(StrEnum):
    SENDING = "sending"  # claimed by a run that is sending, or stopped while it did
    SENT = "sent"
    RELEASED = "released"  # SES did not take it: the next run may claim it


class Claim(Enum):
    """Why this run does not send the email."""

    SENT = "sent"
    IN_DOUBT = "in doubt"


@dataclass(frozen=True)
class Claimed:
    """This run holds the claim: it sends, and only it writes the marker, while it has this ETag."""

    etag: str


def _claim(documents: ConditionalStore, marker: str, note: dict[str, object], now: datetime) -> Claimed | Claim:
    """Claim the version's email: ``Claimed`` when this run holds the claim and sends; ``Claim.SENT`` when an
    earlier run sent it; ``Claim.IN_DOUBT`` when one claimed it and stopped before SES answered. Raises
    ``RetryableFailure`` while another run may be sending it now (the message comes back and finds out).

    Why not send again when in doubt: SES v2's SendEmail has no idempotency token, so JEVS cannot ask SES whether
    it took the email. The claim is written before the send, and a claim never released means "perhaps sent":
    once in effect, not at least once. What remains is a run that claims, then stops before SES answers (a crash, or
    an answer lost on the way back): if SES had not taken it, the applicant gets no email. The notifier logs it
    (``email in doubt``), the PDF is in the documents bucket, and the runbook says how to send it again.
    """
    token = uuid.uuid4().hex
    claiming = json.dumps(
        note | {"state": MarkerState.SENDING, "claimed_at": now.isoformat(), "claim": token}, sort_keys=True
    ).encode()
    etag = documents.create(marker, claiming, JSON_CONTENT_TYPE)
    if etag is not None:
        return Claimed(etag)
    found = documents.read(marker)
    if found is None:
        raise RetryableFailure(f"{marker} was there a moment ago and is gone: claim it on the next run")
    held = json.loads(found.body)
    # Markers written before claims existed hold no state: they were written once the email went out.
    state = held.get("state", MarkerState.SENT)
    if state == MarkerState.SENT:
        return Claim.SENT
    if state == MarkerState.RELEASED:
        taken = documents.swap(marker, claiming, JSON_CONTENT_TYPE, found.etag)
        if taken is None:
            raise RetryableFailure(f"{marker} was claimed by another run meanwhile")
        return Claimed(taken)
    if held.get("claim") == token:
        # Our own claim, written though its answer was lost and the request repeated.
        return Claimed(found.etag)
    if now - datetime.fromisoformat(held["claimed_at"]) < CLAIM_LEASE:
        raise RetryableFailure(f"{marker} is claimed by a run that may be sending it now")
    return Claim.IN_DOUBT


def _write_marker(documents: ConditionalStore, marker: str, content: dict[str, object], claim: Claimed) -> None:
    """Replace this run's claim; the condition (the claim's ETag) holds, as no other run writes a claimed marker."""
    documents.swap(marker, json.dumps(content, sort_keys=True).encode(), JSON_CONTENT_TYPE, claim.etag)


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
