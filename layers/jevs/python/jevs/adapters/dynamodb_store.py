"""The certificate store on DynamoDB (one table, see ``jevs.resources.RECORDS_TABLE``).

Item layout, all under the certificate's partition ``CERTIFICATE#<number>``:

| sort key | what |
| --- | --- |
| ``HEAD`` | the current record, with the listing attributes every index reads |
| ``VERSION#000001`` | each version's content as submitted |
| ``EVENT#00000001`` | each history event |
| ``OUTBOX#<event>#<channel>`` | each message to relay, read from the stream |
| ``DELIVERY#000001`` | each version's delivery to China; while PENDING it is in the by-pending-delivery index |
| ``USAGE`` | the usage ledger (on the original only: a certified true copy draws on its original's) |
| ``MATCH#<declaration id>`` | the result of each declaration that quoted the certificate |

each declaration under ``DECLARATION#<id>``:

| sort key | what |
| --- | --- |
| ``DECLARATION`` | the declaration, and once decided its result |
| ``OUTBOX#00000000#declarations`` | the message that queues it for matching |
| ``OUTBOX#00000001#<channel>`` | the message that takes its result to the declarant |
| ``DELIVERY#RESULT`` | for a CN import, its result's delivery to China (in the pending index while PENDING) |

hosted issuing under the exporter, ``EXPORTER#<NZBN>``, with sort keys ``GR#<id>`` (goods registrations),
``SG#<id>`` (signatories) and ``AP#<id>`` (applications), each in the by-work-queue index of its issuing body
and, while an application is undecided, in the by-open-application index by due time; each issuing body's
number counter under ``COUNTER#<issuing body>#<year>``; and idempotency records under
``IDEMPOTENCY#<party>#<key>``. AWS errors become domain errors here and nowhere else.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from jevs.domain.applications import Application, ApplicationStatus
from jevs.domain.canonical import digest
from jevs.domain.declarations import DeclarationRecord, DeclarationStatus, UsageLedger
from jevs.domain.delivery import Delivery, DeliveryState
from jevs.domain.errors import Conflict, RetryableFailure
from jevs.domain.history import HistoryEvent
from jevs.domain.ports import (
    CertificateNumberTaken,
    CertificatePage,
    Clock,
    DeclarationNumberTaken,
    HostedRecord,
    IdempotencyKeyTaken,
    InvalidCursor,
    ListingConstraints,
)
from jevs.domain.records import (
    CertificateIssue,
    CertificateMatch,
    CertificateRecord,
    DeclarationLodgement,
    IdempotencyRecord,
    MatchRecording,
    NumberCounter,
    OutboxMessage,
    StoredVersion,
)
from jevs.domain.registrations import GoodsRegistration, RegistrationKind, Signatory, exporter_of
from jevs.resources import RECORDS_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

HEAD = "HEAD"
# Listings walk the years back to JEVS's launch (December 2016) when no issue date bounds them.
FIRST_LISTING_YEAR = 2016
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def certificate_key(number: str) -> str:
    return f"CERTIFICATE#{number}"


def version_key(version: int) -> str:
    return f"VERSION#{version:06d}"


def event_key(sequence: int) -> str:
    return f"EVENT#{sequence:08d}"


def outbox_key(sequence: int, channel: str) -> str:
    return f"OUTBOX#{sequence:08d}#{channel}"


def delivery_sort_key(version: int) -> str:
    return f"DELIVERY#{version:06d}"


def declaration_key(declaration_id: str) -> str:
    return f"DECLARATION#{declaration_id}"


DECLARATION = "DECLARATION"
USAGE = "USAGE"
RESULT_DELIVERY = "DELIVERY#RESULT"
# Outbox sequence numbers of a declaration's two messages: queued for matching, then its result.
DECLARATION_RECEIVED_SEQUENCE = 0
DECLARATION_RESULT_SEQUENCE = 1


def match_key(declaration_id: str) -> str:
    return f"MATCH#{declaration_id}"


def delivery_keys(delivery: Delivery) -> tuple[str, str]:
    """Where a delivery is stored: a certificate version's under the certificate, a result's under its declaration."""
    if delivery.declaration_id is not None:
        return declaration_key(delivery.declaration_id), RESULT_DELIVERY
    return certificate_key(delivery.certificate_number), delivery_sort_key(delivery.version)


PENDING = "PENDING"


def delivery_item(delivery: Delivery, pending_since: datetime | None = None) -> dict[str, AttributeValueTypeDef]:
    pending = delivery.state is DeliveryState.PENDING
    pk, sk = delivery_keys(delivery)
    return _item(
        {
            "pk": pk,
            "sk": sk,
            "delivery": delivery.model_dump_json(),
            "attempts": delivery.attempts,
            "state": delivery.state.value,
            # The sparse index holds only what is still to deliver.
            "pending_delivery": PENDING if pending else None,
            "pending_since": (pending_since or delivery.updated_at).isoformat() if pending else None,
        }
    )


def idempotency_key(party_id: str, key: str) -> str:
    return f"IDEMPOTENCY#{party_id}#{key}"


def _item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _listing_key(issue_date: date, number: str) -> str:
    return f"{issue_date.isoformat()}#{number}"


def head_item(record: CertificateRecord) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": certificate_key(record.number),
            "sk": HEAD,
            "record": record.model_dump_json(),
            "status": record.status.value,
            "issuing_body": record.issuing_body,
            "exporter_business_number": record.exporter_business_number,
            "importing_country": record.importing_country,
            "issue_year": str(record.content.issue_date.year),
            # What a change of history is conditioned on: nobody appended an event since it was read.
            "history_sequence": record.history_head.sequence,
            "listing_key": _listing_key(record.content.issue_date, record.number),
        }
    )


def _version_item(record: CertificateRecord) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": certificate_key(record.number),
            "sk": version_key(record.version),
            "version": record.version,
            "content_hash": record.content_hash,
            "content": record.content.model_dump_json(),
        }
    )


def event_item(event: HistoryEvent) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": certificate_key(event.certificate_number),
            "sk": event_key(event.sequence),
            "event": event.model_dump_json(),
        }
    )


def _outbox_item(message: OutboxMessage, sequence: int) -> dict[str, AttributeValueTypeDef]:
    partition = (
        declaration_key(message.declaration_id)
        if message.declaration_id is not None
        else certificate_key(message.certificate_number)
    )
    return _item(
        {
            "pk": partition,
            "sk": outbox_key(sequence, message.channel),
            "channel": message.channel.value,
            "message_id": message.message_id,
            "message": message.model_dump_json(),
        }
    )


def _idempotency_item(record: IdempotencyRecord) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": idempotency_key(record.party_id, record.key),
            "sk": "IDEMPOTENCY",
            "record": record.model_dump_json(),
            # DynamoDB's time-to-live removes the record some time after this instant.
            "expires_at": int(record.expires_at.timestamp()),
        }
    )


def declaration_item(record: DeclarationRecord) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": declaration_key(record.id),
            "sk": DECLARATION,
            "declaration": record.model_dump_json(),
            "status": record.status.value,
            "declarant_party": record.declarant_party,
            "certificate_number": record.content.certificate_number,
        }
    )


def ledger_item(ledger: UsageLedger) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": certificate_key(ledger.root_number),
            "sk": USAGE,
            "ledger": ledger.model_dump_json(),
            "revision": ledger.revision,
        }
    )


def _match_item(number: str, match: CertificateMatch) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {"pk": certificate_key(number), "sk": match_key(match.declaration_id), "match": match.model_dump_json()}
    )


_HOSTED_MODELS: dict[RegistrationKind, type[GoodsRegistration] | type[Signatory] | type[Application]] = {
    RegistrationKind.GOODS: GoodsRegistration,
    RegistrationKind.SIGNATORY: Signatory,
    RegistrationKind.APPLICATION: Application,
}
OPEN = "OPEN"


def exporter_key(business_number: str) -> str:
    return f"EXPORTER#{business_number}"


def _kind_of(record: HostedRecord) -> RegistrationKind:
    if isinstance(record, GoodsRegistration):
        return RegistrationKind.GOODS
    if isinstance(record, Signatory):
        return RegistrationKind.SIGNATORY
    return RegistrationKind.APPLICATION


def hosted_item(record: HostedRecord) -> dict[str, AttributeValueTypeDef]:
    kind = _kind_of(record)
    undecided = isinstance(record, Application) and record.status is ApplicationStatus.SUBMITTED
    return _item(
        {
            "pk": exporter_key(record.exporter_business_number),
            "sk": f"{kind.value}#{record.id}",
            "record": record.model_dump_json(),
            "status": record.status.value,
            "work_queue": f"{record.issuing_body}#{kind.value}",
            "work_key": f"{record.lodged_at.isoformat()}#{record.id}",
            # Sparse: only undecided applications, so the past-due check reads just those.
            "open_application": OPEN if undecided else None,
            "due_at": record.due_at.isoformat() if isinstance(record, Application) and undecided else None,
        }
    )


def _hosted_record(kind: RegistrationKind, item: Mapping[str, Any]) -> HostedRecord:
    return _HOSTED_MODELS[kind].model_validate_json(item["record"])


def counter_item(counter: NumberCounter) -> dict[str, AttributeValueTypeDef]:
    return _item(
        {
            "pk": f"COUNTER#{counter.issuing_body}#{counter.year}",
            "sk": "COUNTER",
            "last": counter.last,
        }
    )


def _put_new(table: str, item: dict[str, AttributeValueTypeDef]) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


class DynamoCertificateStore:
    def __init__(self, client: DynamoDBClient, table_name: str, clock: Clock) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    # -- writing ---------------------------------------------------------------------------------

    def create_certificate(self, issue: CertificateIssue) -> None:
        """One TransactWriteItems call: five conditional puts, so a retry can never write twice."""
        record, event = issue.record, issue.event
        items: list[Any] = [
            self._idempotency_put(issue.idempotency),
            _put_new(self._table, head_item(record)),
            _put_new(self._table, _version_item(record)),
            _put_new(self._table, event_item(event)),
            *(_put_new(self._table, _outbox_item(message, event.sequence)) for message in issue.outbox),
            *(_put_new(self._table, delivery_item(delivery)) for delivery in issue.deliveries),
        ]
        if issue.application is not None:
            items.append(self._replace_if_status(issue.application, ApplicationStatus.SUBMITTED.value))
        if issue.counter is not None:
            items.append(self._counter_put(issue.counter))
        reasons = self._write_new(items)
        if reasons is None:
            return
        if reasons[0] == "ConditionalCheckFailed":
            raise IdempotencyKeyTaken(self._idempotency_record(issue.idempotency))
        if issue.counter is not None and reasons[-1] == "ConditionalCheckFailed":
            # Another certification took the next number first: the caller reads the counter again.
            raise RetryableFailure(f"{issue.counter.issuing_body}'s number {record.number} was taken meanwhile")
        if issue.application is not None and reasons[-1 - (issue.counter is not None)] == "ConditionalCheckFailed":
            raise Conflict("application-decided", f"application {issue.application.id} was decided meanwhile")
        if reasons[1] == "ConditionalCheckFailed":
            existing = self.get_certificate(record.number)
            if existing is not None:
                raise CertificateNumberTaken(existing)
        # Another transaction touched the same items at the same moment, or DynamoDB was busy.
        raise RetryableFailure(f"the submission's transaction was cancelled: {reasons}")

    def _write_new(self, items: list[Any]) -> list[str] | None:
        """One transaction whose first item is the idempotency record and second the new resource: None when
        written, else each item's cancellation reason (so the caller can say which already existed)."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _error_code(error) != "TransactionCanceledException":
                raise _translated(error) from error
            reasons = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
            return reasons + ["None"] * (len(items) - len(reasons))
        return None

    def _counter_put(self, counter: NumberCounter) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": counter_item(counter)}
        if counter.previous == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#last = :previous"
            put["ExpressionAttributeNames"] = {"#last": "last"}
            put["ExpressionAttributeValues"] = _item({":previous": counter.previous})
        return {"Put": put}

    def _replace_if_status(self, record: HostedRecord, status: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": hosted_item(record),
                "ConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": _item({":status": status}),
            }
        }

    # -- hosted issuing --------------------------------------------------------------------------

    def add_registration(self, record: HostedRecord, idempotency: IdempotencyRecord) -> None:
        reasons = self._write_new([self._idempotency_put(idempotency), _put_new(self._table, hosted_item(record))])
        if reasons is None:
            return
        if reasons[0] == "ConditionalCheckFailed":
            raise IdempotencyKeyTaken(self._idempotency_record(idempotency))
        raise RetryableFailure(f"storing {record.id} was cancelled: {reasons}")

    def replace_registration(self, previous: HostedRecord, updated: HostedRecord) -> None:
        try:
            self._client.transact_write_items(
                TransactItems=[self._replace_if_status(updated, previous.status.value)]  # type: ignore[list-item]
            )
        except ClientError as error:
            if _error_code(error) == "TransactionCanceledException":
                raise Conflict("already-decided", f"{previous.id} changed meanwhile: read it again") from error
            raise _translated(error) from error

    def _hosted(self, kind: RegistrationKind, record_id: str) -> HostedRecord | None:
        business_number = exporter_of(record_id)
        if business_number is None or not record_id.startswith(f"{kind.value}-"):
            return None
        item = self._get(exporter_key(business_number), f"{kind.value}#{record_id}", consistent=True)
        return _hosted_record(kind, item) if item else None

    def get_goods_registration(self, registration_id: str) -> GoodsRegistration | None:
        found = self._hosted(RegistrationKind.GOODS, registration_id)
        return found if isinstance(found, GoodsRegistration) else None

    def get_signatory(self, signatory_id: str) -> Signatory | None:
        found = self._hosted(RegistrationKind.SIGNATORY, signatory_id)
        return found if isinstance(found, Signatory) else None

    def get_application(self, application_id: str) -> Application | None:
        found = self._hosted(RegistrationKind.APPLICATION, application_id)
        return found if isinstance(found, Application) else None

    def exporter_records(self, exporter_business_number: str, kind: RegistrationKind) -> Sequence[object]:
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _item(
                {":pk": exporter_key(exporter_business_number), ":prefix": f"{kind.value}#"}
            ),
            "ConsistentRead": True,
        }
        records = [_hosted_record(kind, item) for item in self._query_all(request)]
        return sorted(records, key=lambda record: record.lodged_at)

    def work_queue(self, issuing_body: str, kind: RegistrationKind) -> Sequence[object]:
        index = RECORDS_TABLE.index("by-work-queue")
        request = {
            "TableName": self._table,
            "IndexName": index.name,
            "KeyConditionExpression": "#q = :q",
            "ExpressionAttributeNames": {"#q": index.partition_key.name},
            "ExpressionAttributeValues": _item({":q": f"{issuing_body}#{kind.value}"}),
        }
        return [_hosted_record(kind, item) for item in self._query_all(request)]

    def last_serial(self, issuing_body: str, year: int) -> int:
        item = self._get(f"COUNTER#{issuing_body}#{year}", "COUNTER", consistent=True)
        return int(item["last"]) if item else 0

    def open_applications_due_before(self, moment: datetime, limit: int) -> Sequence[Application]:
        index = RECORDS_TABLE.index("by-open-application")
        request = {
            "TableName": self._table,
            "IndexName": index.name,
            "KeyConditionExpression": "#o = :open AND #d < :moment",
            "ExpressionAttributeNames": {"#o": index.partition_key.name, "#d": index.sort_key.name},
            "ExpressionAttributeValues": _item({":open": OPEN, ":moment": moment.isoformat()}),
        }
        found = [_hosted_record(RegistrationKind.APPLICATION, item) for item in self._query_all(request, limit)]
        return [record for record in found if isinstance(record, Application)]

    def _query_all(self, request: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while limit is None or len(items) < limit:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise _translated(error) from error
            items += [_plain(item) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                break
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}
        return items if limit is None else items[:limit]

    def _idempotency_put(self, record: IdempotencyRecord) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": _idempotency_item(record),
                # A record past its time-to-live may linger until DynamoDB deletes it: treat it as gone.
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                "ExpressionAttributeValues": {":now": {"N": str(int(record.created_at.timestamp()))}},
            }
        }

    # -- declarations ----------------------------------------------------------------------------

    def lodge_declaration(self, lodgement: DeclarationLodgement) -> None:
        """One TransactWriteItems call: the idempotency record, the declaration and its outbox message."""
        declaration = lodgement.declaration
        items: list[Any] = [
            self._idempotency_put(lodgement.idempotency),
            _put_new(self._table, declaration_item(declaration)),
            _put_new(self._table, _outbox_item(lodgement.outbox, DECLARATION_RECEIVED_SEQUENCE)),
        ]
        reasons = self._write_new(items)
        if reasons is None:
            return
        if reasons[0] == "ConditionalCheckFailed":
            raise IdempotencyKeyTaken(self._idempotency_record(lodgement.idempotency))
        if reasons[1] == "ConditionalCheckFailed":
            existing = self.get_declaration(declaration.id)
            if existing is not None:
                raise DeclarationNumberTaken(existing)
        raise RetryableFailure(f"the lodgement's transaction was cancelled: {reasons}")

    def get_declaration(self, declaration_id: str) -> DeclarationRecord | None:
        item = self._get(declaration_key(declaration_id), DECLARATION, consistent=True)
        return DeclarationRecord.model_validate_json(item["declaration"]) if item else None

    def get_usage_ledger(self, root_number: str) -> UsageLedger | None:
        item = self._get(certificate_key(root_number), USAGE, consistent=True)
        return UsageLedger.model_validate_json(item["ledger"]) if item else None

    def record_match(self, recording: MatchRecording) -> None:
        """One TransactWriteItems call, each write conditioned on what the decision read:

        - the declaration is still RECEIVED (a second matcher on the same message decides nothing twice);
        - the certificate's history has not moved (a revocation or replacement meanwhile is seen);
        - the usage ledger still has the revision read (two declarations racing for one certificate, or for a
          certified true copy and its original, cannot both use it, nor draw more than it certifies).
        """
        declaration = recording.declaration
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": declaration_item(declaration),
                    "ConditionExpression": "#status = :received",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _item({":received": DeclarationStatus.RECEIVED.value}),
                }
            }
        ]
        if recording.certificate is not None:
            record, event, match = recording.certificate
            items += [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": head_item(record),
                        "ConditionExpression": "history_sequence = :previous",
                        "ExpressionAttributeValues": _item({":previous": event.sequence - 1}),
                    }
                },
                _put_new(self._table, event_item(event)),
                _put_new(self._table, _match_item(record.number, match)),
            ]
        if recording.ledger is not None:
            ledger_put: dict[str, Any] = {"TableName": self._table, "Item": ledger_item(recording.ledger)}
            if recording.ledger_revision_read == 0:
                ledger_put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                ledger_put["ConditionExpression"] = "#revision = :read"
                ledger_put["ExpressionAttributeNames"] = {"#revision": "revision"}
                ledger_put["ExpressionAttributeValues"] = _item({":read": recording.ledger_revision_read})
            items.append({"Put": ledger_put})
        items += [
            _put_new(self._table, _outbox_item(message, DECLARATION_RESULT_SEQUENCE)) for message in recording.outbox
        ]
        items += [_put_new(self._table, delivery_item(delivery)) for delivery in recording.deliveries]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _error_code(error) == "TransactionCanceledException":
                raise RetryableFailure(
                    f"{declaration.id}: what the decision read changed before it was recorded"
                ) from error
            raise _translated(error) from error

    def get_certificate_matches(self, number: str) -> Sequence[CertificateMatch]:
        matches = [CertificateMatch.model_validate_json(item["match"]) for item in self._partition(number, "MATCH#")]
        return sorted(matches, key=lambda match: match.result.decided_at)

    def _idempotency_record(self, wanted: IdempotencyRecord) -> IdempotencyRecord:
        item = self._get(idempotency_key(wanted.party_id, wanted.key), "IDEMPOTENCY", consistent=True)
        if item is None:  # deleted between the failed write and this read: the caller may simply retry
            raise RetryableFailure("the idempotency record changed during the request")
        return IdempotencyRecord.model_validate_json(item["record"])

    # -- reading ---------------------------------------------------------------------------------

    def get_certificate(self, number: str) -> CertificateRecord | None:
        item = self._get(certificate_key(number), HEAD, consistent=True)
        return CertificateRecord.model_validate_json(item["record"]) if item else None

    def get_history(self, number: str) -> Sequence[HistoryEvent]:
        return [HistoryEvent.model_validate_json(item["event"]) for item in self._partition(number, "EVENT#")]

    def get_versions(self, number: str) -> Sequence[StoredVersion]:
        return [
            StoredVersion.model_validate(
                {
                    "version": int(item["version"]),
                    "content_hash": item["content_hash"],
                    "content": json.loads(item["content"]),
                }
            )
            for item in self._partition(number, "VERSION#")
        ]

    def list_certificates(self, constraints: ListingConstraints, limit: int, cursor: str | None) -> CertificatePage:
        plan = _ListingPlan(constraints, self._clock.now().year)
        position = plan.decode(cursor)
        records: list[CertificateRecord] = []
        while position is not None and len(records) < limit:
            partition, start_key = position
            request = plan.query(self._table, partition, limit - len(records), start_key)
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise _translated(error) from error
            records.extend(CertificateRecord.model_validate_json(_plain(item)["record"]) for item in response["Items"])
            if "LastEvaluatedKey" in response:
                position = (partition, _plain(response["LastEvaluatedKey"]))
            else:
                position = plan.next_partition(partition)
        return CertificatePage(records, plan.encode(position) if position is not None else None)

    # -- deliveries ------------------------------------------------------------------------------

    def get_delivery(self, number: str, version: int) -> Delivery | None:
        item = self._get(certificate_key(number), delivery_sort_key(version), consistent=True)
        return Delivery.model_validate_json(item["delivery"]) if item else None

    def get_result_delivery(self, declaration_id: str) -> Delivery | None:
        item = self._get(declaration_key(declaration_id), RESULT_DELIVERY, consistent=True)
        return Delivery.model_validate_json(item["delivery"]) if item else None

    def get_deliveries(self, number: str) -> Sequence[Delivery]:
        return [Delivery.model_validate_json(item["delivery"]) for item in self._partition(number, "DELIVERY#")]

    def record_delivery(
        self, previous: Delivery, delivery: Delivery, change: tuple[CertificateRecord, HistoryEvent] | None
    ) -> None:
        """One transaction: the delivery (if nobody counted an attempt since ``previous``), and with a change
        of state its event and the record's new chain head (if nobody appended an event meanwhile)."""
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": delivery_item(delivery),
                    "ConditionExpression": "attempts = :attempts AND #state = :state",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": _item(
                        {":attempts": previous.attempts, ":state": previous.state.value}
                    ),
                }
            }
        ]
        if change is not None:
            record, event = change
            items.append(_put_new(self._table, event_item(event)))
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": head_item(record),
                        "ConditionExpression": "history_sequence = :previous",
                        "ExpressionAttributeValues": _item({":previous": event.sequence - 1}),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _error_code(error) == "TransactionCanceledException":
                raise RetryableFailure(f"{delivery.idempotency_key} changed while it was being recorded") from error
            raise _translated(error) from error

    def pending_deliveries(self, pending_before: datetime, limit: int) -> Sequence[Delivery]:
        index = RECORDS_TABLE.index("by-pending-delivery")
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index.name,
            "KeyConditionExpression": "#p = :p AND #s < :before",
            "ExpressionAttributeNames": {"#p": index.partition_key.name, "#s": index.sort_key.name},
            "ExpressionAttributeValues": _item({":p": PENDING, ":before": pending_before.isoformat()}),
            "Limit": limit,
        }
        found: list[Delivery] = []
        while len(found) < limit:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise _translated(error) from error
            found += [Delivery.model_validate_json(_plain(item)["delivery"]) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

    def requeued(self, delivery: Delivery, at: datetime) -> None:
        try:
            pk, sk = delivery_keys(delivery)
            self._client.update_item(
                TableName=self._table,
                Key=_item({"pk": pk, "sk": sk}),
                UpdateExpression="SET pending_since = :at",
                # Only while still pending: a delivery that completed meanwhile stays out of the index.
                ConditionExpression="pending_delivery = :pending",
                ExpressionAttributeValues=_item({":at": at.isoformat(), ":pending": PENDING}),
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise _translated(error) from error

    def _get(self, pk: str, sk: str, *, consistent: bool) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=_item({"pk": pk, "sk": sk}), ConsistentRead=consistent
            )
        except ClientError as error:
            raise _translated(error) from error
        return _plain(response["Item"]) if "Item" in response else None

    def _partition(self, number: str, prefix: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _item({":pk": certificate_key(number), ":prefix": prefix}),
            "ConsistentRead": True,
        }
        while True:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise _translated(error) from error
            yield from (_plain(item) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class _ListingPlan:
    """Which index answers a listing, and how a cursor says where the next page starts.

    The most selective constraint picks the index (issuing body, exporter, importing country); with
    none of them the by-issue-year index is walked from the latest year back. The other constraints
    become a filter. A cursor carries the index's partition, the last evaluated key and a digest of the
    constraints, so it cannot be replayed against another listing.
    """

    def __init__(self, constraints: ListingConstraints, current_year: int) -> None:
        self.constraints = constraints
        by_key = (
            ("by-issuing-body", constraints.issuing_body),
            ("by-exporter", constraints.exporter_business_number),
            ("by-importing-country", constraints.importing_country),
        )
        chosen = next(((name, value) for name, value in by_key if value is not None), None)
        self.index = RECORDS_TABLE.index(chosen[0] if chosen else "by-issue-year")
        if chosen:
            self.partitions = [chosen[1]]
        else:
            newest = constraints.issued_to.year if constraints.issued_to else current_year
            oldest = constraints.issued_from.year if constraints.issued_from else FIRST_LISTING_YEAR
            self.partitions = [str(year) for year in range(newest, oldest - 1, -1)]
        self._digest = digest(
            {name: str(value) if value is not None else None for name, value in vars(constraints).items()}
        )[:16]

    def first(self) -> tuple[str, dict[str, Any] | None] | None:
        return (self.partitions[0], None) if self.partitions else None

    def next_partition(self, partition: str) -> tuple[str, dict[str, Any] | None] | None:
        following = self.partitions.index(partition) + 1
        return (self.partitions[following], None) if following < len(self.partitions) else None

    def query(self, table: str, partition: str, limit: int, start_key: dict[str, Any] | None) -> QueryInputTypeDef:
        names = {"#p": self.index.partition_key.name, "#l": self.index.sort_key.name}
        values: dict[str, Any] = {":p": partition}
        low = self.constraints.issued_from.isoformat() if self.constraints.issued_from else "0000"
        high = self.constraints.issued_to.isoformat() + "#~" if self.constraints.issued_to else "9999"
        values[":low"], values[":high"] = low, high
        filters = []
        for attribute, value in (
            ("issuing_body", self.constraints.issuing_body),
            ("exporter_business_number", self.constraints.exporter_business_number),
            ("importing_country", self.constraints.importing_country),
            ("status", self.constraints.status.value if self.constraints.status else None),
        ):
            if value is not None and attribute != self.index.partition_key.name:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = value
                filters.append(f"#{attribute} = :{attribute}")
        request: dict[str, Any] = {
            "TableName": table,
            "IndexName": self.index.name,
            "KeyConditionExpression": "#p = :p AND #l BETWEEN :low AND :high",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _item(values),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if start_key is not None:
            request["ExclusiveStartKey"] = _item(start_key)
        return request  # type: ignore[return-value]

    def encode(self, position: tuple[str, dict[str, Any] | None]) -> str:
        partition, start_key = position
        document = json.dumps({"p": partition, "k": start_key, "c": self._digest}, separators=(",", ":"))
        return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")

    def decode(self, cursor: str | None) -> tuple[str, dict[str, Any] | None] | None:
        if cursor is None:
            return self.first()
        try:
            document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            partition, start_key, constraints_digest = document["p"], document["k"], document["c"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidCursor("the cursor is not one this API issued") from None
        expected_keys = {"pk", "sk", self.index.partition_key.name, self.index.sort_key.name}
        if (
            constraints_digest != self._digest
            or partition not in self.partitions
            or (start_key is not None and (not isinstance(start_key, dict) or set(start_key) != expected_keys))
            or (start_key is not None and start_key[self.index.partition_key.name] != partition)
        ):
            raise InvalidCursor("the cursor belongs to another listing")
        return partition, start_key


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _translated(error: ClientError) -> Exception:
    if _error_code(error) in _RETRYABLE_CODES:
        return RetryableFailure(f"DynamoDB is busy: {_error_code(error)}")
    return error
