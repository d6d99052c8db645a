"""Response bodies of hosted issuing: goods registrations, signatories and applications, each as its
exporter and its issuing body read it (both may see all of it: DESIGN §1), with links."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, Field

from functions.api.schemas import certificate_path
from jevs.domain.applications import Application
from jevs.domain.registrations import GoodsRegistration, Signatory

GOODS_PATH = "/v1/goods-registrations"
SIGNATORIES_PATH = "/v1/signatories"
APPLICATIONS_PATH = "/v1/applications"


class RecordLinks(BaseModel):
    self: str
    decision: str | None = Field(default=None, description="Where the issuing body posts its decision.")
    certificate: str | None = None


class GoodsRegistrationOut(GoodsRegistration):
    links: RecordLinks


class SignatoryOut(Signatory):
    links: RecordLinks


class ApplicationOut(Application):
    met_due_time: bool | None = Field(default=None, description="Decided by the due time; null while undecided.")
    past_due: bool = Field(description="Undecided after its due time.")
    links: RecordLinks


class GoodsRegistrationList(BaseModel):
    items: list[GoodsRegistrationOut]


class SignatoryList(BaseModel):
    items: list[SignatoryOut]


class ApplicationList(BaseModel):
    items: list[ApplicationOut]


def render_goods(record: GoodsRegistration) -> GoodsRegistrationOut:
    path = f"{GOODS_PATH}/{quote(record.id)}"
    return GoodsRegistrationOut(**dict(record), links=RecordLinks(self=path, decision=f"{path}/approval"))


def render_signatory(record: Signatory) -> SignatoryOut:
    path = f"{SIGNATORIES_PATH}/{quote(record.id)}"
    return SignatoryOut(**dict(record), links=RecordLinks(self=path, decision=f"{path}/approval"))


def render_application(record: Application, *, past_due: bool) -> ApplicationOut:
    path = f"{APPLICATIONS_PATH}/{quote(record.id)}"
    certificate = certificate_path(record.certificate_number) if record.certificate_number else None
    return ApplicationOut(
        **dict(record),
        met_due_time=record.decided_in_time,
        past_due=past_due,
        links=RecordLinks(self=path, decision=f"{path}/certification", certificate=certificate),
    )
