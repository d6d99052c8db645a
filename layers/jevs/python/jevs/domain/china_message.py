"""The message China Customs receives for one version of a certificate (DESIGN §1, §6.3): the FTA form's
data elements only, in bytes that are the same on every attempt, so a retry is the same request that
China's side deduplicates, and the signature covers exactly what is sent."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict

from jevs.domain.access import View, project_content
from jevs.domain.canonical import canonical_json
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, Discrepancy
from jevs.domain.issuance import Validity, printed_remarks
from jevs.domain.messages import certificate_delivery_key, result_delivery_key
from jevs.domain.records import CertificateRecord, CertificateStatus

MESSAGE_TYPE = "certificate.version"
RESULT_MESSAGE_TYPE = "declaration.result"


class Certification(BaseModel):
    """Box 15."""

    model_config = ConfigDict(frozen=True)

    issuing_body: str
    issuing_body_name: str
    place: str
    issue_date: date


class ChinaCertificateMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_type: str = MESSAGE_TYPE
    message_id: str
    certificate_number: str
    version: int
    status: CertificateStatus
    certification: Certification
    retrospective: bool
    valid_from: date
    valid_until: date
    printed_remarks: str
    issued_at: AwareDatetime
    # Boxes 1-4 and 6-13 exactly as the FTA form carries them: no commercial details.
    certificate: CertificateContent


def china_message(record: CertificateRecord) -> ChinaCertificateMessage:
    form = project_content(record, View.FTA_FORM)
    assert form is not None  # the FTA form view always has content
    validity = Validity(record.retrospective, record.valid_from, record.valid_until)
    return ChinaCertificateMessage(
        message_id=certificate_delivery_key(record.number, record.version),
        certificate_number=record.number,
        version=record.version,
        status=record.status,
        certification=Certification(
            issuing_body=record.issuing_body,
            issuing_body_name=record.issuing_body_name,
            place=record.place_of_issue,
            issue_date=record.content.issue_date,
        ),
        retrospective=record.retrospective,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        printed_remarks=printed_remarks(form, validity),
        issued_at=record.recorded_at,
        certificate=form,
    )


class ChinaResultMessage(BaseModel):
    """The match result of a CN import declaration, sent back to China Customs (DESIGN §4)."""

    model_config = ConfigDict(frozen=True)

    message_type: str = RESULT_MESSAGE_TYPE
    message_id: str
    declaration_number: str
    certificate_number: str
    # The certificate version the declaration was matched against; 0 when no certificate was found.
    version: int
    status: DeclarationStatus
    discrepancies: tuple[Discrepancy, ...]
    decided_at: AwareDatetime
    replacement_certificate_number: str | None = None


def china_result_message(declaration: DeclarationRecord, version: int) -> ChinaResultMessage:
    result = declaration.result
    if result is None:
        raise ValueError(f"declaration {declaration.id} has no result to send")
    return ChinaResultMessage(
        message_id=result_delivery_key(declaration.id),
        declaration_number=result.declaration_number,
        certificate_number=result.certificate_number,
        version=version,
        status=result.status,
        discrepancies=result.discrepancies,
        decided_at=result.decided_at,
        replacement_certificate_number=result.replacement_certificate_number,
    )


def message_body(message: ChinaCertificateMessage | ChinaResultMessage) -> bytes:
    """Canonical JSON without the null fields: the same bytes for the same version, every time."""
    return canonical_json(message.model_dump(mode="json", exclude_none=True))
