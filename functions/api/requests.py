"""Request bodies, as partners send them (DESIGN.md §5).

Each is the API's own class, converted explicitly into what the use case takes (``to_domain``); its docstring is
its description in the OpenAPI document. Where the wire
shape is the domain's own input (the certificate form, a declaration, a lodgement), the class extends the
domain's model: the rules stay in one place, the class name (and so the OpenAPI component) is the wire's, and a
future version of the API can change its shape here without touching the rules.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from functions.api.models import ApiModel
from jevs.domain import applications, certificate, declarations, preferences, registrations
from jevs.domain.registrations import Reason
from jevs.domain.text import Inbound


class _Extends(ApiModel):
    """An API body that is a domain input as it stands."""

    def _converted(self, domain: type[BaseModel]) -> BaseModel:
        # Through JSON: decimals travel as strings, as the domain's rules require of them.
        return domain.model_validate(self.model_dump(mode="json"))

    @classmethod
    def of(cls, domain: BaseModel) -> Self:
        """The API's view of a domain input (a lodgement inside a stored record, shown back to its owner)."""
        return cls.model_validate(domain.model_dump(mode="json"))


# DESIGN.md §5. The docstrings of request and response models are their descriptions in the OpenAPI document, for
# partners: the design is cited in comments like this one.
class CertificateContent(certificate.CertificateContent, _Extends):
    """A certificate's data as its issuing body submits it."""

    def to_domain(self) -> certificate.CertificateContent:
        converted = self._converted(certificate.CertificateContent)
        assert isinstance(converted, certificate.CertificateContent)
        return converted


# DESIGN.md §5.
class DeclarationContent(declarations.DeclarationContent, _Extends):
    """A declaration as the declaring customs lodges it."""

    def to_domain(self) -> declarations.DeclarationContent:
        converted = self._converted(declarations.DeclarationContent)
        assert isinstance(converted, declarations.DeclarationContent)
        return converted


class GoodsLodgement(registrations.GoodsLodgement, _Extends):
    """``POST /v1/goods-registrations``: goods an exporter will ship under certificates."""

    def to_domain(self) -> registrations.GoodsLodgement:
        converted = self._converted(registrations.GoodsLodgement)
        assert isinstance(converted, registrations.GoodsLodgement)
        return converted


class SignatoryLodgement(registrations.SignatoryLodgement, _Extends):
    """``POST /v1/signatories``: a person who signs the exporter's applications. Contact details are seen
    only by the exporter and its issuing body."""

    def to_domain(self) -> registrations.SignatoryLodgement:
        converted = self._converted(registrations.SignatoryLodgement)
        assert isinstance(converted, registrations.SignatoryLodgement)
        return converted


class ApprovalDecision(registrations.ApprovalDecision, _Extends):
    """An issuing body's answer: approve (goods: until a date) or refuse with reasons."""

    def to_domain(self) -> registrations.ApprovalDecision:
        converted = self._converted(registrations.ApprovalDecision)
        assert isinstance(converted, registrations.ApprovalDecision)
        return converted


class ApplicationLodgement(applications.ApplicationLodgement, _Extends):
    """``POST /v1/applications``: everything else the certificate needs, checked by the certificate's rules."""

    def to_domain(self) -> applications.ApplicationLodgement:
        converted = self._converted(applications.ApplicationLodgement)
        assert isinstance(converted, applications.ApplicationLodgement)
        return converted


# ``POST /v1/applications/{id}/rejection`` (no docstring: it would become the schema's description).
class RejectionRequest(Inbound):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reasons: list[Reason] = Field(min_length=1, max_length=20)


class ReplacementRequest(Inbound):
    """``POST /v1/certificates/{number}/replacement``: a whole new certificate, under a number of its own with the
    issuing body's prefix, that corrects and supersedes the one in the path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Reason = Field(description="Why the certificate is replaced: what the replacement corrects.")
    certificate: CertificateContent


class ReasonRequest(Inbound):
    """``POST /v1/certificates/{number}/revocation`` and ``…/certified-true-copy``: why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Reason


# DESIGN.md §5.
class PreferenceDecisionRequest(preferences.PreferenceDecisionContent, _Extends):
    """``POST /v1/certificates/{number}/preference-decisions``: China Customs' box 5 decision on one of its import
    declarations that quotes the certificate."""

    def to_domain(self) -> preferences.PreferenceDecisionContent:
        converted = self._converted(preferences.PreferenceDecisionContent)
        assert isinstance(converted, preferences.PreferenceDecisionContent)
        return converted
