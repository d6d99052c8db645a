"""Submitting a certificate an issuing body issued in its own system (DESIGN §5, ``POST /v1/certificates``).

One submission is one transaction: the certificate, its first history event, the message that will
deliver it to China and the idempotency record of the request (DESIGN §6.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jevs.domain.applications import Application
from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.delivery import Delivery, DeliveryState, delivery_key
from jevs.domain.errors import Conflict, Forbidden, RetryableFailure
from jevs.domain.history import EventType, new_event
from jevs.domain.idempotency import SubmissionResult, idempotency_record, replay
from jevs.domain.issuance import assess_validity
from jevs.domain.parties import Party, PartyType
from jevs.domain.ports import CertificateNumberTaken, CertificateStore, Clock, IdempotencyKeyTaken
from jevs.domain.records import (
    CertificateIssue,
    CertificateRecord,
    CertificateStatus,
    NumberCounter,
    OutboxChannel,
    OutboxMessage,
    StoredAnswer,
    Usage,
)

NEW_ZEALAND = ZoneInfo("Pacific/Auckland")

# Renders the answer the API gives for a certificate: (record, created) -> answer. It is stored with the
# idempotency record so a retry gets the very same answer.
AnswerFor = Callable[[CertificateRecord, bool], StoredAnswer]


def submit_certificate(
    *,
    party: Party,
    content: CertificateContent,
    idempotency_key: str,
    store: CertificateStore,
    clock: Clock,
    answer_for: AnswerFor,
) -> SubmissionResult:
    if party.type is not PartyType.ISSUING_BODY:
        raise Forbidden("only an issuing body submits certificates")
    return issue_certificate(
        party=party, content=content, idempotency_key=idempotency_key, store=store, clock=clock, answer_for=answer_for
    )


@dataclass(frozen=True)
class HostedIssue:
    """What certifying an application adds to the issue: the application, decided, and the number counter."""

    application: Application
    counter: NumberCounter


def issue_certificate(
    *,
    party: Party,
    content: CertificateContent,
    idempotency_key: str,
    store: CertificateStore,
    clock: Clock,
    answer_for: AnswerFor,
    hosted: HostedIssue | None = None,
) -> SubmissionResult:
    """Issue ``content`` as version 1 of a certificate of ``party``'s: the one path every certificate takes,
    submitted from an issuing body's own system or certified from an application in JEVS."""
    assert party.place is not None  # an issuing body always has one (Party validates it)

    now = clock.now()
    validity = assess_validity(content, now.astimezone(NEW_ZEALAND).date())
    content_hash = digest(content)
    event = new_event(
        after=None,
        certificate_number=content.certificate_number,
        type=EventType.CERTIFICATE_ISSUED,
        occurred_at=now,
        actor=party.id,
        version=1,
        details={
            "content_hash": content_hash,
            "status": CertificateStatus.ISSUED,
            "retrospective": validity.retrospective,
        },
    )
    record = CertificateRecord(
        number=content.certificate_number,
        version=1,
        status=CertificateStatus.ISSUED,
        usage=Usage.UNUSED,
        issuing_body=party.id,
        issuing_body_name=party.name,
        place_of_issue=party.place,
        content=content,
        content_hash=content_hash,
        retrospective=validity.retrospective,
        valid_from=validity.valid_from,
        valid_until=validity.valid_until,
        recorded_at=now,
        history_head=event.head,
        application_id=hosted.application.id if hosted is not None else None,
    )
    answer = answer_for(record, True)
    outbox = _messages_for(record)
    issue = CertificateIssue(
        record=record,
        event=event,
        outbox=outbox,
        deliveries=tuple(
            Delivery(
                certificate_number=message.certificate_number,
                version=message.version,
                state=DeliveryState.PENDING,
                created_at=now,
                updated_at=now,
            )
            for message in outbox
            if message.channel is OutboxChannel.DELIVERY_TO_CHINA
        ),
        idempotency=idempotency_record(
            party_id=party.id,
            key=idempotency_key,
            request={"party": party.id, "content": content},
            answer=answer,
            now=now,
        ),
        application=hosted.application if hosted is not None else None,
        counter=hosted.counter if hosted is not None else None,
    )
    try:
        store.create_certificate(issue)
    except IdempotencyKeyTaken as taken:
        return replay(taken, issue.idempotency)
    except CertificateNumberTaken as taken:
        if hosted is not None:
            # JEVS allocated this number: another certification holds it, so this one takes the next.
            raise RetryableFailure(f"certificate number {content.certificate_number} is taken") from None
        existing = taken.existing
        if existing.content_hash != content_hash or existing.issuing_body != party.id:
            raise Conflict(
                "certificate-number-exists",
                f"certificate {content.certificate_number} already exists with other content",
            ) from None
        return SubmissionResult(answer_for(existing, False), replayed=False)
    return SubmissionResult(answer, replayed=False)


DOCUMENTS_KIND = "certificate.documents"


def _messages_for(record: CertificateRecord) -> tuple[OutboxMessage, ...]:
    """Every certificate version gets its documents (the PDF, NZ Customs' data file, and for a hosted one the
    applicant's email); one for goods imported into China is delivered to China Customs (DESIGN §6.2)."""
    documents = OutboxMessage(
        message_id=f"{delivery_key(record.number, record.version)}/{OutboxChannel.NOTIFICATIONS}",
        channel=OutboxChannel.NOTIFICATIONS,
        kind=DOCUMENTS_KIND,
        certificate_number=record.number,
        version=record.version,
        created_at=record.recorded_at,
    )
    if record.importing_country != "CN":
        return (documents,)
    return (
        documents,
        OutboxMessage(
            message_id=f"{delivery_key(record.number, record.version)}/{OutboxChannel.DELIVERY_TO_CHINA}",
            channel=OutboxChannel.DELIVERY_TO_CHINA,
            kind="certificate.version",
            certificate_number=record.number,
            version=record.version,
            created_at=record.recorded_at,
        ),
    )
