"""Hosted issuing in the template (issue 6): the notifier's documents (the PDF, NZ Customs' data file, the
applicant's email through SES), the API reading the PDFs as binary responses, and the overseer of the
one-working-day promise on its schedule, with its alarm and dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.app import CDK_JSON
from infrastructure.cdk.monitoring import PAST_DUE_PERIOD
from jevs.resources import (
    API_FUNCTION,
    BINARY_MEDIA_TYPES,
    CERTIFICATE_DOCUMENTS_PREFIX,
    DOCUMENTS_BUCKET,
    EMAIL_MARKERS_PREFIX,
    EXCHANGE_BUCKET,
    NOTIFICATIONS_QUEUE,
    NOTIFIER_FUNCTION,
    NZ_CUSTOMS_CERTIFICATES_PREFIX,
    NZ_CUSTOMS_PREFERENCES_PREFIX,
    NZ_CUSTOMS_PREFIX,
    NZ_CUSTOMS_RESULTS_PREFIX,
    OVERSEER_FUNCTION,
    OVERSEER_SCHEDULE_MINUTES,
    RECORDS_TABLE,
    SCHEDULE_FAILURES_QUEUE,
    SIGNING_KEY,
    VERIFICATION_ATTACHMENTS_PREFIX,
)
from jevs.settings import OverseerSettings
from tests.infrastructure.conftest import CUSTOM_DOMAIN, Synthesis
from tests.infrastructure.support import (
    ACCOUNT_KMS_KEYS,
    BUILT_ARN,
    as_list,
    bucket_by_local_name,
    dashboard_widgets,
    data_key,
    function_by_handler,
    function_grants,
    function_statements,
    one,
    properties,
    queue_by_name,
    references,
    resources,
    target,
    target_id,
)

pytestmark = pytest.mark.infrastructure

_CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}
_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
_DATA_KEY_USE = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"}


def _table(template: dict[str, Any]) -> str:
    return one(resources(template, "AWS::DynamoDB::Table"), "table")[0]


def _documents(template: dict[str, Any]) -> str:
    return bucket_by_local_name(template, DOCUMENTS_BUCKET.local_name)


def _exchange(template: dict[str, Any]) -> str:
    return bucket_by_local_name(template, EXCHANGE_BUCKET.local_name)


def _sender(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return one(resources(template, "AWS::SES::EmailIdentity"), "SES email identity")


def _variables(template: dict[str, Any], handler: str) -> dict[str, Any]:
    variables: dict[str, Any] = properties(template, function_by_handler(template, handler))["Environment"]["Variables"]
    return variables


def _log_group(template: dict[str, Any], handler: str) -> str:
    log_group = target_id(properties(template, function_by_handler(template, handler))["LoggingConfig"]["LogGroup"])
    assert log_group is not None
    return log_group


def _context(key: str) -> Any:
    return json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"][key]


# --- the notifier's documents ------------------------------------------------------------------------------------


def test_the_sender_is_an_ses_identity_for_the_configured_address(template: dict[str, Any]) -> None:
    _, identity = _sender(template)

    assert identity["Properties"]["EmailIdentity"] == _context("jevs:senderEmail")


def test_the_notifier_learns_the_documents_bucket_the_sender_and_the_public_api_url(template: dict[str, Any]) -> None:
    variables = _variables(template, NOTIFIER_FUNCTION.handler)
    api = one(resources(template, "AWS::ApiGateway::RestApi"), "REST API")[0]
    stage = one(resources(template, "AWS::ApiGateway::Stage"), "stage")[0]

    assert target(variables[DOCUMENTS_BUCKET.environment_variable]) == (_documents(template), None)
    assert target(variables[EXCHANGE_BUCKET.environment_variable]) == (_exchange(template), None)
    assert variables["JEVS_SENDER_EMAIL"] == _context("jevs:senderEmail")
    # The stage's own URL: https://<api>.execute-api.<region>.<suffix>/<stage>/
    url = variables["JEVS_VERIFICATION_BASE_URL"]
    assert url["Fn::Join"][1][0] == "https://"
    assert {found[0] for found in references(url)} == {api, stage}


def test_with_a_custom_domain_the_qr_code_points_at_it(domain_synthesis: Synthesis) -> None:
    variables = _variables(domain_synthesis.json, NOTIFIER_FUNCTION.handler)

    assert variables["JEVS_VERIFICATION_BASE_URL"] == f"https://{CUSTOM_DOMAIN['jevs:domainName']}"


def test_the_notifier_may_write_its_prefixes_read_and_list_its_markers_and_send_from_the_sender_only(
    template: dict[str, Any],
) -> None:
    documents, exchange = _documents(template), _exchange(template)

    assert function_grants(template, NOTIFIER_FUNCTION.handler) == {
        # Reads the certificate, its application and decided declarations; notes a version's documents made on
        # its item (certificates' partitions only: test_security).
        (_table(template), "Arn"): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        # Each version's PDF, and its email marker claimed and read back; never a delete, or another prefix.
        (documents, f"/{CERTIFICATE_DOCUMENTS_PREFIX}*"): {"s3:PutObject"},
        (documents, f"/{EMAIL_MARKERS_PREFIX}*"): {"s3:PutObject", "s3:GetObject"},
        (documents, "Arn"): {"s3:ListBucket"},  # the markers' prefix only: see the next test
        # NZ Customs' files: certificates' data files, export entries' results and China's preference decisions,
        # nothing else there.
        (exchange, f"/{NZ_CUSTOMS_CERTIFICATES_PREFIX}*"): {"s3:PutObject"},
        (exchange, f"/{NZ_CUSTOMS_RESULTS_PREFIX}*"): {"s3:PutObject"},
        (exchange, f"/{NZ_CUSTOMS_PREFERENCES_PREFIX}*"): {"s3:PutObject"},
        (_sender(template)[0], BUILT_ARN): {"ses:SendEmail", "ses:SendRawEmail"},
        (data_key(template), "Arn"): _DATA_KEY_USE,
        (queue_by_name(template, NOTIFICATIONS_QUEUE.name), "Arn"): _CONSUME,
        (_log_group(template, NOTIFIER_FUNCTION.handler), "Arn"): _LOGS,
    }


def test_the_notifier_may_list_only_the_email_markers_prefix(template: dict[str, Any]) -> None:
    listing = [
        statement
        for statement in function_statements(template, NOTIFIER_FUNCTION.handler)
        if "s3:ListBucket" in as_list(statement["Action"])
    ]

    assert len(listing) == 1
    assert as_list(listing[0]["Action"]) == ["s3:ListBucket"]
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": [f"{EMAIL_MARKERS_PREFIX}*"]}}


def test_the_sender_identity_is_the_only_ses_resource_the_notifier_names(template: dict[str, Any]) -> None:
    (sending,) = [
        statement
        for statement in function_statements(template, NOTIFIER_FUNCTION.handler)
        if any(action.startswith("ses:") for action in as_list(statement["Action"]))
    ]
    arn = "".join(part if isinstance(part, str) else "<ref>" for part in sending["Resource"]["Fn::Join"][1])

    assert arn == "arn:<ref>:ses:<ref>:<ref>:identity/<ref>"
    assert {found[0] for found in references(sending["Resource"])} == {_sender(template)[0]}


# --- the API reads the PDFs --------------------------------------------------------------------------------------


def test_the_api_answers_pdfs_as_binary_from_the_shared_definition(template: dict[str, Any]) -> None:
    _, api = one(resources(template, "AWS::ApiGateway::RestApi"), "REST API")

    # The list the local gateway applies too; PDFs, and the PNG and JPEG documents of verification answers.
    assert api["Properties"]["BinaryMediaTypes"] == list(BINARY_MEDIA_TYPES)
    assert BINARY_MEDIA_TYPES == ("application/pdf", "image/png", "image/jpeg")


def test_the_api_reads_pdfs_from_the_documents_bucket_and_writes_only_verification_documents(
    template: dict[str, Any],
) -> None:
    documents = _documents(template)
    grants = function_grants(template, API_FUNCTION.handler)

    assert target(_variables(template, API_FUNCTION.handler)[DOCUMENTS_BUCKET.environment_variable]) == (
        documents,
        None,
    )
    assert {key: actions for key, actions in grants.items() if key[0] == documents} == {
        (documents, f"/{CERTIFICATE_DOCUMENTS_PREFIX}*"): {"s3:GetObject"},
        # The documents of verification answers, which the API stores and serves to those involved.
        (documents, f"/{VERIFICATION_ATTACHMENTS_PREFIX}*"): {"s3:PutObject", "s3:GetObject"},
        # Unconditioned: S3 answers NoSuchKey (not AccessDenied) for a PDF not rendered yet only to a lister.
        (documents, "Arn"): {"s3:ListBucket"},
    }
    # NZ Customs' files (GET /v1/exchange/nz-customs/files): read and listed under its prefix, never written.
    assert {key: actions for key, actions in grants.items() if key[0] == _exchange(template)} == {
        (_exchange(template), f"/{NZ_CUSTOMS_PREFIX}*"): {"s3:GetObject"},
        (_exchange(template), "Arn"): {"s3:ListBucket"},
    }


# --- the overseer ------------------------------------------------------------------------------------------------


def test_the_overseer_learns_the_records_table_and_the_signing_alias(template: dict[str, Any]) -> None:
    variables = _variables(template, OVERSEER_FUNCTION.handler)
    settings = set(OverseerSettings.variables().values())
    given = {RECORDS_TABLE.environment_variable, SIGNING_KEY.environment_variable}

    assert {name for name in variables if name.startswith("JEVS_")} == given
    assert given <= settings
    assert target(variables[RECORDS_TABLE.environment_variable]) == (_table(template), None)
    assert variables[SIGNING_KEY.environment_variable] == SIGNING_KEY.alias


def test_the_overseer_may_query_the_open_applications_index_put_on_the_table_and_seal_only(
    template: dict[str, Any],
) -> None:
    table = _table(template)

    assert function_grants(template, OVERSEER_FUNCTION.handler) == {
        (table, f"/index/{RECORDS_TABLE.index('by-open-application').name}"): {"dynamodb:Query"},
        # The conditional put that flags an application (TransactWriteItems is authorised item by item).
        (table, "Arn"): {"dynamodb:PutItem"},
        (data_key(template), "Arn"): _DATA_KEY_USE,
        # Seals each history head it appends: the key the signing alias names only (test_security).
        ACCOUNT_KMS_KEYS: {"kms:Sign", "kms:GetPublicKey"},
        (_log_group(template, OVERSEER_FUNCTION.handler), "Arn"): _LOGS,
        # Its dead-letter queue: Lambda sends a scheduled run that failed for good there, as the function.
        (queue_by_name(template, SCHEDULE_FAILURES_QUEUE.name), "Arn"): {"sqs:SendMessage"},
    }


def test_the_overseer_runs_on_its_schedule(template: dict[str, Any]) -> None:
    overseer = function_by_handler(template, OVERSEER_FUNCTION.handler)
    rules = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if any(target_id(rule_target["Arn"]) == overseer for rule_target in rule["Properties"]["Targets"])
    ]

    assert [rule["ScheduleExpression"] for rule in rules] == [f"rate({OVERSEER_SCHEDULE_MINUTES} minutes)"]
    assert rules[0]["State"] == "ENABLED"
    permissions = [
        permission["Properties"]
        for permission in resources(template, "AWS::Lambda::Permission").values()
        if target_id(permission["Properties"]["FunctionName"]) == overseer
    ]
    assert [permission["Principal"] for permission in permissions] == ["events.amazonaws.com"]


def test_an_application_past_due_raises_an_alarm(template: dict[str, Any]) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApplicationsPastDue"
    ]

    assert len(alarms) == 1
    [alarm] = alarms
    assert alarm["Namespace"] == "JEVS"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "jevs-overseer"}]
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # Two runs of the schedule per period: every period holds a count.
    assert alarm["Period"] == PAST_DUE_PERIOD.to_seconds() == 2 * OVERSEER_SCHEDULE_MINUTES * 60
    assert alarm["AlarmActions"]


def test_the_dashboard_graphs_processing_time_and_applications_past_due(template: dict[str, Any]) -> None:
    graphed = {
        tuple(metric[:4])
        for widget in dashboard_widgets(template)
        for metric in widget["properties"].get("metrics", [])
    }

    assert ("JEVS", "ApplicationProcessingSeconds", "service", "jevs-api") in graphed
    assert ("JEVS", "ApplicationsPastDue", "service", "jevs-overseer") in graphed
