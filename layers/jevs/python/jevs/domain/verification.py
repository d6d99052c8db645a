"""Verification of origin (DESIGN.md §3): China Customs asks New Zealand to verify the origin of the goods on a
certificate, by a due date; the certificate's issuing body (or NZ Customs) answers with text and documents; China
closes the request with its conclusion. ``OPEN`` → ``ANSWERED`` → ``CLOSED``; a request still unanswered once its
due date has passed is flagged overdue (it stays ``OPEN``: a late answer is still an answer China may weigh).

Who may do what is decided here from the party, never from the request's body: China Customs raises and closes;
the certificate's issuing body and NZ Customs answer; those three read it, and nobody else learns it exists.

An answer's documents are checked here by their bytes (PDF, PNG or JPEG by their magic numbers, whatever type is
declared) and their sizes; the bytes themselves are stored in the documents bucket, never in the records table,
which keeps each document's name, media type, size, SHA-256 and key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.errors import Conflict, FieldError, RuleViolation, TooLarge
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.parties import Party, PartyType


class VerificationStatus(StrEnum):
    OPEN = "OPEN"
    ANSWERED = "ANSWERED"
    CLOSED = "CLOSED"


class Conclusion(StrEnum):
    ORIGIN_CONFIRMED = "ORIGIN_CONFIRMED"
    ORIGIN_NOT_CONFIRMED = "ORIGIN_NOT_CONFIRMED"


class MediaType(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"


# How each accepted type's bytes begin: a declared type is believed only when the bytes agree.
_MAGIC: dict[MediaType, bytes] = {
    MediaType.PDF: b"%PDF-",
    MediaType.PNG: b"\x89PNG\r\n\x1a\n",
    MediaType.JPEG: b"\xff\xd8\xff",
}

MAX_QUESTIONS = 20
MAX_ATTACHMENTS = 10


def sniffed_media_type(content: bytes) -> MediaType | None:
    """The accepted type ``content``'s first bytes show, or None."""
    return next((media_type for media_type, magic in _MAGIC.items() if content.startswith(magic)), None)


@dataclass(frozen=True)
class AttachmentLimits:
    """How large an answer's documents may be, each and together (decoded bytes)."""

    per_attachment_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class AttachmentUpload:
    """A document as the answering party sends it (decoded)."""

    name: str
    media_type: str
    content: bytes


class Attachment(BaseModel):
    """A document of an answer as the records keep it: the bytes are in the documents bucket under ``key``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    name: str
    media_type: MediaType
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    key: str


def checked_uploads(uploads: list[AttachmentUpload], limits: AttachmentLimits) -> list[tuple[MediaType, str]]:
    """Each upload's type and SHA-256 once its bytes are what it says and within the limits. Raises ``TooLarge``
    (one document or all of them over the limit) or ``RuleViolation`` (a type not accepted, bytes of another
    type, an empty document, too many)."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise RuleViolation([FieldError("attachments", f"at most {MAX_ATTACHMENTS} attachments")])
    for index, upload in enumerate(uploads):
        if len(upload.content) > limits.per_attachment_bytes:
            raise TooLarge(
                f"attachments[{index}]",
                f"attachment {upload.name!r} is {len(upload.content)} bytes; each may be at most "
                f"{limits.per_attachment_bytes}",
            )
    total = sum(len(upload.content) for upload in uploads)
    if total > limits.total_bytes:
        raise TooLarge("attachments", f"the attachments are {total} bytes together; at most {limits.total_bytes}")
    errors: list[FieldError] = []
    checked: list[tuple[MediaType, str]] = []
    for index, upload in enumerate(uploads):
        where = f"attachments[{index}]"
        try:
            declared = MediaType(upload.media_type)
        except ValueError:
            accepted = ", ".join(MediaType)
            errors.append(FieldError(f"{where}.media_type", f"one of {accepted}"))
            continue
        if not upload.content:
            errors.append(FieldError(f"{where}.content_base64", "an attachment has content"))
            continue
        found = sniffed_media_type(upload.content)
        if found is not declared:
            shown = found.value if found else "no accepted type"
            message = f"declared {declared.value}, but the bytes are {shown}"
            errors.append(FieldError(f"{where}.content_base64", message))
            continue
        checked.append((declared, hashlib.sha256(upload.content).hexdigest()))
    if errors:
        raise RuleViolation(errors)
    return checked


class VerificationAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    text: str
    attachments: tuple[Attachment, ...] = ()
    answered_at: AwareDatetime
    # The party id of who answered: the issuing body or NZ Customs.
    answered_by: str


class VerificationClosure(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    conclusion: Conclusion
    text: str
    closed_at: AwareDatetime
    closed_by: str


class VerificationRequest(BaseModel):
    """One request to verify the origin of a certificate's goods, and where it stands."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    id: str
    certificate_number: str
    # The issuing body of the certificate: it answers, and reads the request.
    issuing_body: str
    requested_by: str
    questions: tuple[str, ...]
    due_date: date
    raised_at: AwareDatetime
    status: VerificationStatus = VerificationStatus.OPEN
    # When the overseer found the due date passed with no answer; None while in time (or answered in time).
    overdue_since: AwareDatetime | None = None
    answer: VerificationAnswer | None = None
    closure: VerificationClosure | None = None
    # Counts the changes stored: each change is conditioned on the one it was decided from.
    revision: int = Field(default=1, ge=1)

    @classmethod
    def raised(
        cls,
        *,
        request_id: str,
        by: Party,
        certificate_number: str,
        issuing_body: str,
        questions: list[str],
        due_date: date,
        at: datetime,
    ) -> VerificationRequest:
        """A new request from China Customs. Raises ``RuleViolation`` for no questions (or too many) or a due
        date that is not after today (in New Zealand, where it is answered)."""
        errors: list[FieldError] = []
        if not questions:
            errors.append(FieldError("questions", "at least one question"))
        elif len(questions) > MAX_QUESTIONS:
            errors.append(FieldError("questions", f"at most {MAX_QUESTIONS} questions"))
        errors.extend(
            FieldError(f"questions[{index}]", "a question is not empty")
            for index, question in enumerate(questions)
            if not question.strip()
        )
        today = new_zealand_date(at)
        if due_date <= today:
            errors.append(FieldError("due_date", f"after today ({today.isoformat()}, New Zealand)"))
        if errors:
            raise RuleViolation(errors)
        return cls(
            id=request_id,
            certificate_number=certificate_number,
            issuing_body=issuing_body,
            requested_by=by.id,
            questions=tuple(questions),
            due_date=due_date,
            raised_at=at,
        )

    # -- who may do what ---------------------------------------------------------------------------------------

    def involves(self, party: Party) -> bool:
        """China Customs, NZ Customs, and the issuing body of the certificate: nobody else sees it."""
        return party.type in (PartyType.CN_CUSTOMS, PartyType.NZ_CUSTOMS) or (
            party.type is PartyType.ISSUING_BODY and party.id == self.issuing_body
        )

    def answerable_by(self, party: Party) -> bool:
        return party.type is PartyType.NZ_CUSTOMS or (
            party.type is PartyType.ISSUING_BODY and party.id == self.issuing_body
        )

    # -- state ---------------------------------------------------------------------------------------------------

    @property
    def overdue(self) -> bool:
        return self.overdue_since is not None and self.status is VerificationStatus.OPEN

    def past_due(self, at: datetime) -> bool:
        """Unanswered after its due date (the due date itself is still in time)."""
        return self.status is VerificationStatus.OPEN and new_zealand_date(at) > self.due_date

    def check_answerable(self) -> None:
        """An answer is taken once only, and never after closure: both a conflict."""
        if self.status is VerificationStatus.CLOSED:
            raise Conflict("verification-closed", f"verification request {self.id} is closed")
        if self.status is VerificationStatus.ANSWERED:
            raise Conflict("verification-answered", f"verification request {self.id} was answered already")

    def answered(self, answer: VerificationAnswer) -> VerificationRequest:
        """``ANSWERED`` (``check_answerable``)."""
        self.check_answerable()
        return self.model_copy(
            update={"status": VerificationStatus.ANSWERED, "answer": answer, "revision": self.revision + 1}
        )

    def closed(self, closure: VerificationClosure) -> VerificationRequest:
        """``CLOSED`` with China's conclusion, answered or not (China may conclude on no answer); once only."""
        if self.status is VerificationStatus.CLOSED:
            raise Conflict("verification-closed", f"verification request {self.id} is closed already")
        return self.model_copy(
            update={"status": VerificationStatus.CLOSED, "closure": closure, "revision": self.revision + 1}
        )

    def flagged_overdue(self, at: datetime) -> VerificationRequest:
        """Flagged overdue at ``at`` (only an open request past its due date, and only once)."""
        if not self.past_due(at) or self.overdue_since is not None:
            raise Conflict("verification-not-overdue", f"verification request {self.id} is not newly overdue")
        return self.model_copy(update={"overdue_since": at, "revision": self.revision + 1})
