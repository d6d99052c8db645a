"""Certificate applications for hosted issuing (DESIGN §2, §3): an exporter applies, quoting its approved
goods registrations and signed by its approved signatory; the issuing body certifies within one New Zealand
working day, or rejects with reasons; the exporter may withdraw before a decision.

``SUBMITTED`` → ``CERTIFIED`` (a certificate is issued) | ``REJECTED`` | ``WITHDRAWN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from jevs.domain.certificate import (
    MAX_ITEMS,
    CertificateContent,
    CommercialDetails,
    Consignee,
    Exporter,
    Invoice,
    LongText,
    Packages,
    PositiveDecimal,
    ProducerBox,
    Quantity,
    Remarks,
    Transport,
    numbered_one_to_n,
)
from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.registrations import GoodsRegistration, PartyId, Reason

# What a certificate is validated with before it has its number: the rules see a well-formed one.
PROVISIONAL_NUMBER = "00.0000.00000"


class ApplicationStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    CERTIFIED = "CERTIFIED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApplicationItem(_Input):
    """One line of goods: which registration it ships under (HS code, description and origin criterion come
    from there), and what only this shipment knows."""

    item_number: StrictInt = Field(ge=1, le=MAX_ITEMS)
    goods_registration_id: str = Field(min_length=1, max_length=64)
    marks_and_numbers: LongText
    packages: Packages
    quantity: Quantity
    gross_weight_kg: PositiveDecimal
    invoice: Invoice


class ApplicationLodgement(_Input):
    """``POST /v1/applications``: everything else the certificate needs, checked by the certificate's rules."""

    issuing_body: PartyId
    signatory_id: str = Field(min_length=1, max_length=64)
    exporter: Exporter
    producer: ProducerBox
    consignee: Consignee
    transport: Transport
    remarks: Remarks = ""
    items: list[ApplicationItem] = Field(min_length=1, max_length=MAX_ITEMS)
    commercial: CommercialDetails | None = None

    @field_validator("items")
    @classmethod
    def _items_are_numbered_one_to_n(cls, items: list[ApplicationItem]) -> list[ApplicationItem]:
        return numbered_one_to_n(items)


class RejectionRequest(_Input):
    reasons: list[Reason] = Field(min_length=1, max_length=20)


class Application(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    exporter: str
    exporter_business_number: str
    issuing_body: str
    status: ApplicationStatus
    lodged_at: AwareDatetime
    # One New Zealand working day after lodgement (jevs.domain.working_days).
    due_at: AwareDatetime
    application: ApplicationLodgement
    # Where the certificate is emailed: the signatory who signed the application.
    applicant_email: str
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    reasons: tuple[str, ...] = ()
    certificate_number: str | None = None
    # Set by the scheduled check once the due time passed without a decision.
    flagged_past_due_at: AwareDatetime | None = None

    @property
    def open(self) -> bool:
        return self.status is ApplicationStatus.SUBMITTED

    @property
    def decided_in_time(self) -> bool | None:
        """Decided by its due time; None while undecided."""
        return None if self.decided_at is None else self.decided_at <= self.due_at


def certificate_content(
    lodged: ApplicationLodgement,
    registrations: Mapping[str, GoodsRegistration],
    *,
    number: str,
    issue_date: date,
) -> CertificateContent:
    """The certificate an application becomes: its boxes, with each item's HS code, description and origin
    criterion from its goods registration. Raises ``RuleViolation`` naming each field the rules refuse."""
    document: dict[str, Any] = lodged.model_dump(mode="json", exclude={"issuing_body", "signatory_id", "items"})
    items = []
    for item in lodged.items:
        goods = registrations[item.goods_registration_id].goods
        line = item.model_dump(mode="json", exclude={"goods_registration_id"})
        line.update(
            hs_code=goods.hs_code,
            description=goods.description,
            origin_criterion=goods.origin_criterion.value,
        )
        if goods.rvc_percent is not None:
            line["rvc_percent"] = str(goods.rvc_percent)
        items.append(line)
    document.update(certificate_number=number, issue_date=issue_date.isoformat(), items=items)
    try:
        return CertificateContent.model_validate(document)
    except ValidationError as invalid:
        raise RuleViolation(
            [
                FieldError(".".join(str(part) for part in error["loc"]) or "application", error["msg"])
                for error in invalid.errors()
            ]
        ) from None
