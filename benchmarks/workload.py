"""Each function's real handler over a batch of representative events, each function in a fresh process of its own
(``benchmarks.handler_process``), against a local stack's moto server and China Customs simulator in this process.

``Workload`` starts the stack (no pollers: nothing runs but what it hands a process), seeds it through the API
function in this process (certificates, the goods registration and signatory an application quotes), and makes
each function's events from what is stored and queued when that function's turn comes: the outbox relay gets the
table's stream, then the dispatcher, the matcher and the notifier get what the relay queued, then the API its
requests (reads, submissions, declarations, an application, public verification), then the reconciler and the
overseer their schedules. The process answers what the handler imported and how much memory it took.

What it serves: the proof that each function runs on its own Lambda layers only (tests/integration/
test_function_layers.py: every import outside them refused), and ``benchmarks.memory``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from infrastructure.build import RUNTIME_PROVIDED_MODULES
from infrastructure.local.functions import LocalOptions, function_settings
from infrastructure.local.request_bodies import (
    application_payload,
    certificate_issued_on,
    declaration_payload,
    goods_payload,
    signatory_payload,
    today_in_new_zealand,
)
from infrastructure.local.stack import LocalStack
from jevs.resources import (
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    FUNCTIONS,
    NOTIFICATIONS_QUEUE,
    RECORDS_TABLE,
    STREAM_BATCH_SIZE,
    FunctionDefinition,
    QueueDefinition,
    party_scope,
)
from tests.factories import LambdaContext, api_event, sqs_event

ROOT = Path(__file__).resolve().parents[1]
# The order the functions take their turns in: each consumes what the ones before it left.
ORDER = ("outbox_relay", "dispatcher", "matcher", "notifier", "api", "reconciler", "overseer")
# SQS batches as the event source mappings take them (infrastructure/cdk: 10 for every queue).
SQS_BATCH = 10

ISSUING_BODY = "local-akl-chamber"
EXPORTER = "local-kauri-dairy"
CN_CUSTOMS = "local-cn-customs"
NZ_CUSTOMS = "local-nz-customs"
OPS = "local-ops"
_SCOPES = {
    ISSUING_BODY: "issuing_body",
    EXPORTER: "exporter",
    CN_CUSTOMS: "cn_customs",
    NZ_CUSTOMS: "nz_customs",
    OPS: "ops",
}
_SETTINGS_KEY = {"outbox_relay": "relay"}


@dataclass(frozen=True)
class HandlerRun:
    """One function's batch in a fresh process: what it imported, what failed, what memory it took."""

    folder: str
    invocations: int
    records: int  # events' records (SQS messages, stream records), or invocations for the API and schedules
    modules: frozenset[str]  # top-level modules it loaded, beyond the interpreter's own start
    refused: frozenset[str]  # top-level modules it tried to import and was refused (``allowed`` given)
    failures: tuple[str, ...]
    peak_rss_bytes: int
    python_peak_bytes: int | None
    import_seconds: float
    handler_seconds: float
    import_cpu_seconds: float  # the process's CPU time up to the handler's import, interpreter start included
    handler_cpu_seconds: float  # the process's CPU time over the batch

    @property
    def distributions(self) -> frozenset[str]:
        """The distributions of ``modules``, by normalised name, leaving out what the Lambda runtime ships."""
        found: set[str] = set()
        for module in self.modules - set(RUNTIME_PROVIDED_MODULES):
            found.update(_normalise(name) for name in _PACKAGES.get(module, ()))
        return frozenset(found - {"jevs"})


_PACKAGES = importlib.metadata.packages_distributions()


def _normalise(name: str) -> str:
    return name.replace("_", "-").replace(".", "-").lower()


def modules_of(distributions: frozenset[str]) -> frozenset[str]:
    """The top-level modules the given distributions install (in this environment)."""
    wanted = {_normalise(name) for name in distributions}
    return frozenset(module for module, names in _PACKAGES.items() if wanted & {_normalise(n) for n in names})


def layer_distributions(definition: FunctionDefinition) -> frozenset[str]:
    return frozenset(_normalise(name) for layer in definition.layers for name in layer.distributions)


def allowed_modules(definition: FunctionDefinition) -> frozenset[str]:
    """What the function may import in Lambda: its layers' modules, what the runtime ships, its own packages."""
    return modules_of(layer_distributions(definition)) | set(RUNTIME_PROVIDED_MODULES) | {"jevs", "functions"}


def _definition(folder: str) -> FunctionDefinition:
    return next(definition for definition in FUNCTIONS if definition.folder == folder)


def quiet_stack(*, party_throttle_scale: float | None = None) -> LocalStack:
    """A local stack for a benchmark: ``make run``'s, on free ports, quiet, its functions fed only while a benchmark
    turns them on, its schedules an hour apart (no run of its own in the middle of a measurement)."""
    return LocalStack(
        api_port=0,
        moto_port=0,
        lambda_port=0,
        start_active=False,
        quiet=True,
        party_throttle_scale=party_throttle_scale,
        reconcile_every_seconds=3600,
        oversee_every_seconds=3600,
    )


class Workload:
    """``with Workload(certificates=n) as workload: workload.run("matcher")``, the functions in ``ORDER``."""

    def __init__(self, *, certificates: int, requests: int | None = None, schedules: int = 10) -> None:
        self.certificates = certificates
        self.requests = requests if requests is not None else certificates
        self.schedules = schedules
        self.stack = quiet_stack()
        self._numbers = (f"11.1234.{serial:05d}" for serial in itertools.count(20_000))
        self._keys = itertools.count(1)
        self.issued: list[str] = []
        self._stream_position: dict[str, str] = {}
        self._application_quotes: tuple[str, str] | None = None

    def __enter__(self) -> Self:
        self.stack.start()
        try:
            # The API function prints a metrics document per call to stdout: not the bench's output.
            with contextlib.redirect_stdout(io.StringIO()):
                self._seed()
        except BaseException:
            self.stack.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stack.stop()

    # -- the parent's own calls, through the API function in this process ----------------------------------------

    def _event(
        self,
        method: str,
        path: str,
        client: str | None,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if method == "POST":
            all_headers.setdefault("Idempotency-Key", f"workload-{uuid.uuid4()}")
        return api_event(
            method,
            path,
            body=body,
            client_id=client,
            scope=party_scope(_SCOPES[client]) if client else None,
            query=query,
            headers=all_headers,
        )

    def _call(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.stack.functions.api(event, LambdaContext())
        assert response["statusCode"] < 300, (event["path"], response["statusCode"], response.get("body"))
        return json.loads(response["body"]) if response.get("body") else {}

    def _certificate(self) -> dict[str, Any]:
        number = next(self._numbers)
        return certificate_issued_on(today_in_new_zealand(), certificate_number=number)

    def _declaration(self, number: str, serial: int) -> dict[str, Any]:
        # Every fifth names the importer a little differently: a similar name, scored with rapidfuzz (a warning).
        overrides: dict[str, Any] = {
            "certificate_number": number,
            "declaration_number": f"2233{serial:014d}",
            "declared_on": today_in_new_zealand().isoformat(),  # within the certificate's validity
        }
        if serial % 5 == 0:
            overrides["importer_name"] = declaration_payload()["importer_name"] + " Trading"
        return declaration_payload(**overrides)

    def _seed(self) -> None:
        for serial in range(self.certificates):
            certificate = self._certificate()
            self._call(self._event("POST", "/v1/certificates", ISSUING_BODY, certificate))
            self.issued.append(certificate["certificate_number"])
            declaration = self._declaration(certificate["certificate_number"], serial)
            self._call(self._event("POST", "/v1/declarations", CN_CUSTOMS, declaration))
        # What the API's application will quote: an approved signatory and goods registration of its exporter.
        signatory = self._call(self._event("POST", "/v1/signatories", EXPORTER, signatory_payload()))
        self._call(self._event("POST", signatory["links"]["decision"], ISSUING_BODY, {"decision": "APPROVED"}))
        goods = self._call(self._event("POST", "/v1/goods-registrations", EXPORTER, goods_payload()))
        until = (today_in_new_zealand() + timedelta(days=365)).isoformat()
        decision = {"decision": "APPROVED", "valid_until": until}
        self._call(self._event("POST", goods["links"]["decision"], ISSUING_BODY, decision))
        self._application_quotes = (str(signatory["id"]), str(goods["id"]))

    # -- each function's events ---------------------------------------------------------------------------------

    def events(self, folder: str) -> tuple[list[dict[str, Any]], int]:
        """The function's events now, and how many records they hold."""
        if folder == "outbox_relay":
            return self._stream_events()
        if folder == "dispatcher":
            return self._queue_events(DELIVERY_QUEUE)
        if folder == "matcher":
            return self._queue_events(DECLARATIONS_QUEUE)
        if folder == "notifier":
            return self._queue_events(NOTIFICATIONS_QUEUE)
        if folder == "api":
            requests = list(itertools.islice(self._api_requests(), self.requests))
            return requests, len(requests)
        scheduled = {"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
        return [scheduled] * self.schedules, self.schedules

    def _stream_events(self) -> tuple[list[dict[str, Any]], int]:
        streams = self.stack.aws_client("dynamodbstreams")
        stream_arn = self.stack.aws_client("dynamodb").describe_table(TableName=RECORDS_TABLE.name)["Table"][
            "LatestStreamArn"
        ]
        records = []
        for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator)
                records += page["Records"]
                iterator = page.get("NextShardIterator") if page["Records"] else None
        # Lambda adds the stream's ARN to each record and serves them as JSON (dates as epoch seconds).
        records = [
            json.loads(json.dumps({**record, "eventSourceARN": stream_arn}, default=_epoch)) for record in records
        ]
        events = [{"Records": records[at : at + STREAM_BATCH_SIZE]} for at in range(0, len(records), STREAM_BATCH_SIZE)]
        return events, len(records)

    def _queue_events(self, queue: QueueDefinition) -> tuple[list[dict[str, Any]], int]:
        sqs = self.stack.aws_client("sqs")
        url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        bodies = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        events = [sqs_event(bodies[at : at + SQS_BATCH]) for at in range(0, len(bodies), SQS_BATCH)]
        return events, len(bodies)

    def _api_requests(self) -> Iterator[dict[str, Any]]:
        """Partners' requests in a plausible mix, the application (the one path needing New Zealand's holidays)
        among the first."""
        assert self._application_quotes is not None
        signatory, goods = self._application_quotes
        yield self._event("POST", "/v1/applications", EXPORTER, application_payload(signatory, [goods]))
        yield self._event("GET", "/.well-known/jwks.json", None)
        for serial in itertools.count():
            number = self.issued[serial % len(self.issued)]
            kind = serial % 8
            if kind == 0:
                certificate = self._certificate()
                yield self._event("POST", "/v1/certificates", ISSUING_BODY, certificate)
            elif kind == 1:
                yield self._event("GET", f"/v1/certificates/{number}", ISSUING_BODY)
            elif kind == 2:
                yield self._event("GET", f"/v1/certificates/{number}", CN_CUSTOMS)
            elif kind == 3:
                yield self._event("GET", f"/v1/certificates/{number}/history", ISSUING_BODY)
            elif kind == 4:
                yield self._event("GET", "/v1/certificates", NZ_CUSTOMS, query={"limit": "20"})
            elif kind == 5:
                yield self._event("GET", f"/v1/verify/{number}", None)
            elif kind == 6:
                yield self._event("GET", f"/v1/certificates/{number}/match-results", ISSUING_BODY)
            else:
                declaration = self._declaration(number, 10_000 + serial)
                yield self._event(
                    "POST", "/v1/declarations", NZ_CUSTOMS, {**declaration, "declaration_number": f"NZ{serial:010d}"}
                )

    # -- the fresh process --------------------------------------------------------------------------------------

    def environment(self, folder: str) -> dict[str, str]:
        """The function's environment as the CDK stack sets it, pointed at this stack's AWS, China and API."""
        stack = self.stack
        options = LocalOptions(
            parties=json.dumps([client.registration() for client in stack.clients]),
            china_customs_endpoint=stack.china_endpoint,
            verification_base_url=stack.api_url,
            docs_url=stack.docs_url,
        )
        settings = function_settings(stack.resources, options)[_SETTINGS_KEY.get(folder, folder)]
        values = settings.values()
        environment = {
            variable: value if isinstance(value, str) else json.dumps(value)
            for name, variable in settings.variables().items()
            if (value := values.get(name)) is not None
        }
        definition = _definition(folder)
        return {
            **environment,
            "AWS_ENDPOINT_URL": stack.aws_url,
            "AWS_DEFAULT_REGION": stack.identity.region,
            "AWS_REGION": stack.identity.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_SERVICE_NAME": definition.name,
            "POWERTOOLS_METRICS_NAMESPACE": "JEVS",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }

    def run(self, folder: str, *, layers_only: bool = False, trace_python: bool = False) -> HandlerRun:
        """The function's events, made now, handled in a fresh process. ``layers_only``: every import outside its
        layers refused; ``trace_python``: Python's own peak allocation measured too (a slower run)."""
        events, records = self.events(folder)
        return run_handler(
            folder, events, records, self.environment(folder), layers_only=layers_only, trace_python=trace_python
        )


def _epoch(value: Any) -> Any:
    timestamp = getattr(value, "timestamp", None)
    if timestamp is None:
        raise TypeError(f"not JSON: {type(value).__name__}")
    return int(timestamp())


def run_handler(
    folder: str,
    events: list[dict[str, Any]],
    records: int,
    environment: Mapping[str, str],
    *,
    layers_only: bool = False,
    trace_python: bool = False,
) -> HandlerRun:
    definition = _definition(folder)
    with tempfile.TemporaryDirectory(prefix=f"jevs-{folder}-") as folder_path:
        job_file, answer_file = Path(folder_path) / "job.json", Path(folder_path) / "answer.json"
        job = {
            "folder": folder,
            "function_name": definition.name,
            "timeout_seconds": definition.timeout_seconds,
            "memory_mb": definition.memory_mb,
            "environment": dict(environment),
            "events": events,
            "allowed": sorted(allowed_modules(definition)) if layers_only else None,
            "tracemalloc": trace_python,
            "answer": str(answer_file),
        }
        job_file.write_text(json.dumps(job), encoding="utf-8")
        # Only the standard environment besides the job's: nothing of this process's configuration leaks in.
        base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
        completed = subprocess.run(  # noqa: S603 - this interpreter, a module of this repository
            [sys.executable, "-m", "benchmarks.handler_process", str(job_file)],
            cwd=ROOT,
            env={**base, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{folder}'s process failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
        answer = json.loads(answer_file.read_text(encoding="utf-8"))
    return HandlerRun(
        folder=folder,
        invocations=len(events),
        records=records,
        modules=frozenset(answer["modules"]),
        refused=frozenset(answer["refused"]),
        failures=tuple(answer["failures"]),
        peak_rss_bytes=answer["peak_rss_bytes"],
        python_peak_bytes=answer["python_peak_bytes"],
        import_seconds=answer["import_seconds"],
        handler_seconds=answer["handler_seconds"],
        import_cpu_seconds=answer["import_cpu_seconds"],
        handler_cpu_seconds=answer["handler_cpu_seconds"],
    )
