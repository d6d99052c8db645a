"""The notifications function, on the notifications queue: what JEVS makes for people and partners once a change
is stored, one use case per message kind (``jevs.service.documents``).

- ``certificate.documents`` (every certificate version's issue): the PDF in the documents bucket, NZ Customs'
  data file in the exchange bucket, and for a hosted certificate the email to its applicant with the PDF.
- ``declaration.result.filing`` (a decided NZ export entry): the match result, filed for NZ Customs in the
  exchange bucket (DESIGN.md §4: results go back to the declarant; an export entry never goes to China).
- ``preference.decision.filing`` (China Customs' box 5 decision): filed for NZ Customs in the exchange bucket.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Json

from jevs import bootstrap
from jevs.adapters.lambda_batches import SqsRecord, batch_handler
from jevs.bootstrap import Handler, NotifierDependencies
from jevs.domain.messages import FileExportResult, FilePreferenceDecision, MakeDocuments, Notification
from jevs.service.documents import file_export_result, make_documents
from jevs.service.preferences import file_preference_decision
from jevs.settings import NotifierSettings

logger = Logger(service="jevs-notifier")
metrics = Metrics(namespace="JEVS", service="jevs-notifier")


class NotificationRecord(SqsRecord):
    body: Json[Notification]


def make_handler(dependencies: NotifierDependencies) -> Handler:
    def documents(message: MakeDocuments) -> None:
        outcome = make_documents(message, dependencies.unit_of_work(None), dependencies.outlets)
        if outcome.superseded:
            logger.info("superseded", extra={"certificate": outcome.number, "version": outcome.version})
            return
        metrics.add_metric(name="DocumentsRendered", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="DataFilesFiled", unit=MetricUnit.Count, value=1)
        if outcome.emailed_application is not None:
            metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
        if outcome.email_in_doubt:
            # An earlier run claimed the email and stopped before SES answered: not sent again (alarmed).
            metrics.add_metric(name="EmailsInDoubt", unit=MetricUnit.Count, value=1)
            logger.warning("email in doubt", extra={"certificate": outcome.number, "version": outcome.version})
        logger.info(
            "documents",
            extra={
                "certificate": outcome.number,
                "version": outcome.version,
                "application": outcome.emailed_application,
                "emailed_before": outcome.emailed_before,
            },
        )

    def filing(message: FileExportResult) -> None:
        declaration = file_export_result(message, dependencies.unit_of_work(None), dependencies.outlets.exchange)
        metrics.add_metric(name="ResultsFiledForNzCustoms", unit=MetricUnit.Count, value=1)
        logger.info("filed", extra={"declaration": declaration.id, "status": declaration.status})

    def preference(message: FilePreferenceDecision) -> None:
        decision = file_preference_decision(message, dependencies.unit_of_work(None), dependencies.outlets.exchange)
        metrics.add_metric(name="PreferenceDecisionsFiledForNzCustoms", unit=MetricUnit.Count, value=1)
        logger.info("filed", extra={"declaration": decision.declaration_id, "decision": decision.decision})

    def notify(record: NotificationRecord) -> None:
        message = record.body
        match message:
            case MakeDocuments():
                documents(message)
            case FileExportResult():
                filing(message)
            case FilePreferenceDecision():
                preference(message)

    return batch_handler(logger=logger, metrics=metrics, record_handler=notify, model=NotificationRecord)


handler = bootstrap.lambda_entry(NotifierSettings, bootstrap.notifier, make_handler)
