"""What China Customs receives (DESIGN.md §1, §5, §6.3): one message per event of a certificate's life, and the
result of each import declaration China lodged, each of a kind named in its signed body.

- ``certificate.issued``: a certificate is issued, a replacement included (with ``replaces``); China
  deduplicates it on ``<number>/v<version>``;
- ``certificate.copy_issued``: a certified true copy, a later version of the same certificate
  (``<number>/v<version>``);
- ``certificate.replaced``: the certificate was replaced, ``replaced_by`` its replacement (``<number>/replaced``);
- ``certificate.revoked``: the certificate was revoked (``<number>/revoked``);
- ``declaration.result``: an import declaration was decided, or decided again for a new revision or a certificate
  that arrived (``<declaration id>/result/<decision>``);
- ``verification.response``: New Zealand's answer to China's verification request about the certificate
  (``<number>/verification/<request id>``): the text, and each document's name, type, size and SHA-256 (the bytes
  are too large for a message: China reads them from the API, and the signed digest binds them).

A message is made once, when the change it tells of is stored, and kept with its delivery: every attempt sends
the same bytes (canonical JSON, null fields left out), so a retry is the same request China's side recognises,
and the signature covers exactly what is sent. The FTA form's data elements only: no commercial details.

Every message about a certificate carries ``history_head``: where the certificate's history ended once the change
it tells of was stored (sequence and hash). China keeps it, so an anchor of every certificate's history lies
outside JEVS's table: a history later rewritten with every hash recomputed no longer passes through it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.access import View, project_content
from jevs.domain.canonical import canonical_json
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, Discrepancy
from jevs.domain.history import ChainHead
from jevs.domain.records import CertificateRecord, CertificateStatus
from jevs.domain.verification import VerificationRequest


def certificate_delivery_key(certificate_number: str, version: int) -> str:
    return f"{certificate_number}/v{version}"


def result_delivery_key(declaration_id: str, decision: int) -> str:
    return f"{declaration_id}/result/{decision}"


def verification_delivery_key(certificate_number: str, request_id: str) -> str:
    return f"{certificate_number}/verification/{request_id}"


class _ToChina(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    message_id: str
    # The certificate's history head once the change this message tells of was stored (None: no certificate).
    history_head: ChainHead | None = None


class Certification(BaseModel):
    """Box 15."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    issuing_body: str
    issuing_body_name: str
    place: str
    issue_date: date


class ChinaCertificateMessage(_ToChina):
    """A version of a certificate as issued: a new certificate (perhaps replacing another) or a certified true
    copy of one."""

    message_type: Literal["certificate.issued", "certificate.copy_issued"]
    certificate_number: str
    version: int
    # At the moment of this version's issue, which is what this message tells of.
    status: CertificateStatus
    certification: Certification
    retrospective: bool
    valid_from: date
    valid_until: date
    printed_remarks: str
    issued_at: AwareDatetime
    replaces: str | None = None
    certified_true_copy_of: str | None = None
    # Boxes 1-4 and 6-13 exactly as the FTA form carries them: no commercial details.
    certificate: CertificateContent


class ChinaReplacedMessage(_ToChina):
    message_type: Literal["certificate.replaced"] = "certificate.replaced"
    certificate_number: str
    # The certificate's latest version, which the replacement supersedes.
    version: int
    replaced_by: str
    reason: str
    replaced_at: AwareDatetime


class ChinaRevokedMessage(_ToChina):
    message_type: Literal["certificate.revoked"] = "certificate.revoked"
    certificate_number: str
    # The certificate's latest version, which the revocation withdraws.
    version: int
    reason: str
    revoked_at: AwareDatetime


class ChinaResultMessage(_ToChina):
    """The match result of a CN import declaration, sent back to China Customs (DESIGN.md §4)."""

    message_type: Literal["declaration.result"] = "declaration.result"
    declaration_number: str
    # Which revision of the declaration was decided, and the how-many-th decision of it this is.
    revision: int
    decision: int
    certificate_number: str
    # The certificate version the declaration was matched against; 0 when no certificate was found.
    version: int
    status: DeclarationStatus
    discrepancies: tuple[Discrepancy, ...]
    decided_at: AwareDatetime
    replacement_certificate_number: str | None = None


class AttachmentDigest(BaseModel):
    """A document of a verification answer as China receives it: what it is, and the digest its bytes have."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    name: str
    media_type: str
    size: int
    sha256: str


class ChinaVerificationResponseMessage(_ToChina):
    """New Zealand's answer to a verification request China raised (DESIGN.md §3)."""

    message_type: Literal["verification.response"] = "verification.response"
    verification_id: str
    certificate_number: str
    # The certificate's version when it was answered.
    version: int
    due_date: date
    text: str
    attachments: tuple[AttachmentDigest, ...]
    answered_by: str
    answered_at: AwareDatetime


ChinaMessage = Annotated[
    ChinaCertificateMessage
    | ChinaReplacedMessage
    | ChinaRevokedMessage
    | ChinaResultMessage
    | ChinaVerificationResponseMessage,
    Field(discriminator="message_type"),
]


def version_issued(record: CertificateRecord) -> ChinaCertificateMessage:
    """The message of ``record``'s current version, just issued."""
    form = project_content(record, View.FTA_FORM)
    assert form is not None  # the FTA form view always has content
    return ChinaCertificateMessage(
        message_type="certificate.copy_issued" if record.certified_true_copy_of else "certificate.issued",
        message_id=certificate_delivery_key(record.number, record.version),
        certificate_number=record.number,
        version=record.version,
        status=CertificateStatus.ISSUED,
        certification=Certification(
            issuing_body=record.issuing_body,
            issuing_body_name=record.issuing_body_name,
            place=record.place_of_issue,
            issue_date=record.content.issue_date,
        ),
        retrospective=record.retrospective,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        printed_remarks=record.printed_remarks,
        issued_at=record.recorded_at,
        replaces=record.replaces,
        certified_true_copy_of=record.certified_true_copy_of,
        certificate=form,
        history_head=record.history_head,
    )


def replaced(record: CertificateRecord, reason: str, at: datetime) -> ChinaReplacedMessage:
    """The message that ``record`` (as stored after its replacement) was replaced."""
    assert record.replaced_by is not None
    return ChinaReplacedMessage(
        message_id=f"{record.number}/replaced",
        certificate_number=record.number,
        version=record.version,
        replaced_by=record.replaced_by,
        reason=reason,
        replaced_at=at,
        history_head=record.history_head,
    )


def revoked(record: CertificateRecord, at: datetime) -> ChinaRevokedMessage:
    """The message that ``record`` (as stored after its revocation) was revoked."""
    assert record.revocation_reason is not None
    return ChinaRevokedMessage(
        message_id=f"{record.number}/revoked",
        certificate_number=record.number,
        version=record.version,
        reason=record.revocation_reason,
        revoked_at=at,
        history_head=record.history_head,
    )


def decided(declaration: DeclarationRecord, version: int, head: ChainHead | None = None) -> ChinaResultMessage:
    """The message of ``declaration``'s latest decision; ``head`` is its certificate's history head with the
    decision recorded (None when no certificate was found)."""
    result = declaration.result
    if result is None:
        raise ValueError(f"declaration {declaration.id} has no result to send")
    return ChinaResultMessage(
        message_id=result_delivery_key(declaration.id, declaration.decision),
        declaration_number=result.declaration_number,
        revision=declaration.revision,
        decision=declaration.decision,
        certificate_number=result.certificate_number,
        version=version,
        status=result.status,
        discrepancies=result.discrepancies,
        decided_at=result.decided_at,
        replacement_certificate_number=result.replacement_certificate_number,
        history_head=head,
    )


def verification_answered(
    request: VerificationRequest, version: int, head: ChainHead | None = None
) -> ChinaVerificationResponseMessage:
    """The message of ``request``'s answer, as stored; ``head`` is its certificate's history head with the answer
    recorded."""
    answer = request.answer
    if answer is None:
        raise ValueError(f"verification request {request.id} has no answer to send")
    return ChinaVerificationResponseMessage(
        message_id=verification_delivery_key(request.certificate_number, request.id),
        verification_id=request.id,
        certificate_number=request.certificate_number,
        version=version,
        due_date=request.due_date,
        text=answer.text,
        attachments=tuple(
            AttachmentDigest(name=each.name, media_type=each.media_type.value, size=each.size, sha256=each.sha256)
            for each in answer.attachments
        ),
        answered_by=answer.answered_by,
        answered_at=answer.answered_at,
        history_head=head,
    )


def message_body(
    message: ChinaCertificateMessage
    | ChinaReplacedMessage
    | ChinaRevokedMessage
    | ChinaResultMessage
    | ChinaVerificationResponseMessage,
) -> bytes:
    """Canonical JSON without the null fields: the same bytes for the same message, every time."""
    return canonical_json(message.model_dump(mode="json", exclude_none=True))
