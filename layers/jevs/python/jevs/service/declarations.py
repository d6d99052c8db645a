"""Customs declarations: lodged (``POST /v1/declarations``), read by the customs that lodged them, and matched
against the certificate they quote (DESIGN §3, §4).

Lodging stores the declaration ``RECEIVED`` with the message that queues it for matching (one commit) and
answers 202. The matcher then calls ``match_declaration``, which decides with the rules of
``jevs.domain.matching`` and commits the result, the certificate's usage and history event, and the messages
that take the result back to the declarant together. A decision that lost a race (another declaration used
the certificate first) is decided again from what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jevs.domain.canonical import digest
from jevs.domain.declarations import (
    Declarant,
    DeclarationContent,
    DeclarationRecord,
    DeclarationStatus,
    declarant_for,
    declaration_id,
)
from jevs.domain.delivery import Delivery
from jevs.domain.errors import Conflict, Forbidden, NotFound
from jevs.domain.matching import certificate_after, decide_match
from jevs.domain.messages import DeliverMatchResult, FileExportResult, MatchDeclaration
from jevs.domain.parties import Party
from jevs.domain.records import CertificateMatch
from jevs.service.unit_of_work import Refused, UnitOfWork

# A decision that lost a race is decided again at once; this many times before the queue's retry takes over.
MAX_DECISION_ATTEMPTS = 5


@dataclass(frozen=True)
class LodgeDeclaration:
    party: Party
    content: DeclarationContent


@dataclass(frozen=True)
class Lodged:
    declaration: DeclarationRecord
    # False when the same declaration was lodged before: the answer is the stored one (with its result).
    created: bool


def lodge_declaration(command: LodgeDeclaration, uow: UnitOfWork) -> Lodged:
    party, content = command.party, command.content
    declarant = declarant_for(party)
    if declarant is None:
        raise Forbidden("only NZ Customs and China Customs lodge declarations")
    now = uow.now()
    record = DeclarationRecord(
        id=declaration_id(declarant, content.declaration_number),
        declarant=declarant,
        declarant_party=party.id,
        content=content,
        content_hash=digest(content),
        status=DeclarationStatus.RECEIVED,
        received_at=now,
    )
    uow.declarations.add(record)
    uow.outbox.add(
        MatchDeclaration(declaration_id=record.id, certificate_number=content.certificate_number, created_at=now)
    )
    lodged = Lodged(record, created=True)
    try:
        uow.commit(answering=lodged)
    except Refused as refused:
        existing = uow.declarations.get(record.id) if refused.of("declaration") else None
        if existing is None:
            raise
        # The same declaration sent again finds the first one (and, once decided, its result).
        if existing.content_hash != record.content_hash:
            raise Conflict(
                "declaration-number-exists",
                f"declaration {content.declaration_number} was already lodged with other content",
            ) from None
        return Lodged(existing, created=False)
    return lodged


def read_declaration(party: Party, declaration_id: str, uow: UnitOfWork) -> DeclarationRecord:
    """A declaration and its result, for the customs that lodged it; anyone else learns nothing (404)."""
    record = uow.declarations.get(declaration_id)
    if record is None or record.declarant_party != party.id:
        raise NotFound(f"declaration {declaration_id}")
    return record


def match_declaration(
    command: MatchDeclaration, uow: UnitOfWork, *, max_attempts: int = MAX_DECISION_ATTEMPTS
) -> DeclarationRecord:
    """Decide the declaration and commit the decision; a declaration decided before keeps its result."""
    for attempt in range(1, max_attempts + 1):
        declaration = uow.declarations.get(command.declaration_id)
        if declaration is None:
            raise NotFound(f"declaration {command.declaration_id}")
        if declaration.status is not DeclarationStatus.RECEIVED:
            return declaration
        certificate = uow.certificates.get(declaration.content.certificate_number)
        ledger = uow.ledgers.get(certificate.usage_root) if certificate is not None else None
        now = uow.now()
        decision = decide_match(declaration, certificate, ledger, now)
        decided = declaration.model_copy(update={"status": decision.result.status, "result": decision.result})
        uow.declarations.decide(decided)
        if certificate is not None:
            uow.certificates.change(certificate_after(certificate, decided, now))
            match = CertificateMatch(
                declaration_id=decided.id, declarant=decided.declarant.value, result=decision.result
            )
            uow.certificates.keep_match(certificate.number, match)
        if decision.ledger is not None:
            uow.ledgers.put(decision.ledger, revision_read=ledger.revision if ledger is not None else 0)
        _send_result(uow, decided, certificate.version if certificate is not None else 0, now)
        try:
            uow.commit()
        except Refused:
            # Another writer got there first (the declaration decided, the history or the ledger moved).
            if attempt == max_attempts:
                raise
            continue
        return decided
    raise AssertionError("unreachable: the last attempt returns or raises")


def _send_result(uow: UnitOfWork, decided: DeclarationRecord, version: int, now: datetime) -> None:
    """China gets the result through the signed delivery channel (a delivery reconciliation watches); NZ Customs
    through its notification path. An NZ export entry never goes to China (DESIGN §1)."""
    number = decided.content.certificate_number
    if decided.declarant is Declarant.CN_IMPORT_DECLARATION:
        message = DeliverMatchResult(
            declaration_id=decided.id, certificate_number=number, version=version, created_at=now
        )
        uow.outbox.add(message)
        uow.deliveries.add(Delivery.pending(message, now))
    else:
        uow.outbox.add(FileExportResult(declaration_id=decided.id, certificate_number=number, created_at=now))
