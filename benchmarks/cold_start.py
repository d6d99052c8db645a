"""Cold starts (issue 16, build 2): each function's handler module imported in a fresh interpreter, and its first
response (the import and one representative event), each as a ratio to ``import boto3`` in the same run.

    python -m benchmarks --only cold_start        (or: make bench)

Every figure comes from fresh interpreters with the environment the function has in Lambda (its ``JEVS_*``
settings, Powertools' service name and namespace, a region and credentials). A local stack runs in this process
for the whole section: the first responses call its moto server over HTTP (``AWS_ENDPOINT_URL``), the dispatcher
delivers to its China Customs simulator, and each repetition gets an event of its own (a certificate of its own
to deliver, a declaration of its own to match...), so every repetition does the same work.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.report import Report, Section, Table, metrics_discarded, ratio
from benchmarks.workload import quiet_stack
from infrastructure.local import request_bodies
from infrastructure.local.demo import CN_CUSTOMS, ISSUING_BODY
from infrastructure.local.functions import LocalOptions, function_settings
from infrastructure.local.gateway import HttpRequest, proxy_event
from infrastructure.local.pollers import QueuePoller, scheduled_event
from infrastructure.local.stack import LocalStack
from infrastructure.local.tokens import TOKEN_PATH
from jevs.adapters.table.outbox import OUTBOX_PREFIX
from jevs.resources import FUNCTIONS, RECORDS_TABLE, FunctionDefinition

ROOT = Path(__file__).resolve().parents[1]
# The targets of issue 16: the handler module's import as a ratio to ``import boto3``.
API_TARGET = 1.6
OTHER_TARGET = 1.4
BASELINE = "boto3"

# The child of a first response: the event and the context are read before the clock starts; the clock covers the
# handler module's import and its first invocation (or, for the baseline, ``import boto3``). "restored": what a copy
# restored from a SnapStart snapshot does, as near as one machine comes: the module imported and the before-snapshot
# hook run before the clock starts; the clock covers the after-restore hook and the first invocation (not Lambda's
# own restore of the snapshot, which it does not bill and which cannot happen here). The handler's own logs go to
# stdout, so the result goes to a file.
FIRST_RESPONSE = """
import importlib, json, sys, time

class Context:
    def __init__(self, name, timeout_seconds):
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:ap-southeast-2:123456789012:function:{name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "cold-start"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "cold-start"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

module, event_file, result_file, name, timeout, mode = sys.argv[1:7]
with open(event_file, encoding="utf-8") as opened:
    event = json.load(opened)
context = Context(name, float(timeout))
if mode == "restored":
    loaded = importlib.import_module(module)
    loaded.handler.before_snapshot(loaded.warm)
started, cpu_started = time.perf_counter(), time.process_time()
if module == "boto3":
    import boto3
    answer = None
elif mode == "restored":
    loaded.handler.after_restore()
    answer = loaded.handler(event, context)
else:
    answer = importlib.import_module(module).handler(event, context)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
with open(result_file, "w", encoding="utf-8") as opened:
    json.dump({"seconds": elapsed, "cpu_seconds": cpu, "answer": answer}, opened, default=str)
"""


@dataclass(frozen=True)
class Timing:
    """One fresh interpreter's wall time, and the processor time it used (user and system): the second moves far less
    when other work shares the machine."""

    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class Medians:
    """Medians of interleaved runs of one function (``measured``) and of the baseline (``baseline``)."""

    measured: Timing
    baseline: Timing

    @classmethod
    def of(cls, measured: Sequence[Timing], baseline: Sequence[Timing]) -> Medians:
        def median(timings: Sequence[Timing]) -> Timing:
            return Timing(
                statistics.median(t.seconds for t in timings), statistics.median(t.cpu_seconds for t in timings)
            )

        return cls(median(measured), median(baseline))

    @property
    def ratio(self) -> float:
        return ratio(self.measured.seconds, self.baseline.seconds)

    @property
    def cpu_ratio(self) -> float:
        return ratio(self.measured.cpu_seconds, self.baseline.cpu_seconds)

    def figures(self) -> dict[str, float]:
        return {
            "ms": round(self.measured.seconds * 1000, 1),
            "boto3_ms": round(self.baseline.seconds * 1000, 1),
            "ratio": self.ratio,
            "cpu_ms": round(self.measured.cpu_seconds * 1000, 1),
            "boto3_cpu_ms": round(self.baseline.cpu_seconds * 1000, 1),
            "cpu_ratio": self.cpu_ratio,
        }


@dataclass(frozen=True)
class Measured:
    """One function's import and first response, each beside ``import boto3`` measured the same way."""

    imported: Medians
    first: Medians
    # SnapStart functions: the after-restore hook and the first invocation (FIRST_RESPONSE's "restored").
    restored: Medians | None


def target(definition: FunctionDefinition) -> float:
    return API_TARGET if definition.folder == "api" else OTHER_TARGET


def handler_module(definition: FunctionDefinition) -> str:
    return f"functions.{definition.folder}.handler"


# -- the environment each function has ------------------------------------------------------------------------


def environments(stack: LocalStack) -> dict[str, dict[str, str]]:
    """Each function's environment as Lambda gives it (by folder), pointed at the stack's moto server."""
    options = LocalOptions(
        parties=json.dumps([client.registration() for client in stack.clients]),
        china_customs_endpoint=stack.china_endpoint,
        verification_base_url=stack.api_url,
        docs_url=stack.gateway.docs_url,
    )
    settings = function_settings(stack.resources, options)
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "JEVS_", "POWERTOOLS_")) and name != "PYTHONDONTWRITEBYTECODE"
    }
    base |= {
        "AWS_DEFAULT_REGION": stack.identity.region,
        "AWS_REGION": stack.identity.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy
        "AWS_ENDPOINT_URL": stack.aws_url,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "jevs" / "python"), str(ROOT)]),
    }
    # The local stack's names of the functions' settings (function_settings) by folder.
    folders = {"relay": "outbox_relay"}
    found = {}
    for name, values in settings.items():
        folder = folders.get(name, name)
        definition = next(definition for definition in FUNCTIONS if definition.folder == folder)
        variables = {
            variable: str(value)
            for field_name, variable in type(values).variables().items()
            if (value := getattr(values, field_name)) is not None
        }
        found[folder] = {
            **base,
            **variables,
            "POWERTOOLS_SERVICE_NAME": definition.name,
            "POWERTOOLS_METRICS_NAMESPACE": "JEVS",
        }
    return found


# -- one representative event per function ----------------------------------------------------------------------


class Events:
    """Events for the first responses, made on the running stack: ``count`` of each, one per repetition."""

    def __init__(self, stack: LocalStack, count: int) -> None:
        self.stack = stack
        self.count = count
        self.run_id = uuid.uuid4().hex[:6].upper()
        self.http = httpx.Client(base_url=stack.api_url, timeout=60)
        self.tokens = {party: self._token(party) for party in (ISSUING_BODY, CN_CUSTOMS)}

    def _token(self, client_id: str) -> str:
        client = self.stack.client(client_id)
        answer = self.http.post(
            TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(client.client_id, client.client_secret)
        )
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token

    def _post(self, path: str, body: Mapping[str, Any], by: str) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[by]}", "Idempotency-Key": uuid.uuid4().hex}
        answer = self.http.post(path, json=body, headers=headers)
        if answer.status_code not in (201, 202):
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:300]}")

    def numbers(self) -> list[str]:
        prefix = f"11.{int(self.run_id, 16) % 10_000:04d}"
        return [f"{prefix}.{serial:05d}" for serial in range(1, self.count + 1)]

    def make(self) -> dict[str, list[dict[str, Any]]]:
        """Submits ``count`` certificates and a declaration quoting each, relays their outbox records to the queues,
        and takes each function's events from where Lambda would find them."""
        today = request_bodies.today_in_new_zealand()
        numbers = self.numbers()
        for serial, number in enumerate(numbers, start=1):
            self._post(
                "/v1/certificates", request_bodies.certificate_issued_on(today, certificate_number=number), ISSUING_BODY
            )
            declaration = request_bodies.declaration_payload(
                certificate_number=number,
                declared_on=today.isoformat(),
                declaration_number=f"CN{self.run_id}{serial:04d}",
            )
            self._post("/v1/declarations", declaration, CN_CUSTOMS)
        inserts = self._relay_everything()
        resources = self.stack.resources
        return {
            "api": [self._api_event(numbers[index % len(numbers)]) for index in range(self.count)],
            "outbox_relay": [{"Records": [record]} for record in inserts[: self.count]],
            "dispatcher": self._sqs_events(resources.delivery.queue, "china.delivery"),
            "matcher": self._sqs_events(resources.declarations.queue, "declaration.match"),
            "notifier": self._sqs_events(resources.notifications.queue, "certificate.documents"),
            "reconciler": [self._scheduled("jevs-reconciliation") for _ in range(self.count)],
            "overseer": [self._scheduled("jevs-past-due") for _ in range(self.count)],
        }

    def _api_event(self, number: str) -> dict[str, Any]:
        """GET of a certificate by its issuing body, as API Gateway sends it (with the authorizer's claims)."""
        claims = self.stack.gateway.tokens.verify(self.tokens[ISSUING_BODY])
        request = HttpRequest(
            "GET", f"/v1/certificates/{number}", [("Accept", "application/json")], b"", source_ip="127.0.0.1"
        )
        event: dict[str, Any] = proxy_event(
            request,
            identity=self.stack.identity,
            request_id=str(uuid.uuid4()),
            claims=claims,
            host="127.0.0.1",
            port=443,
        )
        return event

    def _relay_everything(self) -> list[dict[str, Any]]:
        """Every record of the table's stream handed to the relay in this process (the outbox records reach their
        queues); the INSERTs of delivery outbox records, for the relay's own first responses."""
        streams = self.stack.aws_client("dynamodbstreams")
        arn = self.stack.aws_client("dynamodb").describe_table(TableName=RECORDS_TABLE.name)["Table"]["LatestStreamArn"]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )
            position = iterator["ShardIterator"]
            while position:
                answer = streams.get_records(ShardIterator=position, Limit=1000)
                records += [{**record, "eventSourceARN": arn} for record in answer["Records"]]
                if not answer["Records"]:
                    break
                position = answer.get("NextShardIterator")
        context = self.stack._context("jevs-outbox-relay")  # the stack's own invocation context
        result = self.stack.functions.relay({"Records": records}, context) or {}
        if result.get("batchItemFailures"):
            raise RuntimeError(f"the relay failed: {result}")
        return [
            # As Lambda sends it: the creation time in epoch seconds (boto3 reads it as a datetime).
            {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": created.timestamp()}}
            for record in records
            if record["eventName"] == "INSERT"
            and _kind(record) == "china.delivery"
            and (created := record["dynamodb"]["ApproximateCreationDateTime"])
        ]

    def _sqs_events(self, queue_url: str, kind: str) -> list[dict[str, Any]]:
        """``count`` SQS events of one message each, from the queue (received, so no one else takes them)."""
        sqs = self.stack.aws_client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # Only its record format is used: an SQS message as Lambda's event source mapping hands it to a function.
        poller = QueuePoller(
            sqs=sqs,
            queue_url=queue_url,
            queue_arn=arn,
            function_name="",
            handler=lambda *_: None,
            context=lambda _: None,
        )
        events: list[dict[str, Any]] = []
        while len(events) < self.count:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                raise RuntimeError(f"{queue_url}: {len(events)} messages of {self.count}")
            for message in messages:
                if json.loads(message["Body"]).get("kind") == kind:
                    events.append({"Records": [poller._record(message)]})
        return events[: self.count]

    def _scheduled(self, rule: str) -> dict[str, Any]:
        return scheduled_event(rule, self.stack.identity.account_id, self.stack.identity.region)


def _kind(record: Mapping[str, Any]) -> str | None:
    """The kind of message an outbox record of a stream record carries (None for any other record)."""
    image = record["dynamodb"].get("NewImage", {})
    if not image.get("sk", {}).get("S", "").startswith(OUTBOX_PREFIX):
        return None
    kind: str = json.loads(image["message"]["S"])["kind"]
    return kind


# -- measuring -------------------------------------------------------------------------------------------------


def import_timing(module: str, environment: Mapping[str, str]) -> Timing:
    """A fresh interpreter that imports ``module`` and exits, measured from outside: its wall time, and the processor
    time it used."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - this interpreter, importing a module of ours
        [sys.executable, "-c", f"import {module}"], env=dict(environment), cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    _check_exit(done, module)
    return Timing(elapsed, (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime))


def _check_exit(done: subprocess.CompletedProcess[str], module: str) -> None:
    if done.returncode != 0:
        raise RuntimeError(f"{module} in a fresh interpreter exited {done.returncode}: {done.stderr[-2000:]}")


def first_response(
    module: str,
    event: Mapping[str, Any],
    environment: Mapping[str, str],
    definition: FunctionDefinition,
    folder: Path,
    mode: str = "cold",
) -> tuple[Timing, Any]:
    """A fresh interpreter's import of ``module`` and its handling of ``event``: (its timing, the handler's answer)."""
    event_file, result_file = folder / "event.json", folder / "result.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    done = subprocess.run(  # noqa: S603 - this interpreter, with the script above
        [
            sys.executable,
            "-c",
            FIRST_RESPONSE,
            module,
            str(event_file),
            str(result_file),
            definition.name,
            str(definition.timeout_seconds),
            mode,
        ],
        env=dict(environment),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    _check_exit(done, module)
    result = json.loads(result_file.read_text(encoding="utf-8"))
    return Timing(float(result["seconds"]), float(result["cpu_seconds"])), result["answer"]


def check_answer(folder: str, answer: Any) -> None:
    """The first response did its work: a 200 for the API, no failed record in a batch, a report from a schedule."""
    if folder == "api":
        ok = answer.get("statusCode") == 200
    elif folder in ("reconciler", "overseer"):
        ok = isinstance(answer, dict) and "count" in answer
    else:
        ok = isinstance(answer, dict) and not answer.get("batchItemFailures")
    if not ok:
        raise RuntimeError(f"{folder}'s first response failed: {str(answer)[:500]}")


def import_breakdown(module: str, environment: Mapping[str, str], top: int = 10) -> list[tuple[str, float]]:
    """``python -X importtime``: the ``top`` modules of largest cumulative import time (ms) below ``module``."""
    done = subprocess.run(  # noqa: S603 - this interpreter, importing a module of ours
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=dict(environment),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    found = []
    for line in done.stderr.splitlines():
        parts = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if parts and parts[4] != module:
            found.append((parts[4], int(parts[2]) / 1000))
    return sorted(found, key=lambda pair: pair[1], reverse=True)[:top]


def measure(
    report: Report, repeats: int
) -> tuple[dict[str, Measured], dict[str, dict[str, str]], list[dict[str, Any]]]:
    """Every function's medians; its environment; and the raw samples (for the JSON)."""
    with quiet_stack() as stack, tempfile.TemporaryDirectory(prefix="jevs-cold-start-") as scratch:
        environments_by_folder = environments(stack)
        report.progress("making events on a local stack")
        with metrics_discarded():
            events = Events(stack, 2 * repeats + 1).make()
        folder = Path(scratch)
        found: dict[str, Measured] = {}
        samples: list[dict[str, Any]] = []
        for done, definition in enumerate(FUNCTIONS, start=1):
            name = definition.folder
            environment = environments_by_folder[name]
            module = handler_module(definition)
            report.progress(f"{name}: imports and first responses", done, len(FUNCTIONS))
            # One round of each, untimed: byte-compiled files written, the disk cache warm.
            import_timing(module, environment)
            _, answer = first_response(module, events[name][0], environment, definition, folder)
            check_answer(name, answer)
            imports: dict[str, list[Timing]] = {module: [], BASELINE: []}
            firsts: dict[str, list[Timing]] = {module: [], BASELINE: []}
            restored: list[Timing] = []
            # Interleaved, so the machine's load hits the baseline and the function alike.
            for repeat in range(repeats):
                imports[BASELINE].append(import_timing(BASELINE, environment))
                imports[module].append(import_timing(module, environment))
                firsts[BASELINE].append(first_response(BASELINE, {}, environment, definition, folder)[0])
                timing, answer = first_response(module, events[name][repeat + 1], environment, definition, folder)
                check_answer(name, answer)
                firsts[module].append(timing)
                if definition.snap_start:
                    event = events[name][repeats + 1 + repeat]
                    timing, answer = first_response(module, event, environment, definition, folder, "restored")
                    check_answer(name, answer)
                    restored.append(timing)
            found[name] = Measured(
                Medians.of(imports[module], imports[BASELINE]),
                Medians.of(firsts[module], firsts[BASELINE]),
                Medians.of(restored, firsts[BASELINE]) if restored else None,
            )
            samples.append(
                {
                    "function": name,
                    "imports": {key: [asdict(t) for t in timings] for key, timings in imports.items()},
                    "first_responses": {key: [asdict(t) for t in timings] for key, timings in firsts.items()},
                    "restored_first_responses": [asdict(t) for t in restored],
                }
            )
        return found, environments_by_folder, samples


SUMMARY = (
    'Each function\'s handler module imported in a fresh interpreter (`python -c "import functions.<folder>.handler"`'
    ', with the function\'s Lambda environment), as a ratio to `python -c "import boto3"` run the same way, '
    "interleaved with it, the wall time of each process measured from outside: median of {repeats} of each. "
    "Targets: the API ≤ {api}×, every other function ≤ {other}×. Beside each wall-time ratio, the same ratio of "
    "the processor time (user and system) the interpreters used, which moves far less when other work shares the "
    "machine. The **first response** is a fresh interpreter's "
    "import of the handler module plus its first invocation with one representative event, timed inside the "
    "interpreter (from before the import to the handler's answer; the event is read before the clock starts), "
    "as a ratio to `import boto3` timed the same way: the API a GET of a certificate by its issuing body; the relay "
    "one stream INSERT of a delivery outbox record; the dispatcher one certificate delivered to the China Customs "
    "simulator (signed with KMS); the matcher one import declaration matched; the notifier one certificate's PDF "
    "and data file made; the reconciler and the overseer one scheduled run. The AWS calls go to a local moto "
    "server over HTTP, not to AWS; outside Lambda, Powertools turns the Tracer off. For the SnapStart functions (the "
    "API, the dispatcher), **after a SnapStart restore** is the nearest one machine comes to a restored copy: the "
    "handler module imported and the before-snapshot hook run (built, warmed) before the clock starts, then the "
    "after-restore hook (new boto3 session and clients) and the first invocation timed; Lambda's own restore of "
    "the snapshot is not in it. Measured in the development "
    "venv, which also holds the dev tools some libraries import when present (httpx imports its CLI's rich and "
    "click)."
)


def run(report: Report, quick: bool) -> None:
    repeats = 3 if quick else 7
    section = report.section(
        "cold_start",
        "Cold starts: import and first response, as a ratio to import boto3",
        SUMMARY.format(repeats=repeats, api=API_TARGET, other=OTHER_TARGET),
    )
    found, environments_by_folder, samples = measure(report, repeats)
    report.progress("python -X importtime of the API handler")
    breakdown = import_breakdown(handler_module(FUNCTIONS[0]), environments_by_folder["api"])
    table = Table(
        [
            "function",
            "import (ms)",
            "import boto3 (ms)",
            "import ratio",
            "target",
            "met",
            "import CPU ratio",
            "first response (ms)",
            "first response ratio",
            "first response CPU ratio",
            "after a SnapStart restore (ms)",
            "its ratio",
        ]
    )
    for definition in FUNCTIONS:
        measured = found[definition.folder]
        table.rows.append(
            [
                definition.folder,
                measured.imported.measured.seconds * 1000,
                measured.imported.baseline.seconds * 1000,
                measured.imported.ratio,
                f"≤ {target(definition)}",
                measured.imported.ratio <= target(definition),
                measured.imported.cpu_ratio,
                measured.first.measured.seconds * 1000,
                measured.first.ratio,
                measured.first.cpu_ratio,
                measured.restored.measured.seconds * 1000 if measured.restored else "",
                measured.restored.ratio if measured.restored else "",
            ]
        )
    section.tables.append((f"Median of {repeats} fresh interpreters each", table))
    section.tables.append(
        (
            "python -X importtime of the API handler: the 10 largest cumulative imports",
            Table(["module", "cumulative (ms)"], [[module, milliseconds] for module, milliseconds in breakdown]),
        )
    )
    section.figures.update(
        {
            "repeats": repeats,
            "targets": {"api": API_TARGET, "other": OTHER_TARGET},
            "functions": {
                name: {
                    "import": measured.imported.figures(),
                    "first_response": measured.first.figures(),
                    **({"after_snap_start_restore": measured.restored.figures()} if measured.restored else {}),
                }
                for name, measured in found.items()
            },
            "api_importtime_top10_ms": dict(breakdown),
            "samples": samples,
        }
    )
    bar_plot(report, section, found)


def bar_plot(report: Report, section: Section, found: Mapping[str, Measured]) -> None:
    """The ratios per function, import and first response side by side, with each function's import target."""
    names = [definition.folder for definition in FUNCTIONS]
    report.bars(
        section,
        "ratios",
        "Cold start per function: import and first response as a ratio to import boto3",
        categories=names,
        series={
            "import": [found[name].imported.ratio for name in names],
            "first response": [found[name].first.ratio for name in names],
        },
        limits={"import target": [target(definition) for definition in FUNCTIONS]},
        y_label="× import boto3",
        value_format="%.1f",
    )
