"""Each certificate version's documents through the notifier (issue 6): a certificate submitted over the API
writes a ``certificate.documents`` outbox message, and the notifier, fed that message as the notifications
queue delivers it, stores the PDF in the documents bucket, files NZ Customs' data file in the exchange bucket,
and emails the applicant of a hosted certificate once, with the PDF attached, through SES."""

from __future__ import annotations

import base64
import email
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto.ses.models import RawMessage, ses_backends

from infrastructure.local.functions import FunctionSet
from infrastructure.local.provision import LOCAL_SENDER_EMAIL
from jevs.adapters.aws import AwsClients
from jevs.adapters.documents import S3ObjectStore, SesMailer
from jevs.adapters.table import items
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.model import Put, WriteName
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.messages import OUTBOX_MESSAGE, MakeDocuments
from jevs.domain.records import CertificateRecord
from jevs.domain.registrations import RegistrationKind, new_id
from jevs.resources import (
    DOCUMENTS_BUCKET,
    EXCHANGE_BUCKET,
    RECORDS_TABLE,
    certificate_document_key,
    email_marker_key,
    nz_customs_certificate_key,
)
from jevs.service.ports import MailNotSent, TaggedObject
from tests.factories import ISSUING_BODY, LambdaContext, application_payload, sqs_event
from tests.integration.conftest import VERIFICATION_BASE_URL, ApiCall
from tests.integration.declarations_support import submit_certificate

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
APPLICANT = "aroha.ngata@kauri-dairy.example.nz"
COMMERCIAL = {"invoice_values": [{"invoice_number": "INV-2026-0042", "amount": "112500.00", "currency": "NZD"}]}


def documents_messages(number: str) -> list[str]:
    """The ``certificate.documents`` messages a certificate's issues wrote to its outbox."""
    response = boto3.client("dynamodb").query(
        TableName=RECORDS_TABLE.name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": f"CERTIFICATE#{number}"}, ":prefix": {"S": "OUTBOX#"}},
    )
    bodies = [item["message"]["S"] for item in response["Items"] if item["channel"]["S"] == "notifications"]
    return [body for body in bodies if isinstance(OUTBOX_MESSAGE.validate_json(body), MakeDocuments)]


def run_notifier(functions: FunctionSet, bodies: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = functions.notifier(sqs_event(bodies), LambdaContext("jevs-notifier"))
    return result


def read(bucket: str, key: str) -> tuple[bytes, str]:
    stored = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    return stored["Body"].read(), stored["ContentType"]


def keys(bucket: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(entry["Key"] for entry in listed.get("Contents", []))


def sent_emails() -> list[EmailMessage]:
    """What moto's SES accepted (SES v2's SendEmail keeps raw messages in the SES backend)."""
    account = boto3.client("sts").get_caller_identity()["Account"]
    backend = ses_backends[account]["ap-southeast-2"]
    return [
        email.message_from_string(message.raw_data, policy=default)
        for message in backend.sent_messages
        if isinstance(message, RawMessage)
    ]


def rewrite_head(record: CertificateRecord) -> None:
    """Store the certificate's head as given (what a certification, or a later version, would have left)."""
    table = DynamoTable(boto3.client("dynamodb"), RECORDS_TABLE, RECORDS_TABLE.name)
    table.write([Put(WriteName("certificate", record.number), items.head_item(record))])


def certified_from_an_application(records: TableUnitOfWork, number: str) -> Application:
    """Make the submitted certificate ``number`` one certified from a hosted application: the application is
    stored as certified, and the certificate names it (as certification through the API leaves them)."""
    business_number = "9429041234563"
    now = datetime.now(UTC)
    payload = application_payload(
        new_id(RegistrationKind.SIGNATORY, business_number), [new_id(RegistrationKind.GOODS, business_number)]
    )
    application = Application(
        id=new_id(RegistrationKind.APPLICATION, business_number),
        exporter=f"exp-{business_number}",
        exporter_business_number=business_number,
        issuing_body="akl-chamber",
        status=ApplicationStatus.CERTIFIED,
        lodged_at=now - timedelta(hours=2),
        due_at=now + timedelta(hours=22),
        application=ApplicationLodgement.model_validate(payload),
        applicant_email=APPLICANT,
        decided_at=now,
        decided_by="akl-chamber",
        certificate_number=number,
    )
    records.applications.add(application.lodged())
    records.commit()
    record = records.certificates.get(number)
    assert record is not None
    rewrite_head(record.model_copy(update={"application_id": application.id}))
    return application


# --- every certificate -------------------------------------------------------------------------------------------


def test_an_issued_version_writes_one_documents_message(call_api: ApiCall) -> None:
    submit_certificate(call_api)

    (body,) = documents_messages(NUMBER)

    message = MakeDocuments.model_validate_json(body)
    assert (message.certificate_number, message.version) == (NUMBER, 1)


def test_a_submitted_certificate_gets_its_pdf_and_nz_customs_file_and_no_email(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    submit_certificate(call_api, commercial=COMMERCIAL)

    assert run_notifier(functions, documents_messages(NUMBER)) == {"batchItemFailures": []}

    pdf, pdf_type = read(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))
    assert certificate_document_key(NUMBER, 1) == f"certificates/{NUMBER}/v1.pdf"
    assert pdf.startswith(b"%PDF")
    assert pdf_type == "application/pdf"
    data, data_type = read(EXCHANGE_BUCKET.local_name, nz_customs_certificate_key(NUMBER, 1))
    assert nz_customs_certificate_key(NUMBER, 1) == f"nz-customs/certificates/{NUMBER}/v1.json"
    assert data_type == "application/json"
    filed = json.loads(data)
    assert (filed["certificate_number"], filed["version"]) == (NUMBER, 1)
    assert filed["certificate"]["exporter"]["business_number"] == "9429041234563"
    assert [item["hs_code"] for item in filed["certificate"]["items"]] == ["040221"]
    # The FTA form's data only: the invoice values filed with the certificate stay out.
    assert "commercial" not in data.decode()
    assert "112500" not in data.decode()
    # Not hosted: nobody to email, and so no marker either.
    assert sent_emails() == []
    assert keys(DOCUMENTS_BUCKET.local_name) == [certificate_document_key(NUMBER, 1)]


def test_the_pdf_is_answered_base64_for_api_gateway_to_send_as_bytes_to_a_request_asking_first_for_it(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    submit_certificate(call_api)
    run_notifier(functions, documents_messages(NUMBER))
    stored, _ = read(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))

    response = call_api(
        "GET", f"/v1/certificates/{NUMBER}/document", client_id=ISSUING_BODY, headers={"Accept": "application/pdf"}
    )

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/pdf"
    assert response["headers"]["vary"] == "Accept"
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == stored


@pytest.mark.parametrize("accept", ["*/*", "*/*, application/pdf", "application/*", "image/png", "application/json"])
def test_the_pdf_asked_for_otherwise_is_a_406_telling_to_ask_for_application_pdf(
    functions: FunctionSet, call_api: ApiCall, accept: str
) -> None:
    submit_certificate(call_api)
    run_notifier(functions, documents_messages(NUMBER))

    response = call_api(
        "GET", f"/v1/certificates/{NUMBER}/document", client_id=ISSUING_BODY, headers={"Accept": accept}
    )

    # API Gateway would send these the PDF's base64 text (the first Accept media type is not application/pdf).
    assert response["statusCode"] == 406
    assert response["headers"]["content-type"] == "application/problem+json"
    assert "not-acceptable" in response["json"]["type"]
    assert "Accept: application/pdf" in response["json"]["detail"]


def test_a_message_delivered_twice_writes_the_same_objects_again(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    bodies = documents_messages(NUMBER)

    run_notifier(functions, bodies)
    first = read(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))[0]
    assert run_notifier(functions, bodies) == {"batchItemFailures": []}

    assert read(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))[0] == first
    assert keys(DOCUMENTS_BUCKET.local_name) == [certificate_document_key(NUMBER, 1)]
    assert keys(EXCHANGE_BUCKET.local_name) == [nz_customs_certificate_key(NUMBER, 1)]


def test_a_message_for_a_version_since_superseded_is_acknowledged_and_writes_nothing(
    functions: FunctionSet, call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    bodies = documents_messages(NUMBER)
    record = records.certificates.get(NUMBER)
    assert record is not None
    rewrite_head(record.model_copy(update={"version": 2}))  # version 2's own message makes its documents

    assert run_notifier(functions, bodies) == {"batchItemFailures": []}

    assert keys(DOCUMENTS_BUCKET.local_name) == []
    assert keys(EXCHANGE_BUCKET.local_name) == []


def test_a_message_for_a_version_not_yet_readable_comes_back(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    (body,) = documents_messages(NUMBER)
    ahead = MakeDocuments.model_validate_json(body).model_copy(update={"version": 2}).model_dump_json()

    event = sqs_event([ahead])
    result = functions.notifier(event, LambdaContext("jevs-notifier"))

    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert keys(DOCUMENTS_BUCKET.local_name) == []


# --- a hosted certificate ----------------------------------------------------------------------------------------


def test_a_hosted_certificate_emails_its_applicant_the_pdf(
    functions: FunctionSet, call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    application = certified_from_an_application(records, NUMBER)

    assert run_notifier(functions, documents_messages(NUMBER)) == {"batchItemFailures": []}

    (message,) = sent_emails()
    assert message["To"] == APPLICANT
    assert LOCAL_SENDER_EMAIL in message["From"]
    assert NUMBER in message["Subject"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert NUMBER in text
    assert application.id in text
    assert f"{VERIFICATION_BASE_URL}/v1/verify/{NUMBER}?digest=" in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"certificate-{NUMBER}.pdf"
    pdf = read(DOCUMENTS_BUCKET.local_name, certificate_document_key(NUMBER, 1))[0]
    assert attachment.get_content() == pdf
    # The marker says it went: ids and times, not the applicant's address.
    marker, _ = read(DOCUMENTS_BUCKET.local_name, email_marker_key(NUMBER, 1))
    assert email_marker_key(NUMBER, 1) == f"sent/{NUMBER}/v1.json"
    noted = json.loads(marker)
    assert (noted["application_id"], noted["certificate_number"], noted["version"]) == (application.id, NUMBER, 1)
    assert APPLICANT not in marker.decode()


def test_a_redelivered_message_does_not_email_the_applicant_again(
    functions: FunctionSet, call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    certified_from_an_application(records, NUMBER)
    bodies = documents_messages(NUMBER)

    run_notifier(functions, bodies)
    assert run_notifier(functions, bodies) == {"batchItemFailures": []}

    assert len(sent_emails()) == 1


def test_a_hosted_certificate_whose_application_is_missing_comes_back_unsent(
    functions: FunctionSet, call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    record = records.certificates.get(NUMBER)
    assert record is not None
    rewrite_head(record.model_copy(update={"application_id": "AP-9429041234563-000000000000"}))
    bodies = documents_messages(NUMBER)

    result = run_notifier(functions, bodies)

    assert len(result["batchItemFailures"]) == 1
    assert sent_emails() == []
    assert email_marker_key(NUMBER, 1) not in keys(DOCUMENTS_BUCKET.local_name)


def test_a_message_of_an_unknown_kind_comes_back(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    (body,) = documents_messages(NUMBER)
    strange = MakeDocuments.model_validate_json(body).model_copy(update={"kind": "certificate.unknown"})

    result = run_notifier(functions, [strange.model_dump_json()])

    assert len(result["batchItemFailures"]) == 1


def _plant_claim(application: Application, claimed_at: datetime) -> None:
    """The marker a run leaves when it claimed the email of ``NUMBER`` v1 and stopped before SES answered."""
    claim = {
        "application_id": application.id,
        "certificate_number": NUMBER,
        "version": 1,
        "state": "sending",
        "claimed_at": claimed_at.isoformat(),
        "claim": "an-earlier-run",
    }
    boto3.client("s3").put_object(
        Bucket=DOCUMENTS_BUCKET.local_name, Key=email_marker_key(NUMBER, 1), Body=json.dumps(claim).encode()
    )


def test_a_message_handled_while_another_run_sends_its_email_comes_back_unsent(
    functions: FunctionSet, call_api: ApiCall, records: TableUnitOfWork
) -> None:
    submit_certificate(call_api)
    application = certified_from_an_application(records, NUMBER)
    _plant_claim(application, datetime.now(UTC))

    result = run_notifier(functions, documents_messages(NUMBER))

    assert len(result["batchItemFailures"]) == 1
    assert sent_emails() == []


def test_an_email_whose_sending_was_cut_short_is_not_sent_again_and_is_counted(
    functions: FunctionSet, call_api: ApiCall, records: TableUnitOfWork, capsys: pytest.CaptureFixture[str]
) -> None:
    submit_certificate(call_api)
    application = certified_from_an_application(records, NUMBER)
    _plant_claim(application, datetime.now(UTC) - timedelta(minutes=6))
    capsys.readouterr()

    assert run_notifier(functions, documents_messages(NUMBER)) == {"batchItemFailures": []}

    assert sent_emails() == []
    counted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"EmailsInDoubt"' in line]
    assert [(document["service"], document["EmailsInDoubt"]) for document in counted] == [("jevs-notifier", [1.0])]


# --- the documents bucket's conditional writes, as S3 (moto) answers them ------------------------------------


@pytest.mark.usefixtures("aws_resources")
def test_of_two_creates_of_one_key_only_the_first_writes() -> None:
    store = S3ObjectStore(boto3.client("s3"), DOCUMENTS_BUCKET.local_name)

    first = store.create("sent/x.json", b"first", "application/json")
    second = store.create("sent/x.json", b"second", "application/json")

    assert first is not None
    assert second is None
    assert store.read("sent/x.json") == TaggedObject(b"first", first)


@pytest.mark.usefixtures("aws_resources")
def test_a_swap_writes_only_over_the_version_it_names() -> None:
    store = S3ObjectStore(boto3.client("s3"), DOCUMENTS_BUCKET.local_name)
    first = store.create("sent/x.json", b"first", "application/json")
    assert first is not None

    swapped = store.swap("sent/x.json", b"second", "application/json", first)
    stale = store.swap("sent/x.json", b"third", "application/json", first)

    assert swapped is not None
    assert stale is None
    assert store.read("sent/x.json") == TaggedObject(b"second", swapped)
    assert store.swap("sent/absent.json", b"x", "application/json", first) is None
    assert store.read("sent/absent.json") is None


# --- SES: one attempt per send ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws_resources")
def test_an_email_whose_answer_is_lost_is_not_sent_again_by_the_sdk() -> None:
    """SES takes the email, and its answer is lost (a read timeout): the SDK must not send the request again."""
    client = AwsClients().sesv2
    attempts: list[str] = []

    def answer_lost(request: Any, **_: Any) -> None:
        attempts.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register_last("before-send.sesv2.SendEmail", answer_lost)
    with pytest.raises(ReadTimeoutError):
        SesMailer(client).send(b"Subject: x\r\n\r\nx", sender=LOCAL_SENDER_EMAIL, recipient=APPLICANT)

    assert len(attempts) == 1


@pytest.mark.usefixtures("aws_resources")
def test_an_email_ses_refuses_is_reported_not_sent() -> None:
    mailer = SesMailer(AwsClients().sesv2)

    with pytest.raises(MailNotSent):
        mailer.send(b"Subject: x\r\n\r\nx", sender="nobody@unverified.example", recipient=APPLICANT)

    assert sent_emails() == []
