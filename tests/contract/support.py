"""What the contract suite builds its records from: the demo parties, and the domain's own constructors at the
fixed clock's time (Tuesday 24 November 2026, 22:00 UTC: Wednesday morning in New Zealand)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from jevs.adapters.table.model import Table
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.china_message import ChinaResultMessage, version_issued
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, MatchResult
from jevs.domain.delivery import Delivery
from jevs.domain.history import EventType
from jevs.domain.messages import DeliverToChina
from jevs.domain.parties import Party
from jevs.domain.record_history import Recorded
from jevs.domain.records import CertificateChange, CertificateMatch, CertificateRecord, Issue
from jevs.domain.registrations import (
    GoodsLodgement,
    GoodsRegistration,
    RegistrationKind,
    RegistrationStatus,
    Signatory,
    SignatoryLodgement,
    new_id,
)
from jevs.domain.working_days import due_at
from jevs.service.idempotency import IdempotentRequest
from tests.factories import (
    EXPORTER,
    ISSUING_BODY,
    OTHER_EXPORTER,
    application_payload,
    certificate_payload,
    goods_payload,
    signatory_payload,
)
from tests.fakes import FixedClock
from tests.unit.support import AUSTRALIAN_CONSIGNEE, OTHER_ISSUING_BODY, certificate, party

MEMORY = "memory"
DYNAMODB = "dynamodb"
# DynamoDB on moto as the local stack serves it: with its transactions checked before they write
LOCAL_STACK_DYNAMODB = "dynamodb-local-stack"

AT = FixedClock().now()
ISSUER = party(ISSUING_BODY)  # akl-chamber, region AUK
OTHER_ISSUER = OTHER_ISSUING_BODY  # wlg-chamber
KAURI = party(EXPORTER)
TUI = party(OTHER_EXPORTER)


class Units:
    """Units of work over one table at the clock's time: each stands for one request."""

    def __init__(self, table: Table, clock: FixedClock) -> None:
        self.table = table
        self.clock = clock

    def __call__(self, idempotent: IdempotentRequest | None = None) -> TableUnitOfWork:
        return TableUnitOfWork(self.table, self.clock, idempotent)


# -- certificates ---------------------------------------------------------------------------------------------


def issued(
    number: str,
    *,
    on: date = date(2026, 11, 20),
    issuer: Party = ISSUER,
    exporter: Party = KAURI,
    for_an_australian_buyer: bool = False,
    at: datetime = AT,
) -> Issue:
    """Version 1 of a certificate issued at the clock's time (or ``at``), dated ``on`` (the goods left that day), its
    goods imported into China like every certificate's, their consignee in China or (``for_an_australian_buyer``)
    Australia."""
    payload = certificate_payload()
    content = certificate(
        certificate_number=number,
        issue_date=on.isoformat(),
        transport={**payload["transport"], "departure_date": on.isoformat()},
        exporter={**payload["exporter"], "name": exporter.name, "business_number": exporter.business_number},
        consignee=AUSTRALIAN_CONSIGNEE if for_an_australian_buyer else payload["consignee"],
    )
    return CertificateRecord.issue(content, issuer=issuer, at=at)


def acknowledged(record: CertificateRecord, at: datetime = AT) -> CertificateChange:
    """The record after China acknowledged its delivery: one more event."""
    return record.changed(
        EventType.DELIVERY_ACKNOWLEDGED, at=at, actor="jevs-dispatcher", details={"receipt_id": "CN-RECEIPT-1"}
    )


def match_of(declaration: DeclarationRecord, decided_at: datetime) -> CertificateMatch:
    return CertificateMatch(
        declaration_id=declaration.id,
        declarant=declaration.declarant.value,
        result=result_of(declaration, decided_at),
    )


# -- declarations ----------------------------------------------------------------------------------------------


def result_of(declaration: DeclarationRecord, decided_at: datetime) -> MatchResult:
    return MatchResult(
        declaration_number=declaration.content.declaration_number,
        certificate_number=declaration.content.certificate_number,
        status=DeclarationStatus.MATCHED,
        decided_at=decided_at,
    )


def decided(declaration: DeclarationRecord, at: datetime = AT) -> DeclarationRecord:
    """The declaration as matching decides it: MATCHED, with its result."""
    return declaration.decided(result_of(declaration, at))


# -- hosted issuing --------------------------------------------------------------------------------------------


def _lodged(kind: RegistrationKind, exporter: Party, issuing_body: str, at: datetime) -> dict[str, Any]:
    assert exporter.business_number is not None
    return {
        "id": new_id(kind, exporter.business_number),
        "exporter": exporter.id,
        "exporter_business_number": exporter.business_number,
        "issuing_body": issuing_body,
        "status": RegistrationStatus.LODGED,
        "lodged_at": at,
    }


def goods_registration(
    *, exporter: Party = KAURI, issuing_body: str = ISSUER.id, at: datetime = AT
) -> Recorded[GoodsRegistration]:
    """Goods lodged at ``at``: the record and the first event of its history."""
    goods = GoodsLodgement.model_validate(goods_payload(issuing_body=issuing_body))
    return GoodsRegistration.model_validate(
        {**_lodged(RegistrationKind.GOODS, exporter, issuing_body, at), "goods": goods}
    ).lodged()


def signatory(*, exporter: Party = KAURI, issuing_body: str = ISSUER.id, at: datetime = AT) -> Recorded[Signatory]:
    """A signatory lodged at ``at``: the record and the first event of its history."""
    person = SignatoryLodgement.model_validate(signatory_payload(issuing_body=issuing_body))
    return Signatory.model_validate(
        {**_lodged(RegistrationKind.SIGNATORY, exporter, issuing_body, at), "person": person}
    ).lodged()


def application(*, exporter: Party = KAURI, issuing_body: str = ISSUER.id, at: datetime = AT) -> Recorded[Application]:
    """A SUBMITTED application lodged at ``at``, due one Auckland working day later (in New Zealand time, as the
    domain's ``due_at`` gives it): the record and the first event of its history."""
    assert exporter.business_number is not None
    payload = application_payload(f"SG-{exporter.business_number}-000000000001", ["GR-9429041234563-000000000001"])
    payload.update(issuing_body=issuing_body, transport={**payload["transport"], "departure_date": "2026-11-24"})
    return Application(
        id=new_id(RegistrationKind.APPLICATION, exporter.business_number),
        exporter=exporter.id,
        exporter_business_number=exporter.business_number,
        issuing_body=issuing_body,
        status=ApplicationStatus.SUBMITTED,
        lodged_at=at,
        due_at=due_at(at, "AUK"),
        application=ApplicationLodgement.model_validate(payload),
        applicant_email="aroha.ngata@kauri-dairy.example.nz",
    ).lodged()


# -- deliveries and idempotency --------------------------------------------------------------------------------


def certificate_delivery(number: str, version: int = 1, at: datetime = AT) -> Delivery:
    """The delivery to China of a version of certificate ``number``, as issued."""
    record = issued(number).record.model_copy(update={"version": version})
    message = DeliverToChina(history_of=number, body=version_issued(record), created_at=at)
    return Delivery.pending(message, at)


def result_delivery(declaration: DeclarationRecord, at: datetime = AT) -> Delivery:
    """The delivery to China of a declaration's first result."""
    body = ChinaResultMessage(
        message_id=f"{declaration.id}/result/1",
        declaration_number=declaration.content.declaration_number,
        revision=1,
        decision=1,
        certificate_number=declaration.content.certificate_number,
        version=1,
        status=DeclarationStatus.MATCHED,
        discrepancies=(),
        decided_at=at,
    )
    message = DeliverToChina(history_of=None, declaration_id=declaration.id, body=body, created_at=at)
    return Delivery.pending(message, at)


def _answer(result: object) -> dict[str, Any]:
    return {"result": str(result)}


def request(key: str, *, party_id: str = KAURI.id, request_digest: str = "digest-of-the-request") -> IdempotentRequest:
    """An idempotent request whose answer is the use case's result as a string."""
    return IdempotentRequest(party_id=party_id, key=key, request_digest=request_digest, answer=_answer)


HOUR = timedelta(hours=1)
