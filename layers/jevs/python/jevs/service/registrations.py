"""Goods registrations and signatories (DESIGN.md §1–3, §5): an exporter lodges them with the issuing body it
names; that issuing body approves (goods until a date) or refuses with reasons, once. The two kinds share every
step, so each use case takes the kind as data.

Who may do what: an exporter lodges and reads its own; the issuing body it named reads and decides them.
Anyone else is told nothing exists (404).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from jevs.domain.applications import Application
from jevs.domain.errors import FieldError, NotFound, RuleViolation
from jevs.domain.history import ChainVerification, SignedHead, signed_head, with_seals
from jevs.domain.parties import Party, PartyRegistry, PartyType
from jevs.domain.record_history import RecordEvent, verify_history
from jevs.domain.registrations import (
    ApprovalDecision,
    GoodsLodgement,
    GoodsRegistration,
    RegistrationKind,
    RegistrationStatus,
    Signatory,
    SignatoryLodgement,
    new_id,
)
from jevs.service.ports import SealChecker
from jevs.service.unit_of_work import RecordPage, Refused, UnitOfWork

# The most records one page of goods registrations, signatories or applications holds.
MAX_PAGE_SIZE = 100

Registration = GoodsRegistration | Signatory
# What a party that is neither exporter nor issuing body is told when it lodges or lists any of them: not found.
LODGEMENTS = "goods registrations, signatories and applications"
RegistrationType = type[GoodsRegistration] | type[Signatory]


def exporter_business_number(party: Party) -> str:
    if party.type is not PartyType.EXPORTER or party.business_number is None:
        # 404, as for everything a party may not do (DESIGN.md §5): a refusal names no party type.
        raise NotFound(LODGEMENTS)
    return party.business_number


def named_issuing_body(parties: PartyRegistry, party_id: str, field: str) -> Party:
    body = parties.party(party_id)
    if body is None or body.type is not PartyType.ISSUING_BODY:
        raise RuleViolation([FieldError(field, f"{party_id!r} is not an issuing body")])
    return body


class LodgedRecord(Protocol):
    """What an exporter lodges with an issuing body: a goods registration, a signatory, an application."""

    @property
    def exporter_business_number(self) -> str: ...

    @property
    def issuing_body(self) -> str: ...


def may_read(party: Party, record: LodgedRecord) -> bool:
    """The exporter that lodged it and the issuing body it was lodged with (evidence and contact details are
    theirs alone, DESIGN.md §1)."""
    if party.type is PartyType.EXPORTER:
        return record.exporter_business_number == party.business_number
    return party.type is PartyType.ISSUING_BODY and record.issuing_body == party.id


@dataclass(frozen=True)
class LodgeRegistration:
    party: Party
    lodged: GoodsLodgement | SignatoryLodgement


def lodge_registration(command: LodgeRegistration, uow: UnitOfWork, parties: PartyRegistry) -> Registration:
    """Goods, or a signatory, lodged with the issuing body the exporter names: LODGED until decided."""
    party, lodged = command.party, command.lodged
    nzbn = exporter_business_number(party)
    named_issuing_body(parties, lodged.issuing_body, "issuing_body")
    common = {
        "exporter": party.id,
        "exporter_business_number": nzbn,
        "issuing_body": lodged.issuing_body,
        "status": RegistrationStatus.LODGED,
        "lodged_at": uow.now(),
    }
    record: Registration
    if isinstance(lodged, GoodsLodgement):
        record = GoodsRegistration.model_validate(
            {**common, "id": new_id(RegistrationKind.GOODS, nzbn), "goods": lodged}
        )
    else:
        record = Signatory.model_validate({**common, "id": new_id(RegistrationKind.SIGNATORY, nzbn), "person": lodged})
    first = record.lodged()
    uow.registrations.add(first)
    uow.commit(answering=first.record)
    return first.record


def read_registration(party: Party, kind: RegistrationType, registration_id: str, uow: UnitOfWork) -> Registration:
    record = uow.registrations.get(registration_id)
    if not isinstance(record, kind) or not may_read(party, record):
        raise NotFound(registration_id)
    return record


def list_registrations(
    party: Party, kind: RegistrationType, uow: UnitOfWork, limit: int, cursor: str | None = None
) -> RecordPage[Registration]:
    """A page of an exporter's own records of ``kind``, or of those lodged with an issuing body; oldest first."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    if party.type is PartyType.EXPORTER and party.business_number is not None:
        return uow.registrations.of_exporter(kind, party.business_number, limit, cursor)
    if party.type is PartyType.ISSUING_BODY:
        return uow.registrations.lodged_with(kind, party.id, limit, cursor)
    raise NotFound(LODGEMENTS)


@dataclass(frozen=True)
class DecideRegistration:
    party: Party
    kind: RegistrationType
    registration_id: str
    decision: ApprovalDecision


def decide_registration(command: DecideRegistration, uow: UnitOfWork) -> Registration:
    """The issuing body's decision on goods (approved until a date, or refused) or a signatory: once only. A
    decision on a record decided meanwhile stores nothing (the commit is conditioned on its status)."""
    party = command.party
    record = uow.registrations.get(command.registration_id)
    # Only the issuing body it was lodged with decides; to anyone else it does not exist (DESIGN.md §5: 404 for
    # the unseen), the same answer as for an id no one holds, so a refusal never tells that a record is there.
    if not isinstance(record, command.kind) or party.type is not PartyType.ISSUING_BODY:
        raise NotFound(command.registration_id)
    if record.issuing_body != party.id:
        raise NotFound(command.registration_id)
    decided = record.decided(command.decision, party.id, uow.now())
    uow.registrations.replace(record, decided)
    try:
        uow.commit(answering=decided.record)
    except Refused as refused:
        if not refused.of("registration"):
            raise
        # Another decision was stored since this one read the record: deciding what is stored now raises the
        # conflict that names it.
        stored = uow.registrations.get(record.id)
        if stored is not None:
            stored.decided(command.decision, party.id, uow.now())
        raise
    return decided.record


@dataclass(frozen=True)
class VerifiedRecordHistory:
    """A record's history as stored, and what checking its chain found."""

    record: Registration | Application
    events: Sequence[RecordEvent]
    verification: ChainVerification
    # The latest event's seal, when the chain (and every seal) verified.
    signed_head: SignedHead | None = None


def verified_history(
    read: Callable[[], Registration | Application],
    events_of: Callable[[str], Sequence[RecordEvent]],
    seals: SealChecker | None = None,
) -> VerifiedRecordHistory:
    """The record (``read``, which decides who may see it) with its events, and whether the chain verifies; with
    ``seals`` (JEVS's keys), whether every event is the one JEVS sealed when it was written."""
    record = read()
    events = events_of(record.id)
    head = record.history_head
    if head is not None and events and events[-1].sequence > head.sequence:
        # A change was committed between the two reads: the record is read again, once (an event stored beyond the
        # head by any other means is still beyond it, and breaks the chain).
        record = read()
    verification = with_seals(verify_history(record, events), events, seals.check_seal if seals else None)
    return VerifiedRecordHistory(record, events, verification, signed_head(events, verification))


def read_registration_history(
    party: Party, kind: RegistrationType, registration_id: str, uow: UnitOfWork, seals: SealChecker | None = None
) -> VerifiedRecordHistory:
    """Every event of a goods registration's or signatory's history, and whether its chain (and, with ``seals``,
    every seal) verifies: for those who may read the record (404 for anyone else)."""
    return verified_history(
        lambda: read_registration(party, kind, registration_id, uow), uow.registrations.history, seals
    )
