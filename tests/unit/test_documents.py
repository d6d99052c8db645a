"""A certificate version's documents (``jevs.service.documents.make_documents``) with the records table, buckets
and mail in memory (issue 6): what is stored where, who is emailed, and that a message handled again neither
emails twice (not even after a run that died between the send and its marker) nor skips an email SES refused."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default

import pytest

from jevs.adapters.table import items
from jevs.documents.certificate_email import certificate_email
from jevs.domain.applications import Application, ApplicationLodgement, ApplicationStatus
from jevs.domain.errors import NotFound, RetryableFailure
from jevs.domain.messages import MakeDocuments
from jevs.domain.records import CertificateRecord
from jevs.domain.registrations import RegistrationKind, new_id
from jevs.resources import (
    NOTIFICATIONS_QUEUE,
    certificate_document_key,
    email_marker_key,
    nz_customs_certificate_key,
)
from jevs.service.documents import CLAIM_LEASE, DocumentOutlets, DocumentsOutcome, make_documents
from jevs.service.ports import MailNotSent, TaggedObject
from jevs.service.unit_of_work import VersionKey
from tests.factories import application_payload, certificate_payload
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import certificate, party, record_of

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
SENDER = "certificates@jevs.example.test"
APPLICANT = "aroha.ngata@kauri-dairy.example.nz"
BASE_URL = "https://jevs.example.test"
NZBN = "9429041234563"


class Crashed(Exception):
    """The run stops here, as a Lambda function timed out or killed would."""


class Mail:
    def __init__(self, *, fail: Exception | None = None) -> None:
        self.sent: list[tuple[bytes, str, str]] = []
        self.fail = fail

    def send(self, raw: bytes, *, sender: str, recipient: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append((raw, sender, recipient))
        return f"message-{len(self.sent)}"


class Bucket:
    """A bucket in memory, with S3's conditional writes: each write gives the object a new ETag."""

    def __init__(self, *, crash_after_sending: Mail | None = None) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.etags: dict[str, str] = {}
        self.writes = 0
        # Once this mail has sent something, the next write of an email's marker crashes the run.
        self._crash_after_sending = crash_after_sending

    def _write(self, key: str, body: bytes, content_type: str) -> str:
        if self._crash_after_sending is not None and self._crash_after_sending.sent and key.startswith("sent/"):
            self._crash_after_sending = None
            raise Crashed(f"the run died after the send, before {key} said so")
        self.writes += 1
        self.objects[key] = (body, content_type)
        self.etags[key] = f'"{self.writes}"'
        return self.etags[key]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._write(key, body, content_type)

    def get(self, key: str) -> bytes | None:
        found = self.objects.get(key)
        return found[0] if found is not None else None

    def create(self, key: str, body: bytes, content_type: str) -> str | None:
        return None if key in self.objects else self._write(key, body, content_type)

    def read(self, key: str) -> TaggedObject | None:
        found = self.objects.get(key)
        return TaggedObject(found[0], self.etags[key]) if found is not None else None

    def swap(self, key: str, body: bytes, content_type: str, etag: str) -> str | None:
        return self._write(key, body, content_type) if self.etags.get(key) == etag else None

    def marker(self, version: int = 1) -> dict[str, object]:
        found = self.get(email_marker_key(NUMBER, version))
        assert found is not None
        held: dict[str, object] = json.loads(found)
        return held


def stored(record: CertificateRecord, application: Application | None = None) -> MemoryRecords:
    """The records table holding ``record`` (its head, as given, and its versions' items, their documents still to
    make) and ``application``, if any."""
    records = MemoryRecords()
    records.table.put_raw(items.head_item(record))
    for version in range(1, record.version + 1):
        records.table.put_raw(items.version_item(record.model_copy(update={"version": version})))
    if application is not None:
        uow = records.uow()
        uow.applications.add(application.lodged())
        uow.commit()
    return records


def the_record(**overrides: object) -> CertificateRecord:
    return record_of(certificate(**overrides), party("local-akl-chamber"))


def the_application(record: CertificateRecord) -> Application:
    payload = application_payload(new_id(RegistrationKind.SIGNATORY, NZBN), [new_id(RegistrationKind.GOODS, NZBN)])
    return Application(
        id=new_id(RegistrationKind.APPLICATION, NZBN),
        exporter=f"exp-{NZBN}",
        exporter_business_number=NZBN,
        issuing_body="akl-chamber",
        status=ApplicationStatus.CERTIFIED,
        lodged_at=record.recorded_at,
        due_at=record.recorded_at,
        application=ApplicationLodgement.model_validate(payload),
        applicant_email=APPLICANT,
        decided_at=record.recorded_at,
        certificate_number=record.number,
    )


def hosted() -> tuple[CertificateRecord, Application]:
    record = the_record()
    application = the_application(record)
    return record.model_copy(update={"application_id": application.id}), application


def deliver(
    records: MemoryRecords, documents: Bucket, exchange: Bucket, mail: Mail, version: int = 1
) -> DocumentsOutcome:
    outlets = DocumentOutlets(
        documents=documents, exchange=exchange, mailer=mail, sender=SENDER, verification_base_url=BASE_URL
    )
    command = MakeDocuments(certificate_number=NUMBER, version=version, created_at=FixedClock().now())
    return make_documents(command, records.uow(), outlets)


def undocumented(records: MemoryRecords) -> list[VersionKey]:
    """The versions whose documents are still open work (reconciliation's view)."""
    return list(records.uow().certificates.undocumented_before(FixedClock().now() + timedelta(days=1), limit=10))


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_version_gets_its_pdf_and_nz_customs_file_and_no_email_when_not_hosted() -> None:
    documents, exchange, mail = Bucket(), Bucket(), Mail()

    outcome = deliver(stored(the_record()), documents, exchange, mail)

    assert outcome == DocumentsOutcome(
        NUMBER, 1, document_key=certificate_document_key(NUMBER, 1), data_file_key=nz_customs_certificate_key(NUMBER, 1)
    )
    pdf, pdf_type = documents.objects[certificate_document_key(NUMBER, 1)]
    assert (pdf[:5], pdf_type) == (b"%PDF-", "application/pdf")
    data, data_type = exchange.objects[nz_customs_certificate_key(NUMBER, 1)]
    assert data_type == "application/json"
    assert json.loads(data)["certificate_number"] == NUMBER
    assert mail.sent == []
    assert list(documents.objects) == [certificate_document_key(NUMBER, 1)]


def test_a_version_whose_documents_are_stored_is_no_longer_open_work() -> None:
    records = stored(the_record())
    assert undocumented(records) == [VersionKey(NUMBER, 1)]

    deliver(records, Bucket(), Bucket(), Mail())

    assert undocumented(records) == []


def test_a_hosted_version_stays_open_work_until_its_email_went_out() -> None:
    """A failed email is retried by the queue; were the message lost then, reconciliation would queue it again."""
    record, application = hosted()
    records = stored(record, application)

    documents = Bucket()
    with pytest.raises(MailNotSent):
        deliver(records, documents, Bucket(), Mail(fail=MailNotSent("SES: throttled")))
    assert undocumented(records) == [VersionKey(NUMBER, 1)]

    deliver(records, documents, Bucket(), Mail())
    assert undocumented(records) == []


def test_nz_customs_file_holds_the_fta_form_without_commercial_details() -> None:
    commercial = {"invoice_values": [{"invoice_number": "INV-2026-0042", "amount": "112500.00", "currency": "NZD"}]}
    exchange = Bucket()

    deliver(stored(the_record(commercial=commercial)), Bucket(), exchange, Mail())

    data = exchange.objects[nz_customs_certificate_key(NUMBER, 1)][0]
    filed = json.loads(data)
    assert filed["certificate"]["consignee"]["name"] == certificate_payload()["consignee"]["name"]
    assert "commercial" not in data.decode()
    assert "112500" not in data.decode()


def test_a_hosted_version_emails_its_applicant_once_and_marks_it() -> None:
    record, application = hosted()
    documents, mail = Bucket(), Mail()

    records = stored(record, application)

    first = deliver(records, documents, Bucket(), mail)
    again = deliver(records, documents, Bucket(), mail)

    assert (first.emailed_application, first.emailed_before) == (application.id, False)
    assert (again.emailed_application, again.emailed_before) == (None, True)
    assert [(sender, recipient) for _, sender, recipient in mail.sent] == [(SENDER, APPLICANT)]
    assert documents.marker() == {
        "application_id": application.id,
        "certificate_number": NUMBER,
        "message_id": "message-1",
        "sent_at": FixedClock().now().isoformat(),
        "state": "sent",
        "version": 1,
    }


def died_after_sending() -> tuple[MemoryRecords, Bucket, Mail]:
    """A hosted version whose first run sent the email and died before anything said it went."""
    record, application = hosted()
    records, mail = stored(record, application), Mail()
    documents = Bucket(crash_after_sending=mail)
    with pytest.raises(Crashed):
        deliver(records, documents, Bucket(), mail)
    return records, documents, mail


def test_a_run_that_dies_between_the_send_and_its_marker_does_not_email_again_when_redelivered() -> None:
    # Given a hosted version whose first run sends the email and dies before anything says it went
    records, documents, mail = died_after_sending()
    # When SQS delivers the message again, once its visibility timeout has passed
    records.clock.advance(timedelta(seconds=NOTIFICATIONS_QUEUE.visibility_timeout_seconds))
    again = deliver(records, documents, Bucket(), mail)
    # Then the applicant has one email, and the run says the claim it found is in doubt
    assert len(mail.sent) == 1
    assert (again.emailed_application, again.emailed_before, again.email_in_doubt) == (None, True, True)
    assert documents.marker()["state"] == "sending"


def test_a_copy_of_the_message_handled_while_the_email_is_being_sent_comes_back_without_sending() -> None:
    # Given a run that claimed the email and has not finished (its claim younger than the notifier's timeout)
    records, documents, mail = died_after_sending()
    records.clock.advance(CLAIM_LEASE - timedelta(seconds=1))
    # When a second copy of the message is handled meanwhile, Then it sends nothing and comes back later
    with pytest.raises(RetryableFailure):
        deliver(records, documents, Bucket(), mail)
    assert len(mail.sent) == 1


def test_an_email_ses_refused_is_released_and_sent_when_the_message_comes_back() -> None:
    record, application = hosted()
    records, documents = stored(record, application), Bucket()

    with pytest.raises(MailNotSent):
        deliver(records, documents, Bucket(), Mail(fail=MailNotSent("SES did not send the email: Throttling")))
    assert documents.marker()["state"] == "released"
    mail = Mail()
    retried = deliver(records, documents, Bucket(), mail)

    assert retried.emailed_application == application.id
    assert len(mail.sent) == 1
    assert documents.marker()["state"] == "sent"


def test_an_email_whose_answer_was_lost_is_not_sent_again() -> None:
    # Given a send that failed without SES saying it did not take the email (its answer timed out)
    record, application = hosted()
    records, documents = stored(record, application), Bucket()
    with pytest.raises(TimeoutError):
        deliver(records, documents, Bucket(), Mail(fail=TimeoutError("read timeout")))
    # When the message comes back after its visibility timeout, Then the claim stands: it may have gone out
    records.clock.advance(timedelta(seconds=NOTIFICATIONS_QUEUE.visibility_timeout_seconds))
    mail = Mail()
    again = deliver(records, documents, Bucket(), mail)

    assert mail.sent == []
    assert again.email_in_doubt


def test_a_claim_whose_own_answer_was_lost_is_still_this_runs() -> None:
    """S3 stored the claim but its answer was lost; the SDK's retry of the same conditional put is refused (the key
    is there now). The run finds its own claim in the marker and sends."""
    record, application = hosted()
    records, documents, mail = stored(record, application), Bucket(), Mail()
    create = documents.create

    def create_answer_lost(key: str, body: bytes, content_type: str) -> str | None:
        create(key, body, content_type)
        return create(key, body, content_type)

    documents.create = create_answer_lost  # type: ignore[method-assign]
    sent = deliver(records, documents, Bucket(), mail)

    assert sent.emailed_application == application.id
    assert len(mail.sent) == 1


def test_a_marker_written_before_claims_existed_counts_as_sent() -> None:
    record, application = hosted()
    records, documents, mail = stored(record, application), Bucket(), Mail()
    legacy = {"application_id": application.id, "certificate_number": NUMBER, "message_id": "m-1", "version": 1}
    documents.put(email_marker_key(NUMBER, 1), json.dumps(legacy).encode(), "application/json")

    outcome = deliver(records, documents, Bucket(), mail)

    assert (outcome.emailed_before, outcome.email_in_doubt, mail.sent) == (True, False, [])


def test_the_email_names_the_certificate_and_carries_the_pdf() -> None:
    record, application = hosted()
    documents, mail = Bucket(), Mail()
    deliver(stored(record, application), documents, Bucket(), mail)

    message = parsed(mail.sent[0][0])

    assert message["To"] == APPLICANT
    assert SENDER in message["From"]
    assert message["Subject"] == f"Certificate of origin {NUMBER} certified"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"Certificate of origin: {NUMBER} (version 1)" in text
    assert "Auckland Business Chamber" in text
    assert f"{BASE_URL}/v1/verify/{NUMBER}?digest=" in text
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"certificate-{NUMBER}.pdf"
    assert attachment.get_content() == documents.objects[certificate_document_key(NUMBER, 1)][0]


def test_the_email_stays_seven_bit_whatever_the_names_hold() -> None:
    exporter = {**certificate_payload()["exporter"], "name": "Kāpiti Dairy Co-operative Limited"}
    consignee = {**certificate_payload()["consignee"], "name": "上海港湾食品有限公司"}
    record = the_record(exporter=exporter, consignee=consignee)

    raw = certificate_email(
        record, the_application(record), sender=SENDER, pdf=b"%PDF-1.4", verification_base_url=BASE_URL
    )

    assert raw.isascii()
    assert b"\r\n" in raw
    body = parsed(raw).get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Kāpiti Dairy Co-operative Limited" in text
    assert "上海港湾食品有限公司" in text


def test_a_message_about_a_superseded_version_makes_nothing_and_leaves_it_no_open_work() -> None:
    documents, exchange, mail = Bucket(), Bucket(), Mail()
    records = stored(the_record().model_copy(update={"version": 2}))

    outcome = deliver(records, documents, exchange, mail, version=1)

    assert outcome.superseded
    assert (documents.objects, exchange.objects, mail.sent) == ({}, {}, [])
    # Version 1's documents can no longer be made, so reconciliation is not left to queue them for ever; version 2's
    # are still to make.
    assert undocumented(records) == [VersionKey(NUMBER, 2)]


@pytest.mark.parametrize("stored_version", [None, 1])
def test_a_version_not_readable_yet_is_not_found(stored_version: int | None) -> None:
    """The message is retried: the certificate (or that version of it) is not readable yet."""
    record = the_record()
    records = stored(record if stored_version else record.model_copy(update={"number": "11.9999.99999"}))

    with pytest.raises(NotFound):
        deliver(records, Bucket(), Bucket(), Mail(), version=2)


def test_a_hosted_version_whose_application_is_missing_sends_nothing() -> None:
    record, _ = hosted()
    documents, mail = Bucket(), Mail()

    with pytest.raises(NotFound):
        deliver(stored(record), documents, Bucket(), mail)

    assert mail.sent == []
    assert documents.get(email_marker_key(NUMBER, 1)) is None
