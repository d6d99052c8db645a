"""The notifications function, on the notifications queue: what JEVS makes for people and partners once a
change is stored, one handler per message kind.

- ``certificate.documents`` (every certificate version's issue): the PDF in the documents bucket, NZ
  Customs' data file in the exchange bucket, and for a hosted certificate the email to its applicant with
  the PDF attached (``jevs.documents.delivery``).
- ``declaration.result`` (a decided NZ export entry): the match result, filed for NZ Customs in the exchange
  bucket (DESIGN §4: results go back to the declarant; an export entry never goes to China).

Every object's key is a business key (the certificate number and version, the declaration's id), so a
message handled twice writes the same objects again, never a second one; the email is sent once per version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs.adapters.aws import dynamodb, s3, sesv2
from jevs.adapters.clock import SystemClock
from jevs.adapters.documents import S3ObjectStore, SesMailer
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.documents.delivery import deliver_documents
from jevs.domain.declarations import result_document
from jevs.domain.declaring import RESULT_KIND
from jevs.domain.errors import NotFound
from jevs.domain.records import OutboxMessage
from jevs.domain.submission import DOCUMENTS_KIND
from jevs.resources import NZ_CUSTOMS_RESULTS_PREFIX
from jevs.settings import notifier_settings

logger = Logger(service="jevs-notifier")
metrics = Metrics(namespace="JEVS", service="jevs-notifier")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def result_key(declaration_id: str) -> str:
    """Where NZ Customs finds the result of its export entry in the exchange bucket."""
    return f"{NZ_CUSTOMS_RESULTS_PREFIX}{declaration_id}.json"


@dataclass(frozen=True)
class Dependencies:
    store: DynamoCertificateStore
    documents: S3ObjectStore
    exchange: S3ObjectStore
    mailer: SesMailer
    clock: SystemClock
    sender: str
    verification_base_url: str


@cache
def dependencies() -> Dependencies:
    settings = notifier_settings()
    clock = SystemClock()
    return Dependencies(
        store=DynamoCertificateStore(dynamodb(), settings.records_table, clock),
        documents=S3ObjectStore(s3(), settings.documents_bucket),
        exchange=S3ObjectStore(s3(), settings.exchange_bucket),
        mailer=SesMailer(sesv2()),
        clock=clock,
        sender=settings.sender_email,
        verification_base_url=settings.verification_base_url,
    )


def file_result(message: OutboxMessage) -> None:
    if message.declaration_id is None:
        raise ValueError(f"message {message.message_id}: a result names no declaration")
    deps = dependencies()
    declaration = deps.store.get_declaration(message.declaration_id)
    if declaration is None or declaration.result is None:
        raise NotFound(f"declaration {message.declaration_id} has no result to file")
    deps.exchange.put(
        result_key(declaration.id),
        json.dumps(result_document(declaration), sort_keys=True).encode(),
        "application/json",
    )
    metrics.add_metric(name="ResultsFiledForNzCustoms", unit=MetricUnit.Count, value=1)
    logger.info("filed", extra={"declaration": declaration.id, "status": declaration.status})


def make_documents(message: OutboxMessage) -> None:
    deps = dependencies()
    outcome = deliver_documents(
        message.certificate_number,
        message.version,
        records=deps.store,
        documents=deps.documents,
        exchange=deps.exchange,
        mailer=deps.mailer,
        clock=deps.clock,
        sender=deps.sender,
        verification_base_url=deps.verification_base_url,
    )
    if outcome.superseded:
        logger.info("superseded", extra={"certificate": outcome.number, "version": outcome.version})
        return
    metrics.add_metric(name="DocumentsRendered", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="DataFilesFiled", unit=MetricUnit.Count, value=1)
    if outcome.emailed_application is not None:
        metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
    logger.info(
        "documents",
        extra={
            "certificate": outcome.number,
            "version": outcome.version,
            "application": outcome.emailed_application,
            "emailed_before": outcome.emailed_before,
        },
    )


HANDLERS: dict[str, Callable[[OutboxMessage], None]] = {
    DOCUMENTS_KIND: make_documents,
    RESULT_KIND: file_result,
}


def notify(record: SQSRecord) -> None:
    message = OutboxMessage.model_validate_json(record.body)
    handle = HANDLERS.get(message.kind)
    if handle is None:
        raise ValueError(f"message {message.message_id}: no notification for kind {message.kind!r}")
    handle(message)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)


def reset() -> None:
    dependencies.cache_clear()
