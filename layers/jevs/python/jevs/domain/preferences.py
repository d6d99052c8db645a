"""Box 5 of the certificate: the importing customs' preference decision (DESIGN.md §2, §3).

China Customs records, per certificate and import declaration, whether it gave the FTA's preferential tariff
treatment: ``GIVEN``, or ``NOT_GIVEN`` with reasons from a closed list. A decision is recorded once per
(certificate, declaration), on an import declaration China lodged that quotes the certificate; it is an event in
the certificate's history, and NZ Customs gets it as a data file. The certificate's PDF is not reissued: box 5
is official use, filled in by the importing side after issue.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jevs.domain.certificate import LongText
from jevs.domain.declarations import CheckedDeclarationNumber, Declarant, DeclarationRecord, declaration_id
from jevs.domain.errors import FieldError, RuleViolation
from jevs.domain.history import DetailValue, EventType
from jevs.domain.parties import Party
from jevs.domain.records import CertificateChange, CertificateRecord
from jevs.domain.text import Inbound

# More reasons than kinds of reason would only repeat one; a short list keeps the data file and the event small.
MAX_REASONS = 10


class PreferenceOutcome(StrEnum):
    GIVEN = "GIVEN"
    NOT_GIVEN = "NOT_GIVEN"


class RefusalCode(StrEnum):
    """Why preference was not given: the grounds the FTA's importing-side practice refuses a claim on (the
    Agreement's chapter on rules of origin and operational procedures)."""

    # The goods' origin is not shown to meet the rules of origin (the origin criterion, the RVC, the PSR).
    ORIGIN_NOT_PROVEN = "ORIGIN_NOT_PROVEN"
    # The certificate was revoked, replaced, expired, or used already for another declaration.
    CERTIFICATE_NOT_VALID = "CERTIFICATE_NOT_VALID"
    # The declared goods are not the goods the certificate covers (description, HS code, quantity).
    GOODS_NOT_COVERED = "GOODS_NOT_COVERED"
    # The certificate and the declaration or its supporting documents disagree (invoice, consignee, transport).
    DOCUMENTARY_DISCREPANCY = "DOCUMENTARY_DISCREPANCY"
    # A verification of origin was asked of New Zealand and is not concluded: preference is suspended meanwhile.
    VERIFICATION_PENDING = "VERIFICATION_PENDING"
    # Anything else; the text says what.
    OTHER = "OTHER"


class RefusalReason(Inbound):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    code: RefusalCode
    text: LongText = Field(description="What was found, in words (at most 512 characters, no control characters).")


class PreferenceDecisionContent(Inbound):
    """A preference decision as China Customs sends it (DESIGN.md §5)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    declaration_number: CheckedDeclarationNumber = Field(
        description="The import declaration the decision is about: one China lodged, quoting this certificate.",
        examples=["223320261000123456"],
    )
    decision: PreferenceOutcome
    reasons: list[RefusalReason] = Field(
        default_factory=list,
        max_length=MAX_REASONS,
        description="Why preference was not given: at least one for NOT_GIVEN, none for GIVEN.",
    )


class PreferenceDecision(BaseModel):
    """Box 5 as recorded: the decision on one import declaration's claim under one certificate."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    certificate_number: str
    declaration_id: str
    declaration_number: str
    decision: PreferenceOutcome
    reasons: list[RefusalReason]
    decided_at: AwareDatetime
    decided_by: str
    # The certificate's version when it was decided (a certified true copy is a later version).
    certificate_version: int = Field(ge=1)

    def document(self) -> dict[str, Any]:
        """The decision as partners read it (NZ Customs' data file, the API): nothing but the decision."""
        return self.model_dump(mode="json")


def check_reasons(content: PreferenceDecisionContent) -> None:
    """NOT_GIVEN says why; GIVEN has nothing to explain (reasons with it would read as a refusal)."""
    if content.decision is PreferenceOutcome.NOT_GIVEN and not content.reasons:
        raise RuleViolation([FieldError("reasons", "a decision NOT_GIVEN gives at least one reason")])
    if content.decision is PreferenceOutcome.GIVEN and content.reasons:
        raise RuleViolation([FieldError("reasons", "a decision GIVEN has no reasons")])


def quoted_declaration_id(content: PreferenceDecisionContent) -> str:
    """The id of the China import declaration the decision names."""
    return declaration_id(Declarant.CN_IMPORT_DECLARATION, content.declaration_number)


def check_declaration(
    certificate: CertificateRecord, declaration: DeclarationRecord | None, decider: Party, number: str
) -> DeclarationRecord:
    """The declaration is an import declaration ``decider`` lodged that quotes the certificate (any of its
    revisions' current content: an amendment may have moved it to another certificate)."""
    if (
        declaration is None
        or declaration.declarant is not Declarant.CN_IMPORT_DECLARATION
        or declaration.declarant_party != decider.id
        or declaration.content.certificate_number != certificate.number
    ):
        message = f"{number} is not an import declaration lodged by {decider.id} that quotes {certificate.number}"
        raise RuleViolation([FieldError("declaration_number", message)])
    return declaration


def decide_preference(
    certificate: CertificateRecord,
    declaration: DeclarationRecord | None,
    content: PreferenceDecisionContent,
    *,
    decider: Party,
    at: datetime,
) -> tuple[PreferenceDecision, CertificateChange]:
    """The decision and the certificate's history event that records it. Raises ``RuleViolation`` naming
    ``reasons`` or ``declaration_number``. Whether one was recorded before is the store's to say (once only)."""
    check_reasons(content)
    found = check_declaration(certificate, declaration, decider, content.declaration_number)
    decision = PreferenceDecision(
        certificate_number=certificate.number,
        declaration_id=found.id,
        declaration_number=content.declaration_number,
        decision=content.decision,
        reasons=list(content.reasons),
        decided_at=at,
        decided_by=decider.id,
        certificate_version=certificate.version,
    )
    details: dict[str, DetailValue] = {
        "declaration_id": found.id,
        "decision": content.decision.value,
        # Codes only: the texts are in the decision itself, the history keeps what was decided and on what grounds.
        "reason_codes": ",".join(reason.code.value for reason in content.reasons) or None,
    }
    change = certificate.changed(EventType.PREFERENCE_DECIDED, at=at, actor=decider.id, details=details)
    return decision, change
