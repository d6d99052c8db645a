"""What JEVS keeps about a certificate, and what one issue writes in a single transaction."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.applications import Application
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import DeclarationRecord, MatchResult, UsageLedger
from jevs.domain.delivery import Delivery
from jevs.domain.history import ChainHead, HistoryEvent


class CertificateStatus(StrEnum):
    ISSUED = "ISSUED"
    REPLACED = "REPLACED"
    REVOKED = "REVOKED"


class Usage(StrEnum):
    UNUSED = "UNUSED"
    USED = "USED"


class CertificateRecord(BaseModel):
    """A certificate's current state: its latest version's content and where its history ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    # Lifecycle links (DESIGN §2): the certificate that replaced this one, and for a certified true copy the
    # original it was made from (the copy and its original share one usage ledger).
    replaced_by: str | None = None
    certified_true_copy_of: str | None = None
    # Hosted issuing: the application the certificate was certified from (its applicant gets the PDF).
    application_id: str | None = None

    @property
    def usage_root(self) -> str:
        """The number whose usage ledger this certificate draws on."""
        return self.certified_true_copy_of or self.number

    @property
    def exporter_business_number(self) -> str:
        return self.content.exporter.business_number

    @property
    def importing_country(self) -> str:
        return self.content.importing_country


class OutboxChannel(StrEnum):
    """Where a relayed message goes; each channel is one queue."""

    DELIVERY_TO_CHINA = "delivery-to-china"
    DECLARATIONS = "declarations"
    NOTIFICATIONS = "notifications"


class OutboxMessage(BaseModel):
    """A message the change must send, written with the change and relayed from the table's stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A business key, so a relay that runs twice publishes a message consumers can deduplicate.
    message_id: str
    channel: OutboxChannel
    kind: str
    certificate_number: str
    # The certificate version the message is about; 0 for a message about a declaration.
    version: int
    created_at: AwareDatetime
    # Set for a message about a declaration (to match it, or to send its result to the declarant).
    declaration_id: str | None = None


class StoredAnswer(BaseModel):
    """The first answer to an idempotent request, returned again for a retry with the same key and body."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    body: dict[str, Any]
    location: str | None = None


class IdempotencyRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    party_id: str
    key: str
    request_digest: str
    answer: StoredAnswer
    created_at: AwareDatetime
    expires_at: AwareDatetime


class NumberCounter(BaseModel):
    """The last serial an issuing body allocated in a year: NN.YYYY.SSSSS numbers are gapless and unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuing_body: str
    year: int
    last: int = Field(ge=0, le=99_999)
    # The value read before this allocation; the write is conditioned on it.
    previous: int = Field(ge=0)


class CertificateIssue(BaseModel):
    """Everything one issue writes, all or nothing: the certificate, its first event, its outbox
    messages and the idempotency record of the request that caused it."""

    model_config = ConfigDict(frozen=True)

    record: CertificateRecord
    event: HistoryEvent
    outbox: tuple[OutboxMessage, ...]
    # One PENDING delivery per message to China, so reconciliation can find any that never arrives.
    deliveries: tuple[Delivery, ...]
    idempotency: IdempotencyRecord
    # Hosted issuing: the application certified (stored only if still SUBMITTED), and the issuing body's
    # number counter moved to the number allocated (stored only if nobody allocated one meanwhile).
    application: Application | None = None
    counter: NumberCounter | None = None


class StoredVersion(BaseModel):
    """One version of a certificate as stored, for checking it against the history that recorded it."""

    model_config = ConfigDict(frozen=True)

    version: int
    content_hash: str
    content: CertificateContent


class DeclarationLodgement(BaseModel):
    """Everything lodging a declaration writes at once: the declaration (RECEIVED), the message that queues
    it for matching, and the idempotency record of the request."""

    model_config = ConfigDict(frozen=True)

    declaration: DeclarationRecord
    outbox: OutboxMessage
    idempotency: IdempotencyRecord


class CertificateMatch(BaseModel):
    """A declaration's result as its certificate keeps it, for the exporter and the issuing body to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    declaration_id: str
    declarant: str
    result: MatchResult


class MatchRecording(BaseModel):
    """Everything one match decision writes, all or nothing (DESIGN §4): the decided declaration, and when a
    certificate was found its new chain head (with usage), history event and kept result; the usage ledger
    when the result uses the certificate; the messages that take the result to the declarant and, for China,
    the PENDING delivery that reconciliation watches."""

    model_config = ConfigDict(frozen=True)

    declaration: DeclarationRecord
    certificate: tuple[CertificateRecord, HistoryEvent, CertificateMatch] | None
    # The ledger to store, and the revision it must still have (0: none stored yet).
    ledger: UsageLedger | None
    ledger_revision_read: int
    outbox: tuple[OutboxMessage, ...]
    deliveries: tuple[Delivery, ...]
