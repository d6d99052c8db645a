"""Certificate applications for hosted issuing (DESIGN.md §2, §3): an exporter applies, quoting its approved
goods registrations and signed by its approved signatory; the issuing body certifies within one New Zealand
working day, or rejects with reasons; the exporter may withdraw before a decision.

``SUBMITTED`` → ``CERTIFIED`` (a certificate is issued) | ``REJECTED`` | ``WITHDRAWN``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field, StrictInt, ValidationError, field_validator

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
from jevs.domain.errors import Conflict, FieldError, RuleViolation
from jevs.domain.history import DetailValue, EventType
from jevs.domain.record_history import Chronicled, Recorded
from jevs.domain.registrations import GoodsRegistration, PartyId, RegistrationStatus, Signatory
from jevs.domain.text import Inbound

# What a certificate is validated with before it has its number: the rules see a well-formed one.
PROVISIONAL_NUMBER = "00.0000.00000"


class ApplicationStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    CERTIFIED = "CERTIFIED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class _Input(Inbound):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


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


class Application(Chronicled):
    """An application and its history: lodged, then at most one decision (certified, rejected, withdrawn), and
    flagged once if it waits past its due time."""

    LODGING = EventType.APPLICATION_LODGED

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

    def past_due(self, now: datetime) -> bool:
        """Still undecided after its due time."""
        return self.open and now > self.due_at

    def lodged(self) -> Recorded[Application]:
        """The first event of its history: lodged by its exporter, due at its due time."""
        details: dict[str, DetailValue] = {
            "status": self.status.value,
            "issuing_body": self.issuing_body,
            "due_at": self.due_at.isoformat(),
        }
        return self._first(at=self.lodged_at, actor=self.exporter, details=details)

    def _still_open(self) -> None:
        """Every decision is once only (DESIGN.md §3): an application decided or withdrawn stays so."""
        if not self.open:
            raise Conflict("application-decided", f"application {self.id} is already {self.status.value}")

    def _decided(
        self, type: EventType, status: ApplicationStatus, by: str, at: datetime, **more: Any
    ) -> Recorded[Application]:
        self._still_open()
        details: dict[str, DetailValue] = {"status": status.value}
        if "certificate_number" in more:
            details["certificate_number"] = more["certificate_number"]
        if more.get("reasons"):
            details["reasons"] = "; ".join(more["reasons"])
        return self._chronicled(
            type, at=at, actor=by, details=details, status=status, decided_at=at, decided_by=by, **more
        )

    def certified(self, by: str, at: datetime, certificate_number: str) -> Recorded[Application]:
        return self._decided(
            EventType.APPLICATION_CERTIFIED,
            ApplicationStatus.CERTIFIED,
            by,
            at,
            certificate_number=certificate_number,
        )

    def rejected(self, by: str, at: datetime, reasons: Sequence[str]) -> Recorded[Application]:
        return self._decided(EventType.APPLICATION_REJECTED, ApplicationStatus.REJECTED, by, at, reasons=tuple(reasons))

    def withdrawn(self, by: str, at: datetime) -> Recorded[Application]:
        return self._decided(EventType.APPLICATION_WITHDRAWN, ApplicationStatus.WITHDRAWN, by, at)

    def flagged_past_due(self, at: datetime, by: str) -> Recorded[Application]:
        """Flagged once by the scheduled check; only an undecided application is past due."""
        self._still_open()
        details: dict[str, DetailValue] = {"due_at": self.due_at.isoformat()}
        return self._chronicled(
            EventType.APPLICATION_FLAGGED_PAST_DUE, at=at, actor=by, details=details, flagged_past_due_at=at
        )


def check_quoted(
    lodged: ApplicationLodgement,
    exporter_business_number: str,
    day: date,
    signatory: Signatory | None,
    goods: Mapping[str, GoodsRegistration],
) -> dict[str, GoodsRegistration]:
    """The signatory and every goods registration an application quotes (as found: None or absent when
    there is none) must be the exporter's, registered with the same issuing body, and approved (goods: current
    on ``day``). Returns the goods by id; raises ``RuleViolation`` naming each field the rules refuse."""
    problems: list[FieldError] = []
    quoted = lodged.signatory_id
    if signatory is None or signatory.exporter_business_number != exporter_business_number:
        problems.append(FieldError("signatory_id", f"{quoted} is not a signatory of this exporter"))
    elif signatory.issuing_body != lodged.issuing_body:
        problems.append(FieldError("signatory_id", f"{quoted} is registered with another issuing body"))
    elif not signatory.approved:
        problems.append(FieldError("signatory_id", f"{quoted} is not an approved signatory"))
    current: dict[str, GoodsRegistration] = {}
    for index, item in enumerate(lodged.items):
        field = f"items[{index}].goods_registration_id"
        found = goods.get(item.goods_registration_id)
        if found is None or found.exporter_business_number != exporter_business_number:
            problems.append(
                FieldError(field, f"{item.goods_registration_id} is not a goods registration of this exporter")
            )
        elif found.issuing_body != lodged.issuing_body:
            problems.append(FieldError(field, f"{found.id} is registered with another issuing body"))
        elif found.status is not RegistrationStatus.APPROVED:
            problems.append(FieldError(field, f"{found.id} is not approved ({found.status.value})"))
        elif not found.current_on(day):
            problems.append(FieldError(field, f"{found.id}'s approval ended on {found.approved_until}"))
        else:
            current[found.id] = found
    if problems:
        raise RuleViolation(problems)
    return current


def certificate_number(prefix: str, year: int, serial: int) -> str:
    """NN.YYYY.SSSSS: the issuing body's prefix, the year of issue, the serial within that year."""
    if not 1 <= serial <= 99_999:
        raise RuleViolation([FieldError("certificate_number", f"serial {serial} is outside 1..99999 for {year}")])
    return f"{prefix}.{year:04d}.{serial:05d}"


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
