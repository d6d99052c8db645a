"""Verification of origin in the domain and its use cases (DESIGN.md §3): China Customs raises a request about a
certificate, its issuing body or NZ Customs answers it once (documents checked by their bytes and sizes, stored in
the documents bucket, the answer to China as ``verification.response``), China closes it once, and the overseer
flags one left unanswered past its due date. Each step is an event in the certificate's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from jevs.domain.china_message import ChinaVerificationResponseMessage
from jevs.domain.errors import Conflict, NotFound, RuleViolation, TooLarge
from jevs.domain.history import EventType, verify_chain
from jevs.domain.messages import DeliverToChina
from jevs.domain.parties import Party
from jevs.domain.verification import (
    AttachmentLimits,
    AttachmentUpload,
    Conclusion,
    MediaType,
    VerificationStatus,
    sniffed_media_type,
)
from jevs.resources import verification_attachment_key
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.unit_of_work import InvalidCursor
from jevs.service.verification import (
    AnswerVerification,
    CloseVerification,
    ListVerifications,
    RaiseVerification,
    answer_verification,
    close_verification,
    flag_overdue,
    list_verifications,
    raise_verification,
    read_verification,
)
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import OTHER_ISSUING_BODY, certificate, party, stored_history

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"
# 2026-11-25 in New Zealand.
NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
DUE = date(2027, 2, 1)
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
LIMITS = AttachmentLimits(per_attachment_bytes=1_000, total_bytes=1_500)
REPLY_DAYS = 90


class Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)

    def get(self, key: str) -> bytes | None:
        found = self.objects.get(key)
        return found[0] if found else None

    def exists(self, key: str) -> bool:
        return key in self.objects


@pytest.fixture
def records() -> MemoryRecords:
    records = MemoryRecords(FixedClock(NOW))
    submit_certificate(SubmitCertificate(party(ISSUING_BODY), certificate()), records.uow())
    return records


def raise_one(records: MemoryRecords, due_date: date | None = DUE, by: str = CN_CUSTOMS) -> str:
    command = RaiseVerification(party(by), NUMBER, ["Where was the milk collected?"], due_date, REPLY_DAYS)
    return raise_verification(command, records.uow()).id


def answer(
    records: MemoryRecords,
    request_id: str,
    uploads: list[AttachmentUpload] | None = None,
    by: str = ISSUING_BODY,
    bucket: Bucket | None = None,
) -> object:
    sent = [AttachmentUpload("cost-statement.pdf", "application/pdf", PDF)] if uploads is None else uploads
    command = AnswerVerification(party(by), request_id, "All milk from Waikato farms.", sent, LIMITS)
    return answer_verification(command, records.uow(), bucket or Bucket())


def close(records: MemoryRecords, request_id: str, by: str = CN_CUSTOMS) -> object:
    command = CloseVerification(party(by), request_id, Conclusion.ORIGIN_CONFIRMED, "Origin confirmed.")
    return close_verification(command, records.uow())


def event_types(records: MemoryRecords) -> list[EventType]:
    return [event.type for event in stored_history(records, NUMBER)]


# -- raising -------------------------------------------------------------------------------------------------


def test_china_raises_a_request_open_until_its_due_date_with_an_event_in_the_history(records: MemoryRecords) -> None:
    request_id = raise_one(records)

    request = read_verification(party(CN_CUSTOMS), request_id, records.uow())
    assert (request.status, request.due_date, request.issuing_body) == (VerificationStatus.OPEN, DUE, "akl-chamber")
    assert event_types(records)[-1] is EventType.VERIFICATION_REQUESTED
    assert verify_chain(stored_history(records, NUMBER)).valid


def test_without_a_due_date_the_request_is_due_the_default_period_from_today_in_new_zealand(
    records: MemoryRecords,
) -> None:
    request_id = raise_one(records, due_date=None)

    request = read_verification(party(CN_CUSTOMS), request_id, records.uow())
    assert request.due_date == date(2026, 11, 25) + timedelta(days=REPLY_DAYS)


def test_a_due_date_that_is_not_after_today_is_refused(records: MemoryRecords) -> None:
    with pytest.raises(RuleViolation) as refused:
        raise_one(records, due_date=date(2026, 11, 25))

    assert [error.field for error in refused.value.errors] == ["due_date"]


@pytest.mark.parametrize("by", [ISSUING_BODY, NZ_CUSTOMS, EXPORTER])
def test_only_china_customs_raises_a_request(records: MemoryRecords, by: str) -> None:
    with pytest.raises(NotFound):
        raise_one(records, by=by)


def test_a_request_about_a_certificate_that_does_not_exist_is_not_found(records: MemoryRecords) -> None:
    command = RaiseVerification(party(CN_CUSTOMS), "11.1234.99999", ["?"], DUE, REPLY_DAYS)

    with pytest.raises(NotFound):
        raise_verification(command, records.uow())


# -- who sees it ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [CN_CUSTOMS, NZ_CUSTOMS, ISSUING_BODY])
def test_the_parties_involved_read_the_request(records: MemoryRecords, reader: str) -> None:
    request_id = raise_one(records)

    assert read_verification(party(reader), request_id, records.uow()).id == request_id


@pytest.mark.parametrize("reader", [EXPORTER, "other-issuing-body"])
def test_a_party_not_involved_is_told_the_request_does_not_exist(records: MemoryRecords, reader: str) -> None:
    request_id = raise_one(records)
    caller = OTHER_ISSUING_BODY if reader == "other-issuing-body" else party(reader)

    with pytest.raises(NotFound):
        read_verification(caller, request_id, records.uow())


def test_the_issuing_body_lists_the_requests_about_its_certificates_and_another_lists_none(
    records: MemoryRecords,
) -> None:
    request_id = raise_one(records)

    def listed(caller: Party) -> list[str]:
        command = ListVerifications(caller, None, 10, None)
        return [request.id for request in list_verifications(command, records.uow()).requests]

    assert (listed(party(ISSUING_BODY)), listed(OTHER_ISSUING_BODY)) == ([request_id], [])


def test_listing_pages_newest_first_with_a_cursor(records: MemoryRecords) -> None:
    raised = []
    for _ in range(3):
        raised.append(raise_one(records))
        records.clock.advance(timedelta(minutes=1))

    first = list_verifications(ListVerifications(party(NZ_CUSTOMS), None, 2, None), records.uow())
    second = list_verifications(ListVerifications(party(NZ_CUSTOMS), None, 2, first.next_cursor), records.uow())

    assert [request.id for request in [*first.requests, *second.requests]] == list(reversed(raised))
    assert second.next_cursor is None


def test_a_cursor_of_another_listing_is_refused(records: MemoryRecords) -> None:
    for _ in range(2):
        raise_one(records)
    page = list_verifications(ListVerifications(party(CN_CUSTOMS), None, 1, None), records.uow())
    assert page.next_cursor is not None

    with pytest.raises(InvalidCursor):
        list_verifications(ListVerifications(party(ISSUING_BODY), None, 1, page.next_cursor), records.uow())


def test_listing_by_status_leaves_the_others_out(records: MemoryRecords) -> None:
    answered_id, open_id = raise_one(records), raise_one(records)
    answer(records, answered_id)

    page = list_verifications(ListVerifications(party(NZ_CUSTOMS), VerificationStatus.OPEN, 10, None), records.uow())

    assert [request.id for request in page.requests] == [open_id]


# -- answering -----------------------------------------------------------------------------------------------


def test_the_answer_is_stored_its_documents_in_the_bucket_and_sent_to_china_signed_kind(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    bucket = Bucket()

    answer(records, request_id, bucket=bucket)

    request = read_verification(party(CN_CUSTOMS), request_id, records.uow())
    assert request.status is VerificationStatus.ANSWERED
    assert request.answer is not None
    (attachment,) = request.answer.attachments
    assert bucket.objects[attachment.key] == (PDF, "application/pdf")
    assert attachment.key == verification_attachment_key(request_id, attachment.sha256)
    (message,) = [m for m in records.outbox() if isinstance(m, DeliverToChina) and m.body.message_type.startswith("v")]
    assert isinstance(message.body, ChinaVerificationResponseMessage)
    assert message.delivery_key == f"{NUMBER}/verification/{request_id}"
    assert [each.sha256 for each in message.body.attachments] == [attachment.sha256]
    assert event_types(records)[-1] is EventType.VERIFICATION_ANSWERED


def test_the_documents_bytes_are_never_in_the_records_table(records: MemoryRecords) -> None:
    request_id = raise_one(records)

    answer(records, request_id)

    assert not any(PDF.decode() in str(item) for item in records.table.items())


def test_nz_customs_may_answer(records: MemoryRecords) -> None:
    request_id = raise_one(records)

    answer(records, request_id, by=NZ_CUSTOMS)

    assert read_verification(party(NZ_CUSTOMS), request_id, records.uow()).status is VerificationStatus.ANSWERED


def test_another_issuing_body_answering_is_told_the_request_does_not_exist(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    command = AnswerVerification(OTHER_ISSUING_BODY, request_id, "text", [], LIMITS)

    with pytest.raises(NotFound):
        answer_verification(command, records.uow(), Bucket())


def test_answering_twice_is_a_conflict(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    answer(records, request_id)

    with pytest.raises(Conflict) as refused:
        answer(records, request_id)

    assert refused.value.code == "verification-answered"


def test_answering_after_closure_is_a_conflict_and_stores_no_document(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    close(records, request_id)
    bucket = Bucket()

    with pytest.raises(Conflict) as refused:
        answer(records, request_id, bucket=bucket)

    assert (refused.value.code, bucket.objects) == ("verification-closed", {})


def test_an_attachment_over_its_limit_is_too_large(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    big = AttachmentUpload("big.pdf", "application/pdf", PDF + b" " * LIMITS.per_attachment_bytes)

    with pytest.raises(TooLarge) as refused:
        answer(records, request_id, [big])

    assert refused.value.field == "attachments[0]"


def test_attachments_over_the_total_limit_are_too_large(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    each = AttachmentUpload("part.pdf", "application/pdf", PDF + b" " * (LIMITS.per_attachment_bytes - len(PDF)))

    with pytest.raises(TooLarge) as refused:
        answer(records, request_id, [each, each])

    assert refused.value.field == "attachments"


def test_bytes_that_are_not_the_declared_type_are_refused(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    disguised = AttachmentUpload("cost-statement.pdf", "application/pdf", b"MZ\x90\x00 an executable")

    with pytest.raises(RuleViolation) as refused:
        answer(records, request_id, [disguised])

    assert [error.field for error in refused.value.errors] == ["attachments[0].content_base64"]


def test_a_type_not_accepted_is_refused_whatever_the_bytes(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    word = AttachmentUpload("notes.docx", "application/msword", PDF)

    with pytest.raises(RuleViolation) as refused:
        answer(records, request_id, [word])

    assert [error.field for error in refused.value.errors] == ["attachments[0].media_type"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(PDF, MediaType.PDF), (PNG, MediaType.PNG), (b"\xff\xd8\xff\xe0JFIF", MediaType.JPEG), (b"GIF89a", None)],
)
def test_the_type_is_told_by_the_bytes(content: bytes, expected: MediaType | None) -> None:
    assert sniffed_media_type(content) is expected


# -- closing -------------------------------------------------------------------------------------------------


def test_china_closes_an_answered_request_with_its_conclusion(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    answer(records, request_id)

    close(records, request_id)

    request = read_verification(party(ISSUING_BODY), request_id, records.uow())
    assert request.status is VerificationStatus.CLOSED
    assert request.closure is not None
    assert request.closure.conclusion is Conclusion.ORIGIN_CONFIRMED
    assert event_types(records)[-3:] == [
        EventType.VERIFICATION_REQUESTED,
        EventType.VERIFICATION_ANSWERED,
        EventType.VERIFICATION_CLOSED,
    ]


def test_closing_twice_is_a_conflict(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    close(records, request_id)

    with pytest.raises(Conflict) as refused:
        close(records, request_id)

    assert refused.value.code == "verification-closed"


def test_the_issuing_body_may_not_close_a_request(records: MemoryRecords) -> None:
    request_id = raise_one(records)

    with pytest.raises(NotFound):
        close(records, request_id, by=ISSUING_BODY)


# -- the overseer ----------------------------------------------------------------------------------------------


def test_a_request_unanswered_after_its_due_date_is_flagged_overdue_once(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    # 2027-02-02 in New Zealand: the due date (2027-02-01) has passed.
    records.clock.current = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)

    first = flag_overdue(records.uow())
    second = flag_overdue(records.uow())

    assert ([r.id for r in first.newly_flagged], first.count) == ([request_id], 1)
    assert (second.newly_flagged, second.count) == ((), 1)
    assert read_verification(party(CN_CUSTOMS), request_id, records.uow()).overdue
    assert event_types(records).count(EventType.VERIFICATION_OVERDUE) == 1


def test_a_request_on_its_due_date_is_not_overdue(records: MemoryRecords) -> None:
    raise_one(records)
    # 2027-02-01 in New Zealand: the due date itself.
    records.clock.current = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)

    assert flag_overdue(records.uow()).count == 0


def test_an_answered_request_is_not_overdue(records: MemoryRecords) -> None:
    request_id = raise_one(records)
    answer(records, request_id)
    records.clock.current = datetime(2027, 3, 1, tzinfo=UTC)

    assert flag_overdue(records.uow()).count == 0
