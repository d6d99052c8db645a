"""The notifications function, on the notifications queue.

NZ Customs collects what JEVS files for it from the exchange bucket: here, the match result of each export
entry it lodged (DESIGN §4: results go back to the declarant; an export entry never goes to China). The
object's key is the declaration's id, so a message handled twice writes the same object again, never a
second one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jevs.adapters.aws import dynamodb, s3
from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.domain.declarations import result_document
from jevs.domain.declaring import RESULT_KIND
from jevs.domain.errors import NotFound
from jevs.domain.records import OutboxMessage
from jevs.settings import notifier_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger(service="jevs-notifier")
metrics = Metrics(namespace="JEVS", service="jevs-notifier")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Where NZ Customs finds the results of its export entries in the exchange bucket.
RESULTS_PREFIX = "nz-customs/declaration-results/"


def result_key(declaration_id: str) -> str:
    return f"{RESULTS_PREFIX}{declaration_id}.json"


@dataclass(frozen=True)
class Dependencies:
    store: DynamoCertificateStore
    s3: S3Client
    bucket: str


@cache
def dependencies() -> Dependencies:
    settings = notifier_settings()
    return Dependencies(
        store=DynamoCertificateStore(dynamodb(), settings.records_table, SystemClock()),
        s3=s3(),
        bucket=settings.exchange_bucket,
    )


def notify(record: SQSRecord) -> None:
    message = OutboxMessage.model_validate_json(record.body)
    if message.kind != RESULT_KIND or message.declaration_id is None:
        raise ValueError(f"message {message.message_id}: no notification for kind {message.kind!r}")
    deps = dependencies()
    declaration = deps.store.get_declaration(message.declaration_id)
    if declaration is None or declaration.result is None:
        raise NotFound(f"declaration {message.declaration_id} has no result to file")
    deps.s3.put_object(
        Bucket=deps.bucket,
        Key=result_key(declaration.id),
        Body=json.dumps(result_document(declaration), sort_keys=True).encode(),
        ContentType="application/json",
    )
    metrics.add_metric(name="ResultsFiledForNzCustoms", unit=MetricUnit.Count, value=1)
    logger.info("filed", extra={"declaration": declaration.id, "status": declaration.status})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)


def reset() -> None:
    dependencies.cache_clear()
