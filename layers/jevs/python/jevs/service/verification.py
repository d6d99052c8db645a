"""Verification of origin (DESIGN.md §3, §5): China Customs raises a request about a certificate it may see, the
certificate's issuing body or NZ Customs answers it (the answer delivered to China, signed, through the one
delivery channel), China closes it with its conclusion, and the overseer flags those left unanswered past their due
date. Each step is one commit: the request as it now stands, an event in the certificate's history, and, for an
answer, the message to China with its PENDING delivery.

An answer's documents go to the documents bucket before the commit, under a key made of the request and their
SHA-256: a commit that fails leaves an object nobody points to, and a retry writes the very same object again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from jevs.domain.access import certificate_view
from jevs.domain.china_message import verification_answered
from jevs.domain.errors import Conflict, NotFound
from jevs.domain.history import DetailValue, EventType
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.parties import Party, PartyType
from jevs.domain.records import CertificateRecord
from jevs.domain.verification import (
    Attachment,
    AttachmentLimits,
    AttachmentUpload,
    Conclusion,
    VerificationAnswer,
    VerificationClosure,
    VerificationRequest,
    VerificationStatus,
    checked_uploads,
)
from jevs.resources import verification_attachment_key
from jevs.service.certificates import stage_to_china, stored_certificate
from jevs.service.ports import ObjectStore
from jevs.service.retrying import decided_afresh
from jevs.service.unit_of_work import Refused, UnitOfWork, VerificationPage

MAX_PAGE_SIZE = 100
# Who flags a request overdue in the certificate's history: JEVS itself, on its schedule.
SYSTEM_ACTOR = "jevs"
# At most this many overdue requests are flagged per run of the overseer; the rest wait for the next.
OVERDUE_LIMIT = 500


def _new_id() -> str:
    return f"VR-{uuid.uuid4().hex[:16].upper()}"


def _stage_event(
    uow: UnitOfWork,
    certificate: CertificateRecord,
    type: EventType,
    *,
    at: datetime,
    actor: str,
    details: dict[str, DetailValue],
) -> CertificateRecord:
    """The certificate with the event in its history (staged), as it is after it."""
    change = certificate.changed(type, at=at, actor=actor, details=details)
    uow.certificates.change(change)
    return change.record


def _visible(party: Party, request_id: str, uow: UnitOfWork) -> VerificationRequest:
    request = uow.verification_requests.get(request_id)
    if request is None or not request.involves(party):
        raise NotFound(request_id)
    return request


def _certificate_of(request: VerificationRequest, uow: UnitOfWork) -> CertificateRecord:
    certificate = uow.certificates.get(request.certificate_number)
    assert certificate is not None, "a request is raised only about a stored certificate, which is never deleted"
    return certificate


# -- raising -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseVerification:
    party: Party
    certificate_number: str
    questions: list[str]
    # None: the default period the exporting Party has to reply (``reply_days``) from today in New Zealand.
    due_date: date | None
    reply_days: int


def raise_verification(command: RaiseVerification, uow: UnitOfWork) -> VerificationRequest:
    """China Customs asks about a certificate it may see (any other certificate: 404)."""
    party = command.party
    if party.type is not PartyType.CN_CUSTOMS:
        raise NotFound("verification requests")
    request_id = _new_id()
    return decided_afresh(lambda: _raise(command, request_id, uow))


def _raise(command: RaiseVerification, request_id: str, uow: UnitOfWork) -> VerificationRequest:
    party = command.party
    certificate = stored_certificate(
        command.certificate_number, uow, lambda found: certificate_view(party, found) is not None
    )
    now = uow.now()
    due_date = command.due_date or new_zealand_date(now) + timedelta(days=command.reply_days)
    request = VerificationRequest.raised(
        request_id=request_id,
        by=party,
        certificate_number=certificate.number,
        issuing_body=certificate.issuing_body,
        questions=command.questions,
        due_date=due_date,
        at=now,
    )
    uow.verification_requests.add(request)
    details: dict[str, DetailValue] = {"verification_id": request.id, "due_date": due_date.isoformat()}
    _stage_event(uow, certificate, EventType.VERIFICATION_REQUESTED, at=now, actor=party.id, details=details)
    uow.commit(answering=request)
    return request


# -- reading -------------------------------------------------------------------------------------------------


def read_verification(party: Party, request_id: str, uow: UnitOfWork) -> VerificationRequest:
    return _visible(party, request_id, uow)


@dataclass(frozen=True)
class ListVerifications:
    party: Party
    status: VerificationStatus | None
    limit: int
    cursor: str | None


def list_verifications(command: ListVerifications, uow: UnitOfWork) -> VerificationPage:
    """China Customs and NZ Customs list every request; an issuing body those about its certificates; anyone
    else none."""
    party = command.party
    limit = max(1, min(command.limit, MAX_PAGE_SIZE))
    if party.type in (PartyType.CN_CUSTOMS, PartyType.NZ_CUSTOMS):
        return uow.verification_requests.page(None, command.status, limit, command.cursor)
    if party.type is PartyType.ISSUING_BODY:
        return uow.verification_requests.page(party.id, command.status, limit, command.cursor)
    return VerificationPage([], None)


def attachment_of(party: Party, request_id: str, index: int, uow: UnitOfWork) -> Attachment:
    """The ``index``-th document of a request's answer, for those involved."""
    request = _visible(party, request_id, uow)
    attachments = request.answer.attachments if request.answer is not None else ()
    if not 0 <= index < len(attachments):
        raise NotFound(f"{request_id}/attachments/{index}")
    return attachments[index]


# -- answering -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerVerification:
    party: Party
    request_id: str
    text: str
    attachments: list[AttachmentUpload]
    limits: AttachmentLimits


def answer_verification(command: AnswerVerification, uow: UnitOfWork, documents: ObjectStore) -> VerificationRequest:
    """The certificate's issuing body or NZ Customs answers, once and before closure (else 409); the answer goes to
    China as ``verification.response``."""
    party = command.party
    request = _visible(party, command.request_id, uow)
    if not request.answerable_by(party):
        # The same 404 as for a request the party cannot see: only those who may answer are told it exists.
        raise NotFound(command.request_id)
    # Refused before any document is stored for an answer that would never be kept.
    request.check_answerable()
    checked = checked_uploads(command.attachments, command.limits)
    attachments = []
    for upload, (media_type, sha256) in zip(command.attachments, checked, strict=True):
        key = verification_attachment_key(request.id, sha256)
        documents.put(key, upload.content, media_type.value)
        attachments.append(
            Attachment(name=upload.name, media_type=media_type, size=len(upload.content), sha256=sha256, key=key)
        )
    return decided_afresh(lambda: _answer(command, tuple(attachments), uow))


def _answer(command: AnswerVerification, attachments: tuple[Attachment, ...], uow: UnitOfWork) -> VerificationRequest:
    party = command.party
    request = _visible(party, command.request_id, uow)
    now = uow.now()
    answered = request.answered(
        VerificationAnswer(text=command.text, attachments=attachments, answered_at=now, answered_by=party.id)
    )
    certificate = _certificate_of(request, uow)
    uow.verification_requests.replace(request, answered)
    details: dict[str, DetailValue] = {
        "verification_id": request.id,
        "attachments": len(attachments),
        "late": request.past_due(now),
    }
    after = _stage_event(uow, certificate, EventType.VERIFICATION_ANSWERED, at=now, actor=party.id, details=details)
    body = verification_answered(answered, certificate.version, after.history_head)
    stage_to_china(uow, body, history_of=certificate.number, at=now)
    uow.commit(answering=answered)
    return answered


# -- closing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseVerification:
    party: Party
    request_id: str
    conclusion: Conclusion
    text: str


def close_verification(command: CloseVerification, uow: UnitOfWork) -> VerificationRequest:
    """China Customs closes a request with its conclusion; closing twice is 409."""
    return decided_afresh(lambda: _close(command, uow))


def _close(command: CloseVerification, uow: UnitOfWork) -> VerificationRequest:
    party = command.party
    request = _visible(party, command.request_id, uow)
    if party.type is not PartyType.CN_CUSTOMS:
        raise NotFound(command.request_id)
    now = uow.now()
    closed = request.closed(
        VerificationClosure(conclusion=command.conclusion, text=command.text, closed_at=now, closed_by=party.id)
    )
    certificate = _certificate_of(request, uow)
    uow.verification_requests.replace(request, closed)
    details: dict[str, DetailValue] = {"verification_id": request.id, "conclusion": command.conclusion.value}
    _stage_event(uow, certificate, EventType.VERIFICATION_CLOSED, at=now, actor=party.id, details=details)
    uow.commit(answering=closed)
    return closed


# -- the overseer ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueReport:
    checked_at: datetime
    # Every request still unanswered after its due date, most overdue first, flagged now or before.
    overdue: tuple[VerificationRequest, ...]
    # Those this run flagged (as stored now).
    newly_flagged: tuple[VerificationRequest, ...]

    @property
    def count(self) -> int:
        return len(self.overdue)


def flag_overdue(uow: UnitOfWork, limit: int = OVERDUE_LIMIT) -> OverdueReport:
    """Every request still unanswered after its due date is flagged once (``overdue_since`` and a
    ``VERIFICATION_OVERDUE`` event), and all are reported so the alarm fires while any waits. One answered or
    closed between the read and the write is left as it is."""
    now = uow.now()
    overdue: list[VerificationRequest] = []
    flagged: list[VerificationRequest] = []
    for request in uow.verification_requests.unanswered_due_before(new_zealand_date(now), limit):
        if request.overdue_since is not None:
            overdue.append(request)
            continue
        try:
            updated = decided_afresh(partial(_flag, request.id, uow, now))
        except (Refused, Conflict):
            continue
        overdue.append(updated)
        flagged.append(updated)
    return OverdueReport(checked_at=now, overdue=tuple(overdue), newly_flagged=tuple(flagged))


def _flag(request_id: str, uow: UnitOfWork, now: datetime) -> VerificationRequest:
    request = uow.verification_requests.get(request_id)
    if request is None:
        raise Conflict("verification-gone", request_id)
    updated = request.flagged_overdue(now)
    uow.verification_requests.replace(request, updated)
    details: dict[str, DetailValue] = {"verification_id": request.id, "due_date": request.due_date.isoformat()}
    certificate = _certificate_of(request, uow)
    _stage_event(uow, certificate, EventType.VERIFICATION_OVERDUE, at=now, actor=SYSTEM_ACTOR, details=details)
    uow.commit()
    return updated
