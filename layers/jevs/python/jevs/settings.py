"""Configuration, parsed once per function from the environment at the edge. Nothing deeper reads
``os.environ``; a missing setting fails loudly when a function starts, never with a silent default.

Each function has its own model, holding only what it uses (the CDK stack gives each function exactly
these variables; ``jevs.resources`` names them).
"""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _JevsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEVS_", frozen=True, extra="ignore")


class ApiSettings(_JevsSettings):
    records_table: str = Field(min_length=3, description="The DynamoDB table of certificates and their history.")
    # JSON: [{"client_id": "...", "party": {"type": "...", "id": "...", "name": "...", ...}}, ...]
    parties: str = Field(min_length=2, description="The party registry: which OAuth2 client stands for which party.")
    max_request_bytes: int = Field(default=65_536, gt=0, description="Larger request bodies are refused with 413.")
    signing_key_id: str = Field(
        min_length=3, description="The KMS key whose public half /.well-known/jwks.json serves."
    )
    delivery_queue_url: str = Field(min_length=8, description="Where a redrive puts parked deliveries back.")
    delivery_dead_letter_queue_url: str = Field(min_length=8, description="Where parked deliveries wait.")
    documents_bucket: str = Field(min_length=3, description="Where the certificate PDFs are (read only).")


class RelaySettings(_JevsSettings):
    delivery_queue_url: str = Field(min_length=8, description="Where certificates to deliver to China go.")
    declarations_queue_url: str = Field(min_length=8, description="Where declarations to match go.")
    notifications_queue_url: str = Field(min_length=8, description="Where notifications to partners go.")


class DispatcherSettings(_JevsSettings):
    records_table: str = Field(min_length=3)
    signing_key_id: str = Field(min_length=3, description="The KMS key (id, ARN or alias) that signs for China.")
    china_customs_endpoint: str = Field(pattern=r"^https?://", description="Where China Customs receives messages.")
    # A Secrets Manager secret {"certificate": PEM, "private_key": PEM} for mutual TLS; none: plain TLS.
    china_client_certificate_secret: str | None = None
    china_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    china_read_timeout_seconds: float = Field(default=10.0, gt=0)
    # The delivery queue's maxReceiveCount: on the last receive a failure parks the delivery.
    delivery_max_receives: int = Field(default=5, ge=1)
    delivery_queue_url: str = Field(min_length=8, description="The queue whose messages' visibility sets backoff.")
    # The first retry waits about this long, doubling with each attempt (jevs.domain.delivery.backoff_seconds).
    delivery_backoff_base_seconds: int = Field(default=2, ge=0)


class ReconcilerSettings(_JevsSettings):
    records_table: str = Field(min_length=3)
    delivery_queue_url: str = Field(min_length=8)
    reconciliation_bound_seconds: int = Field(default=900, ge=0)


class MatcherSettings(_JevsSettings):
    records_table: str = Field(min_length=3)


class NotifierSettings(_JevsSettings):
    records_table: str = Field(min_length=3)
    exchange_bucket: str = Field(min_length=3, description="The bucket NZ Customs collects its files from.")
    documents_bucket: str = Field(min_length=3, description="Where each certificate version's PDF is kept.")
    sender_email: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+$", description="The SES identity applicants' certificates are emailed from."
    )
    verification_base_url: str = Field(
        pattern=r"^https?://", description="The public API's base URL: the PDF's QR code opens its /v1/verify."
    )


class OverseerSettings(_JevsSettings):
    records_table: str = Field(min_length=3)
    # At most this many past-due applications are read (and flagged) per run; the rest wait for the next.
    past_due_limit: int = Field(default=500, ge=1)


@cache
def matcher_settings() -> MatcherSettings:
    return MatcherSettings()  # values come from the environment


@cache
def notifier_settings() -> NotifierSettings:
    return NotifierSettings()  # values come from the environment


@cache
def overseer_settings() -> OverseerSettings:
    return OverseerSettings()  # values come from the environment


@cache
def dispatcher_settings() -> DispatcherSettings:
    return DispatcherSettings()  # values come from the environment


@cache
def reconciler_settings() -> ReconcilerSettings:
    return ReconcilerSettings()  # values come from the environment


@cache
def api_settings() -> ApiSettings:
    return ApiSettings()  # values come from the environment


@cache
def relay_settings() -> RelaySettings:
    return RelaySettings()  # values come from the environment


def forget_settings() -> None:
    """Parse the environment again on next use (a process that changes it: tests, the local stack)."""
    for parsed in (
        api_settings,
        relay_settings,
        dispatcher_settings,
        reconciler_settings,
        matcher_settings,
        notifier_settings,
        overseer_settings,
    ):
        parsed.cache_clear()
