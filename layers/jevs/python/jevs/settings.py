"""Each function's settings, as a model holding only what that function uses. In Lambda they are read once
from the environment (``from_environment``: ``JEVS_<FIELD>``, which the CDK stack sets from
``jevs.resources``); the local stack and the tests build them directly. Nothing deeper reads ``os.environ``, and
a missing setting fails loudly when a function starts, never with a silent default.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jevs.resources import DELIVERY_QUEUE

PREFIX = "JEVS_"


class FunctionSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    @classmethod
    def variables(cls) -> dict[str, str]:
        """The environment variable of each field."""
        return {name: f"{PREFIX}{name.upper()}" for name in cls.model_fields}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Self:
        return cls.model_validate(
            {name: environ[variable] for name, variable in cls.variables().items() if variable in environ}
        )


class ApiSettings(FunctionSettings):
    records_table: str = Field(min_length=3, description="The DynamoDB table of certificates and their history.")
    # JSON: [{"client_id": "...", "party": {"type": "...", "id": "...", "name": "...", ...}}, ...]
    parties: str = Field(min_length=2, description="The party registry: which OAuth2 client stands for which party.")
    max_request_bytes: int = Field(default=65_536, gt=0, description="Larger request bodies are refused with 413.")
    docs_url: str = Field(
        pattern=r"^https?://[^\s]+$",
        description="The documentation site (``make docs``): each problem's ``type`` is its page there, "
        "<docs_url>/problems/<slug>/.",
    )
    signing_key_id: str = Field(
        min_length=3,
        description="The KMS key that seals the history events the API appends, and whose public half "
        "/.well-known/jwks.json serves.",
    )
    signing_key_overlap_days: int = Field(
        default=30,
        ge=0,
        description="How long after a rotation /.well-known/jwks.json still lists the retired signing key.",
    )
    documents_bucket: str = Field(
        min_length=3,
        description="Where the certificate PDFs are (read), and verification answers' documents (written).",
    )
    exchange_bucket: str = Field(min_length=3, description="NZ Customs' data files (read only, its prefix).")
    # Verification of origin: the FTA gives the exporting Party a fixed period to reply to China's request; a
    # request that names no due date is due this many days after it is raised (about three months).
    verification_reply_days: int = Field(default=90, ge=1, le=366)
    # An answer's documents (decoded bytes), each and together. Together they travel base64 in one JSON body, which
    # must stay under Lambda's 6 MB synchronous payload: 3 MiB of documents is about 4 MiB of body.
    verification_attachment_max_bytes: int = Field(default=1_048_576, gt=0)
    verification_attachments_max_total_bytes: int = Field(default=3_145_728, gt=0, le=4_194_304)
    token_url: str = Field(
        min_length=8,
        description="Where partners get their tokens (OAuth2 client credentials), as /openapi.json tells them: "
        "Cognito's domain in AWS, the local stack's token endpoint on a machine.",
    )


class RelaySettings(FunctionSettings):
    records_table: str = Field(min_length=3, description="Where each outbox record published is noted so.")
    delivery_queue_url: str = Field(min_length=8, description="Where certificates to deliver to China go.")
    declarations_queue_url: str = Field(min_length=8, description="Where declarations to match go.")
    notifications_queue_url: str = Field(min_length=8, description="Where notifications to partners go.")


# What an attempt takes besides the call to China: a KMS signature and a DynamoDB transaction or two.
ATTEMPT_OVERHEAD_SECONDS = 2.0


class DispatcherSettings(FunctionSettings):
    records_table: str = Field(min_length=3)
    signing_key_id: str = Field(min_length=3, description="The KMS key (id, ARN or alias) that signs for China.")
    china_customs_endpoint: str = Field(pattern=r"^https?://", description="Where China Customs receives messages.")
    # A Secrets Manager secret {"certificate": PEM, "private_key": PEM, "ca_bundle": PEM}: our client certificate
    # for China's mutual TLS, and the CA China's endpoint certificate must chain to (jevs.adapters.secrets);
    # none: TLS verified against the public CAs, no client certificate.
    china_client_certificate_secret: str | None = None
    china_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    china_read_timeout_seconds: float = Field(default=10.0, gt=0)
    # The delivery queue's maxReceiveCount (jevs.resources): on the last receive a failure parks the delivery,
    # whatever its horizon, rather than let the queue move its message on with the delivery still PENDING.
    delivery_max_receives: int = Field(default=DELIVERY_QUEUE.max_receive_count, ge=1)
    delivery_queue_url: str = Field(min_length=8, description="The queue whose messages' visibility sets backoff.")
    delivery_dead_letter_queue_url: str = Field(
        min_length=8, description="Where a parked delivery's message waits for a redrive."
    )
    # A delivery is tried for this long after it was queued (or resumed), then parked and alarmed.
    delivery_retry_horizon_seconds: float = Field(default=6 * 3600, gt=0)
    # The first retry waits about this long, doubling with each attempt up to the maximum (RetryPolicy).
    delivery_backoff_base_seconds: float = Field(default=2, ge=0)
    delivery_backoff_max_seconds: float = Field(default=600, ge=0)
    # China's circuit breaker (jevs.domain.breaker): failures in a row that open it, and its cool-downs.
    china_circuit_failures_to_open: int = Field(default=5, ge=1)
    china_circuit_cooldown_seconds: float = Field(default=30, gt=0)
    china_circuit_max_cooldown_seconds: float = Field(default=300, gt=0)

    @field_validator("china_customs_endpoint")
    @classmethod
    def _china_is_reached_over_tls(cls, endpoint: str) -> str:
        # Signed certificates and declaration results go there: in the clear they could be read or changed on the
        # way (issue 14, finding 7). Plain HTTP only to this machine, where the local stack's simulator listens.
        parts = urlsplit(endpoint)
        if parts.scheme != "https" and not _is_loopback(parts.hostname):
            raise ValueError("China Customs is reached over https (plain http only on this machine's loopback)")
        return endpoint

    @property
    def attempt_seconds(self) -> float:
        """The longest one attempt takes: connecting, China's answer, and signing and recording around them."""
        return self.china_connect_timeout_seconds + self.china_read_timeout_seconds + ATTEMPT_OVERHEAD_SECONDS


class ReconcilerSettings(FunctionSettings):
    records_table: str = Field(min_length=3)
    delivery_queue_url: str = Field(min_length=8)
    reconciliation_bound_seconds: int = Field(default=900, ge=0)
    # Open work (jevs.service.reconciliation): where each kind is queued again, and how long it may stay open first.
    # Each bound is well beyond the work's normal course, so a healthy system never has anything queued twice: the
    # relay publishes a record within seconds of its commit, and the matcher decides a declaration seconds later,
    # or after one retry of a failed attempt (the declarations queue hides it for 3 minutes) still within 5; the
    # notifier's documents take seconds too, and 15 minutes cover two retries (the notifications queue hides a
    # message for 6). Past its bound the message was lost, its record given up on, or the consumer is down; and
    # should a slow consumer finish after all, the second copy is harmless.
    declarations_queue_url: str = Field(
        min_length=8, description="Where declarations still unmatched, and redriven ones, go again."
    )
    notifications_queue_url: str = Field(
        min_length=8, description="Where versions' missing documents, and redriven notifications, go again."
    )
    open_declaration_bound_seconds: int = Field(default=300, ge=0)
    open_documents_bound_seconds: int = Field(default=900, ge=0)
    open_outbox_bound_seconds: int = Field(default=300, ge=0)
    # At most this many of each kind per run (the rest wait for the next): with the deliveries' 500, one run's
    # sends and updates stay well within the function's 60 s.
    open_work_limit: int = Field(default=200, ge=1)
    # Redrive jobs (jevs.service.recovery): each dead-letter queue, the queue its messages go back to, and the key
    # that seals the DELIVERY_RESUMED event a resumed delivery appends to its certificate's history.
    signing_key_id: str = Field(
        min_length=3, description="The KMS key (id, ARN or alias) that seals each history event it appends."
    )
    delivery_dead_letter_queue_url: str = Field(min_length=8, description="Where parked deliveries wait.")
    declarations_dead_letter_queue_url: str = Field(min_length=8)
    notifications_dead_letter_queue_url: str = Field(min_length=8)
    stream_failures_queue_url: str = Field(
        min_length=8, description="Where the table stream's failed batches are described (a redrive publishes again)."
    )


class MatcherSettings(FunctionSettings):
    records_table: str = Field(min_length=3)
    signing_key_id: str = Field(
        min_length=3, description="The KMS key (id, ARN or alias) that seals each history event it appends."
    )


class NotifierSettings(FunctionSettings):
    records_table: str = Field(min_length=3)
    exchange_bucket: str = Field(min_length=3, description="The bucket NZ Customs collects its files from.")
    documents_bucket: str = Field(min_length=3, description="Where each certificate version's PDF is kept.")
    sender_email: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+$", description="The SES identity applicants' certificates are emailed from."
    )
    verification_base_url: str = Field(
        pattern=r"^https?://", description="The public API's base URL: the PDF's QR code opens its /v1/verify."
    )


class OverseerSettings(FunctionSettings):
    records_table: str = Field(min_length=3)
    signing_key_id: str = Field(
        min_length=3, description="The KMS key (id, ARN or alias) that seals each history event it appends."
    )
    # At most this many past-due applications are read (and flagged) per run; the rest wait for the next.
    past_due_limit: int = Field(default=500, ge=1)


def _is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine: ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
