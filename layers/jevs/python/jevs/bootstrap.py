"""The composition root: every function's dependencies, built in one place from that function's settings.

A Lambda handler module asks for its dependencies once per container, on the first invocation
(``lambda_entry``), from the environment; the local stack and the tests call the same builders with settings
they construct and AWS clients pointed where they want (``AwsClients``). Nothing here runs at import time.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import boto3

from jevs.adapters.aws import AwsClients
from jevs.adapters.clock import SystemClock
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.domain.outbox import OutboxChannel
from jevs.resources import RECORDS_TABLE

# Each builder imports the adapters and rules of its own function, so that a function's cold start loads what that
# function uses and no other's: the outbox relay none of the domain's models, only the notifier the documents.
if TYPE_CHECKING:
    from jevs.adapters.publisher import SqsPublisher
    from jevs.adapters.queues import SqsBackoff
    from jevs.adapters.table.model import Table
    from jevs.domain.breaker import CircuitPolicy
    from jevs.domain.delivery import RetryPolicy
    from jevs.domain.parties import PartyRegistry
    from jevs.domain.recovery import RedriveQueue
    from jevs.domain.verification import AttachmentLimits
    from jevs.service.documents import DocumentOutlets
    from jevs.service.idempotency import IdempotentRequest
    from jevs.service.outbox import OutboxUnit
    from jevs.service.ports import (
        ChinaSender,
        Clock,
        DeadLetters,
        ListedStore,
        ObjectStore,
        Parking,
        Publisher,
        SealChecker,
        Signer,
    )
    from jevs.service.reconciliation import ReconcileOpenWork
    from jevs.service.recovery import RedriveOutlets
    from jevs.service.unit_of_work import UnitOfWork
from jevs.settings import (
    ApiSettings,
    DispatcherSettings,
    FunctionSettings,
    MatcherSettings,
    NotifierSettings,
    OverseerSettings,
    ReconcilerSettings,
    RelaySettings,
)

# Makes a unit of work; an idempotent request's answer is stored with its change.
UnitOfWorkFactory = Callable[["IdempotentRequest | None"], "UnitOfWork"]
Handler = Callable[[dict[str, Any], Any], Any]


def _units_of_work(table: Table, clock: Clock, sealer: Signer | None = None) -> UnitOfWorkFactory:
    """``sealer``: for a function that appends history events, the key that seals each one (DESIGN.md §6.4)."""
    from jevs.adapters.table.unit_of_work import TableUnitOfWork

    def unit_of_work(idempotent: IdempotentRequest | None = None) -> UnitOfWork:
        return TableUnitOfWork(table, clock, idempotent, sealer=sealer)

    return unit_of_work


def _records(aws: AwsClients, table_name: str) -> DynamoTable:
    return DynamoTable(aws.dynamodb, RECORDS_TABLE, table_name)


@dataclass(frozen=True)
class ApiDependencies:
    unit_of_work: UnitOfWorkFactory
    parties: PartyRegistry
    clock: Clock
    max_request_bytes: int
    # The documentation site: each problem's ``type`` is its page there.
    docs_url: str
    # The signing key's public half (/.well-known/jwks.json).
    jwks: Callable[[], dict[str, Any]]
    # Every key that ever sealed a history event (/.well-known/jwks.json?retired=all).
    sealing_keys: Callable[[], dict[str, Any]]
    # Checks each event's seal with those keys (the history routes).
    seals: SealChecker
    # Where the certificate PDFs are, and verification answers' documents.
    documents: ObjectStore
    # NZ Customs' data files in the exchange bucket (GET /v1/exchange/nz-customs/files).
    exchange: ListedStore
    verification: VerificationSettings
    # Where partners get their tokens: the OAuth2 flow of the OpenAPI document the API serves.
    token_url: str


@dataclass(frozen=True)
class VerificationSettings:
    """Verification of origin at the API: the default reply period, and how large an answer may be."""

    reply_days: int
    attachment_limits: AttachmentLimits
    # The rest of an answer's body besides its documents (text, names), within the API's usual limit.
    other_bytes: int

    @property
    def max_answer_request_bytes(self) -> int:
        """The body limit of an answer: its documents base64-encoded (4 bytes per 3), and the rest."""
        return -(-self.attachment_limits.total_bytes // 3) * 4 + self.other_bytes


def api(settings: ApiSettings, aws: AwsClients, clock: Clock | None = None) -> ApiDependencies:
    from jevs.adapters.documents import S3ObjectStore
    from jevs.adapters.kms_signer import KmsSigner
    from jevs.adapters.party_registry import StaticPartyRegistry
    from jevs.domain.verification import AttachmentLimits

    clock = clock or SystemClock()
    overlap = timedelta(days=settings.signing_key_overlap_days)
    signer = KmsSigner(aws.kms, settings.signing_key_id, overlap=overlap, now=clock.now)
    return ApiDependencies(
        unit_of_work=_units_of_work(_records(aws, settings.records_table), clock, sealer=signer),
        parties=StaticPartyRegistry.from_json(settings.parties),
        clock=clock,
        max_request_bytes=settings.max_request_bytes,
        docs_url=settings.docs_url,
        jwks=signer.jwks,
        sealing_keys=signer.sealing_keys,
        seals=signer,
        documents=S3ObjectStore(aws.s3, settings.documents_bucket),
        exchange=S3ObjectStore(aws.s3, settings.exchange_bucket),
        verification=VerificationSettings(
            reply_days=settings.verification_reply_days,
            attachment_limits=AttachmentLimits(
                per_attachment_bytes=settings.verification_attachment_max_bytes,
                total_bytes=settings.verification_attachments_max_total_bytes,
            ),
            other_bytes=settings.max_request_bytes,
        ),
        token_url=settings.token_url,
    )


@dataclass(frozen=True)
class RelayDependencies:
    # Notes each outbox record published.
    unit_of_work: Callable[[], OutboxUnit]
    publisher: Publisher


def _every_channel(aws: AwsClients, delivery: str, declarations: str, notifications: str) -> SqsPublisher:
    """Every channel has its queue (DESIGN.md §6.1): deliveries to China, declarations to match, notifications."""
    from jevs.adapters.publisher import SqsPublisher

    queue_urls = {
        OutboxChannel.DELIVERY_TO_CHINA: delivery,
        OutboxChannel.DECLARATIONS: declarations,
        OutboxChannel.NOTIFICATIONS: notifications,
    }
    return SqsPublisher(aws.sqs, queue_urls)


def relay(settings: RelaySettings, aws: AwsClients, clock: Clock | None = None) -> RelayDependencies:
    """``clock``: unused, as the relay's notes carry no time; taken as every builder takes it."""
    from jevs.adapters.table.outbox import OutboxUnitOfWork

    records = _records(aws, settings.records_table)
    return RelayDependencies(
        unit_of_work=lambda: OutboxUnitOfWork(records),
        publisher=_every_channel(
            aws, settings.delivery_queue_url, settings.declarations_queue_url, settings.notifications_queue_url
        ),
    )


@dataclass(frozen=True)
class DispatcherDependencies:
    unit_of_work: UnitOfWorkFactory
    sender: ChinaSender
    backoff: SqsBackoff
    parking: Parking
    max_receives: int
    retry: RetryPolicy
    circuit: CircuitPolicy
    # The longest one attempt takes: a message is attempted only with at least this long left in the invocation.
    attempt_seconds: float


def dispatcher(settings: DispatcherSettings, aws: AwsClients, clock: Clock | None = None) -> DispatcherDependencies:
    # Imported here: only the dispatcher calls China, and httpx is a large import every other function (each
    # importing this module) would pay for at its cold start.
    from jevs.adapters.china_sender import HttpChinaSender
    from jevs.adapters.kms_signer import KmsSigner
    from jevs.adapters.queues import SqsBackoff, SqsParking
    from jevs.adapters.secrets import china_tls
    from jevs.domain.breaker import CircuitPolicy
    from jevs.domain.delivery import RetryPolicy

    secret = settings.china_client_certificate_secret
    signer = KmsSigner(aws.kms, settings.signing_key_id)
    sender = HttpChinaSender(
        endpoint=settings.china_customs_endpoint,
        signer=signer,
        connect_timeout=settings.china_connect_timeout_seconds,
        read_timeout=settings.china_read_timeout_seconds,
        tls=china_tls(aws.secretsmanager, secret) if secret else None,
    )
    return DispatcherDependencies(
        unit_of_work=_units_of_work(_records(aws, settings.records_table), clock or SystemClock(), sealer=signer),
        sender=sender,
        backoff=SqsBackoff(aws.sqs, settings.delivery_queue_url),
        parking=SqsParking(aws.sqs, settings.delivery_dead_letter_queue_url),
        max_receives=settings.delivery_max_receives,
        retry=RetryPolicy(
            base_seconds=settings.delivery_backoff_base_seconds,
            max_seconds=settings.delivery_backoff_max_seconds,
            horizon=timedelta(seconds=settings.delivery_retry_horizon_seconds),
        ),
        circuit=CircuitPolicy(
            failures_to_open=settings.china_circuit_failures_to_open,
            cooldown=timedelta(seconds=settings.china_circuit_cooldown_seconds),
            max_cooldown=timedelta(seconds=settings.china_circuit_max_cooldown_seconds),
            # Longer than any attempt: a probe still under way is never taken over.
            probe_lease=timedelta(seconds=settings.attempt_seconds),
        ),
        attempt_seconds=settings.attempt_seconds,
    )


@dataclass(frozen=True)
class ReconcilerDependencies:
    unit_of_work: UnitOfWorkFactory
    # Every channel: deliveries to China, and the open work of the other two (declarations, notifications).
    publisher: Publisher
    bound: timedelta
    open_work: ReconcileOpenWork
    # Redrive jobs: where their messages come from and go.
    redrive: RedriveOutlets


def _dead_letters(settings: ReconcilerSettings, aws: AwsClients) -> Callable[[RedriveQueue], DeadLetters]:
    """Each queue's dead letters by the name a redrive job gives, with the queue they go back to (a new reader
    per job: it keeps the attributes of what it received)."""
    from jevs.adapters.queues import SqsDeadLetters
    from jevs.domain.recovery import RedriveQueue

    urls: dict[RedriveQueue, tuple[str, str | None]] = {
        RedriveQueue.DELIVERIES: (settings.delivery_dead_letter_queue_url, settings.delivery_queue_url),
        RedriveQueue.DECLARATIONS: (settings.declarations_dead_letter_queue_url, settings.declarations_queue_url),
        RedriveQueue.NOTIFICATIONS: (settings.notifications_dead_letter_queue_url, settings.notifications_queue_url),
        # Handled where they are: their outbox records are published, the failure itself goes nowhere.
        RedriveQueue.STREAM_FAILURES: (settings.stream_failures_queue_url, None),
    }

    def dead_letters(queue: RedriveQueue) -> DeadLetters:
        dead_letter_url, source_url = urls[queue]
        return SqsDeadLetters(aws.sqs, dead_letter_url=dead_letter_url, source_url=source_url)

    return dead_letters


def reconciler(settings: ReconcilerSettings, aws: AwsClients, clock: Clock | None = None) -> ReconcilerDependencies:
    from jevs.adapters.kms_signer import KmsSigner
    from jevs.adapters.stream import DynamoOutboxStream
    from jevs.service.reconciliation import ReconcileOpenWork
    from jevs.service.recovery import RedriveOutlets

    # Resuming a parked certificate delivery appends an event to its history, which the reconciler seals.
    sealer = KmsSigner(aws.kms, settings.signing_key_id)
    publisher = _every_channel(
        aws, settings.delivery_queue_url, settings.declarations_queue_url, settings.notifications_queue_url
    )
    return ReconcilerDependencies(
        unit_of_work=_units_of_work(_records(aws, settings.records_table), clock or SystemClock(), sealer=sealer),
        publisher=publisher,
        bound=timedelta(seconds=settings.reconciliation_bound_seconds),
        open_work=ReconcileOpenWork(
            declarations=timedelta(seconds=settings.open_declaration_bound_seconds),
            documents=timedelta(seconds=settings.open_documents_bound_seconds),
            outbox=timedelta(seconds=settings.open_outbox_bound_seconds),
            limit=settings.open_work_limit,
        ),
        redrive=RedriveOutlets(
            dead_letters=_dead_letters(settings, aws),
            publisher=publisher,
            stream=DynamoOutboxStream(aws.dynamodbstreams),
        ),
    )


@dataclass(frozen=True)
class MatcherDependencies:
    unit_of_work: UnitOfWorkFactory


def matcher(settings: MatcherSettings, aws: AwsClients, clock: Clock | None = None) -> MatcherDependencies:
    from jevs.adapters.kms_signer import KmsSigner

    # A decision appends an event to the certificate's history, which the matcher seals.
    sealer = KmsSigner(aws.kms, settings.signing_key_id)
    return MatcherDependencies(
        _units_of_work(_records(aws, settings.records_table), clock or SystemClock(), sealer=sealer)
    )


@dataclass(frozen=True)
class NotifierDependencies:
    unit_of_work: UnitOfWorkFactory
    outlets: DocumentOutlets


def notifier(settings: NotifierSettings, aws: AwsClients, clock: Clock | None = None) -> NotifierDependencies:
    from jevs.adapters.documents import S3ObjectStore, SesMailer
    from jevs.service.documents import DocumentOutlets

    return NotifierDependencies(
        unit_of_work=_units_of_work(_records(aws, settings.records_table), clock or SystemClock()),
        outlets=DocumentOutlets(
            documents=S3ObjectStore(aws.s3, settings.documents_bucket),
            exchange=S3ObjectStore(aws.s3, settings.exchange_bucket),
            mailer=SesMailer(aws.sesv2),
            sender=settings.sender_email,
            verification_base_url=settings.verification_base_url,
        ),
    )


@dataclass(frozen=True)
class OverseerDependencies:
    unit_of_work: UnitOfWorkFactory
    past_due_limit: int


def overseer(settings: OverseerSettings, aws: AwsClients, clock: Clock | None = None) -> OverseerDependencies:
    from jevs.adapters.kms_signer import KmsSigner

    # Flagging an application or a verification request past due appends an event, which the overseer seals.
    sealer = KmsSigner(aws.kms, settings.signing_key_id)
    return OverseerDependencies(
        _units_of_work(_records(aws, settings.records_table), clock or SystemClock(), sealer=sealer),
        settings.past_due_limit,
    )


SettingsT = TypeVar("SettingsT", bound=FunctionSettings)
DependenciesT = TypeVar("DependenciesT")


class LambdaEntry(Generic[SettingsT, DependenciesT]):
    """A Lambda entry point: the handler ``make_handler`` makes from the function's dependencies, built from the
    environment on the first invocation (never at import time, so a cold start pays only for what it uses) and
    reused for every invocation of the container.

    Under SnapStart (``snap_start``) the runtime hooks build it earlier and again: ``before_snapshot`` builds it, and
    does the rest of a first request's one-off work, so that the snapshot holds it; ``after_restore`` builds it anew
    for each restored copy, whose AWS clients, credentials and random state must be its own."""

    def __init__(
        self,
        settings: type[SettingsT],
        dependencies: Callable[[SettingsT, AwsClients], DependenciesT],
        make_handler: Callable[[DependenciesT], Handler],
    ) -> None:
        self._settings = settings
        self._dependencies = dependencies
        self._make_handler = make_handler
        self._handler: Handler | None = None
        # What the handler was built over (the tests of the hooks read it).
        self.built: DependenciesT | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        if self._handler is None:
            self._build()
        assert self._handler is not None  # built just now
        return self._handler(event, context)

    def _build(self) -> None:
        # What the container has so far (its modules, models, and then its clients with their service models) lives
        # as long as it does: frozen out of the cyclic collector's reach, so that no collection scans it again. A
        # client's service model is a large JSON document read into fresh objects, each read triggering collections
        # that scanned the whole import: 0.1-0.15 s of a restored API's first response (measured).
        gc.freeze()
        tracing = traced()
        self.built = self._dependencies(self._settings.from_environment(), AwsClients())
        self._handler = tracing(self._make_handler(self.built))
        gc.freeze()

    def before_snapshot(self, warm: Callable[[], None]) -> None:
        """SnapStart, before the snapshot: the handler built, then ``warm`` (the function's own one-off work), then
        every model JEVS deferred (``jevs.domain``), so that no restored copy builds one; all of it frozen out of the
        collector's reach (see ``_build``)."""
        self._build()
        warm()
        build_deferred_models()
        gc.freeze()

    def after_restore(self) -> None:
        """SnapStart, in each copy restored from the snapshot: nothing the copies would share. A new boto3 session
        (credentials resolved again, no connection from the snapshot), new clients and everything built over them
        (a signer's cached key, read at its own time), and the random module reseeded from the system's entropy.
        (``uuid4`` and ``secrets`` read the system's entropy on every call: nothing of theirs is in the snapshot.)"""
        random.seed()
        boto3.setup_default_session()
        self._build()


def build_deferred_models() -> None:
    """Builds every JEVS pydantic model and type adapter not built yet (``defer_build``, see ``jevs.domain``,
    ``jevs.domain.deferred`` and the API's ``functions.api.models``) among the modules imported so far. What was
    not imported holds nothing to build, and is not imported here: the outbox relay loads nothing of pydantic."""
    pydantic = sys.modules.get("pydantic")
    deferred = sys.modules.get("jevs.domain.deferred")
    if pydantic is None:
        return
    pending: list[type[Any]] = list(pydantic.BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith(("jevs.", "functions.")) and not model.__pydantic_complete__:
            model.model_rebuild()
    for adapter in deferred.MADE if deferred is not None else ():
        if not adapter.pydantic_complete:
            adapter.rebuild()


def lambda_entry(
    settings: type[SettingsT],
    dependencies: Callable[[SettingsT, AwsClients], DependenciesT],
    make_handler: Callable[[DependenciesT], Handler],
) -> LambdaEntry[SettingsT, DependenciesT]:
    """The Lambda entry point of a function (see ``LambdaEntry``)."""
    return LambdaEntry(settings, dependencies, make_handler)


def snap_start(entry: LambdaEntry[Any, Any], warm: Callable[[], None]) -> None:
    """Registers ``entry``'s SnapStart runtime hooks (a function the CDK stack publishes with SnapStart: the API and
    the dispatcher). ``snapshot_restore_py`` is the Lambda Python runtime's own module (PyPI's snapshot-restore-py
    in the venv); outside a SnapStart function the hooks are registered and never run."""
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(entry.before_snapshot, warm)
    register_after_restore(entry.after_restore)


def traced() -> Callable[[Handler], Handler]:
    """X-Ray tracing of a function (active in the CDK stack): Powertools' Tracer, which records each invocation and
    patches boto3, botocore and httpx so every AWS call and every call to China is a subsegment. Made on the first
    invocation in Lambda only (``lambda_entry``): making a Tracer imports the X-Ray SDK, which the local stack and
    the tests, calling the handler builders directly, never pay for; outside Lambda, or with
    ``POWERTOOLS_TRACE_DISABLED=true``, Powertools turns it off itself. Neither responses nor errors are put in
    the trace: they may quote commercial content (DESIGN.md §1).

    The Tracer needs ``aws_xray_sdk`` (``aws-lambda-powertools[tracer]``); without it the function runs untraced
    and says so, rather than failing every invocation."""
    if importlib.util.find_spec("aws_xray_sdk") is None:
        logging.getLogger(__name__).warning("tracing off: aws_xray_sdk is not installed")
        return lambda handler: handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer()

    def trace(handler: Handler) -> Handler:
        wrapped: Handler = tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)
        return wrapped

    return trace
