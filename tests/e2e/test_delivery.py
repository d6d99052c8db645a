"""Guaranteed delivery to China Customs on the local stack (DESIGN.md §6.2–6.3): signed, once in effect, never
lost, through faults, outages, crashes and lost messages."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from rich.console import Console
from typer.testing import CliRunner

from functions.reconciler.handler import work_redrive_jobs
from infrastructure.local.china_customs import ChinaCustomsSimulator, HeldStatus
from infrastructure.local.functions import LocalOptions, function_settings
from infrastructure.local.gateway import LocalLambdaContext
from infrastructure.local.pollers import QueuePoller, wait_until
from infrastructure.local.stack import LocalStack
from infrastructure.ops.cli import State, app
from jevs import bootstrap
from jevs.adapters.aws import AwsClients, AwsEndpoint
from jevs.adapters.clock import SystemClock
from jevs.adapters.jws import b64url
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.repositories import TableDeliveries
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.bootstrap import ReconcilerDependencies
from jevs.domain.delivery import Delivery, DeliveryState
from jevs.resources import DISPATCHER_FUNCTION, RECORDS_TABLE
from jevs.service.unit_of_work import Deliveries
from jevs.settings import ReconcilerSettings
from tests.e2e.conftest import PARTNER_TIMEOUT_SECONDS, e2e_stack, reconciliation_run, token_source
from tests.factories import certificate_payload

pytestmark = pytest.mark.e2e

TokenFor = Callable[[str], str]
ISSUER, OPS = "local-akl-chamber", "local-ops"


# This module runs on a stack of its own, so the load of its fault campaign (last in the module) is gone
# before other modules use the session's stack.
@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with e2e_stack() as running:
        yield running


@pytest.fixture(scope="module")
def token_for(stack: LocalStack) -> TokenFor:
    return token_source(stack)


@pytest.fixture(autouse=True)
def _functions_fed(stack: LocalStack) -> Iterator[None]:
    with stack.active():
        yield


@pytest.fixture
def china(stack: LocalStack) -> Iterator[ChinaCustomsSimulator]:
    assert stack.china is not None, "the e2e stack delivers to its own simulator"
    stack.china.reset()
    yield stack.china
    stack.china.faults.clear()


class Partner:
    """The issuing body and operations, calling the API over HTTP."""

    def __init__(self, stack: LocalStack, token_for: TokenFor) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.api_url, timeout=PARTNER_TIMEOUT_SECONDS)
        self.token_for = token_for

    def headers(self, client_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(client_id)}"}

    def post(self, path: str, body: dict[str, Any] | None, client_id: str, key: str) -> httpx.Response:
        """POST as a partner does: a 503 (busy, nothing changed) is sent again with the same key after Retry-After."""
        for _ in range(10):
            response = self.http.post(path, json=body, headers={**self.headers(client_id), "Idempotency-Key": key})
            if response.status_code != 503:
                break
            time.sleep(int(response.headers.get("Retry-After", "1")))
        return response

    def submit(self, number: str) -> None:
        response = self.post("/v1/certificates", certificate_payload(certificate_number=number), ISSUER, number)
        assert response.status_code == 201, response.text

    def delivery(self, number: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/certificates/{number}/delivery", headers=self.headers(ISSUER))
        assert response.status_code == 200, response.text
        deliveries: list[dict[str, Any]] = response.json()["deliveries"]
        return deliveries[0]

    def act(self, number: str, action: str, body: dict[str, Any]) -> None:
        """A replacement, revocation or certified true copy of ``number``, by the issuing body that issued it."""
        response = self.post(f"/v1/certificates/{number}/{action}", body, ISSUER, f"{number}/{action}")
        assert response.status_code in (200, 201), response.text

    def redrive(self, path: str = "/v1/ops/redrives") -> dict[str, Any]:
        """Redrive the delivery dead letters as operations tooling does (a job started with a key of its own), and
        wait until the reconciler finished it. The e2e stack schedules the reconciler once an hour, so the test runs
        its redrive step itself, as the schedule would, until the job is DONE."""
        body = {"queue": "deliveries"} if path == "/v1/ops/redrives" else None
        response = self.post(path, body, OPS, f"redrive-{uuid.uuid4()}")
        assert response.status_code == 202, response.text
        location = response.headers["Location"]

        def finished() -> bool:
            redrive_step(self.stack)
            return bool(self.job(location)["status"] == "DONE")

        assert wait_until(finished, 120, 0.5), self.job(location)
        return self.job(location)

    def job(self, location: str) -> dict[str, Any]:
        response = self.http.get(location, headers=self.headers(OPS))
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job


@pytest.fixture
def partner(stack: LocalStack, token_for: TokenFor) -> Iterator[Partner]:
    caller = Partner(stack, token_for)
    yield caller
    caller.http.close()


def deliveries(stack: LocalStack) -> Deliveries:
    table = DynamoTable(stack.aws_client("dynamodb"), RECORDS_TABLE, stack.resources.records_table)
    return TableUnitOfWork(table, SystemClock()).deliveries


def still_pending(stack: LocalStack) -> bool:
    """Whether any delivery is PENDING: one query of the sparse index reconciliation reads, where reading every
    delivery of hundreds of certificates takes moto, busy with the campaign, half a minute."""
    return bool(deliveries(stack).pending_before(datetime.now(UTC) + timedelta(days=1), 1))


def states(stack: LocalStack, numbers: list[str]) -> dict[str, DeliveryState]:
    """The state of every delivery of these certificates, by its idempotency key, read from the table as
    operators would."""
    found = deliveries(stack)
    return {delivery.idempotency_key: delivery.state for number in numbers for delivery in found.of_certificate(number)}


def numbers(prefix: str, count: int) -> list[str]:
    return [f"{prefix}.{serial:05d}" for serial in range(1, count + 1)]


def test_a_certificate_reaches_china_signed_with_the_fta_form_only(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    partner.submit("11.0011.00001")

    assert wait_until(lambda: partner.delivery("11.0011.00001")["state"] == "DELIVERED", 15)
    [received] = china.received
    assert received.idempotency_key == "11.0011.00001/v1"
    assert partner.delivery("11.0011.00001")["receipt_id"] == received.receipt_id
    assert "commercial" not in received.body["certificate"]
    assert received.body["certificate"]["items"][0]["hs_code"] == "040221"


def test_the_signature_verifies_with_the_public_jwks_alone(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    partner.submit("11.0011.00002")
    assert wait_until(lambda: bool(china.received), 15)
    [received] = china.received

    # Only what anyone can fetch: the published key set, and what was sent.
    key_set = KeySet.import_key_set(httpx.get(f"{stack.api_url}/.well-known/jwks.json", timeout=5).json())
    header, empty, signature = received.headers["x-jws-signature"].split(".")
    verified = jws.deserialize_compact(f"{header}.{b64url(received.body_bytes)}.{signature}", key_set)

    assert empty == ""
    assert json.loads(verified.payload) == received.body
    assert verified.protected["alg"] == "ES256"
    assert verified.protected["kid"] in {key["kid"] for key in key_set.as_dict()["keys"]}


def test_a_permanent_outage_parks_deliveries_and_a_redrive_delivers_them(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given China down for good
    china.faults.fail_fraction(1.0)
    outage = numbers("11.0033", 3)

    for number in outage:
        partner.submit(number)

    # Then each delivery is parked once its retry horizon has passed (30 s here, 6 h in production), and its
    # message waits in the dead-letter queue, which is what the alarm watches
    assert wait_until(lambda: set(states(stack, outage).values()) == {DeliveryState.PARKED}, 90, 0.5)
    sqs = stack.aws_client("sqs")
    dead_letters = stack.resources.delivery.dead_letters

    def parked_messages() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    # The dispatcher put each message there before it recorded the delivery PARKED
    assert parked_messages() == len(outage)
    assert china.received == []

    # When China is back and operations redrive (through the route existing callers know)
    china.faults.clear()
    job = partner.redrive("/v1/ops/deliveries/redrive")

    # Then the job moved each parked delivery back, and each is delivered, once
    assert (job["queue"], job["status"], job["moved"], job["quarantined_count"]) == ("deliveries", "DONE", 3, 0)
    assert wait_until(lambda: set(states(stack, outage).values()) == {DeliveryState.DELIVERED}, 30, 0.5)
    assert sorted(message.idempotency_key for message in china.received) == sorted(f"{n}/v1" for n in outage)
    assert parked_messages() == 0


def test_an_outage_longer_than_the_old_retries_heals_by_itself_with_few_calls_to_china(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given China down, and 100 certificates submitted during the outage. At the old settings (five receives, no
    # backoff here) each delivery parked within a second of China failing, 500 calls for these 100.
    china.faults.fail_fraction(1.0)
    outage = numbers("11.0066", 100)
    started = time.monotonic()
    for number in outage:
        partner.submit(number)
    # The outage lasts 12 s in all (far longer than the old retries, well within the 30 s horizon)
    time.sleep(max(0.0, 12 - (time.monotonic() - started)))
    calls_during_outage = china.stats.requests

    # When China is back, with no one doing anything
    china.faults.clear()

    # Then every delivery is DELIVERED, none parked, China accepted each once, and the circuit held the calls
    # made during the outage to a few probes
    assert wait_until(lambda: set(states(stack, outage).values()) == {DeliveryState.DELIVERED}, 60, 0.5)
    assert china.stats.accepted == 100
    assert sorted(message.idempotency_key for message in china.received) == sorted(f"{n}/v1" for n in outage)
    assert calls_during_outage < 50, calls_during_outage


def test_china_answering_401_parks_with_the_reason_and_a_redrive_after_the_fix_delivers(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given China answering 401 (say, our key is unknown there after a rotation)
    china.faults.update(fail_fraction=1.0, fail_status=401)
    refused = numbers("11.0077", 3)
    for number in refused:
        partner.submit(number)

    # Then each delivery is parked at once with the reason, none rejected, each message in the dead-letter queue
    assert wait_until(lambda: set(states(stack, refused).values()) == {DeliveryState.PARKED}, 20, 0.2)
    errors = {partner.delivery(number)["last_error"] for number in refused}
    assert errors == {"HTTP 401: Injected failure: try again later."}

    # When the configuration is fixed and operations redrive
    china.faults.clear()
    partner.redrive()

    # Then each is delivered
    assert wait_until(lambda: set(states(stack, refused).values()) == {DeliveryState.DELIVERED}, 30, 0.5)


def test_a_redrive_right_after_a_delivery_is_reported_parked_resumes_it(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    china.faults.update(fail_fraction=1.0, fail_status=403)
    partner.submit("11.0088.00001")
    assert wait_until(lambda: partner.delivery("11.0088.00001")["state"] == "PARKED", 20, 0.1)
    china.faults.clear()

    job = partner.redrive()

    assert (job["status"], job["moved"] >= 1) == ("DONE", True)
    assert wait_until(lambda: partner.delivery("11.0088.00001")["state"] == "DELIVERED", 20, 0.2)


def test_a_slow_china_never_times_a_batch_out_and_nothing_reaches_a_dead_letter_queue(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given China answering each message after 0.8 s (its read timeout is 1 s), and a dispatcher with 6 s per
    # invocation: a batch of ten would take 8 s
    dispatcher = stack.pollers["dispatcher"]
    assert isinstance(dispatcher, QueuePoller)
    stack.function_timeouts["jevs-dispatcher"] = 6
    china.faults.delay(0.8)
    slow = numbers("11.0099", 10)
    dispatcher.pause()
    try:
        for number in slow:
            partner.submit(number)
        assert wait_until(lambda: _visible(stack, stack.resources.delivery.queue) == 10, 15, 0.2)
        timed_out_before = dispatcher.timed_out
        dispatcher.resume()

        # Then all ten are delivered, by invocations that handed back what they had no time for
        assert wait_until(lambda: set(states(stack, slow).values()) == {DeliveryState.DELIVERED}, 60, 0.5)
    finally:
        dispatcher.resume()
        stack.function_timeouts["jevs-dispatcher"] = DISPATCHER_FUNCTION.timeout_seconds
    assert dispatcher.timed_out == timed_out_before
    assert _visible(stack, stack.resources.delivery.dead_letters) == 0


def _visible(stack: LocalStack, queue_url: str) -> int:
    sqs = stack.aws_client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def submitted_and_lost(stack: LocalStack, partner: Partner, number: str) -> None:
    """Submit ``number`` with the dispatcher paused and take its delivery message off the queue before the dispatcher
    sees it: SQS lost it. Deleted rather than purged, as SQS allows one purge of a queue a minute."""
    dispatcher = stack.pollers["dispatcher"]
    dispatcher.pause()
    sqs = stack.aws_client("sqs")
    queue = stack.resources.delivery.queue

    def lost() -> bool:
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in received:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return bool(received)

    try:
        partner.submit(number)
        assert wait_until(lost, 15)
    finally:
        dispatcher.resume()
    assert partner.delivery(number)["state"] == "PENDING"


def test_reconciliation_resends_a_version_whose_message_was_lost(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given a certificate whose delivery message is lost before the dispatcher sees it
    submitted_and_lost(stack, partner, "11.0044.00001")

    # When reconciliation runs after its bound (1 s in the e2e stack) has passed
    time.sleep(1.2)
    report = reconciliation_run(stack)

    # Then it reports the version and queues it again, and China receives it
    assert "11.0044.00001/v1" in report["requeued"]
    assert wait_until(lambda: partner.delivery("11.0044.00001")["state"] == "DELIVERED", 15)
    assert [m.idempotency_key for m in china.received] == ["11.0044.00001/v1"]


def test_jevs_reconcile_runs_reconciliation_now_and_a_lost_delivery_reaches_china(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given a certificate whose delivery message is lost before the dispatcher sees it
    submitted_and_lost(stack, partner, "11.0044.00002")

    # When operations run `jevs reconcile` after the bound (1 s in the e2e stack) has passed: the reconciler invoked
    # through Lambda's Invoke API, as in AWS
    time.sleep(1.2)
    code, out, err = jevs(stack, "reconcile", "--json")

    # Then it prints the function's report with the version queued again, and China receives it
    assert code == 0, err
    report = json.loads(out)
    assert "11.0044.00002/v1" in report["requeued"]
    assert report["count"] == len(report["requeued"])
    assert wait_until(lambda: partner.delivery("11.0044.00002")["state"] == "DELIVERED", 15)
    assert [m.idempotency_key for m in china.received] == ["11.0044.00002/v1"]


@cache
def _reconciler(stack: LocalStack) -> ReconcilerDependencies:
    """The reconciler's dependencies, built from its own settings as the stack builds the function."""
    options = LocalOptions(
        parties="[]", china_customs_endpoint=stack.china_endpoint, verification_base_url=stack.api_url
    )
    settings = function_settings(stack.resources, options)["reconciler"]
    assert isinstance(settings, ReconcilerSettings)
    return bootstrap.reconciler(settings, AwsClients(AwsEndpoint(stack.aws_url, stack.identity.region)))


def redrive_step(stack: LocalStack) -> dict[str, Any]:
    """The reconciler's redrive step alone, as each scheduled run works it: the whole run would also queue again
    every delivery pending over the e2e stack's one-second bound, flooding a fault campaign with duplicates."""
    return work_redrive_jobs(_reconciler(stack), LocalLambdaContext(stack.identity, "redrive"))


def jevs(stack: LocalStack, *arguments: str) -> tuple[int, str, str]:
    """``jevs`` with the local profile pointed at this stack: its exit status, standard output and the progress
    it drew on standard error."""
    out, err = io.StringIO(), io.StringIO()
    state = State(out=Console(file=out, width=200), err=Console(file=err, width=200))
    environment = {
        "JEVS_API_URL": stack.api_url,
        "JEVS_AWS_URL": stack.aws_url,
        "JEVS_LAMBDA_URL": stack.lambda_url,
        "JEVS_PROFILE_FILE": "/nonexistent",
    }
    result = CliRunner().invoke(app, list(arguments), obj=state, env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, out.getvalue(), err.getvalue()


def test_jevs_lists_the_parked_deliveries_redrives_them_with_progress_and_shows_their_journey(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner
) -> None:
    # Given China down for good, and two certificates parked once their retry horizon passed
    china.faults.fail_fraction(1.0)
    parked = numbers("11.0055", 2)
    for number in parked:
        partner.submit(number)
    assert wait_until(lambda: set(states(stack, parked).values()) == {DeliveryState.PARKED}, 90, 0.5)

    # Then `jevs parked` lists each, with its delivery's state and attempts from the API
    code, out, _ = jevs(stack, "parked", "--json")
    assert code == 0
    listed = {row["certificate_number"]: row for row in json.loads(out)["parked"]}
    assert {number: listed[number]["state"] for number in parked} == dict.fromkeys(parked, "PARKED")
    assert all(listed[number]["attempts"] >= 1 and listed[number]["version"] == 1 for number in parked)
    # and as a table, for people
    code, table, _ = jevs(stack, "parked")
    assert code == 0
    assert all(number in table for number in parked)
    # and `jevs queues` counts them in the deliveries' dead-letter queue (read, not taken)
    code, out, _ = jevs(stack, "queues", "--json")
    counts = {row["queue"]: row["waiting"] + row["in_flight"] for row in json.loads(out)["queues"]}
    assert code == 0
    assert counts["deliveries"] >= len(parked)

    # When China is back and operations redrive, following the job, while the reconciler works it
    china.faults.clear()
    finished: list[tuple[int, str, str]] = []
    command = threading.Thread(
        target=lambda: finished.append(jevs(stack, "redrive", "deliveries", "--wait", "--poll-seconds", "0.2"))
    )
    command.start()
    while command.is_alive():
        redrive_step(stack)
        command.join(timeout=0.5)

    # Then the job is DONE, the progress bar ended full, and each delivery is delivered
    ((code, out, progress),) = finished
    assert code == 0, progress
    assert "│ status                   │ DONE" in out
    moved = int(out.split("│ moved                    │ ")[1].split()[0])
    assert moved >= len(parked)
    assert "redrive deliveries: DONE" in progress
    assert f"{moved}/{moved}" in progress
    assert wait_until(lambda: set(states(stack, parked).values()) == {DeliveryState.DELIVERED}, 30, 0.5)

    # And `jevs journey` shows the way: issued and queued, the attempts, delivered with China's receipt
    code, out, _ = jevs(stack, "journey", parked[0], "--json")
    assert code == 0
    (version,) = json.loads(out)["journey"]
    assert (version["version"], version["state"]) == (1, "DELIVERED")
    assert [step["step"] for step in version["steps"]] == ["issued, queued for China", "attempted", "delivered"]
    issued, _, delivered = (datetime.fromisoformat(step["at"]) for step in version["steps"])
    assert issued < delivered
    assert version["steps"][2]["detail"].startswith("receipt ")
    code, table, _ = jevs(stack, "journey", parked[0])
    assert code == 0
    assert "delivered" in table
    assert f"Journey of {parked[0]}" in table


def test_jevs_redrive_of_an_empty_queue_returns_the_job_running_and_journey_says_not_found(
    stack: LocalStack, partner: Partner
) -> None:
    code, out, _ = jevs(stack, "redrive", "notifications", "--json")
    job = json.loads(out)
    assert (code, job["queue"], job["status"]) == (0, "notifications", "RUNNING")
    # Worked by the schedule (here, the test's redrive step) like any other job
    redrive_step(stack)
    assert partner.job(job["links"]["self"])["status"] == "DONE"

    code, out, err = jevs(stack, "journey", "11.0055.99999")
    assert (code, out) == (1, "")
    assert err.startswith("jevs: 404 ")


def test_a_fault_campaign_ends_with_every_message_delivered_exactly_once(
    stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given China failing a quarter of calls, timing out on some, storing some while the answer is lost,
    # and a dispatcher that crashes after China accepted but before it recorded that, ten times
    crashes = {"left": 10}
    record_delivery = TableDeliveries.replace

    def crash_after_posting(self: TableDeliveries, previous: Delivery, delivery: Delivery) -> None:
        if delivery.state is DeliveryState.DELIVERED and crashes["left"] > 0:
            crashes["left"] -= 1
            raise RuntimeError("dispatcher crashed after China accepted, before recording")
        record_delivery(self, previous, delivery)

    monkeypatch.setattr(TableDeliveries, "replace", crash_after_posting)
    china.faults.fail_fraction(0.25, seed=7).delay(1.5, fraction=0.05, seed=11).accept_then_fail(10)
    campaign, replacements = numbers("11.0022", 200), numbers("11.0029", 20)
    revoked, replaced, copied = campaign[:20], campaign[20:40], campaign[40:60]

    # When two hundred certificates are issued, and while their deliveries are under way, twenty of them are
    # revoked, twenty replaced and twenty covered by a certified true copy (so some of these reach China before
    # the issue they change, and are answered "too early" until it has arrived)
    for number in campaign:
        partner.submit(number)
    for number in revoked:
        partner.act(number, "revocation", {"reason": "Origin not proven"})
    for number, replacement in zip(replaced, replacements, strict=True):
        corrected = certificate_payload(certificate_number=replacement)
        partner.act(number, "replacement", {"reason": "Invoice number corrected", "certificate": corrected})
    for number in copied:
        partner.act(number, "certified-true-copy", {"reason": "Lost in transit"})
    everything = campaign + replacements
    expected = sorted(
        [f"{n}/v1" for n in everything]
        + [f"{n}/revoked" for n in revoked]
        + [f"{n}/replaced" for n in replaced]
        + [f"{n}/v2" for n in copied]
    )

    # (operations answer the dead-letter alarm with a redrive, as in production: a delivery that failed five
    # times in a row is parked, and one whose message gave up before its answer was recorded is still PENDING
    # with its message in the dead-letter queue)
    def nothing_left_to_send() -> bool:
        if not still_pending(stack):
            return True
        partner.redrive()
        return False

    assert wait_until(nothing_left_to_send, 240, 2)
    china.faults.clear()

    def everything_delivered() -> bool:
        if set(states(stack, everything).values()) == {DeliveryState.DELIVERED}:
            return True
        partner.redrive()  # again, for one parked so recently that its message had not reached the queue
        return False

    # Then every message is delivered, China holds each exactly once, signed, and its record of each certificate
    # is what JEVS holds
    assert wait_until(everything_delivered, 120, 2), {
        key: (state, partner.delivery(key.split("/")[0]))
        for key, state in states(stack, everything).items()
        if state is not DeliveryState.DELIVERED
    }
    assert sorted(states(stack, everything)) == expected
    received = china.received
    assert sorted(message.idempotency_key for message in received) == expected
    assert len({message.receipt_id for message in received}) == len(expected)
    assert all(message.headers["x-jws-signature"].count(".") == 2 for message in received)
    held = china.certificates
    assert {n for n in everything if held[n].status is HeldStatus.REVOKED} == set(revoked)
    assert {n: held[n].replaced_by for n in replaced} == dict(zip(replaced, replacements, strict=True))
    assert {n for n in everything if held[n].version_numbers == (1, 2)} == set(copied)
    stats = china.stats
    assert stats.conflicts == 0
    assert stats.contradictory == 0
    assert stats.failed_injected > 0
    assert stats.duplicates >= 10  # the lost answers and the crashes were sent again and deduplicated
    assert crashes["left"] == 0
