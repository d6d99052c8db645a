"""Response bodies, rendered from domain records through the caller's view. Routes return these models and
the event handler serialises them, so what the OpenAPI document declares is what is sent.

A certificate's response is its data as submitted (DESIGN.md §5) plus what JEVS adds: status, usage,
version, issuing body, validity and links. Which of the data appears is the domain's decision
(``jevs.domain.access``); this module only renders it.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from pydantic import (
    AwareDatetime,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from functions.api.models import ApiModel
from jevs.domain.access import View, project_content
from jevs.domain.certificate import CommercialDetails, Consignee, Exporter, Item, ProducerBox, Transport
from jevs.domain.declarations import (
    Declarant,
    DeclarationRecord,
    DeclarationStatus,
    Discrepancy,
    result_document,
)
from jevs.domain.delivery import DeliveryState
from jevs.domain.history import ChainVerification, HistoryEvent, SignedHead
from jevs.domain.issuance import Validity
from jevs.domain.records import CertificateRecord, CertificateStatus, Usage
from jevs.domain.standing import Standing
from jevs.service.certificates import (
    Verification,
    VerifiedHistory,
    VisibleCertificate,
    VisibleDeliveries,
    VisibleMatches,
)

CERTIFICATES_PATH = "/v1/certificates"
DECLARATIONS_PATH = "/v1/declarations"


def certificate_path(number: str) -> str:
    return f"{CERTIFICATES_PATH}/{quote(number)}"


class OmitsAbsent(ApiModel):
    """A body whose absent values are left out rather than sent as null, in it and every model inside it
    (values of free-form maps, such as an event's details, are kept as they are)."""

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):  # type: ignore[no-untyped-def]
        # No return annotation on purpose: one would replace the model's schema in the OpenAPI document.
        if info.context and info.context.get(_INSIDE):
            return handler(self)
        return self.model_dump(mode=info.mode, by_alias=info.by_alias, exclude_none=True, context={_INSIDE: True})


_INSIDE = "omits-absent"


class IssuingBodyOut(ApiModel):
    """Box 15: who certified, where and when."""

    id: str
    name: str
    place: str


class CertificateLinks(ApiModel):
    self: str
    history: str | None = None


class CertificateOut(OmitsAbsent):
    """A certificate as the caller may see it. Customs administrations get the FTA form's data without
    the ``commercial`` block; operations staff get state and dates only (``view`` says which)."""

    certificate_number: str
    view: View
    status: CertificateStatus
    usage: Usage
    version: int
    issuing_body: IssuingBodyOut
    issue_date: date
    valid_from: date
    valid_until: date
    retrospective: bool
    currently_valid: bool = Field(description="Issued, not replaced or revoked, and today is within validity.")
    replaces: str | None = Field(default=None, description="The certificate this one replaced.")
    replaced_by: str | None = Field(default=None, description="The certificate that replaced this one.")
    certified_true_copy_of: str | None = Field(
        default=None, description="Set on a certified true copy: the original's number (the copy carries it)."
    )
    revocation_reason: str | None = Field(default=None, description="Why the certificate was revoked.")
    importing_country: str
    exporter: Exporter | None = None
    producer: ProducerBox | None = None
    consignee: Consignee | None = None
    transport: Transport | None = None
    remarks: str | None = Field(default=None, description="Box 6 as printed, with the system's own remarks.")
    items: list[Item] | None = None
    commercial: CommercialDetails | None = None
    recorded_at: AwareDatetime
    links: CertificateLinks


def render_certificate(visible: VisibleCertificate, today: date, *, with_history_link: bool) -> CertificateOut:
    record, view = visible.record, visible.view
    content = project_content(record, view)
    validity = Validity(record.retrospective, record.valid_from, record.valid_until)
    path = certificate_path(record.number)
    return CertificateOut(
        certificate_number=record.number,
        view=view,
        status=record.status,
        usage=record.usage,
        version=record.version,
        issuing_body=IssuingBodyOut(id=record.issuing_body, name=record.issuing_body_name, place=record.place_of_issue),
        issue_date=record.content.issue_date,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        retrospective=record.retrospective,
        currently_valid=record.status is CertificateStatus.ISSUED and validity.covers(today),
        replaces=record.replaces,
        replaced_by=record.replaced_by,
        certified_true_copy_of=record.certified_true_copy_of,
        revocation_reason=record.revocation_reason,
        importing_country=record.importing_country,
        exporter=content.exporter if content else None,
        producer=content.producer if content else None,
        consignee=content.consignee if content else None,
        transport=content.transport if content else None,
        remarks=record.printed_remarks if content else None,
        items=content.items if content else None,
        commercial=content.commercial if content else None,
        recorded_at=record.recorded_at,
        links=CertificateLinks(self=path, history=f"{path}/history" if with_history_link else None),
    )


class CertificateSummary(ApiModel):
    """One certificate in a listing."""

    certificate_number: str
    view: View
    status: CertificateStatus
    version: int
    issuing_body: str
    issue_date: date
    valid_until: date
    importing_country: str
    exporter_name: str | None = None
    consignee_name: str | None = None
    links: CertificateLinks


def summarise(visible: VisibleCertificate) -> CertificateSummary:
    record, view = visible.record, visible.view
    content = project_content(record, view)
    return CertificateSummary(
        certificate_number=record.number,
        view=view,
        status=record.status,
        version=record.version,
        issuing_body=record.issuing_body,
        issue_date=record.content.issue_date,
        valid_until=record.valid_until,
        importing_country=record.importing_country,
        exporter_name=content.exporter.name if content else None,
        consignee_name=content.consignee.name if content else None,
        links=CertificateLinks(self=certificate_path(record.number)),
    )


class CertificateList(OmitsAbsent):
    items: list[CertificateSummary]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; absent on the last.")


SEAL_DESCRIPTION = (
    "JEVS's seal, made when the event was written: a detached compact JWS (RFC 7515 App. F, ES256, kid in "
    "/.well-known/jwks.json?retired=all) over the canonical JSON (sorted keys, no whitespace, UTF-8) of "
    "{<certificate_number or record_id>, head_sequence: sequence, head_hash: hash, signed_at: occurred_at}. "
    "Whoever can only write to the table cannot make one: an event rewritten since no longer matches it."
)


class HistoryEventOut(ApiModel):
    sequence: int
    type: str
    occurred_at: datetime
    actor: str
    version: int | None
    details: dict[str, str | int | bool | None]
    previous_hash: str
    state_hash: str = Field(description="Digest of the certificate's record as this event left it.")
    hash: str
    seal: str | None = Field(default=None, description=SEAL_DESCRIPTION)


def render_event(event: HistoryEvent) -> HistoryEventOut:
    return HistoryEventOut.model_validate(event.model_dump(exclude={"certificate_number"}))


class ChainOut(ApiModel):
    valid: bool
    events_checked: int
    broken_at: int | None = Field(default=None, description="Sequence of the first event that does not verify.")
    reason: str | None = None
    check: str | None = Field(
        default=None,
        description="Which check failed: sequence, previous_hash, hash, head (the record's latest event), state "
        "(the current record is not what its latest event recorded), content (a stored version) or signature "
        "(an event's seal does not verify: rewritten since JEVS wrote it).",
    )
    algorithm: str = Field(
        description="How each hash is computed, so anyone can re-verify the chain; each event's seal signs it."
    )


def render_chain(verification: ChainVerification, chain_field: str) -> ChainOut:
    """What checking a chain found, and how its hashes are computed (``chain_field``: the id every event hashes)."""
    return ChainOut(
        valid=verification.valid,
        events_checked=verification.events_checked,
        broken_at=verification.broken_at,
        reason=verification.reason,
        check=verification.check,
        algorithm=f"sha256(canonical JSON of the event, with {chain_field}, without its hash and seal); genesis "
        "previous_hash is 64 zeros",
    )


class HeadOut(ApiModel):
    sequence: int
    hash: str


class SignedHeadOut(ApiModel):
    statement: dict[str, str | int] = Field(
        description="certificate_number (or record_id), head_sequence, head_hash and signed_at: where the verified "
        "chain ended, and when its latest event was written."
    )
    jws: str = Field(
        description="The latest event's seal: a detached compact JWS (RFC 7515 App. F, ES256, kid in "
        "/.well-known/jwks.json?retired=all) over the statement's canonical JSON (sorted keys, no whitespace, "
        "UTF-8). Keep it: a later history that does not pass through this head was rewritten or cut back."
    )


def render_signed_head(signed: SignedHead | None) -> SignedHeadOut | None:
    return SignedHeadOut(statement=signed.statement, jws=signed.jws) if signed else None


class HistoryOut(OmitsAbsent):
    certificate_number: str
    events: list[HistoryEventOut]
    chain: ChainOut
    # Where the certificate's record says its history ends, and the digest of that record now: the latest event's
    # state_hash must equal it.
    head: HeadOut | None = None
    record_state_hash: str | None = None
    # Present only when the chain verified: JEVS signs no head it could not check.
    signed_head: SignedHeadOut | None = None
    links: CertificateLinks


def render_history(history: VerifiedHistory) -> HistoryOut:
    record: CertificateRecord = history.record
    verification = history.verification
    path = certificate_path(record.number)
    return HistoryOut(
        certificate_number=record.number,
        events=[render_event(event) for event in history.events],
        chain=render_chain(verification, HistoryEvent.CHAIN_FIELD),
        head=HeadOut(sequence=record.history_head.sequence, hash=record.history_head.hash),
        record_state_hash=record.state_hash,
        signed_head=render_signed_head(history.signed_head),
        links=CertificateLinks(self=f"{path}/history"),
    )


class DeliveryOut(ApiModel):
    message_type: str = Field(
        description="What the message tells China: certificate.issued, certificate.copy_issued, "
        "certificate.replaced or certificate.revoked."
    )
    version: int
    state: DeliveryState
    attempts: int
    last_error: str | None = None
    receipt_id: str | None = Field(default=None, description="China Customs' receipt, once delivered.")
    rejection_reason: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    delivered_at: AwareDatetime | None = None


class DeliveryList(OmitsAbsent):
    certificate_number: str
    deliveries: list[DeliveryOut]
    links: CertificateLinks


def render_deliveries(visible: VisibleDeliveries) -> DeliveryList:
    return DeliveryList(
        certificate_number=visible.record.number,
        deliveries=[
            DeliveryOut(
                message_type=delivery.message.body.message_type,
                version=delivery.message.body.version,
                state=delivery.state,
                attempts=delivery.attempts,
                last_error=delivery.last_error,
                receipt_id=delivery.receipt_id,
                rejection_reason=delivery.rejection_reason,
                created_at=delivery.created_at,
                updated_at=delivery.updated_at,
                delivered_at=delivery.delivered_at,
            )
            for delivery in visible.deliveries
        ],
        links=CertificateLinks(self=f"{certificate_path(visible.record.number)}/delivery"),
    )


def declaration_path(declaration_id: str) -> str:
    return f"{DECLARATIONS_PATH}/{quote(declaration_id)}"


class DeclarationLinks(ApiModel):
    self: str
    certificate: str


# DESIGN.md §5.
class DeclarationOut(ApiModel):
    """A declaration and, once matching decided it, the result."""

    declaration_id: str = Field(description="The declarant's prefix (NZEX, CNIM) and the declaration number.")
    declaration_number: str
    certificate_number: str
    declarant: Declarant
    revision: int = Field(description="1 for the declaration as first lodged; each amendment lodged is the next.")
    status: DeclarationStatus
    received_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    discrepancies: list[Discrepancy] | None = Field(
        default=None, description="Every detail that does not agree, once decided (empty when all agree)."
    )
    replacement_certificate_number: str | None = Field(
        default=None, description="When the certificate quoted was replaced: the one that replaced it."
    )
    links: DeclarationLinks


def render_declaration(record: DeclarationRecord) -> DeclarationOut:
    return DeclarationOut.model_validate(
        {
            **result_document(record),
            "links": {
                "self": declaration_path(record.id),
                "certificate": certificate_path(record.content.certificate_number),
            },
        }
    )


class CertificateMatchOut(ApiModel):
    declaration_id: str
    declarant: str
    revision: int = Field(description="The revision of the declaration decided.")
    decision: int = Field(description="The how-many-th decision of the declaration this is.")
    status: DeclarationStatus
    discrepancies: list[Discrepancy]
    decided_at: AwareDatetime
    replacement_certificate_number: str | None = None


class MatchList(ApiModel):
    """The certificate's usage and the result of every declaration that quoted it, for its owner."""

    certificate_number: str
    usage: Usage
    matches: list[CertificateMatchOut]
    links: CertificateLinks


def render_matches(visible: VisibleMatches) -> MatchList:
    return MatchList(
        certificate_number=visible.record.number,
        usage=visible.record.usage,
        matches=[
            CertificateMatchOut.model_validate(
                {
                    "declaration_id": match.declaration_id,
                    "declarant": match.declarant,
                    "revision": match.revision,
                    "decision": match.decision,
                    **match.result.model_dump(),
                }
            )
            for match in visible.matches
        ],
        links=CertificateLinks(self=f"{certificate_path(visible.record.number)}/match-results"),
    )


class VerificationOut(ApiModel):
    """Public verification: validity and who issued it, never the certificate's content."""

    certificate_number: str
    status: CertificateStatus
    currently_valid: bool = Field(
        description="Issued, not replaced or revoked, today is within validity, and the record is what its history "
        "recorded."
    )
    standing: Standing = Field(
        description="What the holder of the paper needs to know: VALID, USED (valid, but already used by an import "
        "declaration in China), EXPIRED, NOT_YET_VALID, REPLACED (see replaced_by) or REVOKED."
    )
    replaced_by: str | None = Field(default=None, description="The replacement's number, when REPLACED.")
    issuing_body: str
    issue_date: date
    valid_from: date
    valid_until: date
    digest_matches: bool | None = Field(
        description="Whether the digest given (from the printed QR code) is that of the data JEVS holds."
    )
    history_verified: bool = Field(
        description="Whether the certificate's record is the state its history's latest event recorded, down an "
        "unbroken hash chain; false means the record was changed outside JEVS (and it is not reported valid)."
    )


def render_verification(verification: Verification) -> VerificationOut:
    record = verification.record
    return VerificationOut(
        certificate_number=record.number,
        status=record.status,
        currently_valid=verification.currently_valid,
        standing=verification.standing,
        replaced_by=record.replaced_by,
        issuing_body=record.issuing_body_name,
        issue_date=record.content.issue_date,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        digest_matches=verification.digest_matches,
        history_verified=verification.history_verified,
    )
