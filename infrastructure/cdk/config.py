"""The stack's settings, read from CDK context (``cdk.json`` or ``-c key=value``) into one checked model.

- ``jevs:parties``: the partner parties; each becomes a Cognito app client, an API key and a usage plan (throttled
  as ``jevs.resources.PARTY_THROTTLES`` says for its party type)
- ``jevs:authDomainPrefix``: the Cognito domain prefix of the token endpoint
  (``https://<prefix>.auth.<region>.amazoncognito.com/oauth2/token``)
- ``jevs:chinaCustomsEndpoint``: the URL China Customs receives certificates at
- ``jevs:chinaClientCertificateSecretName``: the Secrets Manager secret with the client certificate and key
  for mutual TLS to China
- ``jevs:senderEmail``: the SES identity certificates are emailed from
- ``jevs:alarmEmail``: where alarms are emailed (optional)
- ``jevs:nzCustomsAccountId``: NZ Customs' AWS account, which may assume the role that reads its files in the
  exchange bucket (optional: no role without it)
- ``jevs:docsUrl``: where the documentation site (``make docs``, ``build/site``) is published; each problem's
  ``type`` is its page there (default ``DEFAULT_DOCS_URL``)
- ``jevs:domainName``, ``jevs:certificateArn``, ``jevs:truststoreUri``: the custom domain, its ACM certificate
  and the S3 URI of the mutual-TLS truststore (all three, or none)
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints, model_validator

from jevs.domain.parties import Party, check_distinct_prefixes
from jevs.resources import PARTY_THROTTLES, ThrottleDefinition

# Where the documentation site is published unless ``jevs:docsUrl`` says otherwise: the project's site.
DEFAULT_DOCS_URL = "https://docs.jevs.example.invalid"


class PartnerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    party: Party

    @property
    def throttle(self) -> ThrottleDefinition:
        """Its usage plan's throttle: its party type's, the one definition the local gateway honours too."""
        return PARTY_THROTTLES[self.party.type.value]


class CustomDomain(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=3)
    certificate_arn: str = Field(pattern=r"^arn:aws[a-z-]*:acm:")
    truststore_uri: str = Field(pattern=r"^s3://")


class StackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parties: list[PartnerConfig] = Field(min_length=1)
    auth_domain_prefix: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    # Over TLS only: a signature proves what JEVS sent China but hides none of it (issue 14, finding 7).
    china_customs_endpoint: Annotated[HttpUrl, UrlConstraints(allowed_schemes=["https"])]
    china_client_certificate_secret_name: str | None = None
    sender_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    custom_domain: CustomDomain | None = None
    nz_customs_account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    # No quote, brace or space: the URL is rendered into API Gateway's response templates as it is.
    docs_url: str = Field(default=DEFAULT_DOCS_URL, pattern=r"^https://[^\s\"'{}\\$#]+$")

    @model_validator(mode="after")
    def _party_ids_are_unique(self) -> StackConfig:
        ids = [partner.party.id for partner in self.parties]
        if len(ids) != len(set(ids)):
            raise ValueError("a party id appears twice in jevs:parties")
        check_distinct_prefixes(partner.party for partner in self.parties)
        return self


_KEYS = {
    "parties": "jevs:parties",
    "auth_domain_prefix": "jevs:authDomainPrefix",
    "china_customs_endpoint": "jevs:chinaCustomsEndpoint",
    "china_client_certificate_secret_name": "jevs:chinaClientCertificateSecretName",
    "sender_email": "jevs:senderEmail",
    "alarm_email": "jevs:alarmEmail",
    "nz_customs_account_id": "jevs:nzCustomsAccountId",
    "docs_url": "jevs:docsUrl",
}


def read_config(context: Any) -> StackConfig:
    """``context`` is a construct's ``node``: ``try_get_context`` reads cdk.json and ``-c`` overrides."""
    values = {field: context.try_get_context(key) for field, key in _KEYS.items()}
    domain = {
        "name": context.try_get_context("jevs:domainName"),
        "certificate_arn": context.try_get_context("jevs:certificateArn"),
        "truststore_uri": context.try_get_context("jevs:truststoreUri"),
    }
    if any(domain.values()):
        values["custom_domain"] = domain
    return StackConfig.model_validate({field: value for field, value in values.items() if value is not None})
