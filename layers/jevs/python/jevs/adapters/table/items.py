"""Where each record lives in the records table, and its item. The item layout:

each certificate under ``CERTIFICATE#<number>``:

| sort key | what |
| --- | --- |
| ``HEAD`` | the current record, with the listing attributes every index reads |
| ``VERSION#000001`` | each version's content as submitted; in the by-open-work index until its documents are made |
| ``EVENT#00000001`` | each history event |
| ``OUTBOX#<message id>`` | each message to relay, read from the stream; in the by-open-work index until published |
| ``DELIVERY#000001`` | each version's delivery to China; while PENDING it is in the by-pending-delivery index |
| ``USAGE`` | the usage ledger (on the original only: a certified true copy draws on its original's) |
| ``MATCH#<declaration id>`` | the result of each declaration that quoted the certificate |
| ``PREFERENCE#<declaration id>`` | China Customs' preference decision (box 5) on each import declaration, once |

each declaration under ``DECLARATION#<id>``: ``DECLARATION`` (the declaration, and once decided its result; while
it waits to be matched, in the by-open-work index), ``OUTBOX#<message id>``, and for a CN import ``DELIVERY#RESULT``
(its result's delivery to China);
hosted issuing under the exporter, ``EXPORTER#<NZBN>``: ``GR#<id>`` (goods registrations), ``SG#<id>``
(signatories), ``AP#<id>`` (applications), each in the by-work-queue index of its issuing body, in the
by-exporter-work index of its exporter and, while an
application is undecided, in the by-open-application index by due time; beside each, its history's events,
``EVENT#<id>#00000001`` ...; each issuing body's number counter
under ``COUNTER#<issuing body>#<year>``; idempotency records under ``IDEMPOTENCY#<party>#<key>``; each
verification request under ``VERIFICATION#<id>``: ``VERIFICATION`` (the request, its answer's documents named, never
held), in the by-verification-request index (everyone involved lists it), in the by-work-queue index of the
certificate's issuing body and, while unanswered, in the by-open-application index by due date (the overseer's);
its answer's delivery to China is under the certificate, ``DELIVERY#VERIFICATION#<id>``; each redrive job under
``REDRIVE#<id>``: ``JOB`` (the job and its progress), in the by-work-queue index under ``REDRIVE`` (operations list
the recent ones) and, while RUNNING, in the by-open-application index under ``REDRIVE`` (the reconciler works
those), and beside it ``LETTER#<message id>``, each dead letter it kept (quarantined, or a stream batch not found).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jevs.adapters.table.model import Item, Key
from jevs.adapters.table.outbox import OPEN_OUTBOX, OPEN_SINCE, OPEN_WORK, OUTBOX_PREFIX
from jevs.domain.applications import Application, ApplicationStatus
from jevs.domain.breaker import Circuit
from jevs.domain.china_message import (
    ChinaCertificateMessage,
    ChinaReplacedMessage,
    ChinaResultMessage,
    ChinaRevokedMessage,
    ChinaVerificationResponseMessage,
)
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, UsageLedger
from jevs.domain.delivery import Delivery, DeliveryState
from jevs.domain.history import HistoryEvent
from jevs.domain.messages import DeliverToChina, FileExportResult, MatchDeclaration, OutboxMessage
from jevs.domain.preferences import PreferenceDecision
from jevs.domain.record_history import RecordEvent
from jevs.domain.records import CertificateMatch, CertificateRecord, NumberCounter, StoredVersion
from jevs.domain.recovery import KeptLetter, RedriveJob
from jevs.domain.registrations import GoodsRegistration, RegistrationKind, Signatory
from jevs.domain.verification import VerificationRequest, VerificationStatus
from jevs.resources import (
    CERTIFICATE_PARTITIONS,
    CIRCUIT_PARTITIONS,
    COUNTER_PARTITIONS,
    DECLARATION_PARTITIONS,
    EXPORTER_PARTITIONS,
    IDEMPOTENCY_PARTITIONS,
    REDRIVE_PARTITIONS,
    VERIFICATION_PARTITIONS,
)
from jevs.service.idempotency import IdempotencyRecord

HEAD = "HEAD"
DECLARATION = "DECLARATION"
USAGE = "USAGE"
COUNTER = "COUNTER"
IDEMPOTENCY = "IDEMPOTENCY"
RESULT_DELIVERY = "DELIVERY#RESULT"
PENDING = "PENDING"
OPEN = "OPEN"
EVENT_PREFIX = "EVENT#"
VERSION_PREFIX = "VERSION#"
DELIVERY_PREFIX = "DELIVERY#"
MATCH_PREFIX = "MATCH#"
PREFERENCE_PREFIX = "PREFERENCE#"


def instant(moment: datetime) -> str:
    """An instant as an index's sort key: ISO 8601 in UTC, so text order is time order whatever zone it came in."""
    return moment.astimezone(UTC).isoformat()


def _item(values: Mapping[str, Any]) -> Item:
    """Attributes with a value: a None is simply not stored (so sparse indexes leave the item out)."""
    return {name: value for name, value in values.items() if value is not None}


# The by-open-work index: work a commit leaves to be done asynchronously, one partition per kind, sorted by the
# instant it has been open since. The item that holds the work carries both attributes from the commit that makes
# it (its mapper writes them) until whoever finishes the work removes them; reconciliation moves ``open_since`` on
# each time it queues the work again. (The outbox's kind, ``OPEN_OUTBOX``, is ``jevs.adapters.table.outbox``'s.)
OPEN_MATCHING = "MATCHING"  # a declaration's latest revision, waiting to be matched
OPEN_DOCUMENTS = "DOCUMENTS"  # a certificate version whose documents are not made yet


def _open(kind: str, since: datetime, is_open: bool = True) -> dict[str, str | None]:
    """The attributes that put an item in the by-open-work index (None, so not stored, when its work is done)."""
    return {OPEN_WORK: kind if is_open else None, OPEN_SINCE: instant(since) if is_open else None}


def _partition(partitions: str, *parts: object) -> str:
    """A partition key of a kind (``jevs.resources``, whose pattern IAM's writes are held to): the pattern without
    its wildcard, then the parts, joined by ``#``."""
    return partitions.removesuffix("*") + "#".join(str(part) for part in parts)


def certificate_partition(number: str) -> str:
    return _partition(CERTIFICATE_PARTITIONS, number)


def declaration_partition(declaration_id: str) -> str:
    return _partition(DECLARATION_PARTITIONS, declaration_id)


def exporter_partition(business_number: str) -> str:
    return _partition(EXPORTER_PARTITIONS, business_number)


def listing_key(record: CertificateRecord) -> str:
    return f"{record.content.issue_date.isoformat()}#{record.number}"


# -- certificates -------------------------------------------------------------------------------------------


def head_key(number: str) -> Key:
    return certificate_partition(number), HEAD


def head_item(record: CertificateRecord) -> Item:
    return _item(
        {
            "pk": certificate_partition(record.number),
            "sk": HEAD,
            "record": record.model_dump_json(),
            "status": record.status.value,
            "issuing_body": record.issuing_body,
            "exporter_business_number": record.exporter_business_number,
            "importing_country": record.importing_country,
            "issue_year": str(record.content.issue_date.year),
            # What a change of history is conditioned on: nobody appended an event since it was read.
            "history_sequence": record.history_head.sequence,
            "listing_key": listing_key(record),
        }
    )


def certificate_of(item: Item) -> CertificateRecord:
    return CertificateRecord.model_validate_json(item["record"])


def version_key(number: str, version: int) -> Key:
    return certificate_partition(number), f"{VERSION_PREFIX}{version:06d}"


def version_item(record: CertificateRecord) -> Item:
    """A new version, whose documents (its PDF, NZ Customs' data file, an applicant's email) are still to make."""
    pk, sk = version_key(record.number, record.version)
    return {
        "pk": pk,
        "sk": sk,
        "version": record.version,
        "content_hash": record.content_hash,
        "content": record.content.model_dump_json(),
        **_open(OPEN_DOCUMENTS, record.recorded_at),
    }


def version_key_of(item: Item) -> tuple[str, int]:
    """The certificate number and version of a version item (read from its keys, without parsing its content)."""
    return str(item["pk"]).removeprefix(certificate_partition("")), int(item["version"])


def version_of(item: Item) -> StoredVersion:
    return StoredVersion.model_validate(
        {"version": int(item["version"]), "content_hash": item["content_hash"], "content": json.loads(item["content"])}
    )


def event_item(event: HistoryEvent) -> Item:
    return {
        "pk": certificate_partition(event.certificate_number),
        "sk": f"{EVENT_PREFIX}{event.sequence:08d}",
        "event": event.model_dump_json(),
    }


def event_of(item: Item) -> HistoryEvent:
    return HistoryEvent.model_validate_json(item["event"])


def match_item(number: str, match: CertificateMatch) -> Item:
    """Every decision of every declaration that quoted the certificate is kept (revisions, decisions again)."""
    return {
        "pk": certificate_partition(number),
        "sk": f"{MATCH_PREFIX}{match.declaration_id}#{match.decision:04d}",
        "match": match.model_dump_json(),
    }


def match_of(item: Item) -> CertificateMatch:
    return CertificateMatch.model_validate_json(item["match"])


def preference_item(decision: PreferenceDecision) -> Item:
    """One per (certificate, declaration): the key is what makes a second decision a conflict."""
    return {
        "pk": certificate_partition(decision.certificate_number),
        "sk": f"{PREFERENCE_PREFIX}{decision.declaration_id}",
        "preference": decision.model_dump_json(),
    }


def preference_of(item: Item) -> PreferenceDecision:
    return PreferenceDecision.model_validate_json(item["preference"])


def ledger_key(root_number: str) -> Key:
    return certificate_partition(root_number), USAGE


def ledger_item(ledger: UsageLedger) -> Item:
    return {**_ledger_key_item(ledger.root_number), "ledger": ledger.model_dump_json(), "revision": ledger.revision}


def _ledger_key_item(root_number: str) -> Item:
    pk, sk = ledger_key(root_number)
    return {"pk": pk, "sk": sk}


def ledger_of(item: Item) -> UsageLedger:
    return UsageLedger.model_validate_json(item["ledger"])


# -- the outbox and deliveries -------------------------------------------------------------------------------


def outbox_key(message: OutboxMessage) -> Key:
    """Under the partition of what the message is about, so one partition holds a record's whole story."""
    if isinstance(message, DeliverToChina):
        partition = delivery_key(message)[0]
    elif isinstance(message, MatchDeclaration | FileExportResult):
        partition = declaration_partition(message.declaration_id)
    else:
        partition = certificate_partition(message.certificate_number)
    return partition, f"{OUTBOX_PREFIX}{message.message_id}"


def outbox_item(message: OutboxMessage) -> Item:
    """A message to publish: open work until the relay (or reconciliation) has put it on its queue."""
    pk, sk = outbox_key(message)
    return {
        "pk": pk,
        "sk": sk,
        "channel": message.channel.value,
        "message_id": message.message_id,
        "message": message.model_dump_json(),
        **_open(OPEN_OUTBOX, message.created_at),
    }


def delivery_key(message: DeliverToChina) -> Key:
    """A certificate's messages are delivered under the certificate (each version's, its replacement, its
    revocation), a match result's under its declaration (one per decision)."""
    body = message.body
    match body:
        case ChinaCertificateMessage():
            return certificate_partition(body.certificate_number), f"{DELIVERY_PREFIX}{body.version:06d}"
        case ChinaReplacedMessage():
            return certificate_partition(body.certificate_number), f"{DELIVERY_PREFIX}REPLACED"
        case ChinaRevokedMessage():
            return certificate_partition(body.certificate_number), f"{DELIVERY_PREFIX}REVOKED"
        case ChinaResultMessage():
            assert message.declaration_id is not None  # every result answers a declaration
            return declaration_partition(message.declaration_id), f"{RESULT_DELIVERY}#{body.decision:04d}"
        case ChinaVerificationResponseMessage():
            sort = f"{DELIVERY_PREFIX}VERIFICATION#{body.verification_id}"
            return certificate_partition(body.certificate_number), sort


def delivery_item(delivery: Delivery, pending_since: datetime | None = None) -> Item:
    pending = delivery.state is DeliveryState.PENDING
    pk, sk = delivery_key(delivery.message)
    return _item(
        {
            "pk": pk,
            "sk": sk,
            "delivery": delivery.model_dump_json(),
            "attempts": delivery.attempts,
            "state": delivery.state.value,
            # The sparse index holds only what is still to deliver.
            "pending_delivery": PENDING if pending else None,
            "pending_since": instant(pending_since or delivery.updated_at) if pending else None,
        }
    )


def delivery_of(item: Item) -> Delivery:
    return Delivery.model_validate_json(item["delivery"])


# -- declarations ----------------------------------------------------------------------------------------------


def declaration_key(declaration_id: str) -> Key:
    return declaration_partition(declaration_id), DECLARATION


# How long a declaration whose certificate was not found waits for it: one issued within this is matched again.
AWAITING_CERTIFICATE_FOR = timedelta(days=30)


def declaration_item(record: DeclarationRecord) -> Item:
    awaiting = record.status is DeclarationStatus.CERTIFICATE_NOT_FOUND and record.result is not None
    return _item(
        {
            "pk": declaration_partition(record.id),
            "sk": DECLARATION,
            "declaration": record.model_dump_json(),
            "status": record.status.value,
            "declarant_party": record.declarant_party,
            "certificate_number": record.content.certificate_number,
            # What a change is conditioned on: nobody amended or decided it since it was read.
            "revision": record.revision,
            "decision": record.decision,
            # Sparse: only declarations waiting for their certificate, until when, so an issue finds them.
            "awaited_certificate": record.content.certificate_number if awaiting else None,
            "awaited_until": instant(record.result.decided_at + AWAITING_CERTIFICATE_FOR)
            if awaiting and record.result is not None
            else None,
            # Sparse: a revision lodged and not decided yet is open work; its decision takes it out.
            **_open(OPEN_MATCHING, record.received_at, is_open=record.status is DeclarationStatus.RECEIVED),
        }
    )


def revision_item(record: DeclarationRecord) -> Item:
    """Each revision as lodged, kept for good."""
    return {
        "pk": declaration_partition(record.id),
        "sk": f"REVISION#{record.revision:04d}",
        "revision": record.revision,
        "content": record.content.model_dump_json(),
        "received_at": instant(record.received_at),
    }


def declaration_of(item: Item) -> DeclarationRecord:
    return DeclarationRecord.model_validate_json(item["declaration"])


# -- hosted issuing --------------------------------------------------------------------------------------------

HostedRecord = GoodsRegistration | Signatory | Application
HOSTED_KINDS: dict[type[HostedRecord], RegistrationKind] = {
    GoodsRegistration: RegistrationKind.GOODS,
    Signatory: RegistrationKind.SIGNATORY,
    Application: RegistrationKind.APPLICATION,
}
HOSTED_MODELS: dict[RegistrationKind, type[HostedRecord]] = {kind: model for model, kind in HOSTED_KINDS.items()}


def hosted_key(kind: RegistrationKind, business_number: str, record_id: str) -> Key:
    return exporter_partition(business_number), f"{kind.value}#{record_id}"


def work_queue(issuing_body: str, kind: RegistrationKind) -> str:
    return f"{issuing_body}#{kind.value}"


def exporter_work(business_number: str, kind: RegistrationKind) -> str:
    return f"{business_number}#{kind.value}"


def hosted_item(record: HostedRecord) -> Item:
    kind = HOSTED_KINDS[type(record)]
    undecided = isinstance(record, Application) and record.status is ApplicationStatus.SUBMITTED
    pk, sk = hosted_key(kind, record.exporter_business_number, record.id)
    return _item(
        {
            "pk": pk,
            "sk": sk,
            "record": record.model_dump_json(),
            "status": record.status.value,
            "work_queue": work_queue(record.issuing_body, kind),
            "exporter_work": exporter_work(record.exporter_business_number, kind),
            "work_key": f"{instant(record.lodged_at)}#{record.id}",
            # What a change is conditioned on, with the status: nobody appended an event since it was read.
            "history_sequence": record.history_head.sequence if record.history_head else None,
            # Sparse: only undecided applications, so the past-due check reads just those.
            "open_application": OPEN if undecided else None,
            "due_at": instant(record.due_at) if isinstance(record, Application) and undecided else None,
        }
    )


def hosted_of(kind: RegistrationKind, item: Item) -> HostedRecord:
    return HOSTED_MODELS[kind].model_validate_json(item["record"])


def record_events_prefix(record_id: str) -> str:
    """Where a hosted record's events begin in its exporter's partition (apart from the records themselves, whose
    sort keys begin with their kind)."""
    return f"{EVENT_PREFIX}{record_id}#"


def record_event_item(business_number: str, event: RecordEvent) -> Item:
    return {
        "pk": exporter_partition(business_number),
        "sk": f"{record_events_prefix(event.record_id)}{event.sequence:08d}",
        "event": event.model_dump_json(),
    }


def record_event_of(item: Item) -> RecordEvent:
    return RecordEvent.model_validate_json(item["event"])


CIRCUIT = "CIRCUIT"


def circuit_key(destination: str) -> Key:
    return _partition(CIRCUIT_PARTITIONS, destination), CIRCUIT


def circuit_item(circuit: Circuit) -> Item:
    pk, sk = circuit_key(circuit.destination)
    return {"pk": pk, "sk": sk, "circuit": circuit.model_dump_json(), "revision": circuit.revision}


def circuit_of(item: Item) -> Circuit:
    return Circuit.model_validate_json(item["circuit"])


def counter_key(issuing_body: str, year: int) -> Key:
    return _partition(COUNTER_PARTITIONS, issuing_body, year), COUNTER


def counter_item(counter: NumberCounter) -> Item:
    pk, sk = counter_key(counter.issuing_body, counter.year)
    return {"pk": pk, "sk": sk, "last": counter.last}


# -- verification requests ----------------------------------------------------------------------------------

VERIFICATION = "VERIFICATION"
# The partition of the by-verification-request index that holds every request: they are few (a handful a
# month), so one partition stays small for years, and China Customs and NZ Customs list them newest first.
EVERY_VERIFICATION = "ALL"
# The by-open-application index's partition of requests still unanswered, by due date: the overseer's.
UNANSWERED_VERIFICATION = "VERIFICATION"
VERIFICATION_QUEUE = "VR"


def verification_partition(request_id: str) -> str:
    return _partition(VERIFICATION_PARTITIONS, request_id)


def verification_key(request_id: str) -> Key:
    return verification_partition(request_id), VERIFICATION


def verification_item(request: VerificationRequest) -> Item:
    unanswered = request.status is VerificationStatus.OPEN
    listing = f"{instant(request.raised_at)}#{request.id}"
    return _item(
        {
            "pk": verification_partition(request.id),
            "sk": VERIFICATION,
            "request": request.model_dump_json(),
            "status": request.status.value,
            # What a change is conditioned on: nobody changed it since it was read.
            "revision": request.revision,
            "verification_list": EVERY_VERIFICATION,
            "verification_key": listing,
            "work_queue": f"{request.issuing_body}#{VERIFICATION_QUEUE}",
            "work_key": listing,
            # Sparse: only unanswered requests, by due date (a request due on that date is in time all day).
            "open_application": UNANSWERED_VERIFICATION if unanswered else None,
            "due_at": f"{request.due_date.isoformat()}#{request.id}" if unanswered else None,
        }
    )


def verification_of(item: Item) -> VerificationRequest:
    return VerificationRequest.model_validate_json(item["request"])


# -- redrive jobs ----------------------------------------------------------------------------------------------

JOB = "JOB"
LETTER_PREFIX = "LETTER#"
# The partition of both indexes that holds redrive jobs: no "#" in it, so it is never an issuing body's work queue
# (``<issuing body>#<kind>``), and apart from the open applications' and unanswered verification requests'.
REDRIVES = "REDRIVE"


def redrive_partition(job_id: str) -> str:
    return _partition(REDRIVE_PARTITIONS, job_id)


def redrive_key(job_id: str) -> Key:
    return redrive_partition(job_id), JOB


def redrive_item(job: RedriveJob) -> Item:
    listing = f"{instant(job.requested_at)}#{job.id}"
    return _item(
        {
            "pk": redrive_partition(job.id),
            "sk": JOB,
            "job": job.model_dump_json(),
            "queue": job.queue.value,
            "status": job.status.value,
            # What a page's commit is conditioned on: nobody recorded another page since it was read.
            "revision": job.revision,
            "work_queue": REDRIVES,
            "work_key": listing,
            # Sparse: only jobs still running, oldest first, so the reconciler reads just those.
            "open_application": REDRIVES if job.running else None,
            "due_at": listing if job.running else None,
        }
    )


def redrive_of(item: Item) -> RedriveJob:
    return RedriveJob.model_validate_json(item["job"])


def kept_letter_item(letter: KeptLetter) -> Item:
    return {
        "pk": redrive_partition(letter.job_id),
        "sk": f"{LETTER_PREFIX}{letter.message_id}",
        "letter": letter.model_dump_json(),
    }


def kept_letter_of(item: Item) -> KeptLetter:
    return KeptLetter.model_validate_json(item["letter"])


# -- idempotency --------------------------------------------------------------------------------------------


def idempotency_key(party_id: str, key: str) -> Key:
    return _partition(IDEMPOTENCY_PARTITIONS, party_id, key), IDEMPOTENCY


def idempotency_item(record: IdempotencyRecord) -> Item:
    pk, sk = idempotency_key(record.party_id, record.key)
    return {
        "pk": pk,
        "sk": sk,
        "record": record.model_dump_json(),
        # DynamoDB's time-to-live removes the record some time after this instant.
        "expires_at": int(record.expires_at.timestamp()),
    }


def idempotency_record_of(item: Item) -> IdempotencyRecord:
    return IdempotencyRecord.model_validate_json(item["record"])
