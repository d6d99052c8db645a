"""Goods registrations and signatories: what an exporter registers with its issuing body before it may
apply for certificates through JEVS (DESIGN.md §1, §2: "Certificates will only be certified listing goods with a
current approved goods registration. Signatories will need to be registered").

The exporter lodges; the issuing body it names approves (goods until a date) or refuses with reasons. The
evidence behind a goods registration (cost build-up, suppliers) is commercially sensitive: only the exporter
and that issuing body ever read it (``jevs.domain.access`` decides who reads what).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from jevs.domain.certificate import (
    LongText,
    Name,
    OriginCriterion,
    Percentage,
    PositiveDecimal,
    ProducerBox,
    ShortText,
)
from jevs.domain.errors import Conflict, FieldError, RuleViolation
from jevs.domain.history import DetailValue, EventType
from jevs.domain.identifiers import CountryCode, CurrencyCode, HsSubheading
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.record_history import Chronicled, Recorded
from jevs.domain.text import Inbound, single_line

PartyId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
# One line each: a decision with several reasons gives them as several reasons.
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(single_line)
]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class RegistrationStatus(StrEnum):
    LODGED = "LODGED"
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"


class _Input(Inbound):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class CostComponent(_Input):
    component: ShortText
    origin_country: CountryCode
    value: PositiveDecimal


class Evidence(_Input):
    """Why the goods originate: confidential to the exporter and its issuing body."""

    statement: LongText = Field(description="How the goods meet their origin criterion.")
    currency: CurrencyCode | None = None
    cost_build_up: list[CostComponent] = Field(default_factory=list, max_length=50)
    suppliers: list[Name] = Field(default_factory=list, max_length=50)


class GoodsLodgement(_Input):
    """``POST /v1/goods-registrations``: goods an exporter will ship under certificates."""

    issuing_body: PartyId = Field(description="The issuing body that is to approve the goods, e.g. akl-chamber.")
    hs_code: HsSubheading
    description: LongText
    origin_criterion: OriginCriterion
    rvc_percent: Percentage | None = Field(default=None, description="Only under a product-specific RVC rule.")
    producer: ProducerBox
    evidence: Evidence

    @model_validator(mode="after")
    def _rvc_only_under_a_product_specific_rule(self) -> GoodsLodgement:
        if self.rvc_percent is not None and self.origin_criterion is not OriginCriterion.PSR:
            raise ValueError("rvc_percent is given only with origin criterion PSR")
        return self


class SignatoryLodgement(_Input):
    """``POST /v1/signatories``: a person who signs the exporter's applications. Contact details are seen
    only by the exporter and its issuing body."""

    issuing_body: PartyId
    name: Name
    position: ShortText
    email: Email
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=21, pattern=r"^\+?[0-9 ()-]{6,20}$")]


class Verdict(StrEnum):
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"


class ApprovalDecision(_Input):
    """An issuing body's answer: approve (goods: until a date) or refuse with reasons."""

    decision: Verdict
    valid_until: date | None = Field(default=None, description="Goods registrations: the approval's last day.")
    reasons: list[Reason] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _reasons_for_a_refusal(self) -> ApprovalDecision:
        if self.decision is Verdict.REFUSED and not self.reasons:
            raise ValueError("a refusal gives its reasons")
        if self.decision is Verdict.REFUSED and self.valid_until is not None:
            raise ValueError("valid_until is given only with an approval")
        return self


class _Stored(Chronicled):
    """What every registration holds; its history begins with its lodging and has one event per decision."""

    # The event of each status a registration reaches: LODGED is its lodging, the others its decision.
    EVENT_TYPES: ClassVar[Mapping[RegistrationStatus, EventType]]

    id: str
    exporter: str
    exporter_business_number: str
    issuing_body: str
    status: RegistrationStatus
    lodged_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    reasons: tuple[str, ...] = ()

    def lodged(self) -> Recorded[Self]:
        """The first event of its history: lodged by its exporter with its issuing body."""
        details: dict[str, DetailValue] = {"status": self.status.value, "issuing_body": self.issuing_body}
        return self._first(at=self.lodged_at, actor=self.exporter, details=details)

    def _decided(self, decision: ApprovalDecision, by: str, at: datetime, **more: Any) -> Recorded[Self]:
        """Decisions are once only (DESIGN.md §3): a second one, whatever it says, is a conflict naming the first."""
        if self.status is not RegistrationStatus.LODGED:
            raise Conflict(
                "already-decided",
                f"{self.id} was already {self.status.value} by {self.decided_by} at "
                f"{self.decided_at.isoformat() if self.decided_at else 'an unknown time'}",
            )
        status = RegistrationStatus(decision.decision.value)
        details: dict[str, DetailValue] = {"status": status.value}
        if decision.valid_until is not None:
            details["valid_until"] = decision.valid_until.isoformat()
        if decision.reasons:
            details["reasons"] = "; ".join(decision.reasons)
        return self._chronicled(
            self.EVENT_TYPES[status],
            at=at,
            actor=by,
            details=details,
            status=status,
            decided_at=at,
            decided_by=by,
            reasons=tuple(decision.reasons),
            **more,
        )


class GoodsRegistration(_Stored):
    LODGING = EventType.GOODS_REGISTRATION_LODGED
    EVENT_TYPES: ClassVar[Mapping[RegistrationStatus, EventType]] = {
        RegistrationStatus.LODGED: EventType.GOODS_REGISTRATION_LODGED,
        RegistrationStatus.APPROVED: EventType.GOODS_REGISTRATION_APPROVED,
        RegistrationStatus.REFUSED: EventType.GOODS_REGISTRATION_REFUSED,
    }

    goods: GoodsLodgement
    approved_until: date | None = None

    def decided(self, decision: ApprovalDecision, by: str, at: datetime) -> Recorded[GoodsRegistration]:
        """Approved until a date (today or later in New Zealand), or refused with reasons."""
        if decision.decision is Verdict.APPROVED:
            today = new_zealand_date(at)
            if decision.valid_until is None:
                raise RuleViolation([FieldError("valid_until", "an approval of goods says until when")])
            if decision.valid_until < today:
                raise RuleViolation([FieldError("valid_until", f"must be today ({today}) or later")])
        return self._decided(decision, by, at, approved_until=decision.valid_until)

    def current_on(self, day: date) -> bool:
        """Approved, and the approval has not run out by ``day``."""
        return (
            self.status is RegistrationStatus.APPROVED
            and self.approved_until is not None
            and day <= self.approved_until
        )


class Signatory(_Stored):
    LODGING = EventType.SIGNATORY_LODGED
    EVENT_TYPES: ClassVar[Mapping[RegistrationStatus, EventType]] = {
        RegistrationStatus.LODGED: EventType.SIGNATORY_LODGED,
        RegistrationStatus.APPROVED: EventType.SIGNATORY_APPROVED,
        RegistrationStatus.REFUSED: EventType.SIGNATORY_REFUSED,
    }

    person: SignatoryLodgement

    def decided(self, decision: ApprovalDecision, by: str, at: datetime) -> Recorded[Signatory]:
        if decision.valid_until is not None:
            raise RuleViolation([FieldError("valid_until", "a signatory's approval has no end date")])
        return self._decided(decision, by, at)

    @property
    def approved(self) -> bool:
        return self.status is RegistrationStatus.APPROVED


class RegistrationKind(StrEnum):
    GOODS = "GR"
    SIGNATORY = "SG"
    APPLICATION = "AP"


def new_id(kind: RegistrationKind, exporter_business_number: str) -> str:
    """An id that names its exporter (so the store finds the exporter's partition from the id alone) and is
    unguessable (ids are not secrets, but a guessed id must not even reach the access check cheaply)."""
    return f"{kind.value}-{exporter_business_number}-{secrets.token_hex(6).upper()}"


def exporter_of(record_id: str) -> str | None:
    """The NZBN an id names, or None for something that is not one of our ids."""
    parts = record_id.split("-")
    if len(parts) != 3 or parts[0] not in {kind.value for kind in RegistrationKind} or not parts[1].isdigit():
        return None
    return parts[1]
