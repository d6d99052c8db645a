"""A certificate's life after issue (DESIGN.md §2, §3): the FTA allows no alteration in place, so a certificate is
corrected by a **replacement** (a whole new certificate, with its own number, that supersedes it), withdrawn by a
**revocation**, and a lost original is covered by a **certified true copy** (the next version of the same
certificate). Only the issuing body that issued it acts on a certificate; anyone else is told it does not exist.

Each is one commit: the records changed, an event in each history, and the messages that tell China
(``certificate.replaced`` and ``certificate.issued`` with ``replaces``; ``certificate.revoked``;
``certificate.copy_issued``) with their deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass

from jevs.domain.certificate import CertificateContent
from jevs.domain.china_message import replaced, revoked
from jevs.domain.errors import Conflict, FieldError, RuleViolation
from jevs.domain.parties import Party, PartyType
from jevs.domain.records import CertificateRecord
from jevs.service.certificates import stage_issue, stage_new_version, stage_to_china, stored_certificate
from jevs.service.retrying import decided_afresh
from jevs.service.unit_of_work import Refused, UnitOfWork


def _issued_by(party: Party, number: str, uow: UnitOfWork) -> CertificateRecord:
    """The certificate ``number``, if ``party`` is the issuing body that issued it; NotFound otherwise (DESIGN.md §1:
    no 403 that would confirm it exists)."""

    def issued_it(record: CertificateRecord) -> bool:
        return party.type is PartyType.ISSUING_BODY and record.issuing_body == party.id

    return stored_certificate(number, uow, issued_it)


def _prefix(number: str) -> str:
    return number.split(".", 1)[0]


@dataclass(frozen=True)
class ReplaceCertificate:
    party: Party
    number: str
    reason: str
    replacement: CertificateContent


@dataclass(frozen=True)
class Replaced:
    original: CertificateRecord
    replacement: CertificateRecord


def replace_certificate(command: ReplaceCertificate, uow: UnitOfWork) -> Replaced:
    """A whole new certificate, under a number of the issuing body's own, supersedes the original: the new one
    ``ISSUED`` with ``replaces`` and the original's usage (what was drawn stays drawn), the original ``REPLACED``
    with ``replaced_by``; both histories, China told of both, in one commit."""
    return decided_afresh(lambda: _replace(command, uow))


def _replace(command: ReplaceCertificate, uow: UnitOfWork) -> Replaced:
    party = command.party
    original = _issued_by(party, command.number, uow)
    content = command.replacement
    number = content.certificate_number
    if number == original.number or _prefix(number) != _prefix(original.number):
        raise RuleViolation(
            [
                FieldError(
                    "certificate.certificate_number",
                    f"a replacement has a number of its own under the issuing body's prefix {_prefix(original.number)}",
                )
            ]
        )
    now = uow.now()
    superseded = original.replaced(number, reason=command.reason, at=now, actor=party.id)
    try:
        issue = CertificateRecord.issue(
            content, issuer=party, at=now, application_id=original.application_id, replacing=original
        )
    except RuleViolation as violation:
        raise violation.under("certificate") from None
    uow.certificates.change(superseded)
    stage_to_china(uow, replaced(superseded.record, command.reason, now), history_of=original.number, at=now)
    stage_issue(uow, issue)
    outcome = Replaced(superseded.record, issue.record)
    try:
        uow.commit(answering=outcome)
    except Refused as refused:
        if refused.of("certificate", number):
            raise Conflict("certificate-number-exists", f"certificate {number} already exists") from None
        raise
    return outcome


@dataclass(frozen=True)
class RevokeCertificate:
    party: Party
    number: str
    reason: str


def revoke_certificate(command: RevokeCertificate, uow: UnitOfWork) -> CertificateRecord:
    """``REVOKED`` with its reason, in its history, and China told; matching refuses it from then on."""
    return decided_afresh(lambda: _revoke(command, uow))


def _revoke(command: RevokeCertificate, uow: UnitOfWork) -> CertificateRecord:
    party = command.party
    record = _issued_by(party, command.number, uow)
    now = uow.now()
    change = record.revoked(reason=command.reason, at=now, actor=party.id)
    uow.certificates.change(change)
    stage_to_china(uow, revoked(change.record, now), history_of=record.number, at=now)
    uow.commit(answering=change.record)
    return change.record


@dataclass(frozen=True)
class CopyCertificate:
    party: Party
    number: str
    reason: str


def issue_certified_true_copy(command: CopyCertificate, uow: UnitOfWork) -> CertificateRecord:
    """The certified true copy of a lost original: the next version of the certificate, with the original's
    number, issue date and validity, marked ``CERTIFIED TRUE COPY``. Its commit is conditioned on the
    certificate's history, so a declaration that used the original meanwhile refuses it (and, decided again, the
    copy is refused as the original is used)."""
    return decided_afresh(lambda: _copy(command, uow))


def _copy(command: CopyCertificate, uow: UnitOfWork) -> CertificateRecord:
    party = command.party
    record = _issued_by(party, command.number, uow)
    ledger = uow.ledgers.get(record.usage_root)
    if ledger is not None and ledger.used:
        raise Conflict("certificate-used", f"certificate {record.number} was used: it is not copied")
    change = record.copied(reason=command.reason, at=uow.now(), actor=party.id)
    uow.certificates.change(change)
    stage_new_version(uow, change.record)
    uow.commit(answering=change.record)
    return change.record
