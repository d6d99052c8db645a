"""Reconciliation of open work through the functions, against moto in process (DESIGN.md §6.1): a declaration whose
queue message was lost is matched, a version whose documents message was lost gets its PDF and NZ Customs' file,
and an outbox record the stream never brought to the relay is published, each once the reconciler runs past its
bound; and what the reconciler queued again is counted per kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infrastructure.local.functions import FunctionSet, build_functions
from infrastructure.local.provision import Provisioned
from jevs.adapters.aws import AwsClients
from jevs.resources import (
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    DOCUMENTS_BUCKET,
    EXCHANGE_BUCKET,
    NOTIFICATIONS_QUEUE,
    QueueDefinition,
    certificate_document_key,
    nz_customs_certificate_key,
)
from jevs.settings import ReconcilerSettings
from tests.factories import CN_CUSTOMS, LambdaContext
from tests.fakes import FixedClock
from tests.integration.conftest import ApiCall, emitted_metrics, local_options
from tests.integration.declarations_support import lodge, submit_certificate
from tests.integration.messaging_support import lost, stream_event, taken

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
CN_ID = "CNIM-223320261000123456"


def _default_bound(name: str) -> timedelta:
    seconds = ReconcilerSettings.defaults()[name]
    assert isinstance(seconds, int)
    return timedelta(seconds=seconds)


DECLARATIONS_BOUND = _default_bound("open_declaration_bound_seconds")
DOCUMENTS_BOUND = _default_bound("open_documents_bound_seconds")
OUTBOX_BOUND = _default_bound("open_outbox_bound_seconds")


def reconcile_after(aws_resources: Provisioned, wait: timedelta) -> dict[str, Any]:
    """One scheduled run of the reconciler (with its default bounds) ``wait`` from now."""
    clock = FixedClock(datetime.now(UTC) + wait + timedelta(seconds=1))
    functions = build_functions(aws_resources, local_options(), AwsClients(), clock)
    result: dict[str, Any] = functions.reconciler({"detail-type": "Scheduled Event"}, LambdaContext("jevs-reconciler"))
    return result


def relayed(functions: FunctionSet) -> None:
    """The outbox relay on the stream so far: every outbox record published and noted so."""
    assert functions.relay(stream_event(), LambdaContext("jevs-outbox-relay")) == {"batchItemFailures": []}


def consumed(functions: FunctionSet, queue: QueueDefinition) -> None:
    """The queue's consumer on everything the queue holds."""
    consumer = {DECLARATIONS_QUEUE: functions.matcher, NOTIFICATIONS_QUEUE: functions.notifier}[queue]
    assert consumer(taken(queue), LambdaContext()) == {"batchItemFailures": []}


def kinds_on(queue: QueueDefinition) -> list[str]:
    """The kind of each message the queue holds, taken off it."""
    return sorted(str(json.loads(record["body"])["kind"]) for record in taken(queue)["Records"])


def stored(bucket: str, key: str) -> bytes:
    body: bytes = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def missing(bucket: str, key: str) -> bool:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    return not listed.get("Contents")


def test_a_declaration_whose_message_was_lost_is_matched_after_reconciliation(
    aws_resources: Provisioned, functions: FunctionSet, call_api: ApiCall, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a certificate and a declaration quoting it, relayed, and the declarations queue's messages lost
    submit_certificate(call_api)
    assert lodge(call_api)["statusCode"] == 202
    relayed(functions)
    lost(DECLARATIONS_QUEUE)
    # (Reconciliation before the bound queues nothing.)
    assert reconcile_after(aws_resources, DECLARATIONS_BOUND - timedelta(seconds=5))["open_work"]["declarations"] == []
    capsys.readouterr()

    # When the reconciler runs past the declarations' bound
    report = reconcile_after(aws_resources, DECLARATIONS_BOUND)

    # Then it reports the declaration queued again, and counts it
    assert report["open_work"] == {"declarations": [f"{CN_ID}/declarations"], "documents": [], "outbox": []}
    (counted,) = emitted_metrics(capsys.readouterr().out, "DeclarationsRequeued")
    assert (counted["DeclarationsRequeued"], counted["DocumentsRequeued"], counted["OutboxRecordsRequeued"]) == (
        [1.0],
        [0.0],
        [0.0],
    )
    assert counted["OpenWorkRequeued"] == [1.0]  # all kinds at once, for jevs-open-work-requeued
    assert counted["service"] == "jevs-reconciler"
    # And the matcher, fed the queue, decides it
    consumed(functions, DECLARATIONS_QUEUE)
    read = call_api("GET", f"/v1/declarations/{CN_ID}", client_id=CN_CUSTOMS)
    assert read["json"]["status"] == "MATCHED"
    # And it is not queued again
    assert reconcile_after(aws_resources, 3 * DECLARATIONS_BOUND)["open_work"]["declarations"] == []


def test_a_certificate_whose_documents_message_was_lost_gets_its_pdf_and_data_file_after_reconciliation(
    aws_resources: Provisioned, functions: FunctionSet, call_api: ApiCall
) -> None:
    # Given a certificate relayed, and the notifications queue's messages lost
    submit_certificate(call_api)
    relayed(functions)
    lost(NOTIFICATIONS_QUEUE)
    assert missing(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))

    # When the reconciler runs past the documents' bound
    report = reconcile_after(aws_resources, DOCUMENTS_BOUND)

    # Then the version's documents are queued again, and the notifier, fed the queue, makes them
    assert report["open_work"] == {"declarations": [], "documents": [f"{NUMBER}/v1/notifications"], "outbox": []}
    consumed(functions, NOTIFICATIONS_QUEUE)
    assert stored(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))[:5] == b"%PDF-"
    assert b'"certificate_number":"11.1234.12345"' in stored(
        EXCHANGE_BUCKET.local_name, nz_customs_certificate_key(NUMBER, 1)
    )
    # And they are not queued again
    assert reconcile_after(aws_resources, 3 * DOCUMENTS_BOUND)["open_work"]["documents"] == []


def test_outbox_records_the_stream_never_relayed_are_published_by_reconciliation(
    aws_resources: Provisioned, call_api: ApiCall
) -> None:
    # Given a certificate submitted, whose outbox records never reached the relay
    submit_certificate(call_api)

    # When the reconciler runs past the outbox's bound
    report = reconcile_after(aws_resources, OUTBOX_BOUND)

    # Then each record is published to the queue of its channel, once
    assert sorted(report["open_work"]["outbox"]) == [
        f"{NUMBER}/awaited/declarations",
        f"{NUMBER}/v1/delivery-to-china",
        f"{NUMBER}/v1/notifications",
    ]
    assert kinds_on(DELIVERY_QUEUE) == ["china.delivery"]
    assert kinds_on(NOTIFICATIONS_QUEUE) == ["certificate.documents"]
    assert kinds_on(DECLARATIONS_QUEUE) == ["certificate.awaited"]
    assert reconcile_after(aws_resources, 3 * OUTBOX_BOUND)["open_work"]["outbox"] == []
