"""The one definition of every AWS resource JEVS uses: names, keys, indexes, streams.

The CDK stack (``infrastructure/``), the local stack (``infrastructure/local``) and the adapters here all
read it, so what runs on one machine is what deploys, and an adapter's key names cannot drift from the
table that holds them. Plain data, no AWS imports: the Lambda layer carries it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttributeType = Literal["S", "N"]


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True)
class IndexDefinition:
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute


@dataclass(frozen=True)
class TableDefinition:
    # The construct id in CDK and the prefix of the physical name.
    logical_id: str
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute
    indexes: tuple[IndexDefinition, ...] = ()
    stream_view: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None
    ttl_attribute: str | None = None
    # The environment variable through which functions learn the table's name.
    environment_variable: str = field(default="")

    def index(self, name: str) -> IndexDefinition:
        return next(index for index in self.indexes if index.name == name)


_LISTING_KEY = KeyAttribute("listing_key")

# Certificates, their versions, history events, outbox records and idempotency records share one table:
# one partition key holds a certificate's whole story, and one stream carries every outbox record.
RECORDS_TABLE = TableDefinition(
    logical_id="RecordsTable",
    name="jevs-records",
    partition_key=KeyAttribute("pk"),
    sort_key=KeyAttribute("sk"),
    indexes=(
        # Listing by who may see what (DESIGN.md §1); every index sorts by issue date then number.
        IndexDefinition("by-issuing-body", KeyAttribute("issuing_body"), _LISTING_KEY),
        IndexDefinition("by-exporter", KeyAttribute("exporter_business_number"), _LISTING_KEY),
        IndexDefinition("by-importing-country", KeyAttribute("importing_country"), _LISTING_KEY),
        # NZ Customs and ops list everything: one partition per issue year keeps partitions bounded.
        IndexDefinition("by-issue-year", KeyAttribute("issue_year"), _LISTING_KEY),
        # Sparse: only deliveries still PENDING carry these, so reconciliation reads just those, oldest first.
        IndexDefinition("by-pending-delivery", KeyAttribute("pending_delivery"), KeyAttribute("pending_since")),
        # Hosted issuing: what waits for an issuing body (goods registrations, signatories, applications),
        # oldest first; and, sparse, every application still undecided by its due time.
        IndexDefinition("by-work-queue", KeyAttribute("work_queue"), KeyAttribute("work_key")),
        # The same records by their exporter and kind, oldest first: an exporter lists its own a page at a time.
        IndexDefinition("by-exporter-work", KeyAttribute("exporter_work"), KeyAttribute("work_key")),
        IndexDefinition("by-open-application", KeyAttribute("open_application"), KeyAttribute("due_at")),
        # Sparse: declarations decided before their certificate existed, by the number they quote, until when they
        # wait for it (DESIGN.md §3: matched again when it is issued within 30 days).
        IndexDefinition("by-awaited-certificate", KeyAttribute("awaited_certificate"), KeyAttribute("awaited_until")),
        # Verification requests, newest first, for China Customs and NZ Customs (who see every one); an issuing
        # body lists those about its certificates through by-work-queue, and the overseer finds the unanswered
        # ones by due date through by-open-application.
        IndexDefinition("by-verification-request", KeyAttribute("verification_list"), KeyAttribute("verification_key")),
        # Sparse: work a commit left to be done asynchronously, by its kind (a declaration to match, a version's
        # documents to make, an outbox record to publish) and since when, while it is open: whoever finishes the work
        # clears it, and reconciliation queues again what stays open too long (DESIGN.md §6.1).
        IndexDefinition("by-open-work", KeyAttribute("open_work"), KeyAttribute("open_since")),
    ),
    # The outbox relay reads new outbox records from the stream (DESIGN.md §6.1).
    stream_view="NEW_AND_OLD_IMAGES",
    ttl_attribute="expires_at",
    environment_variable="JEVS_RECORDS_TABLE",
)

TABLES: tuple[TableDefinition, ...] = (RECORDS_TABLE,)

# The records table's partitions, by what they hold, each kind as the pattern its partition keys match (every
# kind the table has): jevs.adapters.table.items makes the keys from them (the pattern without its "*"), and the
# functions' IAM grants write only the partitions each needs (a dynamodb:LeadingKeys condition).
CERTIFICATE_PARTITIONS = "CERTIFICATE#*"  # a certificate's record, versions, events, usage ledger, deliveries
DECLARATION_PARTITIONS = "DECLARATION#*"  # a declaration, its revisions, its result's deliveries
EXPORTER_PARTITIONS = "EXPORTER#*"  # an exporter's goods registrations, signatories and applications
VERIFICATION_PARTITIONS = "VERIFICATION#*"  # a verification request China raised
COUNTER_PARTITIONS = "COUNTER#*"  # an issuing body's certificate-number counter of a year
IDEMPOTENCY_PARTITIONS = "IDEMPOTENCY#*"  # an idempotent request's first answer, by party and idempotency key
CIRCUIT_PARTITIONS = "CIRCUIT#*"  # a destination's circuit breaker (China Customs'), written by the dispatcher
REDRIVE_PARTITIONS = "REDRIVE#*"  # a redrive job of a dead-letter queue, and the messages it kept (quarantined)


@dataclass(frozen=True)
class QueueDefinition:
    """A work queue and its dead-letter queue (DESIGN.md §6.2, §6.6)."""

    logical_id: str
    name: str
    # The timeout of the function that consumes it: the queue's settings follow from it.
    consumer_timeout_seconds: int
    environment_variable: str
    retention_days: int = 4
    # After this many receives a message moves to the dead-letter queue.
    max_receive_count: int = 5
    # Longer than the source keeps messages, so nothing expires in the dead-letter queue first.
    dead_letter_retention_days: int = 14

    @property
    def visibility_timeout_seconds(self) -> int:
        # AWS's guidance for Lambda consumers: at least six times the function's timeout, so a message
        # is not received again while a retried batch is still being worked on.
        return 6 * self.consumer_timeout_seconds

    @property
    def dead_letter_name(self) -> str:
        return f"{self.name}-dlq"

    @property
    def dead_letter_environment_variable(self) -> str:
        return self.environment_variable.replace("_QUEUE_URL", "_DEAD_LETTER_QUEUE_URL")


DELIVERY_QUEUE = QueueDefinition(
    logical_id="DeliveryQueue",
    name="jevs-delivery-to-china",
    consumer_timeout_seconds=30,
    environment_variable="JEVS_DELIVERY_QUEUE_URL",
    # A delivery parks when its retry horizon (6 h) passes, not after a count of receives: its message comes back
    # for each attempt (about 45 in 6 h: backoff doubling from 2 s to at most 10 min) and for each wait on China's
    # open circuit (at most 12 an hour at the longest cool-down), so 250 receives outlast the horizon. The
    # dispatcher parks on the last receive anyway, before the queue would move a message on still PENDING.
    max_receive_count=250,
)
DECLARATIONS_QUEUE = QueueDefinition(
    logical_id="DeclarationsQueue",
    name="jevs-declarations",
    consumer_timeout_seconds=30,
    environment_variable="JEVS_DECLARATIONS_QUEUE_URL",
)
NOTIFICATIONS_QUEUE = QueueDefinition(
    logical_id="NotificationsQueue",
    name="jevs-notifications",
    # Rendering a PDF and sending an email take longer than a delivery.
    consumer_timeout_seconds=60,
    environment_variable="JEVS_NOTIFICATIONS_QUEUE_URL",
)
QUEUES: tuple[QueueDefinition, ...] = (DELIVERY_QUEUE, DECLARATIONS_QUEUE, NOTIFICATIONS_QUEUE)


@dataclass(frozen=True)
class BucketDefinition:
    logical_id: str
    # The local stack's bucket name; in AWS, CloudFormation names buckets (names are global).
    local_name: str
    environment_variable: str
    # Older versions of an object are kept this long, then expire.
    noncurrent_version_days: int


DOCUMENTS_BUCKET = BucketDefinition(
    logical_id="DocumentsBucket",
    local_name="jevs-documents",
    environment_variable="JEVS_DOCUMENTS_BUCKET",
    noncurrent_version_days=365,
)
EXCHANGE_BUCKET = BucketDefinition(
    logical_id="ExchangeBucket",
    local_name="jevs-nz-customs-exchange",
    environment_variable="JEVS_EXCHANGE_BUCKET",
    noncurrent_version_days=90,
)
BUCKETS: tuple[BucketDefinition, ...] = (DOCUMENTS_BUCKET, EXCHANGE_BUCKET)

# Where each certificate version's objects live. The notifier writes them, the API reads the PDFs, and the CDK
# stack grants each function exactly these prefixes. Keys are business keys (number and version), so writing a
# version's objects again replaces them with the same bytes, never adds a second copy.
CERTIFICATE_DOCUMENTS_PREFIX = "certificates/"  # documents bucket: the PDF of each version
EMAIL_MARKERS_PREFIX = "sent/"  # documents bucket: written once the applicant's email of a version went out
NZ_CUSTOMS_CERTIFICATES_PREFIX = "nz-customs/certificates/"  # exchange bucket: NZ Customs' data file
NZ_CUSTOMS_RESULTS_PREFIX = "nz-customs/declaration-results/"  # exchange bucket: its export entries' results
NZ_CUSTOMS_PREFERENCES_PREFIX = "nz-customs/preference-decisions/"  # exchange bucket: China's box 5 decisions
# Everything NZ Customs reads in the exchange bucket is under this one prefix (its cross-account role, its listing).
NZ_CUSTOMS_PREFIX = "nz-customs/"
# documents bucket: the documents of each answer to a verification request, written by the API function. Keyed
# by their SHA-256, so a retried answer writes the same object again rather than a second one.
VERIFICATION_ATTACHMENTS_PREFIX = "verification/"


def certificate_document_key(number: str, version: int) -> str:
    return f"{CERTIFICATE_DOCUMENTS_PREFIX}{number}/v{version}.pdf"


def email_marker_key(number: str, version: int) -> str:
    return f"{EMAIL_MARKERS_PREFIX}{number}/v{version}.json"


def verification_attachment_key(request_id: str, sha256: str) -> str:
    return f"{VERIFICATION_ATTACHMENTS_PREFIX}{request_id}/{sha256}"


def nz_customs_certificate_key(number: str, version: int) -> str:
    return f"{NZ_CUSTOMS_CERTIFICATES_PREFIX}{number}/v{version}.json"


def nz_customs_preference_key(number: str, declaration_id: str) -> str:
    return f"{NZ_CUSTOMS_PREFERENCES_PREFIX}{number}/{declaration_id}.json"


# The OAuth2 resource server of the API. Each party type has one scope under it, and each party's app client is
# allowed only its type's (Cognito names a custom scope <server>/<scope>): the CDK stack's Cognito pool, the local
# token endpoint and the API function's check of every token all take it from here.
OAUTH_RESOURCE_SERVER = "jevs"


def party_scope(party_type: str) -> str:
    """The one scope a token of a party of ``party_type`` (a ``PartyType`` value) carries, e.g. ``jevs/exporter``."""
    return f"{OAUTH_RESOURCE_SERVER}/{party_type}"


@dataclass(frozen=True)
class SigningKeyDefinition:
    """The asymmetric key JEVS signs what it sends to China with (ES256, DESIGN.md §6.3)."""

    logical_id: str
    alias: str
    key_spec: Literal["ECC_NIST_P256"]
    environment_variable: str
    # How long after a rotation the JWKS still lists a retired key (the API's JEVS_SIGNING_KEY_OVERLAP_DAYS).
    overlap_days: int = 30


SIGNING_KEY = SigningKeyDefinition(
    logical_id="SigningKey",
    alias="alias/jevs-signing",
    key_spec="ECC_NIST_P256",
    environment_variable="JEVS_SIGNING_KEY_ID",
)


# How many of each queue consumer SQS's event source runs at once; each function reserves as many
# (FunctionDefinition.reserved_concurrency), so a batch is never throttled and a backlog never takes more.
# The dispatcher: enough for bursts, gentle on China's endpoint.
DISPATCHER_MAX_CONCURRENCY = 10
# Two declarations quoting the same certificate race for its usage ledger, and the loser's transaction is
# cancelled and retried: a few concurrent matchers keep up with NZ and China's declarations without turning
# a burst into a storm of conflicting transactions.
MATCHER_MAX_CONCURRENCY = 5
# Rendering PDFs is the heaviest work JEVS does: the same modest cap keeps a backlog from starving the others.
NOTIFIER_MAX_CONCURRENCY = 5


@dataclass(frozen=True)
class LayerDefinition:
    """A Lambda layer of third-party dependencies: the distributions of requirements-lambda.lock it holds (each
    locked distribution is in exactly one layer), and any files of the domain package that only its users read,
    carried here instead of in the domain layer. ``make build`` writes it to build/layers/<name>; a function
    gets exactly the layers its definition names, besides the domain layer every function has."""

    logical_id: str
    name: str
    description: str
    distributions: tuple[str, ...]
    # Folders under layers/jevs/python (e.g. "jevs/documents/fonts"): Lambda extracts every layer of a function
    # into the same /opt, so they land beside the domain package's modules that read them.
    domain_data: tuple[str, ...] = ()

    @property
    def asset(self) -> str:
        return f"layers/{self.name}"


# What every function imports at its edges: Powertools (logs, metrics, the API's resolver), with the X-Ray SDK its
# Tracer needs.
COMMON_LAYER = LayerDefinition(
    logical_id="CommonLayer",
    name="common",
    description="JEVS common dependencies: Powertools and the X-Ray SDK",
    distributions=("aws-lambda-powertools", "aws-xray-sdk", "typing-extensions", "wrapt"),
)
# What every function but the outbox relay imports: the domain's models and identifiers (pydantic, python-stdnum,
# pycountry, zoneinfo's tzdata). The relay publishes each record as it was stored, and its settings are plain
# dataclasses (jevs.settings): it loads none of this.
MODELS_LAYER = LayerDefinition(
    logical_id="ModelsLayer",
    name="models",
    description="JEVS models: pydantic and identifiers",
    distributions=(
        "annotated-types",
        "pycountry",
        "pydantic",
        "pydantic-core",
        "python-stdnum",
        "typing-inspection",
        "tzdata",
    ),
)
# Signing with the KMS key and checking seals and signatures (ES256, JWKs): whoever appends history events or
# signs for China.
SIGNING_LAYER = LayerDefinition(
    logical_id="SigningLayer",
    name="signing",
    description="JEVS signing: cryptography and joserfc",
    distributions=("cffi", "cryptography", "joserfc", "pycparser"),
)
# The certificate PDF: reportlab, the Pillow it draws with, and the CJK font subset the PDF embeds.
PDF_LAYER = LayerDefinition(
    logical_id="PdfLayer",
    name="pdf",
    description="JEVS certificate PDF: reportlab, its accelerators, Pillow and the embedded font",
    distributions=("charset-normalizer", "pillow", "reportlab", "rl-accel"),
    domain_data=("jevs/documents/fonts",),
)
# Similar names (DESIGN.md §4): only the matcher compares them.
FUZZY_LAYER = LayerDefinition(
    logical_id="FuzzyLayer",
    name="fuzzy",
    description="JEVS fuzzy name matching: rapidfuzz",
    distributions=("rapidfuzz",),
)
# New Zealand's public holidays, for the one-working-day due time of an application.
HOLIDAYS_LAYER = LayerDefinition(
    logical_id="HolidaysLayer",
    name="holidays",
    description="JEVS working days: holidays",
    distributions=("holidays",),
)
# HTTPS to China Customs: only the dispatcher calls out.
HTTP_LAYER = LayerDefinition(
    logical_id="HttpLayer",
    name="http",
    description="JEVS HTTPS client: httpx",
    distributions=("anyio", "certifi", "h11", "httpcore", "httpx", "idna"),
)
LAYERS: tuple[LayerDefinition, ...] = (
    COMMON_LAYER,
    MODELS_LAYER,
    SIGNING_LAYER,
    PDF_LAYER,
    FUZZY_LAYER,
    HOLIDAYS_LAYER,
    HTTP_LAYER,
)


@dataclass(frozen=True)
class FunctionDefinition:
    logical_id: str
    # The folder under functions/; the handler is functions.<folder>.handler.handler.
    folder: str
    timeout_seconds: int
    memory_mb: int
    description: str
    # Lambda's reserved concurrency: at once what this function is guaranteed and the most it may run, so a
    # burst of one kind of work neither starves the others nor is starved by them. The account keeps what is not
    # reserved (RESERVED_CONCURRENCY_TOTAL) for everything else and must keep at least 100 unreserved.
    reserved_concurrency: int
    # The dependency layers it gets besides the domain layer: what its handler really imports, on every path it
    # takes (``make build`` fails when a module it imports is in none of them; README "Packaging").
    layers: tuple[LayerDefinition, ...]
    # Its code, the domain layer and its layers, unzipped, at most this many MiB (``make build`` checks): the size
    # measured when it was set plus room to grow by about a third, so a heavy new dependency is a decision.
    package_budget_mib: int
    # Lambda SnapStart: the function is published as a version restored from a snapshot of its initialised state (its
    # handler module imported, its dependencies built and warmed: jevs.bootstrap.snap_start), and what invokes it
    # invokes the version's alias (LIVE_ALIAS). For the functions whose cold starts someone waits on.
    snap_start: bool = False

    @property
    def handler(self) -> str:
        return f"functions.{self.folder}.handler.handler"

    @property
    def name(self) -> str:
        """The Lambda function's name (and its Powertools service, its log group's last part)."""
        return f"jevs-{self.folder.replace('_', '-')}"


API_FUNCTION = FunctionDefinition(
    logical_id="ApiFunction",
    folder="api",
    timeout_seconds=10,
    memory_mb=1024,
    description="JEVS HTTPS API: certificates, parties, projections",
    # Partners' requests: API Gateway lets through at most 200 a second (the stage's rate), about 100 in flight at
    # the function's slowest ordinary half second; queued work can never take these from them.
    reserved_concurrency=100,
    layers=(COMMON_LAYER, MODELS_LAYER, SIGNING_LAYER, HOLIDAYS_LAYER),
    package_budget_mib=66,  # 49.4 MiB when set
    # A partner's request waits on a cold start.
    snap_start=True,
)
DISPATCHER_FUNCTION = FunctionDefinition(
    logical_id="DispatcherFunction",
    folder="dispatcher",
    timeout_seconds=DELIVERY_QUEUE.consumer_timeout_seconds,
    memory_mb=512,
    description="JEVS dispatcher: signs and delivers each certificate version to China Customs",
    reserved_concurrency=DISPATCHER_MAX_CONCURRENCY,
    layers=(COMMON_LAYER, MODELS_LAYER, SIGNING_LAYER, HTTP_LAYER),
    package_budget_mib=59,  # 44.2 MiB when set
    # Instant information to China: a cold start delays every delivery of its batch.
    snap_start=True,
)
RECONCILER_FUNCTION = FunctionDefinition(
    logical_id="ReconcilerFunction",
    folder="reconciler",
    timeout_seconds=60,
    memory_mb=256,
    description="JEVS reconciliation: queues again deliveries China has not acknowledged and work left open too long, "
    "works redrives",
    # One run at a time: a run still working when the next minute's starts keeps it waiting (retried by Lambda)
    # rather than two runs requeueing the same deliveries.
    reserved_concurrency=1,
    layers=(COMMON_LAYER, MODELS_LAYER, SIGNING_LAYER),
    package_budget_mib=55,  # 40.9 MiB when set
)
# How often reconciliation runs; the bounds it applies are jevs.settings.ReconcilerSettings' (the deliveries' is
# explained at jevs.service.delivery.RECONCILIATION_BOUND). Every minute: the same runs work the redrive jobs
# operations start (infrastructure/cdk/delivery.py says why).
RECONCILIATION_SCHEDULE_MINUTES = 1
OUTBOX_RELAY_FUNCTION = FunctionDefinition(
    logical_id="OutboxRelayFunction",
    folder="outbox_relay",
    timeout_seconds=30,
    memory_mb=256,
    description="JEVS outbox relay: publishes outbox records from the table's stream to their queues",
    # One concurrent batch per stream shard (parallelisation factor 1): 10 covers a table of ten shards, far above
    # JEVS's write rate, and keeps a backlog's catch-up from taking the API's share.
    reserved_concurrency=10,
    layers=(COMMON_LAYER,),
    package_budget_mib=13,  # 9.6 MiB when set (24.5 MiB while it carried pydantic)
)
MATCHER_FUNCTION = FunctionDefinition(
    logical_id="MatcherFunction",
    folder="matcher",
    timeout_seconds=DECLARATIONS_QUEUE.consumer_timeout_seconds,
    memory_mb=512,
    description="JEVS matching: decides each customs declaration against its certificate and usage ledger",
    reserved_concurrency=MATCHER_MAX_CONCURRENCY,
    layers=(COMMON_LAYER, MODELS_LAYER, SIGNING_LAYER, FUZZY_LAYER),
    package_budget_mib=62,  # 46.3 MiB when set
)
NOTIFIER_FUNCTION = FunctionDefinition(
    logical_id="NotifierFunction",
    folder="notifier",
    timeout_seconds=NOTIFICATIONS_QUEUE.consumer_timeout_seconds,
    memory_mb=512,
    description="JEVS notifications: certificate PDFs, applicants' emails and NZ Customs' files",
    reserved_concurrency=NOTIFIER_MAX_CONCURRENCY,
    layers=(COMMON_LAYER, MODELS_LAYER, PDF_LAYER),
    package_budget_mib=77,  # 57.3 MiB when set
)
OVERSEER_FUNCTION = FunctionDefinition(
    logical_id="OverseerFunction",
    folder="overseer",
    timeout_seconds=60,
    memory_mb=256,
    description="JEVS overseer: flags applications still undecided past their one-working-day due time",
    # One run at a time, every 15 minutes.
    reserved_concurrency=1,
    layers=(COMMON_LAYER, MODELS_LAYER, SIGNING_LAYER),
    package_budget_mib=55,  # 40.9 MiB when set
)
# How often the past-due check runs: an application is flagged at most this long after its due time.
OVERSEER_SCHEDULE_MINUTES = 15
# The alias a SnapStart function is invoked by: its latest published version.
LIVE_ALIAS = "live"
FUNCTIONS: tuple[FunctionDefinition, ...] = (
    API_FUNCTION,
    OUTBOX_RELAY_FUNCTION,
    DISPATCHER_FUNCTION,
    RECONCILER_FUNCTION,
    MATCHER_FUNCTION,
    NOTIFIER_FUNCTION,
    OVERSEER_FUNCTION,
)
# What JEVS reserves in all: an account at Lambda's default quota of 1000 concurrent executions keeps 868 for
# everything else (AWS refuses a reservation that leaves fewer than 100 unreserved). An account whose quota is
# lower (new accounts may start at 10) must have it raised before the first deployment.
RESERVED_CONCURRENCY_TOTAL = sum(definition.reserved_concurrency for definition in FUNCTIONS)

# How the outbox relay reads the table's stream (DESIGN.md §6.1): small batches, a poison record isolated by
# halving the batch, a bounded number of retries, then the record's coordinates to a dead-letter queue.
STREAM_BATCH_SIZE = 25
STREAM_MAX_RETRIES = 10
STREAM_MAX_RECORD_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class FailureQueueDefinition:
    """Where the stream's event source mapping sends the coordinates of records it gave up on: a
    dead-letter queue for the stream, read by operators (and by the redrive of DESIGN.md §6.2)."""

    logical_id: str
    name: str
    environment_variable: str
    retention_days: int = 14


STREAM_FAILURES_QUEUE = FailureQueueDefinition(
    logical_id="StreamFailuresQueue",
    name="jevs-outbox-stream-failures",
    environment_variable="JEVS_STREAM_FAILURES_QUEUE_URL",
)

# Where a scheduled run of the reconciler or the overseer goes when it fails for good: EventBridge could not
# invoke the function, or Lambda's asynchronous retries all failed. Nothing redrives it: the next scheduled run
# does the same work again; the messages are evidence (which run, what error) beside the function's error alarm.
SCHEDULE_FAILURES_QUEUE = FailureQueueDefinition(
    logical_id="ScheduleFailuresQueue",
    name="jevs-schedule-failures",
    environment_variable="JEVS_SCHEDULE_FAILURES_QUEUE_URL",
)


@dataclass(frozen=True)
class RateLimitDefinition:
    """At most ``requests`` requests from one client address in any ``window_seconds``."""

    requests: int
    window_seconds: int


@dataclass(frozen=True)
class ThrottleDefinition:
    """A usage plan's throttle, as API Gateway applies it: a token bucket per party, ``burst`` requests deep,
    refilled at ``rate_per_second``; a request finding it empty is answered 429."""

    rate_per_second: float
    burst: int


# Each party's usage plan by its party type (``jevs.domain.parties.PartyType``'s values): in AWS the usage plan of
# its API key, locally the gateway's throttle of its client. Customs read and lodge in bulk; an exporter and
# operations call by hand or from a small system.
PARTY_THROTTLES: dict[str, ThrottleDefinition] = {
    "issuing_body": ThrottleDefinition(rate_per_second=20, burst=40),
    "exporter": ThrottleDefinition(rate_per_second=5, burst=10),
    "nz_customs": ThrottleDefinition(rate_per_second=50, burst=100),
    "cn_customs": ThrottleDefinition(rate_per_second=50, burst=100),
    "ops": ThrottleDefinition(rate_per_second=5, burst=10),
}


# Public verification (``GET /v1/verify/{number}``) needs no token, so it is throttled per client address at the
# edge instead: a person scanning certificates' QR codes never comes near the limit, a script walking certificate
# numbers does. In AWS a WAF rate-based rule (whose windows are 60, 120, 300 or 600 s); locally the gateway.
VERIFY_PATH_PREFIX = "/v1/verify/"
VERIFY_RATE_LIMIT = RateLimitDefinition(requests=100, window_seconds=60)


# The methods API Gateway passes on to the API function: those of the ``ANY`` method on ``/`` and ``/{proxy+}``.
# Any other (TRACE, CONNECT, one made up) matches no method, so API Gateway answers it itself, with this problem
# (its gateway responses, infrastructure/cdk/api.py); the local gateway answers the same.
PROXY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
UNSUPPORTED_METHOD_PROBLEM: dict[str, str | int] = {
    "slug": "method-not-allowed",
    "status": 405,
    "detail": "The API takes DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT only.",
}


# The REST API's binary media types. A function answers binary content base64-encoded; API Gateway sends the bytes
# only when the request's FIRST Accept media type matches one of these, and passes the base64 text on otherwise
# (``Accept: */*``, curl's default, gets text). The local gateway applies the same rule (``delivers_binary``), and
# the document route answers the PDF only to a request that will receive it as bytes.
BINARY_MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg")


def first_accepted_media_type(accept: str | None) -> str | None:
    """The first media range of an Accept header, lower case and without parameters: the one API Gateway reads."""
    first = (accept or "").split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first or None


def delivers_binary(accept: str | None, binary_media_types: tuple[str, ...] = BINARY_MEDIA_TYPES) -> bool:
    """Whether API Gateway sends a base64-encoded answer to a request with this Accept header as bytes: its first
    media type matches a binary media type, where ``*`` in one stands for anything (``image/*``, ``*/*``)."""
    first = first_accepted_media_type(accept)
    if first is None:
        return False
    kind, _, subtype = first.partition("/")
    for binary in binary_media_types:
        binary_kind, _, binary_subtype = binary.lower().partition("/")
        if binary_kind in ("*", kind) and binary_subtype in ("*", subtype):
            return True
    return False


# Every kind of problem (RFC 9457) JEVS answers, by slug, with its title (the same for every occurrence): the API
# function's (functions/api/problems.py and the domain's conflicts), the local gateway's and API Gateway's own
# (infrastructure/cdk/api.py). The ONE list: a problem's ``type`` is the page of the documentation site that
# explains it, ``<docs URL>/problems/<slug>/`` (docs/problems/<slug>.md; a test compares the pages with this).
PROBLEM_TYPES: dict[str, str] = {
    # The request as read.
    "malformed-json": "Malformed JSON",
    "invalid-request": "Invalid request",
    "validation-error": "Validation failed",
    "rule-violation": "Rule violated",
    "invalid-cursor": "Invalid cursor",
    "payload-too-large": "Payload too large",
    "unsupported-media-type": "Unsupported media type",
    "not-acceptable": "Not acceptable",
    "method-not-allowed": "Method not allowed",
    "not-found": "Not found",
    # Who asks.
    "unauthenticated": "Unauthenticated",
    "forbidden": "Forbidden",
    "invalid-api-key": "Invalid API key",
    "throttled": "Too many requests",
    # What is stored (409).
    "already-decided": "Already decided",
    "application-decided": "Application already decided",
    "certificate-not-issued": "Certificate not issued",
    "certificate-not-valid": "Certificate not valid",
    "certificate-number-exists": "Certificate number exists",
    "certificate-used": "Certificate used",
    "declaration-number-exists": "Declaration number exists",
    "idempotency-key-reused": "Idempotency key reused",
    "preference-already-decided": "Preference already decided",
    "verification-answered": "Verification already answered",
    "verification-closed": "Verification closed",
    "verification-gone": "Verification request gone",
    "verification-not-overdue": "Verification not overdue",
    # The service.
    "try-again": "Service busy",
    "bad-request": "Bad request",
    "length-required": "Length required",
    "internal-error": "Internal error",
    "bad-gateway": "Bad gateway",
    "gateway-timeout": "Gateway timeout",
}


def problem_type(docs_url: str, slug: str) -> str:
    """A problem's ``type``: the page of the documentation site at ``docs_url`` that explains it. A slug not in
    PROBLEM_TYPES is a KeyError, so no problem names a page that does not exist."""
    if slug not in PROBLEM_TYPES:
        raise KeyError(f"no problem type {slug!r} in PROBLEM_TYPES")
    return f"{docs_url.rstrip('/')}/problems/{slug}/"


def problem_instance(request_id: str) -> str:
    """A problem's ``instance``: the request it answers, as a URN of its request id (API Gateway's, or the local
    gateway's), the id a partner quotes to an operator and the correlation id of every log line of that request.
    A URN rather than the path and a fragment: the occurrence is the request, not the resource, and a URN neither
    pretends to open anything nor repeats a query string into the partner's error logs."""
    return f"urn:jevs:request:{request_id}"
