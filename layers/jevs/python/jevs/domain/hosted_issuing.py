"""Hosted issuing (DESIGN §1–3, §5): goods registrations, signatories, applications, and certification within
one New Zealand working day. Each operation checks who may do it, applies the rules, and writes once.

Who may do what (DESIGN §1): an exporter lodges goods, signatories and applications, reads its own, and
withdraws an application before a decision; the issuing body it names approves or refuses goods and
signatories, and certifies or rejects applications lodged with it. Anyone else is told nothing exists (404).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from jevs.domain.applications import (
    PROVISIONAL_NUMBER,
    Application,
    ApplicationLodgement,
    ApplicationStatus,
    certificate_content,
)
from jevs.domain.errors import Conflict, FieldError, Forbidden, NotFound, RetryableFailure, RuleViolation
from jevs.domain.idempotency import SubmissionResult, idempotency_record, replay
from jevs.domain.issuance import assess_validity
from jevs.domain.parties import Party, PartyRegistry, PartyType
from jevs.domain.ports import Clock, HostedRecord, IdempotencyKeyTaken, RecordStore
from jevs.domain.records import NumberCounter, StoredAnswer
from jevs.domain.registrations import (
    ApprovalDecision,
    GoodsLodgement,
    GoodsRegistration,
    RegistrationKind,
    RegistrationStatus,
    Signatory,
    SignatoryLodgement,
    Verdict,
    new_id,
)
from jevs.domain.submission import AnswerFor, HostedIssue, issue_certificate
from jevs.domain.working_days import due_at

NEW_ZEALAND = ZoneInfo("Pacific/Auckland")
# A certification that lost the race for the next number takes the one after; this many times.
MAX_NUMBER_ATTEMPTS = 5

RecordAnswer = Callable[[HostedRecord], StoredAnswer]


def _exporter(party: Party) -> str:
    if party.type is not PartyType.EXPORTER or party.business_number is None:
        raise Forbidden("only an exporter lodges goods registrations, signatories and applications")
    return party.business_number


def _issuing_body(parties: PartyRegistry, party_id: str, field: str) -> Party:
    body = parties.party(party_id)
    if body is None or body.type is not PartyType.ISSUING_BODY:
        raise RuleViolation([FieldError(field, f"{party_id!r} is not an issuing body")])
    return body


def _store_new(
    record: HostedRecord,
    *,
    party: Party,
    request: object,
    idempotency_key: str,
    store: RecordStore,
    answer_for: RecordAnswer,
) -> SubmissionResult:
    answer = answer_for(record)
    idempotency = idempotency_record(
        party_id=party.id, key=idempotency_key, request=request, answer=answer, now=record.lodged_at
    )
    try:
        store.add_registration(record, idempotency)
    except IdempotencyKeyTaken as taken:
        return replay(taken, idempotency)
    return SubmissionResult(answer, replayed=False)


# -- goods registrations and signatories ------------------------------------------------------------------


def lodge_registration(
    *,
    party: Party,
    lodged: GoodsLodgement | SignatoryLodgement,
    idempotency_key: str,
    store: RecordStore,
    parties: PartyRegistry,
    clock: Clock,
    answer_for: RecordAnswer,
) -> SubmissionResult:
    """An exporter registers goods, or a signatory, with the issuing body it names: LODGED until decided."""
    nzbn = _exporter(party)
    _issuing_body(parties, lodged.issuing_body, "issuing_body")
    common = {
        "exporter": party.id,
        "exporter_business_number": nzbn,
        "issuing_body": lodged.issuing_body,
        "status": RegistrationStatus.LODGED,
        "lodged_at": clock.now(),
    }
    record: GoodsRegistration | Signatory
    if isinstance(lodged, GoodsLodgement):
        record = GoodsRegistration.model_validate(
            {**common, "id": new_id(RegistrationKind.GOODS, nzbn), "goods": lodged}
        )
    else:
        record = Signatory.model_validate({**common, "id": new_id(RegistrationKind.SIGNATORY, nzbn), "person": lodged})
    request = {"party": party.id, "lodged": lodged}
    return _store_new(
        record, party=party, request=request, idempotency_key=idempotency_key, store=store, answer_for=answer_for
    )


def may_read(party: Party, record: HostedRecord) -> bool:
    """The exporter that lodged it and the issuing body it was lodged with (evidence and contact details are
    theirs alone, DESIGN §1)."""
    if party.type is PartyType.EXPORTER:
        return record.exporter_business_number == party.business_number
    return party.type is PartyType.ISSUING_BODY and record.issuing_body == party.id


def read_goods(party: Party, registration_id: str, store: RecordStore) -> GoodsRegistration:
    record = store.get_goods_registration(registration_id)
    if record is None or not may_read(party, record):
        raise NotFound(registration_id)
    return record


def read_signatory(party: Party, signatory_id: str, store: RecordStore) -> Signatory:
    record = store.get_signatory(signatory_id)
    if record is None or not may_read(party, record):
        raise NotFound(signatory_id)
    return record


def read_application(party: Party, application_id: str, store: RecordStore) -> Application:
    record = store.get_application(application_id)
    if record is None or not may_read(party, record):
        raise NotFound(application_id)
    return record


def list_records(party: Party, kind: RegistrationKind, store: RecordStore) -> Sequence[object]:
    """An exporter's own records of ``kind``, or what was lodged with an issuing body; oldest first."""
    if party.type is PartyType.EXPORTER and party.business_number is not None:
        return store.exporter_records(party.business_number, kind)
    if party.type is PartyType.ISSUING_BODY:
        return store.work_queue(party.id, kind)
    raise Forbidden("only exporters and issuing bodies have goods registrations, signatories and applications")


def _decided_fields(party: Party, decision: ApprovalDecision, now: datetime) -> dict[str, object]:
    return {
        "status": RegistrationStatus(decision.decision.value),
        "decided_at": now,
        "decided_by": party.id,
        "reasons": tuple(decision.reasons),
    }


def _lodged_with(party: Party, record: HostedRecord) -> None:
    if party.type is not PartyType.ISSUING_BODY:
        raise Forbidden("only an issuing body decides")
    if record.issuing_body != party.id:
        raise NotFound(record.id)


def decide_goods(
    *, party: Party, registration_id: str, decision: ApprovalDecision, store: RecordStore, clock: Clock
) -> GoodsRegistration:
    """Approve until a date (today or later), or refuse with reasons; once only."""
    record = store.get_goods_registration(registration_id)
    if record is None:
        raise NotFound(registration_id)
    _lodged_with(party, record)
    now = clock.now()
    if decision.decision is Verdict.APPROVED:
        today = now.astimezone(NEW_ZEALAND).date()
        if decision.valid_until is None:
            raise RuleViolation([FieldError("valid_until", "an approval of goods says until when")])
        if decision.valid_until < today:
            raise RuleViolation([FieldError("valid_until", f"must be today ({today}) or later")])
    decided = record.model_copy(
        update={**_decided_fields(party, decision, now), "approved_until": decision.valid_until}
    )
    store.replace_registration(record, decided)
    return decided


def decide_signatory(
    *, party: Party, signatory_id: str, decision: ApprovalDecision, store: RecordStore, clock: Clock
) -> Signatory:
    record = store.get_signatory(signatory_id)
    if record is None:
        raise NotFound(signatory_id)
    _lodged_with(party, record)
    if decision.valid_until is not None:
        raise RuleViolation([FieldError("valid_until", "a signatory's approval has no end date")])
    decided = record.model_copy(update=_decided_fields(party, decision, clock.now()))
    store.replace_registration(record, decided)
    return decided


# -- applications --------------------------------------------------------------------------------------------


def _check_quoted(
    lodged: ApplicationLodgement, nzbn: str, day: date, store: RecordStore
) -> tuple[Signatory, dict[str, GoodsRegistration]]:
    """The signatory and every goods registration the application quotes must be this exporter's, lodged with
    the same issuing body, and approved (goods: current on ``day``). Each refusal names its field."""
    problems: list[FieldError] = []
    signatory = store.get_signatory(lodged.signatory_id)
    if signatory is None or signatory.exporter_business_number != nzbn:
        problems.append(FieldError("signatory_id", f"{lodged.signatory_id} is not a signatory of this exporter"))
    elif signatory.issuing_body != lodged.issuing_body:
        problems.append(FieldError("signatory_id", f"{lodged.signatory_id} is registered with another issuing body"))
    elif not signatory.approved:
        problems.append(FieldError("signatory_id", f"{lodged.signatory_id} is not an approved signatory"))
    registrations: dict[str, GoodsRegistration] = {}
    for index, item in enumerate(lodged.items):
        field = f"items[{index}].goods_registration_id"
        goods = store.get_goods_registration(item.goods_registration_id)
        if goods is None or goods.exporter_business_number != nzbn:
            problems.append(
                FieldError(field, f"{item.goods_registration_id} is not a goods registration of this exporter")
            )
        elif goods.issuing_body != lodged.issuing_body:
            problems.append(FieldError(field, f"{goods.id} is registered with another issuing body"))
        elif goods.status is not RegistrationStatus.APPROVED:
            problems.append(FieldError(field, f"{goods.id} is not approved ({goods.status.value})"))
        elif not goods.current_on(day):
            problems.append(FieldError(field, f"{goods.id}'s approval ended on {goods.approved_until}"))
        else:
            registrations[goods.id] = goods
    if problems:
        raise RuleViolation(problems)
    assert signatory is not None  # no problem was found with it
    return signatory, registrations


def lodge_application(
    *,
    party: Party,
    lodged: ApplicationLodgement,
    idempotency_key: str,
    store: RecordStore,
    parties: PartyRegistry,
    clock: Clock,
    answer_for: RecordAnswer,
) -> SubmissionResult:
    nzbn = _exporter(party)
    body = _issuing_body(parties, lodged.issuing_body, "issuing_body")
    if lodged.exporter.business_number != nzbn:
        raise RuleViolation([FieldError("exporter.business_number", "box 1 must be the applying exporter")])
    now = clock.now()
    today = now.astimezone(NEW_ZEALAND).date()
    signatory, registrations = _check_quoted(lodged, nzbn, today, store)
    # Every rule of a submitted certificate, as far as it can hold before the number and the date of issue.
    assess_validity(certificate_content(lodged, registrations, number=PROVISIONAL_NUMBER, issue_date=today), today)
    record = Application(
        id=new_id(RegistrationKind.APPLICATION, nzbn),
        exporter=party.id,
        exporter_business_number=nzbn,
        issuing_body=lodged.issuing_body,
        status=ApplicationStatus.SUBMITTED,
        lodged_at=now,
        due_at=due_at(now, body.region),
        application=lodged,
        applicant_email=signatory.person.email,
    )
    request = {"party": party.id, "application": lodged}
    return _store_new(
        record, party=party, request=request, idempotency_key=idempotency_key, store=store, answer_for=answer_for
    )


def _open_application(party: Party, application_id: str, store: RecordStore, *, decider: PartyType) -> Application:
    record = store.get_application(application_id)
    if record is None or not may_read(party, record):
        raise NotFound(application_id)
    if party.type is not decider:
        raise Forbidden(f"only the {decider.value.replace('_', ' ')} may do this")
    if not record.open:
        raise Conflict("application-decided", f"application {application_id} is already {record.status.value}")
    return record


def withdraw_application(*, party: Party, application_id: str, store: RecordStore, clock: Clock) -> Application:
    record = _open_application(party, application_id, store, decider=PartyType.EXPORTER)
    withdrawn = record.model_copy(
        update={"status": ApplicationStatus.WITHDRAWN, "decided_at": clock.now(), "decided_by": party.id}
    )
    store.replace_registration(record, withdrawn)
    return withdrawn


def reject_application(
    *, party: Party, application_id: str, reasons: Sequence[str], store: RecordStore, clock: Clock
) -> Application:
    record = _open_application(party, application_id, store, decider=PartyType.ISSUING_BODY)
    rejected = record.model_copy(
        update={
            "status": ApplicationStatus.REJECTED,
            "decided_at": clock.now(),
            "decided_by": party.id,
            "reasons": tuple(reasons),
        }
    )
    store.replace_registration(record, rejected)
    return rejected


def certificate_number(prefix: str, year: int, serial: int) -> str:
    """NN.YYYY.SSSSS: the issuing body's prefix, the year of issue, the serial within that year."""
    if not 1 <= serial <= 99_999:
        raise RuleViolation([FieldError("certificate_number", f"serial {serial} is outside 1..99999 for {year}")])
    return f"{prefix}.{year:04d}.{serial:05d}"


def certify_application(
    *,
    party: Party,
    application_id: str,
    idempotency_key: str,
    store: RecordStore,
    clock: Clock,
    answer_for: AnswerFor,
    max_attempts: int = MAX_NUMBER_ATTEMPTS,
) -> SubmissionResult:
    """Issue the application's certificate through the path every certificate takes, with the next number of
    the issuing body's year: the number counter, the application and the certificate are written at once, so
    two certifications never share a number and none is skipped."""
    if party.certificate_prefix is None and party.type is PartyType.ISSUING_BODY:
        raise Forbidden("this issuing body has no certificate prefix: it issues from its own system only")
    for attempt in range(1, max_attempts + 1):
        record = _open_application(party, application_id, store, decider=PartyType.ISSUING_BODY)
        assert party.certificate_prefix is not None
        now = clock.now()
        today = now.astimezone(NEW_ZEALAND).date()
        _, registrations = _check_quoted(record.application, record.exporter_business_number, today, store)
        last = store.last_serial(party.id, today.year)
        number = certificate_number(party.certificate_prefix, today.year, last + 1)
        content = certificate_content(record.application, registrations, number=number, issue_date=today)
        certified = record.model_copy(
            update={
                "status": ApplicationStatus.CERTIFIED,
                "decided_at": now,
                "decided_by": party.id,
                "certificate_number": number,
            }
        )
        counter = NumberCounter(issuing_body=party.id, year=today.year, last=last + 1, previous=last)
        try:
            return issue_certificate(
                party=party,
                content=content,
                idempotency_key=idempotency_key,
                store=store,
                clock=clock,
                answer_for=answer_for,
                hosted=HostedIssue(application=certified, counter=counter),
            )
        except RetryableFailure:
            # Another certification took this number (or DynamoDB was busy): read the counter again.
            if attempt == max_attempts:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
