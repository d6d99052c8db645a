"""Lodging customs declarations and deciding them (DESIGN §4, §5: ``POST /v1/declarations``).

Lodging stores the declaration ``RECEIVED`` together with the message that queues it for matching (one
transaction, DESIGN §6.1) and answers 202. The matching function then calls ``match_declaration``, which
decides with the rules of ``jevs.domain.matching`` and writes the result, the certificate's usage and
history event, and the messages that take the result back to the declarant, all at once. A decision that
lost a race (another declaration used the certificate first) is simply decided again from what is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from jevs.domain.canonical import digest
from jevs.domain.declarations import (
    Declarant,
    DeclarationContent,
    DeclarationRecord,
    DeclarationStatus,
    MatchResult,
    Severity,
    declarant_for,
    declaration_id,
)
from jevs.domain.delivery import Delivery, DeliveryState, result_delivery_key
from jevs.domain.errors import Conflict, Forbidden, NotFound, RetryableFailure
from jevs.domain.history import EventType, HistoryEvent, new_event
from jevs.domain.idempotency import SubmissionResult, idempotency_record, replay
from jevs.domain.matching import MatchDecision, decide_match
from jevs.domain.parties import Party
from jevs.domain.ports import (
    CertificateStore,
    Clock,
    DeclarationNumberTaken,
    DeclarationStore,
    IdempotencyKeyTaken,
)
from jevs.domain.records import (
    CertificateMatch,
    CertificateRecord,
    DeclarationLodgement,
    MatchRecording,
    OutboxChannel,
    OutboxMessage,
    StoredAnswer,
    Usage,
)

RECEIVED_KIND = "declaration.received"
RESULT_KIND = "declaration.result"
MATCHER = "jevs-matcher"
# A decision that lost a race is decided again at once; this many times before the queue's retry takes over.
MAX_DECISION_ATTEMPTS = 5

# Renders the API's answer for a declaration: (record, created) -> answer, stored for idempotent retries.
DeclarationAnswerFor = Callable[[DeclarationRecord, bool], StoredAnswer]


def lodge_declaration(
    *,
    party: Party,
    content: DeclarationContent,
    idempotency_key: str,
    store: DeclarationStore,
    clock: Clock,
    answer_for: DeclarationAnswerFor,
) -> SubmissionResult:
    declarant = declarant_for(party)
    if declarant is None:
        raise Forbidden("only NZ Customs and China Customs lodge declarations")
    now = clock.now()
    record = DeclarationRecord(
        id=declaration_id(declarant, content.declaration_number),
        declarant=declarant,
        declarant_party=party.id,
        content=content,
        content_hash=digest(content),
        status=DeclarationStatus.RECEIVED,
        received_at=now,
    )
    answer = answer_for(record, True)
    lodgement = DeclarationLodgement(
        declaration=record,
        outbox=OutboxMessage(
            message_id=f"{record.id}/{OutboxChannel.DECLARATIONS}",
            channel=OutboxChannel.DECLARATIONS,
            kind=RECEIVED_KIND,
            certificate_number=content.certificate_number,
            version=0,
            created_at=now,
            declaration_id=record.id,
        ),
        idempotency=idempotency_record(
            party_id=party.id,
            key=idempotency_key,
            request={"party": party.id, "declaration": content},
            answer=answer,
            now=now,
        ),
    )
    try:
        store.lodge_declaration(lodgement)
    except IdempotencyKeyTaken as taken:
        return replay(taken, lodgement.idempotency)
    except DeclarationNumberTaken as taken:
        # The same declaration sent again finds the first one (and, once decided, its result).
        if taken.existing.content_hash != record.content_hash:
            raise Conflict(
                "declaration-number-exists",
                f"declaration {content.declaration_number} was already lodged with other content",
            ) from None
        return SubmissionResult(answer_for(taken.existing, False), replayed=False)
    return SubmissionResult(answer, replayed=False)


def read_declaration(party: Party, declaration_id: str, store: DeclarationStore) -> DeclarationRecord:
    """A declaration and its result, for the customs that lodged it; anyone else learns nothing (404)."""
    record = store.get_declaration(declaration_id)
    if record is None or record.declarant_party != party.id:
        raise NotFound(f"declaration {declaration_id}")
    return record


def match_declaration(
    declaration_id: str,
    *,
    store: DeclarationStore,
    certificates: CertificateStore,
    clock: Clock,
    max_attempts: int = MAX_DECISION_ATTEMPTS,
) -> DeclarationRecord:
    """Decide the declaration and record the decision; a declaration decided before keeps its result."""
    for attempt in range(1, max_attempts + 1):
        declaration = store.get_declaration(declaration_id)
        if declaration is None:
            raise NotFound(f"declaration {declaration_id}")
        if declaration.status is not DeclarationStatus.RECEIVED:
            return declaration
        certificate = certificates.get_certificate(declaration.content.certificate_number)
        ledger = store.get_usage_ledger(certificate.usage_root) if certificate is not None else None
        now = clock.now()
        decision = decide_match(declaration, certificate, ledger, now)
        decided = declaration.model_copy(update={"status": decision.result.status, "result": decision.result})
        try:
            revision_read = ledger.revision if ledger is not None else 0
            store.record_match(_recording(decided, certificate, decision, revision_read, now))
        except RetryableFailure:
            if attempt == max_attempts:
                raise
            continue
        return decided
    raise AssertionError("unreachable: the last attempt returns or raises")


def _recording(
    decided: DeclarationRecord,
    certificate: CertificateRecord | None,
    decision: MatchDecision,
    revision_read: int,
    now: datetime,
) -> MatchRecording:
    result = decision.result
    outbox, deliveries = _result_messages(decided, result, certificate, now)
    return MatchRecording(
        declaration=decided,
        certificate=_certificate_change(decided, result, certificate, now) if certificate is not None else None,
        ledger=decision.ledger,
        ledger_revision_read=revision_read,
        outbox=outbox,
        deliveries=deliveries,
    )


def _certificate_change(
    decided: DeclarationRecord, result: MatchResult, certificate: CertificateRecord, now: datetime
) -> tuple[CertificateRecord, HistoryEvent, CertificateMatch]:
    used_now = decided.declarant is Declarant.CN_IMPORT_DECLARATION and result.status is DeclarationStatus.MATCHED
    event = new_event(
        after=certificate.history_head,
        certificate_number=certificate.number,
        type=EventType.DECLARATION_DECIDED,
        occurred_at=now,
        actor=MATCHER,
        version=certificate.version,
        details={
            "declaration_id": decided.id,
            "declarant": decided.declarant.value,
            "status": result.status.value,
            "errors": sum(1 for found in result.discrepancies if found.severity is Severity.ERROR),
            "warnings": sum(1 for found in result.discrepancies if found.severity is Severity.WARNING),
            "usage": Usage.USED.value if used_now else certificate.usage.value,
        },
    )
    updated = certificate.model_copy(update={"history_head": event.head, **({"usage": Usage.USED} if used_now else {})})
    kept = CertificateMatch(declaration_id=decided.id, declarant=decided.declarant.value, result=result)
    return updated, event, kept


def _result_messages(
    decided: DeclarationRecord, result: MatchResult, certificate: CertificateRecord | None, now: datetime
) -> tuple[tuple[OutboxMessage, ...], tuple[Delivery, ...]]:
    """China gets the result through the signed delivery channel (a delivery reconciliation watches); NZ
    Customs through its notification path. An NZ export entry never goes to China (DESIGN §1)."""
    version = certificate.version if certificate is not None else 0
    if decided.declarant is Declarant.CN_IMPORT_DECLARATION:
        delivery = Delivery(
            certificate_number=result.certificate_number,
            version=version,
            declaration_id=decided.id,
            state=DeliveryState.PENDING,
            created_at=now,
            updated_at=now,
        )
        message = OutboxMessage(
            message_id=f"{result_delivery_key(decided.id)}/{OutboxChannel.DELIVERY_TO_CHINA}",
            channel=OutboxChannel.DELIVERY_TO_CHINA,
            kind=RESULT_KIND,
            certificate_number=result.certificate_number,
            version=version,
            created_at=now,
            declaration_id=decided.id,
        )
        return (message,), (delivery,)
    message = OutboxMessage(
        message_id=f"{decided.id}/result/{OutboxChannel.NOTIFICATIONS}",
        channel=OutboxChannel.NOTIFICATIONS,
        kind=RESULT_KIND,
        certificate_number=result.certificate_number,
        version=version,
        created_at=now,
        declaration_id=decided.id,
    )
    return (message,), ()
