"""The local stack under load (issue 16, build 7): concurrent partners submit certificates over HTTP, and the
clock runs until China Customs' simulator has acknowledged every one; beside it, the floor: the same number of
bare moto calls (the very transaction a submission writes) from as many concurrent clients against the same
moto server, in the same run.

    python -m benchmarks --only load             (or: make bench)
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import httpx

from benchmarks.report import Report, Section, Table, metrics_discarded, percentile
from benchmarks.workload import quiet_stack
from infrastructure.local.pollers import wait_until
from infrastructure.local.request_bodies import certificate_issued_on, today_in_new_zealand
from infrastructure.local.stack import LocalStack
from jevs.adapters.clock import SystemClock
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.certificate import CertificateContent
from jevs.resources import RECORDS_TABLE
from jevs.service.certificates import SubmitCertificate, submit_certificate
from tests.unit.support import party

ISSUER = "local-akl-chamber"
CLIENTS = 8
# How long the run waits for China's acknowledgements after the last submission before it reports what it has.
ACK_TIMEOUT_SECONDS = 900
# The certificate numbers of one run: the stack starts from an empty moto, so they never meet an earlier run's.
LOAD_SERIES = "11.7001"
FLOOR_SERIES = "11.7002"
PAUSED_SERIES = "11.7003"
PROBE_NUMBER = "11.7000.00000"


def numbers(series: str, count: int) -> list[str]:
    return [f"{series}.{serial:05d}" for serial in range(1, count + 1)]


@dataclass(frozen=True)
class Submission:
    number: str
    # time.time() when the request was sent and when its answer came back.
    sent: float
    answered: float
    status: int

    @property
    def latency(self) -> float:
        return self.answered - self.sent


def concurrently(work: Callable[[int], None], clients: int) -> float:
    """Run ``work(client)`` on ``clients`` threads at once; the wall time until the last one finished."""
    threads = [threading.Thread(target=work, args=(client,), name=f"load-client-{client}") for client in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def submit_all(stack: LocalStack, to_submit: Sequence[str], report: Report) -> tuple[list[Submission], float]:
    """Every certificate submitted by ``CLIENTS`` partners' threads, each taking the next number as it is free:
    what each submission took, and the wall time of them all."""
    bearer = {"Authorization": f"Bearer {stack.token(ISSUER)}"}
    day = today_in_new_zealand()
    bodies = {number: certificate_issued_on(day, certificate_number=number) for number in to_submit}
    pending = iter(to_submit)
    taking = threading.Lock()
    submissions: list[Submission] = []

    def partner(client: int) -> None:
        with httpx.Client(base_url=stack.api_url, timeout=60) as http:
            while True:
                with taking:
                    number = next(pending, None)
                if number is None:
                    return
                headers = {**bearer, "Idempotency-Key": f"load-{number}"}
                sent = time.time()
                response = http.post("/v1/certificates", json=bodies[number], headers=headers)
                submission = Submission(number, sent, time.time(), response.status_code)
                with taking:
                    submissions.append(submission)
                    done = len(submissions)
                if done % max(1, len(to_submit) // 10) == 0:
                    report.progress("submitted", done, len(to_submit))

    elapsed = concurrently(partner, CLIENTS)
    return submissions, elapsed


def acknowledgements(stack: LocalStack, expected: set[str], report: Report) -> dict[str, float]:
    """When China's simulator received each certificate's issue (time.time()), once it has them all or the time
    is up."""
    china = stack.china
    assert china is not None, "the benchmark's stack delivers to its own simulator"
    last_reported = -1

    def all_in() -> bool:
        nonlocal last_reported
        accepted = china.stats.accepted
        if accepted // max(1, len(expected) // 10) != last_reported:
            last_reported = accepted // max(1, len(expected) // 10)
            report.progress("acknowledged by China", accepted, len(expected))
        return accepted >= len(expected)

    wait_until(all_in, ACK_TIMEOUT_SECONDS, interval=0.5)
    return {
        message.certificate_number: message.received_at.timestamp()
        for message in china.received
        if message.certificate_number in expected and str(message.message_type) == "certificate.issued"
    }


class _Captured(Exception):
    def __init__(self, parameters: dict[str, Any]) -> None:
        super().__init__("captured")
        self.parameters = parameters


def submission_transaction(stack: LocalStack) -> dict[str, Any]:
    """The TransactWriteItems request a submission of the example certificate makes, numbered PROBE_NUMBER,
    taken from the real adapters and never sent."""
    dynamodb = stack.aws_client("dynamodb")

    def capture(params: dict[str, Any], **_: Any) -> None:
        raise _Captured(params)

    dynamodb.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", capture)
    units = TableUnitOfWork(DynamoTable(dynamodb, RECORDS_TABLE, RECORDS_TABLE.name), SystemClock())
    content = CertificateContent.model_validate(
        certificate_issued_on(today_in_new_zealand(), certificate_number=PROBE_NUMBER)
    )
    try:
        submit_certificate(SubmitCertificate(party(ISSUER), content), units)
    except _Captured as captured:
        return captured.parameters
    raise AssertionError("a submission wrote no transaction")


def floor(stack: LocalStack, count: int) -> tuple[list[float], float]:
    """The same number of submission transactions, each for a number of its own, sent straight to the stack's moto
    from ``CLIENTS`` threads: each call's time, and the wall time of them all."""
    template = json.dumps(submission_transaction(stack))
    transactions = iter([json.loads(template.replace(PROBE_NUMBER, number)) for number in numbers(FLOOR_SERIES, count)])
    # boto3's client factory is not thread-safe: one client per thread, made here.
    clients = [stack.aws_client("dynamodb") for _ in range(CLIENTS)]
    taking = threading.Lock()
    latencies: list[float] = []

    def client(index: int) -> None:
        while True:
            with taking:
                transaction = next(transactions, None)
            if transaction is None:
                return
            started = time.perf_counter()
            clients[index].transact_write_items(**transaction)
            took = time.perf_counter() - started
            with taking:
                latencies.append(took)

    elapsed = concurrently(client, CLIENTS)
    return latencies, elapsed


def settled(stack: LocalStack) -> None:
    """Wait until the delivery queue holds nothing in flight, so the floor has moto to itself."""
    sqs = stack.aws_client("sqs")

    def empty() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.resources.delivery.queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(value == "0" for value in attributes.values())

    wait_until(empty, 30, interval=0.2)


# What the pollers call on the functions' behalf: in AWS, Lambda's event source mappings make these calls.
_POLLING = frozenset({"ReceiveMessage", "DeleteMessageBatch", "DescribeStream", "GetShardIterator", "GetRecords"})
_POLLERS = {
    "poller-stream": "outbox relay",
    "poller-jevs-dispatcher": "dispatcher",
    "poller-jevs-matcher": "matcher",
    "poller-jevs-notifier": "notifier",
}


@contextlib.contextmanager
def aws_calls() -> Iterator[Counter[tuple[str, str]]]:
    """Every AWS call that clients built meanwhile make meanwhile, by (who, operation): who is the function whose
    poller thread made it, the API for the gateway's request threads, "event source mappings" for the pollers' own
    calls; a botocore hook on the default session, from which every boto3 client of the stack is made."""
    calls: Counter[tuple[str, str]] = Counter()
    counting = threading.Lock()

    def count(model: Any, **_: Any) -> None:
        thread = threading.current_thread().name
        who = _POLLERS.get(thread, "API" if "process_request_thread" in thread else thread)
        if thread in _POLLERS and model.name in _POLLING:
            who = "event source mappings"
        with counting:
            calls[(who, model.name)] += 1

    events = boto3._get_default_session().events
    events.register("before-call", count, unique_id="jevs-load-count")
    try:
        yield calls
    finally:
        events.unregister("before-call", unique_id="jevs-load-count")


def calls_table(calls: Counter[tuple[str, str]], certificates: int) -> Table:
    """AWS calls per certificate by who made them, with the operations of each."""
    table = Table(["made by", "calls per certificate", "operations per certificate"])
    by_whom: dict[str, Counter[str]] = {}
    for (who, operation), made in calls.items():
        by_whom.setdefault(who, Counter())[operation] += made
    for who, operations in sorted(by_whom.items(), key=lambda entry: -entry[1].total()):
        detail = ", ".join(f"{operation} {made / certificates:.2g}" for operation, made in operations.most_common())
        table.rows.append([who, operations.total() / certificates, detail])
    table.rows.append(["all", calls.total() / certificates, ""])
    return table


def run(report: Report, quick: bool) -> None:
    count = 200 if quick else 1000
    section = report.section(
        "load",
        "The local stack under load",
        f"{count} certificates (the example certificate, fresh numbers) submitted over HTTP by {CLIENTS} concurrent "
        "partners to `make run`'s stack, and the time until China Customs' simulator has acknowledged every one; "
        f"beside it the floor: the same {count} transactions a submission writes, sent by {CLIENTS} concurrent "
        "clients straight to the same moto server in the same run, and the same submissions again with the "
        "functions behind the API paused. Target: submissions at 0.5 of the floor or more, every certificate "
        "acknowledged within a few seconds of its submission.",
    )
    with (
        metrics_discarded(),
        aws_calls() as calls,
        quiet_stack(party_throttle_scale=100) as stack,  # usage plans far above the load: not what is measured
    ):
        to_submit = numbers(LOAD_SERIES, count)
        with stack.active():
            calls.clear()
            started = time.time()
            submissions, submit_seconds = submit_all(stack, to_submit, report)
            acknowledged = acknowledgements(stack, set(to_submit), report)
            all_acknowledged = max(acknowledged.values(), default=time.time()) - started
            load_calls = Counter(calls)
        settled(stack)
        report.progress("floor: bare moto transactions")
        floor_latencies, floor_seconds = floor(stack, count)
        report.progress("submissions with the functions behind the API paused")
        alone, alone_seconds = submit_all(stack, numbers(PAUSED_SERIES, count), report)
    record(section, report, count, submissions, submit_seconds, acknowledged, all_acknowledged, started)
    floor_rate = count / floor_seconds
    submit_rate = count / submit_seconds
    alone_rate = count / alone_seconds
    alone_latencies = [submission.latency for submission in alone if submission.status == 201]
    section.figures.update(
        {
            "floor_per_second": floor_rate,
            "floor_p50_seconds": statistics.median(floor_latencies),
            "floor_p99_seconds": percentile(floor_latencies, 0.99),
            "fraction_of_floor": round(submit_rate / floor_rate, 2),
            "paused_submissions_per_second": alone_rate,
            "paused_accepted": len(alone_latencies),
            "paused_fraction_of_floor": round(alone_rate / floor_rate, 2),
            "aws_calls_per_certificate": {
                f"{who}: {operation}": made / count for (who, operation), made in sorted(load_calls.items())
            },
        }
    )
    table = Table(["", "per second", "p50 s", "p99 s", "fraction of floor"])
    table.rows = [
        [
            "submissions over HTTP",
            submit_rate,
            section.figures["submission_p50_seconds"],
            section.figures["submission_p99_seconds"],
            section.figures["fraction_of_floor"],
        ],
        [
            "the same, the functions behind the API paused",
            alone_rate,
            percentile(alone_latencies, 0.5),
            percentile(alone_latencies, 0.99),
            section.figures["paused_fraction_of_floor"],
        ],
        [
            "floor: the same transactions to moto",
            floor_rate,
            section.figures["floor_p50_seconds"],
            section.figures["floor_p99_seconds"],
            1.0,
        ],
    ]
    section.tables.insert(0, (f"{count} submissions from {CLIENTS} concurrent clients", table))
    caption = "AWS calls per certificate while the load ran (moto serves them one at a time)"
    section.tables.append((caption, calls_table(load_calls, count)))


def record(
    section: Section,
    report: Report,
    count: int,
    submissions: list[Submission],
    submit_seconds: float,
    acknowledged: dict[str, float],
    all_acknowledged: float,
    started: float,
) -> None:
    """The submissions' and acknowledgements' figures, a table, and the latency plots."""
    accepted = [submission for submission in submissions if submission.status == 201]
    latencies = [submission.latency for submission in accepted]
    # From the moment the submission was sent to China's receipt of the certificate's issue.
    to_ack = [
        acknowledged[s.number] - s.sent for s in sorted(accepted, key=lambda s: s.sent) if s.number in acknowledged
    ]
    section.figures.update(
        {
            "certificates": count,
            "clients": CLIENTS,
            "accepted": len(accepted),
            "acknowledged": len(acknowledged),
            "submit_seconds": submit_seconds,
            "submissions_per_second": count / submit_seconds,
            "submission_p50_seconds": percentile(latencies, 0.5),
            "submission_p99_seconds": percentile(latencies, 0.99),
            "acknowledgement_p50_seconds": percentile(to_ack, 0.5) if to_ack else None,
            "acknowledgement_p99_seconds": percentile(to_ack, 0.99) if to_ack else None,
            "all_acknowledged_seconds": all_acknowledged,
        }
    )
    table = Table(["", "value"])
    table.rows = [
        ["accepted (201) / acknowledged by China", f"{len(accepted)} / {len(acknowledged)} of {count}"],
        ["time until all acknowledged, s", all_acknowledged],
        ["submission → acknowledgement p50, s", section.figures["acknowledgement_p50_seconds"]],
        ["submission → acknowledgement p99, s", section.figures["acknowledgement_p99_seconds"]],
    ]
    section.tables.append(("End to end", table))
    if not to_ack:
        return
    ordered = sorted(accepted, key=lambda s: s.sent)
    buckets = 25
    size = max(1, len(ordered) // buckets)
    xs, submit_p50, ack_p50 = [], [], []
    for first in range(0, len(ordered), size):
        bucket = ordered[first : first + size]
        xs.append(statistics.median(s.sent - started for s in bucket))
        submit_p50.append(statistics.median(s.latency for s in bucket))
        ack_p50.append(statistics.median(acknowledged[s.number] - s.sent for s in bucket if s.number in acknowledged))
    report.plot(
        section,
        "latency-over-run",
        f"Median latency of each 1/{buckets} of the submissions, by when they were sent",
        x_label="seconds into the run",
        y_label="seconds",
        series={"submission": (xs, submit_p50), "submission → China's acknowledgement": (xs, ack_p50)},
    )
    quantiles = [q / 50 for q in range(1, 51)]
    report.plot(
        section,
        "latency-cdf",
        "Latency distribution (CDF)",
        x_label="seconds",
        y_label="fraction of certificates",
        series={
            "submission": ([percentile(latencies, q) for q in quantiles], quantiles),
            "submission → China's acknowledgement": ([percentile(to_ack, q) for q in quantiles], quantiles),
        },
    )
