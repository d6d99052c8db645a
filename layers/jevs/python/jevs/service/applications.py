"""Certificate applications for hosted issuing (DESIGN.md §2, §3): an exporter applies quoting its approved goods
registrations and signatory; the issuing body certifies within one New Zealand working day (the certificate
takes the path every certificate takes, ``certificates.issue``) or rejects with reasons; the exporter may
withdraw before a decision; a scheduled check flags those past their due time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from jevs.domain.applications import (
    PROVISIONAL_NUMBER,
    Application,
    ApplicationLodgement,
    ApplicationStatus,
    certificate_content,
    certificate_number,
    check_quoted,
)
from jevs.domain.errors import Conflict, FieldError, NotFound, RetryableFailure, RuleViolation
from jevs.domain.issuance import assess_validity
from jevs.domain.new_zealand import new_zealand_date
from jevs.domain.parties import Party, PartyRegistry, PartyType
from jevs.domain.record_history import Recorded
from jevs.domain.records import CertificateRecord
from jevs.domain.registrations import GoodsRegistration, RegistrationKind, Signatory, new_id
from jevs.service.certificates import Submitted, stage_issue
from jevs.service.ports import SealChecker
from jevs.service.registrations import (
    LODGEMENTS,
    MAX_PAGE_SIZE,
    VerifiedRecordHistory,
    exporter_business_number,
    may_read,
    named_issuing_body,
    verified_history,
)
from jevs.service.unit_of_work import RecordPage, Refused, UnitOfWork

# A certification that lost the race for the next number takes the one after; this many times.
MAX_NUMBER_ATTEMPTS = 5
# An application flagged past due between a decision's read and its commit is decided again; this many times.
MAX_DECISION_ATTEMPTS = 3
# Who flags an application past due, in its history.
OVERSEER = "jevs-overseer"
# More than this many past due at once is an outage, not a backlog: the rest are flagged by the next runs.
PAST_DUE_LIMIT = 500


def _quoted(lodged: ApplicationLodgement, nzbn: str, day: date, uow: UnitOfWork) -> dict[str, GoodsRegistration]:
    """The application's goods registrations, checked with its signatory (``check_quoted``)."""
    signatory = uow.registrations.get(lodged.signatory_id)
    goods = {
        item.goods_registration_id: found
        for item in lodged.items
        if isinstance(found := uow.registrations.get(item.goods_registration_id), GoodsRegistration)
    }
    return check_quoted(lodged, nzbn, day, signatory if isinstance(signatory, Signatory) else None, goods)


@dataclass(frozen=True)
class LodgeApplication:
    party: Party
    lodged: ApplicationLodgement


def lodge_application(command: LodgeApplication, uow: UnitOfWork, parties: PartyRegistry) -> Application:
    party, lodged = command.party, command.lodged
    nzbn = exporter_business_number(party)
    body = named_issuing_body(parties, lodged.issuing_body, "issuing_body")
    if lodged.exporter.business_number != nzbn:
        raise RuleViolation([FieldError("exporter.business_number", "box 1 must be the applying exporter")])
    now = uow.now()
    today = new_zealand_date(now)
    registrations = _quoted(lodged, nzbn, today, uow)
    # Every rule of a submitted certificate, as far as it can hold before the number and the date of issue.
    assess_validity(certificate_content(lodged, registrations, number=PROVISIONAL_NUMBER, issue_date=today), today)
    signatory = uow.registrations.get(lodged.signatory_id)
    assert isinstance(signatory, Signatory)  # _quoted checked it
    # Imported here: New Zealand's holidays are in the Lambda layers of the API only, which lodges applications; the
    # overseer imports this module for flag_past_due, which compares stored due times (README "Packaging").
    from jevs.domain.working_days import due_at

    application = Application(
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
    first = application.lodged()
    uow.applications.add(first)
    uow.commit(answering=first.record)
    return first.record


def read_application(party: Party, application_id: str, uow: UnitOfWork) -> Application:
    record = uow.applications.get(application_id)
    if record is None or not may_read(party, record):
        raise NotFound(application_id)
    return record


def read_application_history(
    party: Party, application_id: str, uow: UnitOfWork, seals: SealChecker | None = None
) -> VerifiedRecordHistory:
    """Every event of an application's history, and whether its chain (and, with ``seals``, every seal)
    verifies: for those who may read it."""
    return verified_history(lambda: read_application(party, application_id, uow), uow.applications.history, seals)


def list_applications(party: Party, uow: UnitOfWork, limit: int, cursor: str | None = None) -> RecordPage[Application]:
    """A page of an exporter's own applications, or of those lodged with an issuing body; oldest first."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    if party.type is PartyType.EXPORTER and party.business_number is not None:
        return uow.applications.of_exporter(party.business_number, limit, cursor)
    if party.type is PartyType.ISSUING_BODY:
        return uow.applications.lodged_with(party.id, limit, cursor)
    raise NotFound(LODGEMENTS)


def _open(party: Party, application_id: str, uow: UnitOfWork, *, decider: PartyType) -> Application:
    record = read_application(party, application_id, uow)
    if party.type is not decider:
        # The same 404 as for an application the party cannot see: only the decider may act on it.
        raise NotFound(application_id)
    if not record.open:
        raise Conflict("application-decided", f"application {application_id} is already {record.status.value}")
    return record


def _decided_meanwhile(uow: UnitOfWork, read: Application) -> None:
    """The application changed between this decision's read and its commit. Decided meanwhile: the conflict names
    it. Still open (only flagged past due, one more event in its history): it may be decided again."""
    stored = uow.applications.get(read.id)
    if stored is None or not stored.open:
        status = stored.status.value if stored is not None else "gone"
        raise Conflict("application-decided", f"application {read.id} is already {status}") from None


def _decide(
    party: Party,
    application_id: str,
    uow: UnitOfWork,
    *,
    decider: PartyType,
    decision: Callable[[Application], Recorded[Application]],
) -> Application:
    """Read the open application, decide, commit: once more if it was only flagged past due meanwhile."""
    for _attempt in range(MAX_DECISION_ATTEMPTS):
        record = _open(party, application_id, uow, decider=decider)
        decided = decision(record)
        uow.applications.replace(record, decided)
        try:
            uow.commit(answering=decided.record)
        except Refused as refused:
            if not refused.of("application"):
                raise
            _decided_meanwhile(uow, record)
            continue
        return decided.record
    raise RetryableFailure(f"application {application_id} kept changing while it was decided")


@dataclass(frozen=True)
class DecideApplication:
    party: Party
    application_id: str


def withdraw_application(command: DecideApplication, uow: UnitOfWork) -> Application:
    by = command.party.id
    return _decide(
        command.party,
        command.application_id,
        uow,
        decider=PartyType.EXPORTER,
        decision=lambda record: record.withdrawn(by, uow.now()),
    )


@dataclass(frozen=True)
class RejectApplication:
    party: Party
    application_id: str
    reasons: Sequence[str]


def reject_application(command: RejectApplication, uow: UnitOfWork) -> Application:
    by, reasons = command.party.id, command.reasons
    return _decide(
        command.party,
        command.application_id,
        uow,
        decider=PartyType.ISSUING_BODY,
        decision=lambda record: record.rejected(by, uow.now(), reasons),
    )


@dataclass(frozen=True)
class Certified:
    submitted: Submitted
    application: Application


def certify_application(
    command: DecideApplication, uow: UnitOfWork, *, max_attempts: int = MAX_NUMBER_ATTEMPTS
) -> Certified:
    """Issue the application's certificate with the next number of the issuing body's year: the counter, the
    application and the certificate are committed together, so two certifications never share a number and
    none is skipped."""
    party = command.party
    for attempt in range(1, max_attempts + 1):
        record = _open(party, command.application_id, uow, decider=PartyType.ISSUING_BODY)
        assert party.certificate_prefix is not None  # an issuing body always has one (Party validates it)
        now = uow.now()
        today = new_zealand_date(now)
        registrations = _quoted(record.application, record.exporter_business_number, today, uow)
        read = uow.counters.get(party.id, today.year)
        counter = uow.counters.advance(read)
        number = certificate_number(party.certificate_prefix, today.year, counter.last)
        content = certificate_content(record.application, registrations, number=number, issue_date=today)
        issue = CertificateRecord.issue(content, issuer=party, at=now, application_id=record.id)
        stage_issue(uow, issue)
        certified = record.certified(party.id, now, number)
        uow.applications.replace(record, certified)
        result = Certified(Submitted(issue.record, created=True), certified.record)
        try:
            uow.commit(answering=result)
        except Refused as refused:
            if refused.of("application"):
                _decided_meanwhile(uow, record)
            if refused.of("certificate", number) and not refused.of("counter"):
                # The number is held by a certificate stored outside hosted issuing (its issuing body submitted
                # it from its own system): the counter steps past it, and the next attempt takes the one after.
                uow.counters.advance(read)
                with contextlib.suppress(Refused):
                    uow.commit()
            # Otherwise another certification took this number first (or the application was flagged past due
            # meanwhile): the next attempt reads the counter and the application again.
            if attempt == max_attempts:
                raise RetryableFailure(f"{party.id}'s next number was taken {max_attempts} times") from None
            continue
        return result
    raise AssertionError("unreachable: the last attempt returns or raises")


@dataclass(frozen=True)
class PastDueReport:
    checked_at: datetime
    # Every application still undecided past its due time, most overdue first, flagged now or before.
    past_due: Sequence[Application]
    # Those this run flagged (as stored now).
    newly_flagged: Sequence[Application]

    @property
    def count(self) -> int:
        return len(self.past_due)


def flag_past_due(uow: UnitOfWork, limit: int = PAST_DUE_LIMIT) -> PastDueReport:
    """The one-working-day promise (DESIGN.md §2): every application still undecided after its due time is flagged
    once, and all of them are reported so an alarm fires while any is waiting. One decided between the read
    and the write is left as it is: it is no longer past due."""
    now = uow.now()
    past_due: list[Application] = []
    flagged: list[Application] = []
    for application in uow.applications.open_due_before(now, limit):
        if application.flagged_past_due_at is not None:
            past_due.append(application)
            continue
        updated = application.flagged_past_due(now, OVERSEER)
        uow.applications.replace(application, updated)
        try:
            uow.commit()
        except Refused:
            continue
        past_due.append(updated.record)
        flagged.append(updated.record)
    return PastDueReport(checked_at=now, past_due=tuple(past_due), newly_flagged=tuple(flagged))
