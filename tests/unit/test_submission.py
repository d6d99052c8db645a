"""Submitting a certificate (DESIGN §5 ``POST /v1/certificates``, §6.1): one transaction, idempotent, exclusive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from jevs.domain.certificate import CertificateContent
from jevs.domain.errors import Conflict, Forbidden, RuleViolation
from jevs.domain.history import GENESIS_HASH, EventType, verify_chain
from jevs.domain.idempotency import IDEMPOTENCY_WINDOW, SubmissionResult
from jevs.domain.parties import Party
from jevs.domain.records import CertificateStatus, OutboxChannel, OutboxMessage, Usage
from jevs.domain.submission import submit_certificate
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_EXPORTER
from tests.fakes import FixedClock, InMemoryCertificateStore
from tests.unit.support import AUSTRALIAN_CONSIGNEE, OTHER_ISSUING_BODY, certificate, party, simple_answer

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"


@pytest.fixture
def store() -> InMemoryCertificateStore:
    return InMemoryCertificateStore()


@pytest.fixture
def clock() -> FixedClock:
    # 2026-11-24 22:00 UTC, which is 2026-11-25 in New Zealand.
    return FixedClock()


def submit(
    content: CertificateContent,
    store: InMemoryCertificateStore,
    clock: FixedClock,
    *,
    key: str = "key-1",
    by: Party | None = None,
) -> SubmissionResult:
    return submit_certificate(
        party=by or party(ISSUING_BODY),
        content=content,
        idempotency_key=key,
        store=store,
        clock=clock,
        answer_for=simple_answer,
    )


def test_a_submission_stores_one_issued_record(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    # Given the example certificate
    # When the issuing body submits it
    result = submit(certificate(), store, clock)
    # Then one record is stored, as issued by that body, and the answer says it was created
    assert list(store.records) == [NUMBER]
    record = store.records[NUMBER]
    assert (record.version, record.status, record.usage) == (1, CertificateStatus.ISSUED, Usage.UNUSED)
    assert (record.issuing_body, record.issuing_body_name, record.place_of_issue) == (
        "akl-chamber",
        "Auckland Business Chamber",
        "Auckland",
    )
    assert result.answer.status_code == 201
    assert not result.replayed


def test_a_submission_records_its_validity(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    submit(certificate(), store, clock)
    record = store.records[NUMBER]
    assert (str(record.valid_from), str(record.valid_until), record.retrospective) == (
        "2026-11-20",
        "2027-11-19",
        False,
    )


def test_a_submission_starts_the_history_with_one_linked_event(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    # When a certificate is submitted
    submit(certificate(), store, clock)
    # Then its history is one issue event, sequence 1, linked to the genesis hash, ending where the record says
    [event] = store.events[NUMBER]
    record = store.records[NUMBER]
    assert (event.sequence, event.previous_hash, event.type) == (1, GENESIS_HASH, EventType.CERTIFICATE_ISSUED)
    assert event.details["content_hash"] == record.content_hash
    assert verify_chain([event], record.history_head).valid


def documents_message(clock: FixedClock) -> OutboxMessage:
    return OutboxMessage(
        message_id=f"{NUMBER}/v1/notifications",
        channel=OutboxChannel.NOTIFICATIONS,
        kind="certificate.documents",
        certificate_number=NUMBER,
        version=1,
        created_at=clock.now(),
    )


def test_a_submission_for_a_chinese_consignee_writes_its_documents_and_one_delivery_message(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    submit(certificate(), store, clock)
    assert store.outbox == [
        documents_message(clock),
        OutboxMessage(
            message_id=f"{NUMBER}/v1/delivery-to-china",
            channel=OutboxChannel.DELIVERY_TO_CHINA,
            kind="certificate.version",
            certificate_number=NUMBER,
            version=1,
            created_at=clock.now(),
        ),
    ]


def test_a_submission_for_a_consignee_outside_china_writes_only_its_documents(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    submit(certificate(consignee=AUSTRALIAN_CONSIGNEE), store, clock)
    assert list(store.records) == [NUMBER]
    assert store.outbox == [documents_message(clock)]


def test_a_consignee_country_in_lower_case_is_refused_before_anything_is_stored() -> None:
    # Given a consignee country written "cn", which every rule would compare with "CN" and miss
    consignee = certificate().consignee.model_dump() | {"country": "cn"}
    # When the certificate is built, Then it is refused at the country
    with pytest.raises(ValidationError, match=r"consignee\.country"):
        certificate(consignee=consignee)


@pytest.mark.parametrize(
    "caller",
    [party(EXPORTER), party(OTHER_EXPORTER), party(NZ_CUSTOMS), party(CN_CUSTOMS), party(OPS)],
    ids=["exporter", "other exporter", "NZ customs", "CN customs", "ops"],
)
def test_only_an_issuing_body_may_submit(caller: Party, store: InMemoryCertificateStore, clock: FixedClock) -> None:
    # Given a party that is not an issuing body
    # When it submits a certificate, Then it is forbidden and nothing is stored
    with pytest.raises(Forbidden):
        submit(certificate(), store, clock, by=caller)
    assert store.writes == 0


def test_the_same_key_and_body_again_replay_the_first_answer(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    # Given a submitted certificate
    first = submit(certificate(), store, clock)
    clock.advance(timedelta(minutes=5))
    # When the same request is retried with the same key
    again = submit(certificate(), store, clock)
    # Then the first answer comes back, marked as replayed, and nothing more is written
    assert again == SubmissionResult(first.answer, replayed=True)
    assert again.answer.status_code == 201
    assert store.writes == 1
    assert len(store.events[NUMBER]) == 1


def test_the_same_key_with_another_body_is_a_conflict(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    # Given a submitted certificate
    submit(certificate(), store, clock)
    # When the same key is used for other content
    with pytest.raises(Conflict) as raised:
        submit(certificate(remarks="Second thoughts"), store, clock)
    # Then it is refused as a reused key, and the first certificate is unchanged
    assert raised.value.code == "idempotency-key-reused"
    assert store.records[NUMBER].content.remarks == ""
    assert store.writes == 1


def test_the_same_content_under_another_key_answers_with_the_stored_certificate(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    # Given a submitted certificate
    submit(certificate(), store, clock, key="key-1")
    # When the same content is submitted again under a new key
    again = submit(certificate(), store, clock, key="key-2")
    # Then the answer is the stored certificate (200, not created), not a replay
    assert again == SubmissionResult(simple_answer(store.records[NUMBER], False), replayed=False)
    assert again.answer.status_code == 200
    assert store.writes == 1


def test_the_same_content_in_the_coo_form_answers_with_the_stored_certificate(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    submit(certificate(), store, clock, key="key-1")
    again = submit(certificate(certificate_number="COO11123412345"), store, clock, key="key-2")
    assert again.answer.status_code == 200


def test_a_number_already_taken_by_other_content_is_a_conflict(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    # Given a submitted certificate
    submit(certificate(), store, clock, key="key-1")
    # When other content is submitted under the same number and a new key
    with pytest.raises(Conflict) as raised:
        submit(certificate(remarks="Other content"), store, clock, key="key-2")
    # Then the number is refused as taken
    assert raised.value.code == "certificate-number-exists"
    assert store.writes == 1


def test_the_same_content_from_another_issuing_body_is_a_conflict(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    submit(certificate(), store, clock, key="key-1")
    with pytest.raises(Conflict) as raised:
        submit(certificate(), store, clock, key="key-1", by=OTHER_ISSUING_BODY)
    assert raised.value.code == "certificate-number-exists"


def test_a_date_rule_violation_stores_nothing(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    # Given a certificate dated after today in New Zealand (2026-11-25)
    content = certificate(issue_date="2026-11-26")
    # When it is submitted, Then the issue date is refused and nothing is written
    with pytest.raises(RuleViolation) as raised:
        submit(content, store, clock)
    assert [error.field for error in raised.value.errors] == ["issue_date"]
    assert (store.writes, store.records, store.events, store.outbox) == (0, {}, {}, [])


def test_the_issue_date_is_judged_by_the_new_zealand_date(store: InMemoryCertificateStore, clock: FixedClock) -> None:
    # Given it is 24 November in UTC but already 25 November in New Zealand
    # When a certificate dated 25 November is submitted, Then it is accepted
    result = submit(certificate(issue_date="2026-11-25"), store, clock)
    assert result.answer.status_code == 201


def test_a_retry_after_the_idempotency_window_is_not_a_replay(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    # Given a submitted certificate
    submit(certificate(), store, clock)
    # When the same request is retried with the same key after the window has passed
    clock.advance(IDEMPOTENCY_WINDOW + timedelta(seconds=1))
    again = submit(certificate(), store, clock)
    # Then it is answered from the stored certificate, not replayed
    assert again == SubmissionResult(simple_answer(store.records[NUMBER], False), replayed=False)
    assert store.writes == 1


def test_a_retry_just_inside_the_idempotency_window_is_a_replay(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    submit(certificate(), store, clock)
    clock.advance(IDEMPOTENCY_WINDOW - timedelta(seconds=1))
    assert submit(certificate(), store, clock).replayed


def test_a_reused_key_after_the_window_with_other_content_is_refused_by_number(
    store: InMemoryCertificateStore, clock: FixedClock
) -> None:
    submit(certificate(), store, clock)
    clock.advance(IDEMPOTENCY_WINDOW + timedelta(seconds=1))
    with pytest.raises(Conflict) as raised:
        submit(certificate(remarks="Other content"), store, clock)
    assert raised.value.code == "certificate-number-exists"
