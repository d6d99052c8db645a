"""The whole of JEVS on one machine: ``python -m infrastructure.local.stack`` (``make run``).

It starts a moto server holding every AWS resource of ``jevs.resources`` (the tables the CDK stack
deploys, with the same names and keys), builds every function from settings of its own
(``infrastructure.local.functions``), puts the local API Gateway in front of the API function and pollers in
front of the others, all in this process against moto (in a process of its own,
``infrastructure.local.aws_server``) as they run in Lambda against AWS. It prints where everything is, then serves
until Ctrl-C or SIGTERM.

Ports and the local schedules come from the environment:

``JEVS_API_PORT``   the API, its docs and the token endpoint (default 8080)
``JEVS_MOTO_PORT``  the moto server, i.e. the local AWS endpoint (default 4566)
``JEVS_LAMBDA_PORT``  Lambda's Invoke API for the functions here (default 4567; ``jevs reconcile`` calls it)
``JEVS_RECONCILE_EVERY_SECONDS``  how often reconciliation runs (default 60)
``JEVS_OVERSEE_EVERY_SECONDS``    how often the past-due check of applications runs (default 60)
``JEVS_VERIFY_RATE_LIMIT``        public verifications one address may ask for a minute (default 1000)
``JEVS_PARTY_THROTTLE_SCALE``     each party's usage-plan throttle (rate and burst) times this (default 1: as in AWS)

``0`` picks a free port (the end-to-end tests do).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3
import httpx
from botocore.config import Config

from infrastructure.local.aws_server import SENT_EMAILS_PATH, AwsServer
from infrastructure.local.china_customs import ChinaCustomsSimulator
from infrastructure.local.functions import FunctionSet, LocalOptions, build_functions
from infrastructure.local.gateway import SITE_PATH, AwsIdentity, Gateway, LocalLambdaContext
from infrastructure.local.lambda_invoke import LambdaInvokeServer
from infrastructure.local.pollers import RECONCILIATION_RULE, Poller, QueuePoller, Schedule, StreamPoller
from infrastructure.local.pollers import Handler as EventHandler
from infrastructure.local.provision import LOCAL_SENDER_EMAIL, Provisioned, create_resources
from infrastructure.local.serving import log_to_console, stop_on_signal
from infrastructure.local.tokens import PARTIES_FILE, TOKEN_PATH, Client, load_clients
from jevs.adapters.aws import AwsClients, AwsEndpoint
from jevs.resources import (
    API_FUNCTION,
    DISPATCHER_FUNCTION,
    FUNCTIONS,
    MATCHER_FUNCTION,
    NOTIFIER_FUNCTION,
    OUTBOX_RELAY_FUNCTION,
    OVERSEER_FUNCTION,
    PARTY_THROTTLES,
    RECONCILER_FUNCTION,
    RECORDS_TABLE,
    TABLES,
    VERIFY_RATE_LIMIT,
    FunctionDefinition,
    RateLimitDefinition,
    ThrottleDefinition,
)

logger = logging.getLogger(__name__)

API_PORT_VARIABLE = "JEVS_API_PORT"
MOTO_PORT_VARIABLE = "JEVS_MOTO_PORT"
LAMBDA_PORT_VARIABLE = "JEVS_LAMBDA_PORT"
DEFAULT_API_PORT = 8080
# The port AWS emulators conventionally use (LocalStack's edge port), so tools set up for local AWS find moto.
DEFAULT_MOTO_PORT = 4566
# Beside moto's: what ``jevs``'s local profile calls to invoke a function (moto's Lambda would need Docker).
DEFAULT_LAMBDA_PORT = 4567
CHINA_ENDPOINT_VARIABLE = "JEVS_CHINA_CUSTOMS_ENDPOINT"
# How often the local schedule runs reconciliation, and works the redrive jobs (EventBridge: every minute in AWS).
RECONCILE_EVERY_VARIABLE = "JEVS_RECONCILE_EVERY_SECONDS"
DEFAULT_RECONCILE_EVERY_SECONDS = 60
# How often the local schedule runs the past-due check of applications (every 15 minutes in AWS).
OVERSEE_EVERY_VARIABLE = "JEVS_OVERSEE_EVERY_SECONDS"
DEFAULT_OVERSEE_EVERY_SECONDS = 60
# Public verifications one client address may ask for in the window of the deployed API's WAF rule (a minute). Ten
# times AWS's by default: here every client, the browser, the demo and every test, is the one address 127.0.0.1.
VERIFY_RATE_LIMIT_VARIABLE = "JEVS_VERIFY_RATE_LIMIT"
DEFAULT_VERIFY_RATE_LIMIT = 10 * VERIFY_RATE_LIMIT.requests
# Each party is throttled by its usage plan's definition (jevs.resources.PARTY_THROTTLES), as in AWS; a scale
# multiplies rate and burst, for tests that must never meet the limit.
PARTY_THROTTLE_SCALE_VARIABLE = "JEVS_PARTY_THROTTLE_SCALE"
HOST = "127.0.0.1"
# The example certificate of the API document (its submission example), which the banner offers to curl.
EXAMPLE_CERTIFICATE = Path(__file__).parents[2] / "functions" / "api" / "examples" / "certificate.json"
# The documentation site ``make docs`` builds; the gateway serves it at /site/ when it is there.
SITE_FOLDER = Path(__file__).resolve().parents[2] / "build" / "site"

# Moto accepts any credentials; fixed ones keep a developer's real AWS credentials out of every request.
_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class PortInUse(RuntimeError):
    pass


def configured_port(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65_535:
        raise ValueError(f"{variable}={raw!r} is not a port: give 1-65535, or 0 for any free port")
    return int(raw)


def configured_seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not a number of seconds") from None


def configured_verify_rate_limit() -> RateLimitDefinition:
    raw = os.environ.get(VERIFY_RATE_LIMIT_VARIABLE, "").strip()
    if raw and (not raw.isdigit() or int(raw) < 1):
        raise ValueError(f"{VERIFY_RATE_LIMIT_VARIABLE}={raw!r} is not a number of requests: give 1 or more")
    requests = int(raw) if raw else DEFAULT_VERIFY_RATE_LIMIT
    return RateLimitDefinition(requests=requests, window_seconds=VERIFY_RATE_LIMIT.window_seconds)


def configured_party_throttles(scale: float | None = None) -> dict[str, ThrottleDefinition]:
    """The usage plans' throttles by party type, times ``scale`` (None: ``JEVS_PARTY_THROTTLE_SCALE``, or 1)."""
    if scale is None:
        raw = os.environ.get(PARTY_THROTTLE_SCALE_VARIABLE, "").strip()
        try:
            scale = float(raw) if raw else 1.0
        except ValueError:
            raise ValueError(f"{PARTY_THROTTLE_SCALE_VARIABLE}={raw!r} is not a number") from None
    if not scale > 0:
        raise ValueError(f"a throttle scale is above 0, not {scale}")
    return {
        party_type: ThrottleDefinition(throttle.rate_per_second * scale, max(1, round(throttle.burst * scale)))
        for party_type, throttle in PARTY_THROTTLES.items()
    }


def _check_free(port: int, variable: str) -> None:
    """Fail fast with a useful message: moto's threaded server would wait forever on a port it cannot bind."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise PortInUse(
                f"{HOST}:{port} is in use ({error.strerror}); set {variable} to another port, or to 0 for any free one"
            ) from None


class LocalStack:
    """moto, every function, the gateway in front of the API and pollers in front of the rest.
    ``with LocalStack() as stack:`` or ``start()``/``stop()``.

    Ports left as None come from ``JEVS_API_PORT``, ``JEVS_MOTO_PORT`` and ``JEVS_LAMBDA_PORT``; 0 picks a free one.
    Each function gets settings of its own (``infrastructure.local.functions``); ``overrides`` changes a setting for
    every function that has it (the tests shorten timeouts). The pollers feed the functions only while the stack is
    ``active`` (from the start unless ``start_active=False``): a process that does other work beside a running
    stack, such as a pytest session with other tiers, opens it per use with ``active()``. ``quiet`` leaves the
    functions' logs at warnings (the walkthrough prints its own story).
    """

    def __init__(
        self,
        *,
        api_port: int | None = None,
        moto_port: int | None = None,
        lambda_port: int | None = None,
        parties_file: Path = PARTIES_FILE,
        identity: AwsIdentity | None = None,
        overrides: Mapping[str, Any] | None = None,
        start_active: bool = True,
        reconcile_every_seconds: float | None = None,
        oversee_every_seconds: float | None = None,
        quiet: bool = False,
        party_throttle_scale: float | None = None,
    ) -> None:
        if quiet:
            # The functions log through Powertools loggers named after their services.
            for definition in FUNCTIONS:
                logging.getLogger(definition.name).setLevel(logging.WARNING)
        self._api_port = configured_port(API_PORT_VARIABLE, DEFAULT_API_PORT) if api_port is None else api_port
        self._moto_port = configured_port(MOTO_PORT_VARIABLE, DEFAULT_MOTO_PORT) if moto_port is None else moto_port
        self._lambda_port = (
            configured_port(LAMBDA_PORT_VARIABLE, DEFAULT_LAMBDA_PORT) if lambda_port is None else lambda_port
        )
        self._overrides = dict(overrides or {})
        self._start_active = start_active
        self._reconcile_every = reconcile_every_seconds
        self._oversee_every = oversee_every_seconds
        self._party_throttles = configured_party_throttles(party_throttle_scale)
        self.identity = identity or AwsIdentity()
        # Each function's timeout, as its context reports it, by function name (a test may shorten one).
        self.function_timeouts: dict[str, float] = {
            f"jevs-{definition.folder.replace('_', '-')}": definition.timeout_seconds for definition in FUNCTIONS
        }
        self.clients = load_clients(parties_file)
        self.aws_url = ""
        self._moto: AwsServer | None = None
        self._gateway: Gateway | None = None
        self._lambda: LambdaInvokeServer | None = None
        self._resources: Provisioned | None = None
        self._functions: FunctionSet | None = None
        # China Customs: the stack's own simulator, unless JEVS_CHINA_CUSTOMS_ENDPOINT names another endpoint
        # (a partner's test system).
        self._china_endpoint = os.environ.get(CHINA_ENDPOINT_VARIABLE)
        self.china: ChinaCustomsSimulator | None = None
        self.china_endpoint = ""
        self.pollers: dict[str, Poller] = {}
        # Open while the pollers may invoke the functions.
        self._active = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Self:
        _check_free(self._moto_port, MOTO_PORT_VARIABLE)
        _check_free(self._api_port, API_PORT_VARIABLE)
        _check_free(self._lambda_port, LAMBDA_PORT_VARIABLE)
        try:
            self._start_moto()
            self._resources = create_resources(self.aws_client)
            # The gateway listens first: the functions learn its URL (the PDF's QR code, China's JWKS).
            self._gateway = Gateway(
                self._invoke_api,
                self.clients,
                host=HOST,
                port=self._api_port,
                identity=self.identity,
                verify_rate_limit=configured_verify_rate_limit(),
                party_throttles=self._party_throttles,
                site=SITE_FOLDER,
            )
            self._start_china_customs()
            options = LocalOptions(
                parties=json.dumps([client.registration() for client in self.clients]),
                china_customs_endpoint=self.china_endpoint,
                verification_base_url=self.api_url,
                docs_url=self._gateway.docs_url,
                overrides=self._overrides,
            )
            aws = AwsClients(AwsEndpoint(self.aws_url, self.identity.region))
            self._functions = build_functions(self._resources, options, aws)
            self._gateway.start()
            self._start_lambda()
            if self._start_active:
                self._active.set()
            self._start_pollers()
        except BaseException:
            self.stop()
            raise
        logger.info("local stack up: API %s, AWS %s, Lambda %s", self.api_url, self.aws_url, self.lambda_url)
        return self

    def stop(self) -> None:
        """Stop the pollers, China Customs, the Lambda Invoke API, the gateway, then moto. Safe to call more than
        once."""
        self._active.clear()
        for poller in self.pollers.values():
            poller.stop()
        self.pollers = {}
        if self.china is not None:
            self.china.stop()
            self.china = None
        if self._lambda is not None:
            self._lambda.stop()
            self._lambda = None
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @contextmanager
    def active(self) -> Iterator[None]:
        """The pollers feed the functions for the duration (a no-op if they already do)."""
        if self._active.is_set():
            yield
            return
        self._active.set()
        try:
            yield
        finally:
            self._active.clear()

    def _invoke_api(self, event: dict[str, Any], context: Any) -> Any:
        return self.functions.api(event, context)

    def _start_moto(self) -> None:
        # A process of its own, so each stack starts from nothing (moto keeps its state per process).
        self._moto = AwsServer(HOST, self._moto_port)
        self.aws_url = self._moto.start()

    def _start_china_customs(self) -> None:
        if self._china_endpoint:
            self.china_endpoint = self._china_endpoint
            return
        # It verifies every signature against the JWKS JEVS publishes, fetched over HTTP like a partner.
        self.china = ChinaCustomsSimulator(f"{self.api_url}/.well-known/jwks.json", host=HOST).start()
        self.china_endpoint = self.china.endpoint_url

    def _context(self, function_name: str) -> LocalLambdaContext:
        """A fresh invocation's context for the function, with its timeout."""
        timeout_ms = int(self.function_timeouts[function_name] * 1000)
        return LocalLambdaContext(
            replace(self.identity, function_name=function_name), str(uuid.uuid4()), timeout_ms=timeout_ms
        )

    def _start_lambda(self) -> None:
        """Lambda's Invoke API for every function, by its name as deployed."""
        functions = self.functions
        handlers = {
            API_FUNCTION.name: self._invoke_api,
            OUTBOX_RELAY_FUNCTION.name: functions.relay,
            DISPATCHER_FUNCTION.name: functions.dispatcher,
            RECONCILER_FUNCTION.name: functions.reconciler,
            MATCHER_FUNCTION.name: functions.matcher,
            NOTIFIER_FUNCTION.name: functions.notifier,
            OVERSEER_FUNCTION.name: functions.overseer,
        }
        self._lambda = LambdaInvokeServer(handlers, self._context, host=HOST, port=self._lambda_port).start()

    def _start_pollers(self) -> None:
        """What Lambda's event source mappings and EventBridge do in AWS: feed each function its events."""
        functions, resources = self.functions, self.resources
        context = self._context

        dynamodb = self.aws_client("dynamodb")
        stream_arn = dynamodb.describe_table(TableName=RECORDS_TABLE.name)["Table"]["LatestStreamArn"]
        sqs = self.aws_client("sqs")

        def queue_poller(queue_url: str, function: FunctionDefinition, handler: EventHandler) -> QueuePoller:
            # What the function's SQS event source mapping does in AWS: batches of 10, partial failures.
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
            return QueuePoller(
                sqs=sqs,
                queue_url=queue_url,
                queue_arn=attributes["QueueArn"],
                function_name=function.name,
                handler=handler,
                context=context,
                gate=self._active,
            )

        self.pollers = {
            "relay": StreamPoller(
                streams=self.aws_client("dynamodbstreams"),
                stream_arn=stream_arn,
                handler=functions.relay,
                context=context,
                gate=self._active,
            ),
            "dispatcher": queue_poller(resources.delivery.queue, DISPATCHER_FUNCTION, functions.dispatcher),
            "matcher": queue_poller(resources.declarations.queue, MATCHER_FUNCTION, functions.matcher),
            "notifier": queue_poller(resources.notifications.queue, NOTIFIER_FUNCTION, functions.notifier),
            "reconciler": Schedule(
                rule_name=RECONCILIATION_RULE,
                function_name=RECONCILER_FUNCTION.name,
                handler=functions.reconciler,
                context=context,
                interval_seconds=self._reconcile_every
                or configured_seconds(RECONCILE_EVERY_VARIABLE, DEFAULT_RECONCILE_EVERY_SECONDS),
                account=self.identity.account_id,
                region=self.identity.region,
                gate=self._active,
            ),
            "overseer": Schedule(
                rule_name="jevs-past-due",
                function_name=OVERSEER_FUNCTION.name,
                handler=functions.overseer,
                context=context,
                interval_seconds=self._oversee_every
                or configured_seconds(OVERSEE_EVERY_VARIABLE, DEFAULT_OVERSEE_EVERY_SECONDS),
                account=self.identity.account_id,
                region=self.identity.region,
                gate=self._active,
            ),
        }
        for poller in self.pollers.values():
            poller.start()

    def aws_client(self, service: str) -> Any:
        """A boto3 client for the stack's moto server."""
        return boto3.client(
            service,  # type: ignore[call-overload]  # any service of jevs.resources
            endpoint_url=self.aws_url,
            region_name=self.identity.region,
            aws_access_key_id=_LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(account_id_endpoint_mode="disabled"),
        )

    def sent_emails(self) -> list[str]:
        """Every email the functions sent through the local SES, oldest first, each as the raw MIME message it was
        sent as (``email.message_from_string(raw, policy=email.policy.default)`` reads one). moto keeps them in
        its process (``infrastructure.local.aws_server``); nothing is delivered anywhere."""
        if self._moto is None:
            raise RuntimeError("the local stack is not running")
        account = self.aws_client("sts").get_caller_identity()["Account"]
        where = {"account": account, "region": self.identity.region}
        response = httpx.get(f"{self.aws_url}{SENT_EMAILS_PATH}", params=where, timeout=10)
        response.raise_for_status()
        sent: list[str] = response.json()
        return sent

    # -- where things are ---------------------------------------------------------------------------

    @property
    def resources(self) -> Provisioned:
        if self._resources is None:
            raise RuntimeError("the local stack is not running")
        return self._resources

    @property
    def functions(self) -> FunctionSet:
        if self._functions is None:
            raise RuntimeError("the local stack is not running")
        return self._functions

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise RuntimeError("the local stack is not running")
        return self._gateway

    @property
    def lambda_url(self) -> str:
        """Where Lambda's Invoke API answers for the functions here (boto3's ``endpoint_url``)."""
        if self._lambda is None:
            raise RuntimeError("the local stack is not running")
        return self._lambda.url

    @property
    def api_url(self) -> str:
        return self.gateway.base_url

    @property
    def token_url(self) -> str:
        return f"{self.api_url}{TOKEN_PATH}"

    @property
    def docs_url(self) -> str:
        return f"{self.api_url}/docs"

    @property
    def site_url(self) -> str:
        """The documentation site (``make docs``), where the problem types of this stack's answers open."""
        return f"{self.api_url}{SITE_PATH}/"

    @property
    def openapi_url(self) -> str:
        return f"{self.api_url}/openapi.json"

    def client(self, client_id: str) -> Client:
        for client in self.clients:
            if client.client_id == client_id:
                return client
        raise KeyError(client_id)

    def token(self, client_id: str) -> str:
        """A bearer token for the demo client ``client_id``, from the token endpoint (HTTP Basic, client
        credentials), as a partner gets one."""
        client = self.client(client_id)
        response = httpx.post(
            self.token_url,
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.client_secret),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def banner(stack: LocalStack) -> str:
    """What a newcomer needs to start calling the API, in the order they need it."""
    issuer = next(client for client in stack.clients if client.party.get("type") == "issuing_body")
    try:
        example = os.path.relpath(EXAMPLE_CERTIFICATE)
    except ValueError:  # another drive on Windows
        example = str(EXAMPLE_CERTIFICATE)
    number = json.loads(EXAMPLE_CERTIFICATE.read_text(encoding="utf-8"))["certificate_number"]
    certificate_url = f"{stack.api_url}/v1/certificates/{number}"
    width = max(len(client.client_id) for client in stack.clients)
    secret_width = max(len(client.client_secret) for client in stack.clients)
    parties = "\n".join(
        f"  {client.client_id:<{width}}  {client.client_secret:<{secret_width}}  "
        f"{client.party.get('type', ''):<13} {client.party.get('id', '')}"
        for client in stack.clients
    )
    tables = ", ".join(table.name for table in TABLES)
    china = (
        f"{stack.china.endpoint_url}   (simulator; faults at {stack.china.url}/_control/faults)"
        if stack.china is not None
        else f"{stack.china_endpoint}   (from {CHINA_ENDPOINT_VARIABLE})"
    )
    bearer = '-H "Authorization: Bearer $TOKEN"'
    credentials = f"{issuer.client_id}:{issuer.client_secret}"
    default_url = f"http://{HOST}:{DEFAULT_API_PORT}"
    demo = "make demo" if stack.api_url == default_url else f"JEVS_API_URL={stack.api_url} make demo"
    return f"""
JEVS is running on this machine.

  API             {stack.api_url}
  Swagger UI      {stack.docs_url}
  OpenAPI 3.1     {stack.openapi_url}
  Documentation   {stack.site_url}   (after make docs)
  Token endpoint  {stack.token_url}   (OAuth2 client credentials, HTTP Basic)
  AWS (moto)      {stack.aws_url}   (tables: {tables})
  Lambda Invoke   {stack.lambda_url}   (the functions here; `jevs reconcile` runs reconciliation now)
  China Customs   {china}
  Email (SES)     from {LOCAL_SENDER_EMAIL}, kept by moto (nothing is delivered)

Demo parties (credentials for localhost only):
  {"client id":<{width}}  {"client secret":<{secret_width}}  {"party type":<13} party id
{parties}

Try it (from the repository root):
  # a token for the issuing body
  curl -s -u {credentials} -d grant_type=client_credentials {stack.token_url}
  # the same, kept in $TOKEN for the calls below
  TOKEN=$(curl -s -u {credentials} -d grant_type=client_credentials {stack.token_url} \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # submit the example certificate (the same Idempotency-Key and body again get the same answer)
  curl -s -w '\\n' -X POST {stack.api_url}/v1/certificates {bearer} -H 'Content-Type: application/json' \\
    -H 'Idempotency-Key: example-{number}' --data @{example}
  # read it, then its history with the hash chain verified
  curl -s -w '\\n' {certificate_url} {bearer}
  curl -s -w '\\n' {certificate_url}/history {bearer}
  # what the local DynamoDB holds (with the AWS CLI, if you have it)
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region {stack.identity.region} \\
    --endpoint-url {stack.aws_url} dynamodb scan --table-name {TABLES[0].name}

`{demo}` walks through the whole mission against this stack; `make redrive` puts parked deliveries back
(REDRIVE_QUEUE=declarations, notifications or stream-failures for another dead-letter queue).
Ctrl-C stops everything.
"""


def main() -> int:
    # Reads emit no business metric, and Powertools warns about that on every one: noise in a console.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    log_to_console()
    stopping = stop_on_signal()
    try:
        stack = LocalStack().start()
    except (ValueError, PortInUse, OSError) as error:
        print(f"jevs: cannot start the local stack: {error}", file=sys.stderr)
        return 1
    try:
        print(banner(stack), flush=True)
        stopping.wait()
        print("\nStopping...", flush=True)
    finally:
        stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
