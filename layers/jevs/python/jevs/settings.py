"""Each function's settings, as a class holding only what that function uses. In Lambda they are read once
from the environment (``from_environment``: ``JEVS_<FIELD>``, which the CDK stack sets from
``jevs.resources``); the local stack and the tests build them directly. Nothing deeper reads ``os.environ``, and
a missing or wrong setting fails loudly when a function starts, never with a silent default.

They are frozen dataclasses checked by the few rules below, not pydantic models: the outbox relay uses nothing of
pydantic but its settings, and importing ``BaseModel`` with its schema machinery was a fifth of the relay's cold
start (``make bench``, "Cold starts").
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, Self
from urllib.parse import urlsplit

from jevs.resources import DELIVERY_QUEUE

PREFIX = "JEVS_"


class SettingsError(ValueError):
    """A function's settings are wrong: every problem found, each beginning with the setting's name."""

    def __init__(self, settings: str, problems: list[str]) -> None:
        super().__init__(f"{settings}: {'; '.join(problems)}")
        self.problems = problems


@dataclass(frozen=True)
class Rule:
    """What a setting's value must be besides its type (as pydantic's ``Field`` said it), and what it is for."""

    min_length: int | None = None
    pattern: str | None = None
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    description: str = ""

    def problem(self, value: object) -> str | None:
        if isinstance(value, str):
            if self.min_length is not None and len(value) < self.min_length:
                return f"shorter than {self.min_length} characters"
            if self.pattern is not None and re.search(self.pattern, value) is None:
                return f"does not match {self.pattern}"
        elif isinstance(value, int | float):
            if self.gt is not None and not value > self.gt:
                return f"not greater than {self.gt}"
            if self.ge is not None and not value >= self.ge:
                return f"less than {self.ge}"
            if self.le is not None and not value <= self.le:
                return f"greater than {self.le}"
        return None


def setting(
    default: Any = dataclasses.MISSING,
    *,
    min_length: int | None = None,
    pattern: str | None = None,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    description: str = "",
) -> Any:
    """A setting with a rule (and a default, unless it is required)."""
    rule = Rule(min_length=min_length, pattern=pattern, gt=gt, ge=ge, le=le, description=description)
    return dataclasses.field(default=default, metadata={"rule": rule})


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """The base of each function's settings. A value given as text (as the environment gives every one) becomes the
    setting's type; each is then held to its rule, and every problem is reported at once."""

    @classmethod
    def variables(cls) -> dict[str, str]:
        """The environment variable of each setting."""
        return {field.name: f"{PREFIX}{field.name.upper()}" for field in dataclasses.fields(cls)}

    @classmethod
    def required(cls) -> set[str]:
        """The settings without a default."""
        return {field.name for field in dataclasses.fields(cls) if field.default is dataclasses.MISSING}

    @classmethod
    def defaults(cls) -> dict[str, object]:
        """Each default, by the name of its setting."""
        return {
            field.name: field.default for field in dataclasses.fields(cls) if field.default is not dataclasses.MISSING
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Self:
        return cls.of({name: environ[variable] for name, variable in cls.variables().items() if variable in environ})

    @classmethod
    def of(cls, values: Mapping[str, object]) -> Self:
        """The settings of ``values`` by name. A name that is no setting, or a required setting missing, is refused
        before any value is read; then every value that is wrong is."""
        fields = dataclasses.fields(cls)
        known = {field.name for field in fields}
        problems = [f"{name}: not a setting of {cls.__name__}" for name in values if name not in known]
        problems += [f"{name}: missing" for name in sorted(cls.required() - set(values))]
        if problems:
            raise SettingsError(cls.__name__, problems)
        return cls(**values)

    def values(self) -> dict[str, object]:
        """Each setting that has a value, by name."""
        found = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return {name: value for name, value in found.items() if value is not None}

    def __post_init__(self) -> None:
        problems = []
        types = _types(type(self))
        for field in dataclasses.fields(self):
            try:
                value = _typed(types[field.name], getattr(self, field.name))
            except (TypeError, ValueError) as error:
                problems.append(f"{field.name}: {error}")
                continue
            rule: Rule | None = field.metadata.get("rule")
            problem = rule.problem(value) if rule is not None else None
            if problem is not None:
                problems.append(f"{field.name}: {problem}")
            object.__setattr__(self, field.name, value)
        if not problems:
            problems = self._problems()
        if problems:
            raise SettingsError(type(self).__name__, problems)

    def _problems(self) -> list[str]:
        """What a function's settings check beyond each setting's own rule."""
        return []


# Each settings class's types, resolved from its annotations once.
_TYPES: dict[type, dict[str, Any]] = {}


def _types(settings: type[FunctionSettings]) -> dict[str, Any]:
    if settings not in _TYPES:
        _TYPES[settings] = typing.get_type_hints(settings)
    return _TYPES[settings]


def _typed(kind: Any, value: object) -> object:
    """``value`` as a setting of type ``kind`` (``str``, ``int``, ``float``, or one of them or None): text is read,
    a number of the right kind is kept, anything else is refused."""
    if isinstance(kind, UnionType):
        if value is None and NoneType in kind.__args__:
            return None
        (kind,) = (member for member in kind.__args__ if member is not NoneType)
    if kind is str and isinstance(value, str):
        return value
    if kind is int and isinstance(value, int | str) and not isinstance(value, bool):
        return int(value)
    if kind is float and isinstance(value, int | float | str) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return number
    raise TypeError(f"not {kind.__name__}: {type(value).__name__}")


@dataclass(frozen=True, kw_only=True)
class ApiSettings(FunctionSettings):
    records_table: str = setting(min_length=3, description="The DynamoDB table of certificates and their history.")
    # JSON: [{"client_id": "...", "party": {"type": "...", "id": "...", "name": "...", ...}}, ...]
    parties: str = setting(min_length=2, description="The party registry: which OAuth2 client stands for which party.")
    max_request_bytes: int = setting(default=65_536, gt=0, description="Larger request bodies are refused with 413.")
    docs_url: str = setting(
        pattern=r"^https?://[^\s]+$",
        description="The documentation site (``make docs``): each problem's ``type`` is its page there, "
        "<docs_url>/problems/<slug>/.",
    )
    signing_key_id: str = setting(
        min_length=3,
        description="The KMS key that seals the history events the API appends, and whose public half "
        "/.well-known/jwks.json serves.",
    )
    signing_key_overlap_days: int = setting(
        default=30,
        ge=0,
        description="How long after a rotation /.well-known/jwks.json still lists the retired signing key.",
    )
    documents_bucket: str = setting(
        min_length=3,
        description="Where the certificate PDFs are (read), and verification answers' documents (written).",
    )
    exchange_bucket: str = setting(min_length=3, description="NZ Customs' data files (read only, its prefix).")
    # Verification of origin: the FTA gives the exporting Party a fixed period to reply to China's request; a
    # request that names no due date is due this many days after it is raised (about three months).
    verification_reply_days: int = setting(default=90, ge=1, le=366)
    # An answer's documents (decoded bytes), each and together. Together they travel base64 in one JSON body, which
    # must stay under Lambda's 6 MB synchronous payload: 3 MiB of documents is about 4 MiB of body.
    verification_attachment_max_bytes: int = setting(default=1_048_576, gt=0)
    verification_attachments_max_total_bytes: int = setting(default=3_145_728, gt=0, le=4_194_304)
    token_url: str = setting(
        min_length=8,
        description="Where partners get their tokens (OAuth2 client credentials), as /openapi.json tells them: "
        "Cognito's domain in AWS, the local stack's token endpoint on a machine.",
    )


@dataclass(frozen=True, kw_only=True)
class RelaySettings(FunctionSettings):
    records_table: str = setting(min_length=3, description="Where each outbox record published is noted so.")
    delivery_queue_url: str = setting(min_length=8, description="Where certificates to deliver to China go.")
    declarations_queue_url: str = setting(min_length=8, description="Where declarations to match go.")
    notifications_queue_url: str = setting(min_length=8, description="Where notifications to partners go.")


# What an attempt takes besides the call to China: a KMS signature and a DynamoDB transaction or two.
ATTEMPT_OVERHEAD_SECONDS = 2.0


@dataclass(frozen=True, kw_only=True)
class DispatcherSettings(FunctionSettings):
    records_table: str = setting(min_length=3)
    signing_key_id: str = setting(min_length=3, description="The KMS key (id, ARN or alias) that signs for China.")
    china_customs_endpoint: str = setting(pattern=r"^https?://", description="Where China Customs receives messages.")
    # A Secrets Manager secret {"certificate": PEM, "private_key": PEM, "ca_bundle": PEM}: our client certificate
    # for China's mutual TLS, and the CA China's endpoint certificate must chain to (jevs.adapters.secrets);
    # none: TLS verified against the public CAs, no client certificate.
    china_client_certificate_secret: str | None = None
    china_connect_timeout_seconds: float = setting(default=3.0, gt=0)
    china_read_timeout_seconds: float = setting(default=10.0, gt=0)
    # The delivery queue's maxReceiveCount (jevs.resources): on the last receive a failure parks the delivery,
    # whatever its horizon, rather than let the queue move its message on with the delivery still PENDING.
    delivery_max_receives: int = setting(default=DELIVERY_QUEUE.max_receive_count, ge=1)
    delivery_queue_url: str = setting(min_length=8, description="The queue whose messages' visibility sets backoff.")
    delivery_dead_letter_queue_url: str = setting(
        min_length=8, description="Where a parked delivery's message waits for a redrive."
    )
    # A delivery is tried for this long after it was queued (or resumed), then parked and alarmed.
    delivery_retry_horizon_seconds: float = setting(default=6 * 3600, gt=0)
    # The first retry waits about this long, doubling with each attempt up to the maximum (RetryPolicy).
    delivery_backoff_base_seconds: float = setting(default=2, ge=0)
    delivery_backoff_max_seconds: float = setting(default=600, ge=0)
    # China's circuit breaker (jevs.domain.breaker): failures in a row that open it, and its cool-downs.
    china_circuit_failures_to_open: int = setting(default=5, ge=1)
    china_circuit_cooldown_seconds: float = setting(default=30, gt=0)
    china_circuit_max_cooldown_seconds: float = setting(default=300, gt=0)

    def _problems(self) -> list[str]:
        # Signed certificates and declaration results go there: in the clear they could be read or changed on the
        # way (issue 14, finding 7). Plain HTTP only to this machine, where the local stack's simulator listens.
        parts = urlsplit(self.china_customs_endpoint)
        if parts.scheme != "https" and not _is_loopback(parts.hostname):
            return [
                "china_customs_endpoint: China Customs is reached over https "
                "(plain http only on this machine's loopback)"
            ]
        return []

    @property
    def attempt_seconds(self) -> float:
        """The longest one attempt takes: connecting, China's answer, and signing and recording around them."""
        return self.china_connect_timeout_seconds + self.china_read_timeout_seconds + ATTEMPT_OVERHEAD_SECONDS


@dataclass(frozen=True, kw_only=True)
class ReconcilerSettings(FunctionSettings):
    records_table: str = setting(min_length=3)
    delivery_queue_url: str = setting(min_length=8)
    reconciliation_bound_seconds: int = setting(default=900, ge=0)
    # Open work (jevs.service.reconciliation): where each kind is queued again, and how long it may stay open first.
    # Each bound is well beyond the work's normal course, so a healthy system never has anything queued twice: the
    # relay publishes a record within seconds of its commit, and the matcher decides a declaration seconds later,
    # or after one retry of a failed attempt (the declarations queue hides it for 3 minutes) still within 5; the
    # notifier's documents take seconds too, and 15 minutes cover two retries (the notifications queue hides a
    # message for 6). Past its bound the message was lost, its record given up on, or the consumer is down; and
    # should a slow consumer finish after all, the second copy is harmless.
    declarations_queue_url: str = setting(
        min_length=8, description="Where declarations still unmatched, and redriven ones, go again."
    )
    notifications_queue_url: str = setting(
        min_length=8, description="Where versions' missing documents, and redriven notifications, go again."
    )
    open_declaration_bound_seconds: int = setting(default=300, ge=0)
    open_documents_bound_seconds: int = setting(default=900, ge=0)
    open_outbox_bound_seconds: int = setting(default=300, ge=0)
    # At most this many of each kind per run (the rest wait for the next): with the deliveries' 500, one run's
    # sends and updates stay well within the function's 60 s.
    open_work_limit: int = setting(default=200, ge=1)
    # Redrive jobs (jevs.service.recovery): each dead-letter queue, the queue its messages go back to, and the key
    # that seals the DELIVERY_RESUMED event a resumed delivery appends to its certificate's history.
    signing_key_id: str = setting(
        min_length=3, description="The KMS key (id, ARN or alias) that seals each history event it appends."
    )
    delivery_dead_letter_queue_url: str = setting(min_length=8, description="Where parked deliveries wait.")
    declarations_dead_letter_queue_url: str = setting(min_length=8)
    notifications_dead_letter_queue_url: str = setting(min_length=8)
    stream_failures_queue_url: str = setting(
        min_length=8, description="Where the table stream's failed batches are described (a redrive publishes again)."
    )


@dataclass(frozen=True, kw_only=True)
class MatcherSettings(FunctionSettings):
    records_table: str = setting(min_length=3)
    signing_key_id: str = setting(
        min_length=3, description="The KMS key (id, ARN or alias) that seals each history event it appends."
    )


@dataclass(frozen=True, kw_only=True)
class NotifierSettings(FunctionSettings):
    records_table: str = setting(min_length=3)
    exchange_bucket: str = setting(min_length=3, description="The bucket NZ Customs collects its files from.")
    documents_bucket: str = setting(min_length=3, description="Where each certificate version's PDF is kept.")
    sender_email: str = setting(
        pattern=r"^[^@\s]+@[^@\s]+$", description="The SES identity applicants' certificates are emailed from."
    )
    verification_base_url: str = setting(
        pattern=r"^https?://", description="The public API's base URL: the PDF's QR code opens its /v1/verify."
    )


@dataclass(frozen=True, kw_only=True)
class OverseerSettings(FunctionSettings):
    records_table: str = setting(min_length=3)
    signing_key_id: str = setting(
        min_length=3, description="The KMS key (id, ARN or alias) that seals each history event it appends."
    )
    # At most this many past-due applications are read (and flagged) per run; the rest wait for the next.
    past_due_limit: int = setting(default=500, ge=1)


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
