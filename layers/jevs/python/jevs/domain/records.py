"""What JEVS keeps about a certificate: its current state, and how that state changes (DESIGN.md §2, §3, §6.4).

A certificate is an aggregate. It is issued once (``CertificateRecord.issue``), and every later change goes
through ``CertificateRecord.changed``, which appends the event to the history and moves the record's chain
head with it, so no caller ever updates a head by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import MatchResult
from jevs.domain.errors import Conflict, FieldError, RuleViolation
from jevs.domain.history import GENESIS_HASH, ChainHead, DetailValue, EventType, HistoryEvent, new_event
from jevs.domain.issuance import Validity, assess_validity, printed_remarks
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.parties import Party

# What the system prints in box 6 of a certified true copy, and of a replacement (before its number).
CERTIFIED_TRUE_COPY_REMARK = "CERTIFIED TRUE COPY"
REPLACES_REMARK = "REPLACES"


class CertificateStatus(StrEnum):
    ISSUED = "ISSUED"
    REPLACED = "REPLACED"
    REVOKED = "REVOKED"


class Usage(StrEnum):
    UNUSED = "UNUSED"
    USED = "USED"


class CertificateRecord(BaseModel):
    """A certificate's current state: its latest version's content and where its history ends."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    number: str
    version: int = Field(ge=1)
    status: CertificateStatus
    usage: Usage
    # Box 15 as certified: the issuing body's party id, its name and place at the time of issue.
    issuing_body: str
    issuing_body_name: str
    place_of_issue: str
    content: CertificateContent
    # Digest of the content as submitted: two submissions are the same certificate when these agree.
    content_hash: str
    retrospective: bool
    valid_from: date
    valid_until: date
    recorded_at: AwareDatetime
    history_head: ChainHead
    # Lifecycle links (DESIGN.md §2, §3): the certificate this one replaced, and the one that replaced it; for a
    # version that is a certified true copy, the number of the original it copies (its own: a copy carries the
    # original's number and issue date, as a later version of the same certificate).
    replaces: str | None = None
    replaced_by: str | None = None
    certified_true_copy_of: str | None = None
    revocation_reason: str | None = None
    # The certificate whose usage ledger this one draws on: a replacement takes over its original's (so what was
    # drawn stays drawn), down a chain of replacements to the first; None for its own.
    ledger_root: str | None = None
    # Hosted issuing: the application the certificate was certified from (its applicant gets the PDF).
    application_id: str | None = None

    @property
    def usage_root(self) -> str:
        """The number whose usage ledger this certificate draws on."""
        return self.ledger_root or self.number

    @property
    def state_hash(self) -> str:
        """Digest of everything the record holds but where its history ends: each event fixes the state it left
        (``HistoryEvent.state_hash``), so editing the current record alone shows against its latest event."""
        return digest(self.model_dump(mode="json", exclude={"history_head"}))

    def _after(
        self,
        type: EventType,
        *,
        following: ChainHead | None,
        at: datetime,
        actor: str,
        details: dict[str, DetailValue],
    ) -> tuple[CertificateRecord, HistoryEvent]:
        """This record, as it is after an event of ``type`` that follows ``following``: the event, which fixes this
        state, and the record with its head moved to it."""
        event = new_event(
            after=following,
            certificate_number=self.number,
            type=type,
            occurred_at=at,
            actor=actor,
            version=self.version,
            details=details,
            state_hash=self.state_hash,
        )
        return self.model_copy(update={"history_head": event.head}), event

    @property
    def exporter_business_number(self) -> str:
        return self.content.exporter.business_number

    @property
    def importing_country(self) -> str:
        return self.content.importing_country

    @property
    def validity(self) -> Validity:
        return Validity(self.retrospective, self.valid_from, self.valid_until)

    @property
    def lifecycle_marks(self) -> tuple[str, ...]:
        """What this version says of its place in the certificate's life: ``CERTIFIED TRUE COPY`` on a copy,
        ``REPLACES <number>`` on a replacement. A revoked or replaced certificate gains none: its paper was
        printed before, and verification tells what became of it."""
        return (
            *([CERTIFIED_TRUE_COPY_REMARK] if self.certified_true_copy_of else []),
            *([f"{REPLACES_REMARK} {self.replaces}"] if self.replaces else []),
        )

    @property
    def printed_remarks(self) -> str:
        """Box 6 as printed: the lifecycle marks first, then the system's own remark on a retrospective issue and
        what the issuing body wrote."""
        written = printed_remarks(self.content, self.validity)
        return ". ".join([*self.lifecycle_marks, written] if written else self.lifecycle_marks)

    @classmethod
    def issue(
        cls,
        content: CertificateContent,
        *,
        issuer: Party,
        at: datetime,
        application_id: str | None = None,
        replacing: CertificateRecord | None = None,
    ) -> Issue:
        """Version 1 of a certificate ``issuer`` certifies: the record and its first event. A replacement takes
        over what its original was used for (``replacing``'s usage and ledger). Raises ``RuleViolation`` when the
        dates of issue break a rule (``assess_validity``), or the number is not under ``issuer``'s prefix."""
        assert issuer.place is not None  # an issuing body always has one (Party validates it)
        if not issuer.owns_certificate_number(content.certificate_number):
            # DESIGN.md §2: a number belongs to the issuing body whose prefix it carries. Another body's number taken
            # here would also stop that body's hosted counter for good at it (issue 14, finding 1).
            message = f"a certificate number of {issuer.name} begins with its prefix {issuer.certificate_prefix}"
            raise RuleViolation([FieldError("certificate_number", message)])
        validity = assess_validity(content, new_zealand_date(at))
        content_hash = digest(content)
        details: dict[str, DetailValue] = {
            "content_hash": content_hash,
            "status": CertificateStatus.ISSUED,
            "retrospective": validity.retrospective,
        }
        if replacing is not None:
            details["replaces"] = replacing.number
        record = cls(
            number=content.certificate_number,
            version=1,
            status=CertificateStatus.ISSUED,
            issuing_body=issuer.id,
            issuing_body_name=issuer.name,
            place_of_issue=issuer.place,
            content=content,
            content_hash=content_hash,
            retrospective=validity.retrospective,
            valid_from=validity.valid_from,
            valid_until=validity.valid_until,
            recorded_at=at,
            history_head=ChainHead(sequence=0, hash=GENESIS_HASH),
            application_id=application_id,
            replaces=replacing.number if replacing is not None else None,
            usage=replacing.usage if replacing is not None else Usage.UNUSED,
            ledger_root=replacing.usage_root if replacing is not None else None,
        )
        issued = record._after(EventType.CERTIFICATE_ISSUED, following=None, at=at, actor=issuer.id, details=details)
        return Issue(*issued)

    def changed(
        self,
        type: EventType,
        *,
        at: datetime,
        actor: str,
        details: dict[str, DetailValue],
        **updates: Any,
    ) -> CertificateChange:
        """The record after an event of ``type``: the event appended, the head moved, ``updates`` applied."""
        after = self.model_copy(update=updates)._after(
            type, following=self.history_head, at=at, actor=actor, details=details
        )
        return CertificateChange(*after)

    def _still_issued(self) -> None:
        """Only an issued certificate is replaced, revoked or copied (DESIGN.md §3): the others stay as they are."""
        if self.status is not CertificateStatus.ISSUED:
            raise Conflict("certificate-not-issued", f"certificate {self.number} is {self.status.value}")

    def replaced(self, by: str, *, reason: str, at: datetime, actor: str) -> CertificateChange:
        """``REPLACED`` by the certificate ``by``: it keeps its data and history, and points to its replacement."""
        self._still_issued()
        details: dict[str, DetailValue] = {"status": CertificateStatus.REPLACED, "replaced_by": by, "reason": reason}
        return self.changed(
            EventType.CERTIFICATE_REPLACED,
            at=at,
            actor=actor,
            details=details,
            status=CertificateStatus.REPLACED,
            replaced_by=by,
        )

    def revoked(self, *, reason: str, at: datetime, actor: str) -> CertificateChange:
        """``REVOKED``, with its reason: withdrawn for good (revoking twice is a conflict)."""
        self._still_issued()
        return self.changed(
            EventType.CERTIFICATE_REVOKED,
            at=at,
            actor=actor,
            details={"status": CertificateStatus.REVOKED, "reason": reason},
            status=CertificateStatus.REVOKED,
            revocation_reason=reason,
        )

    def copied(self, *, reason: str, at: datetime, actor: str) -> CertificateChange:
        """A certified true copy, for an original lost (DESIGN.md §2): the next version of the same certificate, with
        the original's number, issue date and validity, marked as a copy. Allowed while the certificate is issued,
        unused and within validity; the copy and the original share one usage ledger, so once either is used the
        other is void."""
        self._still_issued()
        if self.usage is Usage.USED:
            raise Conflict("certificate-used", f"certificate {self.number} was used: it is not copied")
        today = new_zealand_date(at)
        if not self.validity.covers(today):
            raise Conflict("certificate-not-valid", f"certificate {self.number} is not valid on {today}")
        version = self.version + 1
        copy = self.model_copy(update={"version": version, "certified_true_copy_of": self.number, "recorded_at": at})
        details: dict[str, DetailValue] = {
            "content_hash": self.content_hash,
            "status": CertificateStatus.ISSUED,
            "reason": reason,
        }
        copied = copy._after(
            EventType.CERTIFIED_TRUE_COPY_ISSUED, following=self.history_head, at=at, actor=actor, details=details
        )
        return CertificateChange(*copied)


@dataclass(frozen=True)
class Issue:
    """A certificate version as issued: the record, its first event, and what it sends."""

    record: CertificateRecord
    event: HistoryEvent


@dataclass(frozen=True)
class CertificateChange:
    """A certificate after one event: the record as it is now, and the event that made it so."""

    record: CertificateRecord
    event: HistoryEvent

    @property
    def sequence_before(self) -> int:
        """The head's sequence the change was made from: it is stored only if the head is still there."""
        return self.event.sequence - 1

    @property
    def new_version(self) -> bool:
        """Whether the change issued a new version (a certified true copy), which is stored with its content."""
        return self.event.version == self.record.version and "content_hash" in self.event.details


class StoredVersion(BaseModel):
    """One version of a certificate as stored, for checking it against the history that recorded it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    version: int
    content_hash: str
    content: CertificateContent


class CertificateMatch(BaseModel):
    """A declaration's result as its certificate keeps it, for the exporter and the issuing body to read."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    declaration_id: str
    declarant: str
    result: MatchResult
    # Which revision of the declaration was decided, and the how-many-th decision of it this is.
    revision: int = 1
    decision: int = 1


class NumberCounter(BaseModel):
    """The last serial an issuing body allocated in a year: NN.YYYY.SSSSS numbers are gapless and unique."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    issuing_body: str
    year: int
    last: int = Field(ge=0, le=99_999)

    def next(self) -> NumberCounter:
        return self.model_copy(update={"last": self.last + 1})
