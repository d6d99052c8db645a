"""Request and response bodies of verification of origin (``/v1/verification-requests``, DESIGN.md §5): explicit
models, converted to and from the domain's field by field, so a stored request never becomes a body by accident
and a document's bytes are never sent back inside one (each has its own link)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Annotated
from urllib.parse import quote

from pydantic import AwareDatetime, ConfigDict, Field

from functions.api.models import ApiModel
from functions.api.responses import OmitsAbsent, certificate_path
from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.text import Inbound, MultiLine
from jevs.domain.verification import (
    MAX_ATTACHMENTS,
    MAX_QUESTIONS,
    AttachmentUpload,
    Conclusion,
    MediaType,
    VerificationRequest,
    VerificationStatus,
)

VERIFICATIONS_PATH = "/v1/verification-requests"


def verification_path(request_id: str) -> str:
    return f"{VERIFICATIONS_PATH}/{quote(request_id)}"


_ANSWER_PATH = re.compile(rf"^{re.escape(VERIFICATIONS_PATH)}/[^/]+/response$")


def is_verification_answer(path: str) -> bool:
    """Whether ``path`` is an answer's, whose body may carry documents (a larger body limit)."""
    return _ANSWER_PATH.match(path) is not None


# -- requests ----------------------------------------------------------------------------------------------------


# Questions and answers are letters between customs and exporters: they have lines.
Question = Annotated[MultiLine, Field(min_length=1, max_length=2_000)]


class RaiseRequest(Inbound):
    """``POST /v1/verification-requests`` (China Customs): the certificate, the questions, and by when New Zealand
    is to answer (left out: the FTA's reply period from today)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate_number: str = Field(min_length=1, max_length=32, examples=["11.1234.12345"])
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)
    due_date: date | None = None


_FILE_NAME = r'^[^/\\"\x00-\x1f]+$'


# Base64 of the most an answer's documents may hold together under any setting (4 MiB, ApiSettings' bound); the
# settings' own limits, lower, are checked on the decoded bytes (413).
MAX_CONTENT_BASE64 = 4 * -(-4_194_304 // 3)


class AttachmentIn(Inbound):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # No slashes, quotes or control characters: the name goes into a download's Content-Disposition as it is.
    name: str = Field(min_length=1, max_length=200, pattern=_FILE_NAME, examples=["cost-statement.pdf"])
    media_type: str = Field(
        max_length=100, description="application/pdf, image/png or image/jpeg, as the bytes themselves show."
    )
    content_base64: str = Field(
        min_length=1, max_length=MAX_CONTENT_BASE64, description="The document's bytes, base64 (RFC 4648)."
    )


class AnswerRequest(Inbound):
    """``POST /v1/verification-requests/{id}/response`` (the certificate's issuing body or NZ Customs): the answer,
    with its documents (each and all together within a size limit: 413 when over)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: MultiLine = Field(min_length=1, max_length=20_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    def uploads(self) -> list[AttachmentUpload]:
        decoded: list[AttachmentUpload] = []
        errors: list[FieldError] = []
        for index, attachment in enumerate(self.attachments):
            try:
                content = base64.b64decode(attachment.content_base64, validate=True)
            except (ValueError, binascii.Error):
                errors.append(FieldError(f"attachments[{index}].content_base64", "base64 (RFC 4648)"))
                continue
            decoded.append(AttachmentUpload(attachment.name, attachment.media_type, content))
        if errors:
            raise RuleViolation(errors)
        return decoded


class ClosureRequest(Inbound):
    """``POST /v1/verification-requests/{id}/closure`` (China Customs): its conclusion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conclusion: Conclusion
    text: MultiLine = Field(min_length=1, max_length=4_000)


# -- responses ---------------------------------------------------------------------------------------------------


class AttachmentOut(ApiModel):
    name: str
    media_type: MediaType
    size: int
    sha256: str
    href: str = Field(description="Where those involved read the document's bytes.")


class AnswerOut(ApiModel):
    text: str
    attachments: list[AttachmentOut]
    answered_at: AwareDatetime
    answered_by: str


class ClosureOut(ApiModel):
    conclusion: Conclusion
    text: str
    closed_at: AwareDatetime
    closed_by: str


class VerificationLinks(ApiModel):
    self: str
    certificate: str
    response: str
    closure: str


class VerificationRequestOut(OmitsAbsent):
    id: str
    certificate_number: str
    issuing_body: str
    requested_by: str
    questions: list[str]
    due_date: date
    raised_at: AwareDatetime
    status: VerificationStatus
    overdue: bool = Field(description="Unanswered, and flagged so once its due date passed.")
    overdue_since: AwareDatetime | None = None
    answer: AnswerOut | None = None
    closure: ClosureOut | None = None
    links: VerificationLinks


class VerificationList(ApiModel):
    items: list[VerificationRequestOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last.")


def render_verification(request: VerificationRequest) -> VerificationRequestOut:
    path = verification_path(request.id)
    answer = request.answer
    closure = request.closure
    return VerificationRequestOut(
        id=request.id,
        certificate_number=request.certificate_number,
        issuing_body=request.issuing_body,
        requested_by=request.requested_by,
        questions=list(request.questions),
        due_date=request.due_date,
        raised_at=request.raised_at,
        status=request.status,
        overdue=request.overdue,
        overdue_since=request.overdue_since,
        answer=None
        if answer is None
        else AnswerOut(
            text=answer.text,
            attachments=[
                AttachmentOut(
                    name=each.name,
                    media_type=each.media_type,
                    size=each.size,
                    sha256=each.sha256,
                    href=f"{path}/attachments/{index}",
                )
                for index, each in enumerate(answer.attachments)
            ],
            answered_at=answer.answered_at,
            answered_by=answer.answered_by,
        ),
        closure=None
        if closure is None
        else ClosureOut(
            conclusion=closure.conclusion, text=closure.text, closed_at=closure.closed_at, closed_by=closure.closed_by
        ),
        links=VerificationLinks(
            self=path,
            certificate=certificate_path(request.certificate_number),
            response=f"{path}/response",
            closure=f"{path}/closure",
        ),
    )
