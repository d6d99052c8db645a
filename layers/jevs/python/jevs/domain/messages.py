"""The messages a change sends, one kind per meaning (DESIGN.md §6.1).

Each is written to the records table in the same transaction as the change that causes it (the outbox), and
the outbox relay publishes it from the table's stream to the queue of its channel. Consumers parse the body
into one of these models and dispatch on ``kind``. Every message has a business key (``message_id``), the same
whenever the same change is relayed again, so consumers can deduplicate.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from jevs.domain import correlation
from jevs.domain.china_message import ChinaMessage
from jevs.domain.deferred import deferred_adapter
from jevs.domain.outbox import OutboxChannel, Outgoing


class _Message(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    channel: ClassVar[OutboxChannel]
    # Each kind's own literal (``kind`` on the queue message, the discriminator of ``OutboxMessage``).
    kind: str
    created_at: AwareDatetime
    # The request that caused it (``correlation``): taken from the work in hand when the message is made, so every
    # message a request's change writes carries the request's id. Messages stored before it existed have none.
    correlation_id: str | None = Field(default_factory=correlation.current)

    @property
    @abstractmethod
    def message_id(self) -> str:
        """The id its outbox record and its queue message carry (each kind says how it is made)."""

    def outgoing(self) -> Outgoing:
        """This message as it is published: its JSON, as its outbox record stores it."""
        return Outgoing(self.message_id, self.channel, self.kind, self.model_dump_json(), self.correlation_id)


class DeliverToChina(_Message):
    """Deliver one message to China Customs: its body is made when the change is stored, and sent as it is on
    every attempt (``jevs.domain.china_message``)."""

    kind: Literal["china.delivery"] = "china.delivery"
    channel: ClassVar[OutboxChannel] = OutboxChannel.DELIVERY_TO_CHINA
    # The certificate whose history records how the delivery went; None for a match result (its declaration
    # keeps that).
    history_of: str | None
    # For a match result, the declaration it answers.
    declaration_id: str | None = None
    body: ChinaMessage

    @property
    def delivery_key(self) -> str:
        """The key China deduplicates on: the same for every attempt at this message."""
        return self.body.message_id

    @property
    def message_id(self) -> str:
        return f"{self.delivery_key}/{self.channel}"


class MatchDeclaration(_Message):
    """Decide a lodged declaration (a revision of it) against the certificate it quotes."""

    kind: Literal["declaration.match"] = "declaration.match"
    channel: ClassVar[OutboxChannel] = OutboxChannel.DECLARATIONS
    declaration_id: str
    certificate_number: str
    revision: int = Field(default=1, ge=1)

    @property
    def message_id(self) -> str:
        suffix = "" if self.revision == 1 else f"/r{self.revision}"
        return f"{self.declaration_id}{suffix}/{self.channel}"


class MatchAwaiting(_Message):
    """A certificate was issued: decide again every declaration that quoted its number before it existed
    (decided ``CERTIFICATE_NOT_FOUND`` within the last 30 days, DESIGN.md §3)."""

    kind: Literal["certificate.awaited"] = "certificate.awaited"
    channel: ClassVar[OutboxChannel] = OutboxChannel.DECLARATIONS
    certificate_number: str

    @property
    def message_id(self) -> str:
        return f"{self.certificate_number}/awaited/{self.channel}"


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
    # The how-many-th decision of the declaration it files.
    decision: int = Field(default=1, ge=1)

    @property
    def message_id(self) -> str:
        return f"{self.declaration_id}/result/{self.decision}/{self.channel}"


class FilePreferenceDecision(_Message):
    """File China Customs' preference decision (box 5) on an import declaration for NZ Customs."""

    kind: Literal["preference.decision.filing"] = "preference.decision.filing"
    channel: ClassVar[OutboxChannel] = OutboxChannel.NOTIFICATIONS
    certificate_number: str
    declaration_id: str

    @property
    def message_id(self) -> str:
        return f"{self.certificate_number}/preference/{self.declaration_id}/{self.channel}"


ToChina = DeliverToChina
ToDeclarations = Annotated[MatchDeclaration | MatchAwaiting, Field(discriminator="kind")]
Notification = Annotated[MakeDocuments | FileExportResult | FilePreferenceDecision, Field(discriminator="kind")]
OutboxMessage = Annotated[
    DeliverToChina | MatchDeclaration | MatchAwaiting | MakeDocuments | FileExportResult | FilePreferenceDecision,
    Field(discriminator="kind"),
]
OUTBOX_MESSAGE: TypeAdapter[OutboxMessage] = deferred_adapter(OutboxMessage)
TO_CHINA: TypeAdapter[ToChina] = deferred_adapter(ToChina)
