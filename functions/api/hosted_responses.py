"""Response bodies of hosted issuing: goods registrations, signatories and applications, each as its exporter and
its issuing body read it (both may see all of it: DESIGN.md §1), with links. Explicit models, converted from the
records field by field, so a stored record never becomes a body by accident."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from pydantic import AwareDatetime, ConfigDict, Field

from functions.api.models import ApiModel
from functions.api.requests import ApplicationLodgement, GoodsLodgement, SignatoryLodgement
from functions.api.responses import (
    SEAL_DESCRIPTION,
    ChainOut,
    OmitsAbsent,
    SignedHeadOut,
    certificate_path,
    render_chain,
    render_signed_head,
)
from jevs.domain.applications import Application, ApplicationStatus
from jevs.domain.record_history import RecordEvent
from jevs.domain.registrations import GoodsRegistration, RegistrationStatus, Signatory
from jevs.service.registrations import VerifiedRecordHistory

GOODS_PATH = "/v1/goods-registrations"
SIGNATORIES_PATH = "/v1/signatories"
APPLICATIONS_PATH = "/v1/applications"


class RecordLinks(ApiModel):
    self: str
    decision: str | None = Field(default=None, description="Where the issuing body posts its decision.")
    certificate: str | None = None
    history: str | None = Field(default=None, description="Its history: every event, with the hash chain verified.")


class _LodgedOut(ApiModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    exporter: str
    exporter_business_number: str
    issuing_body: str


class _RegistrationOut(_LodgedOut):
    status: RegistrationStatus
    lodged_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    reasons: tuple[str, ...] = ()


class GoodsRegistrationOut(_RegistrationOut):
    goods: GoodsLodgement
    approved_until: date | None = None
    links: RecordLinks


class SignatoryOut(_RegistrationOut):
    person: SignatoryLodgement
    links: RecordLinks


class ApplicationOut(_LodgedOut):
    status: ApplicationStatus
    lodged_at: AwareDatetime
    due_at: AwareDatetime
    application: ApplicationLodgement
    applicant_email: str
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    reasons: tuple[str, ...] = ()
    certificate_number: str | None = None
    flagged_past_due_at: AwareDatetime | None = None
    met_due_time: bool | None = Field(default=None, description="Decided by the due time; null while undecided.")
    past_due: bool = Field(description="Undecided after its due time.")
    links: RecordLinks


class GoodsRegistrationList(ApiModel):
    items: list[GoodsRegistrationOut]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; null on the last.")


class SignatoryList(ApiModel):
    items: list[SignatoryOut]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; null on the last.")


class ApplicationList(ApiModel):
    items: list[ApplicationOut]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; null on the last.")


def _lodged(record: GoodsRegistration | Signatory | Application) -> dict[str, Any]:
    return {
        "id": record.id,
        "exporter": record.exporter,
        "exporter_business_number": record.exporter_business_number,
        "issuing_body": record.issuing_body,
        "status": record.status,
        "lodged_at": record.lodged_at,
        "decided_at": record.decided_at,
        "decided_by": record.decided_by,
        "reasons": record.reasons,
    }


def render_registration(record: GoodsRegistration | Signatory) -> GoodsRegistrationOut | SignatoryOut:
    if isinstance(record, GoodsRegistration):
        return render_goods(record)
    return render_signatory(record)


def render_goods(record: GoodsRegistration) -> GoodsRegistrationOut:
    path = f"{GOODS_PATH}/{quote(record.id)}"
    return GoodsRegistrationOut(
        **_lodged(record),
        goods=GoodsLodgement.of(record.goods),
        approved_until=record.approved_until,
        links=RecordLinks(self=path, decision=f"{path}/approval", history=f"{path}/history"),
    )


def render_signatory(record: Signatory) -> SignatoryOut:
    path = f"{SIGNATORIES_PATH}/{quote(record.id)}"
    return SignatoryOut(
        **_lodged(record),
        person=SignatoryLodgement.of(record.person),
        links=RecordLinks(self=path, decision=f"{path}/approval", history=f"{path}/history"),
    )


def render_application(record: Application, now: datetime) -> ApplicationOut:
    path = f"{APPLICATIONS_PATH}/{quote(record.id)}"
    certificate = certificate_path(record.certificate_number) if record.certificate_number else None
    return ApplicationOut(
        **_lodged(record),
        due_at=record.due_at,
        application=ApplicationLodgement.of(record.application),
        applicant_email=record.applicant_email,
        certificate_number=record.certificate_number,
        flagged_past_due_at=record.flagged_past_due_at,
        met_due_time=record.decided_in_time,
        past_due=record.past_due(now),
        links=RecordLinks(
            self=path, decision=f"{path}/certification", certificate=certificate, history=f"{path}/history"
        ),
    )


def record_path(record: GoodsRegistration | Signatory | Application) -> str:
    match record:
        case GoodsRegistration():
            collection = GOODS_PATH
        case Signatory():
            collection = SIGNATORIES_PATH
        case Application():
            collection = APPLICATIONS_PATH
    return f"{collection}/{quote(record.id)}"


class RecordEventOut(ApiModel):
    sequence: int
    type: str
    occurred_at: datetime
    actor: str
    details: dict[str, str | int | bool | None]
    state_hash: str = Field(description="The hash of the record's state after the event (canonical JSON, sha256).")
    previous_hash: str
    hash: str
    seal: str | None = Field(default=None, description=SEAL_DESCRIPTION)


class HistoryLinks(ApiModel):
    self: str
    record: str


class RecordHistoryOut(OmitsAbsent):
    """A goods registration's, signatory's or application's history: its lodging, then each decision."""

    id: str
    events: list[RecordEventOut]
    chain: ChainOut
    # The latest event's seal; present only when the chain and every seal verified.
    signed_head: SignedHeadOut | None = None
    links: HistoryLinks


def render_record_history(history: VerifiedRecordHistory) -> RecordHistoryOut:
    verification, path = history.verification, record_path(history.record)
    return RecordHistoryOut(
        id=history.record.id,
        events=[RecordEventOut.model_validate(event.model_dump(exclude={"record_id"})) for event in history.events],
        chain=render_chain(verification, RecordEvent.CHAIN_FIELD),
        signed_head=render_signed_head(history.signed_head),
        links=HistoryLinks(self=f"{path}/history", record=path),
    )
