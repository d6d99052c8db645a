"""Submitting a certificate (``POST /v1/certificates``, DESIGN.md §5, §6.1): one commit, idempotent, exclusive.

Each submission runs in a unit of work over the records table in memory, as the API runs it: an idempotent
one, carrying the request (party, key, a digest of the request) and the answer the edge would send."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from jevs.domain.canonical import digest
from jevs.domain.certificate import CertificateContent
from jevs.domain.china_message import version_issued
from jevs.domain.delivery import DeliveryState
from jevs.domain.errors import Conflict, NotFound, RuleViolation
from jevs.domain.history import GENESIS_HASH, EventType, verify_chain
from jevs.domain.messages import DeliverToChina, MakeDocuments, MatchAwaiting, OutboxMessage
from jevs.domain.parties import Party
from jevs.domain.records import CertificateStatus, Usage
from jevs.service.certificates import SubmitCertificate, Submitted, submit_certificate
from jevs.service.idempotency import IDEMPOTENCY_WINDOW, AlreadyAnswered, first_answer
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_EXPORTER
from tests.fakes import FixedClock, MemoryRecords
from tests.unit.support import (
    AUSTRALIAN_CONSIGNEE,
    OTHER_ISSUING_BODY,
    certificate,
    certificate_numbers,
    party,
    simple_answer,
    stored_certificate,
    stored_history,
)

pytestmark = pytest.mark.unit

NUMBER = "11.1234.12345"


@pytest.fixture
def clock() -> FixedClock:
    # 2026-11-24 22:00 UTC, which is 2026-11-25 in New Zealand.
    return FixedClock()


@pytest.fixture
def records(clock: FixedClock) -> MemoryRecords:
    return MemoryRecords(clock)


def request(content: CertificateContent) -> dict[str, Any]:
    """What makes two submissions the same request, as the edge digests it: the route and the body."""
    return {"route": "POST /v1/certificates", "body": content.model_dump(mode="json")}


def submit(
    content: CertificateContent, records: MemoryRecords, *, key: str = "key-1", by: Party | None = None
) -> Submitted:
    caller = by or party(ISSUING_BODY)
    uow = records.idempotent_uow(caller.id, key, request(content), answer=simple_answer)
    return submit_certificate(SubmitCertificate(caller, content), uow)


def test_a_submission_stores_one_issued_record(records: MemoryRecords) -> None:
    # Given the example certificate
    # When the issuing body submits it
    result = submit(certificate(), records)
    # Then one record is stored, as issued by that body, and the answer says it was created
    assert certificate_numbers(records) == [NUMBER]
    record = stored_certificate(records, NUMBER)
    assert (record.version, record.status, record.usage) == (1, CertificateStatus.ISSUED, Usage.UNUSED)
    assert (record.issuing_body, record.issuing_body_name, record.place_of_issue) == (
        "akl-chamber",
        "Auckland Business Chamber",
        "Auckland",
    )
    assert simple_answer(result)["status_code"] == 201
    assert result.created


def test_a_submission_records_its_validity(records: MemoryRecords) -> None:
    submit(certificate(), records)
    record = stored_certificate(records, NUMBER)
    assert (str(record.valid_from), str(record.valid_until), record.retrospective) == (
        "2026-11-20",
        "2027-11-19",
        False,
    )


def test_a_submission_starts_the_history_with_one_linked_event(records: MemoryRecords) -> None:
    # When a certificate is submitted
    submit(certificate(), records)
    # Then its history is one issue event, sequence 1, linked to the genesis hash, ending where the record says
    [event] = stored_history(records, NUMBER)
    record = stored_certificate(records, NUMBER)
    assert (event.sequence, event.previous_hash, event.type) == (1, GENESIS_HASH, EventType.CERTIFICATE_ISSUED)
    assert event.details["content_hash"] == record.content_hash
    assert verify_chain([event], record.history_head).valid


def outbox(records: MemoryRecords) -> list[OutboxMessage]:
    return sorted(records.outbox(), key=lambda message: message.message_id)


def test_a_submission_writes_its_documents_its_message_to_china_and_a_call_to_declarations_waiting_for_it(
    records: MemoryRecords, clock: FixedClock
) -> None:
    submit(certificate(), records)
    record = stored_certificate(records, NUMBER)
    assert outbox(records) == [
        MatchAwaiting(certificate_number=NUMBER, created_at=clock.now()),
        DeliverToChina(history_of=NUMBER, body=version_issued(record), created_at=clock.now()),
        MakeDocuments(certificate_number=NUMBER, version=1, created_at=clock.now()),
    ]
    assert [message.message_id for message in outbox(records)] == [
        f"{NUMBER}/awaited/declarations",
        f"{NUMBER}/v1/delivery-to-china",
        f"{NUMBER}/v1/notifications",
    ]


def test_the_message_to_china_tells_of_the_issue_and_is_delivered_from_the_moment_it_is_issued(
    records: MemoryRecords, clock: FixedClock
) -> None:
    submit(certificate(), records)
    (message,) = (message for message in records.outbox() if isinstance(message, DeliverToChina))
    assert (message.body.message_type, message.delivery_key) == ("certificate.issued", f"{NUMBER}/v1")
    delivery = records.uow().deliveries.get(message)
    assert delivery is not None
    assert (delivery.state, delivery.attempts, delivery.created_at) == (DeliveryState.PENDING, 0, clock.now())


def test_a_submission_for_a_consignee_outside_china_still_goes_to_china(records: MemoryRecords) -> None:
    # Every certificate under this FTA is for import into China, whoever the consignee is (a trader elsewhere).
    submit(certificate(consignee=AUSTRALIAN_CONSIGNEE), records)
    assert any(isinstance(message, DeliverToChina) for message in records.outbox())


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
def test_only_an_issuing_body_may_submit(caller: Party, records: MemoryRecords) -> None:
    # Given a party that is not an issuing body
    # When it submits a certificate, Then it is told there is no such resource (404) and nothing is stored
    with pytest.raises(NotFound):
        submit(certificate(), records, by=caller)
    assert (records.table.commits, records.table.items()) == (0, [])


def test_the_same_key_and_body_again_replay_the_first_answer(records: MemoryRecords, clock: FixedClock) -> None:
    # Given a submitted certificate
    first = submit(certificate(), records)
    stored = records.table.items()
    clock.advance(timedelta(minutes=5))
    # When the same request is retried with the same key
    with pytest.raises(AlreadyAnswered) as answered:
        submit(certificate(), records)
    # Then the first answer comes back, the one for this very request, and nothing more is written
    assert answered.value.record.answer == simple_answer(first)
    assert first_answer(answered.value.record, digest(request(certificate()))) == simple_answer(first)
    assert simple_answer(first)["status_code"] == 201
    assert records.table.commits == 1
    assert records.table.items() == stored
    assert len(stored_history(records, NUMBER)) == 1


def test_the_first_answer_is_stored_by_the_commit_that_stores_the_certificate(records: MemoryRecords) -> None:
    # When a certificate is submitted under a key
    result = submit(certificate(), records)
    # Then the one commit stored both the certificate and the answer to the key
    answer = records.uow().answers.get(party(ISSUING_BODY).id, "key-1")
    assert answer is not None
    assert answer.answer == simple_answer(result)
    assert answer.request_digest == digest(request(certificate()))
    assert records.table.commits == 1


def test_the_same_key_with_another_body_is_a_conflict(records: MemoryRecords) -> None:
    # Given a submitted certificate
    submit(certificate(), records)
    # When the same key is used for other content
    other = certificate(remarks="Second thoughts")
    with pytest.raises(AlreadyAnswered) as answered:
        submit(other, records)
    # Then it is refused as a reused key, and the first certificate is unchanged
    with pytest.raises(Conflict) as raised:
        first_answer(answered.value.record, digest(request(other)))
    assert raised.value.code == "idempotency-key-reused"
    assert stored_certificate(records, NUMBER).content.remarks == ""
    assert records.table.commits == 1


def test_the_same_key_from_another_party_is_its_own_request(records: MemoryRecords) -> None:
    # Given a certificate the Auckland chamber submitted under "key-1"
    submit(certificate(), records)
    # When the Wellington chamber submits its own certificate under the same key
    other = certificate(certificate_number="22.1234.54321")
    result = submit(other, records, by=OTHER_ISSUING_BODY)
    # Then it is stored and answered for itself, and each party's key keeps its own answer
    assert result.created
    assert certificate_numbers(records) == [NUMBER, "22.1234.54321"]
    theirs = records.uow().answers.get(OTHER_ISSUING_BODY.id, "key-1")
    ours = records.uow().answers.get(party(ISSUING_BODY).id, "key-1")
    assert theirs is not None
    assert ours is not None
    assert (theirs.answer["body"], ours.answer["body"]) == ({"n": "22.1234.54321"}, {"n": NUMBER})


def test_the_same_content_under_another_key_answers_with_the_stored_certificate(records: MemoryRecords) -> None:
    # Given a submitted certificate
    submit(certificate(), records, key="key-1")
    # When the same content is submitted again under a new key
    again = submit(certificate(), records, key="key-2")
    # Then the answer is the stored certificate (200, not created), not a replay
    assert again == Submitted(stored_certificate(records, NUMBER), created=False)
    assert simple_answer(again)["status_code"] == 200
    assert records.table.commits == 1


def test_the_same_content_again_after_its_validity_ended_answers_with_the_stored_certificate(
    records: MemoryRecords, clock: FixedClock
) -> None:
    # Given a certificate submitted in its validity, sent again (a late retry) two years on
    submit(certificate(), records, key="key-1")
    clock.advance(timedelta(days=730))
    # Then the answer is the stored certificate, not the rule a new submission would break
    again = submit(certificate(), records, key="key-2")
    assert again == Submitted(stored_certificate(records, NUMBER), created=False)
    with pytest.raises(RuleViolation):
        submit(certificate(remarks="Other content"), records, key="key-3")
    assert records.table.commits == 1


def test_the_same_content_in_the_coo_form_answers_with_the_stored_certificate(records: MemoryRecords) -> None:
    submit(certificate(), records, key="key-1")
    again = submit(certificate(certificate_number="COO11123412345"), records, key="key-2")
    assert simple_answer(again)["status_code"] == 200


def test_a_number_already_taken_by_other_content_is_a_conflict(records: MemoryRecords) -> None:
    # Given a submitted certificate
    submit(certificate(), records, key="key-1")
    # When other content is submitted under the same number and a new key
    with pytest.raises(Conflict) as raised:
        submit(certificate(remarks="Other content"), records, key="key-2")
    # Then the number is refused as taken
    assert raised.value.code == "certificate-number-exists"
    assert records.table.commits == 1


def test_the_same_content_from_another_issuing_body_is_refused_for_its_prefix_not_told_it_exists(
    records: MemoryRecords,
) -> None:
    # Given a certificate the Auckland chamber (prefix 11) submitted
    submit(certificate(), records, key="key-1")
    # When the Wellington chamber (prefix 22) submits the very same certificate
    with pytest.raises(RuleViolation) as raised:
        submit(certificate(), records, key="key-1", by=OTHER_ISSUING_BODY)
    # Then the number is refused as not its own, the same answer as for a number no one holds
    assert [error.field for error in raised.value.errors] == ["certificate_number"]
    assert records.table.commits == 1


def test_a_date_rule_violation_stores_nothing(records: MemoryRecords) -> None:
    # Given a certificate dated after today in New Zealand (2026-11-25)
    content = certificate(issue_date="2026-11-26")
    # When it is submitted, Then the issue date is refused and nothing is written
    with pytest.raises(RuleViolation) as raised:
        submit(content, records)
    assert [error.field for error in raised.value.errors] == ["issue_date"]
    assert (records.table.commits, records.table.items(), records.outbox()) == (0, [], [])


def test_goods_discharged_outside_china_without_a_transit_are_refused_and_nothing_is_stored(
    records: MemoryRecords,
) -> None:
    # Given a certificate whose goods are discharged in Sydney, box 4 naming no transit to China
    transport = certificate().transport.model_dump(mode="json") | {"port_of_discharge": "AUSYD"}
    # When it is submitted, Then the port of discharge is refused and nothing is written
    with pytest.raises(RuleViolation) as raised:
        submit(certificate(transport=transport), records)
    assert [error.field for error in raised.value.errors] == ["transport.port_of_discharge"]
    assert (records.table.commits, records.table.items(), records.outbox()) == (0, [], [])


def test_the_issue_date_is_judged_by_the_new_zealand_date(records: MemoryRecords) -> None:
    # Given it is 24 November in UTC but already 25 November in New Zealand
    # When a certificate dated 25 November is submitted, Then it is accepted
    result = submit(certificate(issue_date="2026-11-25"), records)
    assert simple_answer(result)["status_code"] == 201


def test_a_retry_after_the_idempotency_window_is_not_a_replay(records: MemoryRecords, clock: FixedClock) -> None:
    # Given a submitted certificate
    submit(certificate(), records)
    # When the same request is retried with the same key after the window has passed
    clock.advance(IDEMPOTENCY_WINDOW + timedelta(seconds=1))
    again = submit(certificate(), records)
    # Then it is answered from the stored certificate, not replayed
    assert again == Submitted(stored_certificate(records, NUMBER), created=False)
    assert records.table.commits == 1


def test_a_retry_just_inside_the_idempotency_window_is_a_replay(records: MemoryRecords, clock: FixedClock) -> None:
    first = submit(certificate(), records)
    clock.advance(IDEMPOTENCY_WINDOW - timedelta(seconds=1))
    with pytest.raises(AlreadyAnswered) as answered:
        submit(certificate(), records)
    assert answered.value.record.answer == simple_answer(first)


def test_a_reused_key_after_the_window_with_other_content_is_refused_by_number(
    records: MemoryRecords, clock: FixedClock
) -> None:
    submit(certificate(), records)
    clock.advance(IDEMPOTENCY_WINDOW + timedelta(seconds=1))
    with pytest.raises(Conflict) as raised:
        submit(certificate(remarks="Other content"), records)
    assert raised.value.code == "certificate-number-exists"
