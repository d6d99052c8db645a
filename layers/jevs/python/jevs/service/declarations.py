"""Customs declarations: lodged (``POST /v1/declarations``), amended by lodging the same number again, read by
the customs that lodged them, and matched against the certificate they quote (DESIGN.md §3, §4).

Lodging stores the declaration ``RECEIVED`` with the message that queues it for matching (one commit) and
answers 202. The matcher then calls ``match_declaration``, which decides with the rules of
``jevs.domain.matching`` and commits the result, the certificate's usage and history event, and the messages
that take the result back to the declarant together. A new revision is decided from scratch, what the revision
it amends drew released in the same commit. A declaration decided ``CERTIFICATE_NOT_FOUND`` is decided again when
a certificate with its number is issued within 30 days (``match_awaiting``). A decision that lost a race
(another declaration used the certificate first) is decided again from what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jevs.domain.canonical import digest
from jevs.domain.china_message import decided as result_for_china
from jevs.domain.declarations import (
    Declarant,
    DeclarationContent,
    DeclarationRecord,
    DeclarationStatus,
    UsageLedger,
    declarant_for,
    declaration_id,
)
from jevs.domain.errors import Conflict, NotFound
from jevs.domain.history import ChainHead
from jevs.domain.matching import certificate_after, decide_match
from jevs.domain.messages import FileExportResult, MatchAwaiting, MatchDeclaration
from jevs.domain.parties import Party
from jevs.domain.records import CertificateMatch
from jevs.service.certificates import stage_to_china
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
    # False when the same declaration, as it stands, was lodged before: the answer is the stored one.
    created: bool


def lodge_declaration(command: LodgeDeclaration, uow: UnitOfWork) -> Lodged:
    """A new declaration, or a new revision of one lodged before with other content; the same content again
    finds what is stored (and its result once decided)."""
    party, content = command.party, command.content
    declarant = declarant_for(party)
    if declarant is None:
        raise NotFound("declarations")
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
    _queue_for_matching(uow, record)
    lodged = Lodged(record, created=True)
    try:
        uow.commit(answering=lodged)
    except Refused as refused:
        existing = uow.declarations.get(record.id) if refused.of("declaration") else None
        if existing is None:
            raise
        if existing.declarant_party != party.id:
            raise _lodged_by_another(content) from None
        if existing.content_hash == record.content_hash:
            return Lodged(existing, created=False)
        return _amend(uow, existing, record)
    return lodged


def _lodged_by_another(content: DeclarationContent) -> Conflict:
    """Another party of the same customs type holds this declaration number (issue 14, finding 6).

    Its record is never answered, whatever the content: a resend would otherwise hand one party's result to
    another, and an amendment would overwrite its declaration. A customs system treats a declaration number as
    its administration's own, unique within it, so a second lodger of one is told the number is taken (409, as a
    certificate number taken is) and nothing else: not the record, its status, its certificate or its lodger.

    The id stays the declarant type and the number, not namespaced per lodging party: two parties of one type are
    systems of one administration, and one number from both is one declaration in the real world. Two records of
    it would each draw on the certificate's usage, and a preference decision, which names a declaration by its
    number alone, could not tell them apart. Stored ids stay as they are: nothing to migrate."""
    return Conflict(
        "declaration-number-exists",
        f"declaration {content.declaration_number} is lodged by another party: nothing was stored",
    )


def _amend(uow: UnitOfWork, existing: DeclarationRecord, lodged: DeclarationRecord) -> Lodged:
    """The declarant lodged the same declaration number with amended content: its next revision."""
    amended = existing.amended(lodged.content, lodged.content_hash, lodged.received_at)
    uow.declarations.amend(existing, amended)
    _queue_for_matching(uow, amended)
    outcome = Lodged(amended, created=True)
    uow.commit(answering=outcome)
    return outcome


def matching_message(record: DeclarationRecord) -> MatchDeclaration:
    """The message that queues a declaration's latest revision for matching: the same whenever it is made."""
    return MatchDeclaration(
        declaration_id=record.id,
        certificate_number=record.content.certificate_number,
        revision=record.revision,
        created_at=record.received_at,
    )


def _queue_for_matching(uow: UnitOfWork, record: DeclarationRecord) -> None:
    uow.outbox.add(matching_message(record))


def read_declaration(party: Party, declaration_id: str, uow: UnitOfWork) -> DeclarationRecord:
    """A declaration and its result, for the customs that lodged it; anyone else learns nothing (404)."""
    record = uow.declarations.get(declaration_id)
    if record is None or record.declarant_party != party.id:
        raise NotFound(f"declaration {declaration_id}")
    return record


def match_declaration(
    command: MatchDeclaration, uow: UnitOfWork, *, max_attempts: int = MAX_DECISION_ATTEMPTS
) -> DeclarationRecord:
    """Decide the declaration as it stands and commit the decision; one decided before keeps its result."""
    return _decide(command.declaration_id, uow, max_attempts, waiting=False)


def match_awaiting(command: MatchAwaiting, uow: UnitOfWork) -> list[DeclarationRecord]:
    """A certificate was issued: decide again each declaration that quoted its number before it existed."""
    decided = []
    for waiting in uow.declarations.awaiting(command.certificate_number, uow.now()):
        decided.append(_decide(waiting.id, uow, MAX_DECISION_ATTEMPTS, waiting=True))
    return decided


def _decide(declaration_id: str, uow: UnitOfWork, max_attempts: int, *, waiting: bool) -> DeclarationRecord:
    for attempt in range(1, max_attempts + 1):
        declaration = uow.declarations.get(declaration_id)
        if declaration is None:
            raise NotFound(f"declaration {declaration_id}")
        # Decided already (a second copy of the message), or, when waiting, no longer waiting for its certificate.
        due = DeclarationStatus.CERTIFICATE_NOT_FOUND if waiting else DeclarationStatus.RECEIVED
        if declaration.status is not due:
            return declaration
        try:
            return _decide_once(declaration, uow)
        except Refused:
            # Another writer got there first (the declaration amended or decided, a history or a ledger moved).
            if attempt == max_attempts:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _decide_once(declaration: DeclarationRecord, uow: UnitOfWork) -> DeclarationRecord:
    now = uow.now()
    certificate = uow.certificates.get(declaration.content.certificate_number)
    ledgers = _Ledgers(uow)
    if declaration.amends is not None:
        # What the amended revision drew is released in the same commit, from the ledger of the certificate it
        # quoted (an amendment may quote another one).
        quoted_before = uow.certificates.get(declaration.amends.content.certificate_number)
        if quoted_before is not None:
            ledgers.release(quoted_before.usage_root, declaration)
    ledger = ledgers.current(certificate.usage_root) if certificate is not None else None
    decision = decide_match(declaration, certificate, ledger, now)
    if decision.ledger is not None:
        ledgers.replace(decision.ledger)
    decided = declaration.decided(decision.result)
    uow.declarations.decide(declaration, decided)
    head = None
    if certificate is not None:
        change = certificate_after(certificate, decided, now)
        uow.certificates.change(change)
        head = change.record.history_head
        match = CertificateMatch(
            declaration_id=decided.id,
            declarant=decided.declarant.value,
            result=decision.result,
            revision=decided.revision,
            decision=decided.decision,
        )
        uow.certificates.keep_match(certificate.number, match)
    ledgers.stage()
    _send_result(uow, decided, certificate.version if certificate is not None else 0, head, now)
    uow.commit()
    return decided


class _Ledgers:
    """The usage ledgers one decision touches: each read once, changed in a working copy, and written once,
    conditioned on the revision it was read at (so a declaration racing for the same certificate is refused)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._stored: dict[str, UsageLedger | None] = {}
        self._working: dict[str, UsageLedger] = {}

    def _read(self, root: str) -> UsageLedger | None:
        if root not in self._stored:
            self._stored[root] = self._uow.ledgers.get(root)
        return self._stored[root]

    def current(self, root: str) -> UsageLedger | None:
        """The ledger as this decision sees it: as stored, with what it released already taken off."""
        return self._working.get(root) or self._read(root)

    def release(self, root: str, declaration: DeclarationRecord) -> None:
        stored = self.current(root)
        if stored is not None and declaration.amends is not None:
            released = stored.released(declaration.id, declaration.declarant, declaration.amends)
            if released != stored:
                self._working[root] = released

    def replace(self, ledger: UsageLedger) -> None:
        self._working[ledger.root_number] = ledger

    def stage(self) -> None:
        for root, ledger in self._working.items():
            stored = self._read(root)
            read = stored.revision if stored is not None else 0
            self._uow.ledgers.put(ledger.model_copy(update={"revision": read + 1}), revision_read=read)


def _send_result(
    uow: UnitOfWork, decided: DeclarationRecord, version: int, head: ChainHead | None, now: datetime
) -> None:
    """China gets the result through the signed delivery channel (a delivery reconciliation watches); NZ Customs
    through its notification path. An NZ export entry never goes to China (DESIGN.md §1)."""
    number = decided.content.certificate_number
    if decided.declarant is Declarant.CN_IMPORT_DECLARATION:
        body = result_for_china(decided, version, head)
        stage_to_china(uow, body, history_of=None, at=now, declaration_id=decided.id)
    else:
        filing = FileExportResult(
            declaration_id=decided.id, certificate_number=number, decision=decided.decision, created_at=now
        )
        uow.outbox.add(filing)
