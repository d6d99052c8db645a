"""The messages a change sends, one kind per meaning (DESIGN §6.1).

Each is written to the records table in the same transaction as the change that causes it (the outbox), and
the outbox relay publishes it from the table's stream to the queue of its channel. Consumers parse the body
into one of these models and dispatch on ``kind``. Every message has a business key (``message_id``), the same
whenever the same change is relayed again, so consumers can deduplicate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter


class OutboxChannel(StrEnum):
    """Where a relayed message goes; each channel is one queue."""

    DELIVERY_TO_CHINA = "delivery-to-china"
    DECLARATIONS = "declarations"
    NOTIFICATIONS = "notifications"


def certificate_delivery_key(certificate_number: str, version: int) -> str:
    """The key China deduplicates a certificate version on: the same for every attempt at it."""
    return f"{certificate_number}/v{version}"


def result_delivery_key(declaration_id: str) -> str:
    """The key China deduplicates a match result on."""
    return f"{declaration_id}/result"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: ClassVar[OutboxChannel]
    created_at: AwareDatetime

    @property
    def message_id(self) -> str:
        raise NotImplementedError


class DeliverCertificate(_Message):
    """Deliver one version of a certificate to China Customs."""

    kind: Literal["certificate.delivery"] = "certificate.delivery"
    channel: ClassVar[OutboxChannel] = OutboxChannel.DELIVERY_TO_CHINA
    certificate_number: str
    version: int = Field(ge=1)

    @property
    def delivery_key(self) -> str:
        return certificate_delivery_key(self.certificate_number, self.version)

    @property
    def message_id(self) -> str:
        return f"{self.delivery_key}/{self.channel}"


class DeliverMatchResult(_Message):
    """Take the match result of a CN import declaration back to China Customs, signed like a certificate."""

    kind: Literal["declaration.result.delivery"] = "declaration.result.delivery"
    channel: ClassVar[OutboxChannel] = OutboxChannel.DELIVERY_TO_CHINA
    declaration_id: str
    certificate_number: str
    # The certificate version the declaration was matched against; 0 when no certificate was found.
    version: int = Field(ge=0)

    @property
    def delivery_key(self) -> str:
        return result_delivery_key(self.declaration_id)

    @property
    def message_id(self) -> str:
        return f"{self.delivery_key}/{self.channel}"


class MatchDeclaration(_Message):
    """Decide a lodged declaration against the certificate it quotes."""

    kind: Literal["declaration.match"] = "declaration.match"
    channel: ClassVar[OutboxChannel] = OutboxChannel.DECLARATIONS
    declaration_id: str
    certificate_number: str

    @property
    def message_id(self) -> str:
        return f"{self.declaration_id}/{self.channel}"


class MakeDocuments(_Message):
    """Make a certificate version's documents: its PDF, NZ Customs' data file, the applicant's email."""

    kind: Literal["certificate.documents"] = "certificate.documents"
    channel: ClassVar[OutboxChannel] = OutboxChannel.NOTIFICATIONS
    certificate_number: str
    version: int = Field(ge=1)

    @property
    def message_id(self) -> str:
        return f"{self.certificate_number}/v{self.version}/{self.channel}"


class FileExportResult(_Message):
    """File the match result of an NZ export entry for NZ Customs (an export entry never goes to China)."""

    kind: Literal["declaration.result.filing"] = "declaration.result.filing"
    channel: ClassVar[OutboxChannel] = OutboxChannel.NOTIFICATIONS
    declaration_id: str
    certificate_number: str

    @property
    def message_id(self) -> str:
        return f"{self.declaration_id}/result/{self.channel}"


ToChina = Annotated[DeliverCertificate | DeliverMatchResult, Field(discriminator="kind")]
Notification = Annotated[MakeDocuments | FileExportResult, Field(discriminator="kind")]
OutboxMessage = Annotated[
    DeliverCertificate | DeliverMatchResult | MatchDeclaration | MakeDocuments | FileExportResult,
    Field(discriminator="kind"),
]
OUTBOX_MESSAGE: TypeAdapter[OutboxMessage] = TypeAdapter(OutboxMessage)
TO_CHINA: TypeAdapter[ToChina] = TypeAdapter(ToChina)
