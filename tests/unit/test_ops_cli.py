"""``jevs``, the operations CLI, against a fake API (httpx's mock transport) and a fake SQS: what each command
asks, the tables people read and the JSON scripts read; the profiles; the reference page is current."""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from infrastructure.ops import aws, docs
from infrastructure.ops.api import ApiError, OpsApi
from infrastructure.ops.cli import State, app
from infrastructure.ops.profiles import LOCAL, Profile, ProfileError, load_profile
from jevs.resources import DECLARATIONS_QUEUE, DELIVERY_QUEUE, NOTIFICATIONS_QUEUE, STREAM_FAILURES_QUEUE

pytestmark = pytest.mark.unit

TOKEN = "token-1"
Route = Callable[[httpx.Request], httpx.Response]


def delivery(version: int, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "message_type": "certificate.issued",
        "version": version,
        "state": state,
        "attempts": 3,
        "created_at": "2026-12-07T01:00:00+00:00",
        "updated_at": "2026-12-07T01:05:00+00:00",
        **extra,
    }


def job(status: str, moved: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": "rd-1",
        "queue": "deliveries",
        "status": status,
        "requested_by": "ops-1",
        "requested_at": "2026-12-07T02:00:00+00:00",
        "updated_at": "2026-12-07T02:00:00+00:00",
        "moved": moved,
        "pages": moved,
        "quarantined_count": 0,
        "batches_not_found_count": 0,
        **extra,
    }


class FakeApi:
    """The token endpoint and the routes a test gives, recording every request."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(
                404,
                json={
                    "type": "http://127.0.0.1:8080/site/problems/not-found/",
                    "title": "Not found",
                    "status": 404,
                    "detail": "nothing",
                },
                headers={"Content-Type": "application/problem+json"},
            )
        return route(request)


class FakeSqs:
    """The dead-letter queues by name: counts, and messages read without taking them."""

    def __init__(self, counts: dict[str, tuple[int, int]], messages: list[dict[str, Any]] | None = None) -> None:
        self.counts = counts
        self.messages = messages or []
        self.receives: list[dict[str, Any]] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:  # noqa: N803 (boto3's names)
        return {"QueueUrl": f"https://sqs.local/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        visible, in_flight = self.counts[QueueUrl.rsplit("/", 1)[1]]
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            }
        }

    def receive_message(self, **options: Any) -> dict[str, Any]:
        self.receives.append(options)
        return {"Messages": self.messages[: options["MaxNumberOfMessages"]]}


def run(
    api: FakeApi, *arguments: str, sqs: Any = None, kms: Any = None, lambda_client: Any = None
) -> tuple[int, str, str]:
    transport = httpx.MockTransport(api)
    out, err = Console(record=True, width=160, file=open_null()), Console(record=True, width=160, file=open_null())
    state = State(
        api=lambda profile: OpsApi(profile, transport),
        aws=lambda profile, service: {"sqs": sqs, "kms": kms, "lambda": lambda_client, "sts": FakeSts()}[service],
        out=out,
        err=err,
    )
    result = CliRunner().invoke(app, list(arguments), obj=state, env={"JEVS_PROFILE_FILE": "/nonexistent"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, out.export_text(), err.export_text()


def open_null() -> Any:
    return open("/dev/null", "w")


DELIVERIES = {
    "certificate_number": "11.0001.00001",
    "deliveries": [
        delivery(1, "DELIVERED", attempts=2, receipt_id="CN-R-1", delivered_at="2026-12-07T01:05:00+00:00"),
        delivery(2, "PARKED", attempts=45, last_error="China answered 503"),
    ],
    "links": {},
}


def test_journey_shows_each_version_from_issue_to_its_end_with_times() -> None:
    api = FakeApi({("GET", "/v1/certificates/11.0001.00001/delivery"): lambda _: httpx.Response(200, json=DELIVERIES)})

    code, out, _ = run(api, "journey", "11.0001.00001")

    assert code == 0
    lines = [line for line in out.splitlines() if "│" in line]
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]
    assert cells == [
        ["1", "certificate.issued", "issued, queued for China", "2026-12-07 01:00:00", ""],
        ["", "", "attempted", "2026-12-07 01:05:00", "2 attempt(s)"],
        ["", "", "delivered", "2026-12-07 01:05:00", "receipt CN-R-1"],
        ["2", "certificate.issued", "issued, queued for China", "2026-12-07 01:00:00", ""],
        ["", "", "attempted", "2026-12-07 01:05:00", "45 attempt(s); last error: China answered 503"],
        ["", "", "parked (redrive deliveries)", "2026-12-07 01:05:00", ""],
    ]


def test_journey_as_json_and_a_pending_delivery_waits() -> None:
    pending = {**DELIVERIES, "deliveries": [delivery(1, "PENDING", attempts=0)]}
    api = FakeApi({("GET", "/v1/certificates/11.0001.00001/delivery"): lambda _: httpx.Response(200, json=pending)})

    code, out, _ = run(api, "journey", "11.0001.00001", "--json")

    assert code == 0
    assert json.loads(out) == {
        "certificate_number": "11.0001.00001",
        "journey": [
            {
                "version": 1,
                "message_type": "certificate.issued",
                "state": "PENDING",
                "steps": [
                    {"step": "issued, queued for China", "at": "2026-12-07T01:00:00+00:00", "detail": ""},
                    {"step": "pending", "at": None, "detail": "waiting for its next attempt"},
                ],
            }
        ],
    }


def test_a_problem_answer_is_said_on_standard_error_with_exit_status_1() -> None:
    code, out, err = run(FakeApi({}), "journey", "99.9999.99999")

    assert (code, out) == (1, "")
    assert err.strip() == "jevs: 404 Not found: nothing"


def test_redrive_posts_the_queue_with_an_idempotency_key_of_its_own_and_shows_the_job() -> None:
    started = job("RUNNING", 0)
    api = FakeApi({("POST", "/v1/ops/redrives"): lambda _: httpx.Response(202, json=started)})

    code, out, _ = run(api, "redrive", "notifications", "--json")
    code_again, _, _ = run(api, "redrive", "notifications", "--json")

    assert (code, code_again) == (0, 0)
    assert json.loads(out) == started
    posts = [request for request in api.requests if request.url.path == "/v1/ops/redrives"]
    assert [json.loads(post.content) for post in posts] == [{"queue": "notifications"}] * 2
    keys = {post.headers["Idempotency-Key"] for post in posts}
    assert len(keys) == 2
    assert all(key.startswith("jevs-cli-") for key in keys)


def test_redrive_wait_follows_the_job_with_a_progress_bar_until_done() -> None:
    polls = iter([job("RUNNING", 2), job("DONE", 3, finished_at="2026-12-07T02:01:00+00:00")])
    api = FakeApi(
        {
            ("POST", "/v1/ops/redrives"): lambda _: httpx.Response(
                202, json=job("RUNNING", 0), headers={"Location": "/v1/ops/redrives/rd-1"}
            ),
            ("GET", "/v1/ops/redrives/rd-1"): lambda _: httpx.Response(200, json=next(polls)),
        }
    )
    sqs = FakeSqs({DELIVERY_QUEUE.dead_letter_name: (3, 0)})

    code, out, err = run(api, "redrive", "deliveries", "--wait", "--poll-seconds", "0", sqs=sqs)

    assert code == 0
    assert "redrive deliveries: DONE" in err
    assert "3/3" in err
    assert "│ status                   │ DONE" in out
    assert "│ moved                    │ 3" in out


def test_redrive_wait_that_times_out_says_so_with_exit_status_1() -> None:
    api = FakeApi(
        {
            ("POST", "/v1/ops/redrives"): lambda _: httpx.Response(202, json=job("RUNNING", 0)),
            ("GET", "/v1/ops/redrives/rd-1"): lambda _: httpx.Response(200, json=job("RUNNING", 1)),
        }
    )

    code, _, err = run(
        api,
        "redrive",
        "deliveries",
        "--wait",
        "--timeout",
        "0",
        "--json",
        sqs=FakeSqs({DELIVERY_QUEUE.dead_letter_name: (1, 0)}),
    )

    assert code == 1
    assert "jevs: redrive rd-1 not done after 0 s; still RUNNING" in err


_EMPTY_OTHERS = {
    DECLARATIONS_QUEUE.dead_letter_name: (0, 0),
    NOTIFICATIONS_QUEUE.dead_letter_name: (0, 0),
    STREAM_FAILURES_QUEUE.name: (0, 0),
}
STATUS = {
    "circuit": {"destination": "china-customs", "state": "OPEN", "consecutive_failures": 5},
    "pending": {"count": 7, "count_is_at_least": False},
}


def test_queues_counts_each_dead_letter_queue_with_its_latest_redrive() -> None:
    redrives = {"items": [job("DONE", 4, requested_at="2026-12-07T03:00:00+00:00"), job("DONE", 9)]}
    api = FakeApi(
        {
            ("GET", "/v1/ops/redrives"): lambda _: httpx.Response(200, json=redrives),
            ("GET", "/v1/ops/deliveries/status"): lambda _: httpx.Response(200, json=STATUS),
        }
    )
    sqs = FakeSqs(_EMPTY_OTHERS | {DELIVERY_QUEUE.dead_letter_name: (3, 1)})

    code, out, _ = run(api, "queues", sqs=sqs)
    code_json, document, _ = run(api, "queues", "--json", sqs=sqs)

    assert (code, code_json) == (0, 0)
    assert (
        "│ deliveries      │ jevs-delivery-to-china-dlq  │ 3       │ 1         │ DONE, 4 moved, 2026-12-07 03:00:00"
        in out
    )
    assert "China's circuit: OPEN (5 failures in a row); deliveries pending: 7" in out
    queues = json.loads(document)["queues"]
    assert [(q["queue"], q["waiting"], q["in_flight"]) for q in queues] == [
        ("deliveries", 3, 1),
        ("declarations", 0, 0),
        ("notifications", 0, 0),
        ("stream-failures", 0, 0),
    ]
    assert queues[0]["latest_redrive"]["moved"] == 4
    assert queues[1]["latest_redrive"] is None


class FakeSts:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": "210987654321"}


class FakeLambda:
    """Lambda's Invoke: the function's answer as its payload stream, with Lambda's FunctionError when it failed."""

    def __init__(self, answer: dict[str, Any], function_error: str | None = None) -> None:
        self.answer = answer
        self.function_error = function_error
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **request: Any) -> dict[str, Any]:
        self.invocations.append(request)
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


REPORT = {
    "requeued": ["11.0001.00001/v2"],
    "count": 1,
    "open_work": {"declarations": [], "documents": ["11.0001.00002/v1/notifications"], "outbox": []},
    "redrives": [{"id": "rd-1", "queue": "deliveries", "status": "DONE", "moved": 3, "pages": 1, "quarantined": 0}],
}


def test_reconcile_invokes_the_reconciler_with_a_scheduled_event_and_shows_what_it_queued_again() -> None:
    function = FakeLambda(REPORT)
    code, out, err = run(FakeApi({}), "reconcile", lambda_client=function)
    assert (code, err) == (0, "")
    ((invocation,),) = [function.invocations]
    assert (invocation["FunctionName"], invocation["InvocationType"]) == ("jevs-reconciler", "RequestResponse")
    event = json.loads(invocation["Payload"])
    scheduled = (event["source"], event["detail-type"], event["account"])
    assert scheduled == ("aws.events", "Scheduled Event", "210987654321")
    assert event["resources"] == ["arn:aws:events:ap-southeast-2:210987654321:rule/jevs-reconciliation"]
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if line.count("│") == 4}
    assert rows == {"deliveries": "1", "declarations": "0", "documents": "1", "outbox": "0"}
    assert "11.0001.00001/v2" in out
    assert "redrive rd-1 (deliveries): DONE, 3 moved in 1 page(s), 0 quarantined" in out


def test_reconcile_as_json_prints_the_functions_report() -> None:
    code, out, _ = run(FakeApi({}), "reconcile", "--json", lambda_client=FakeLambda(REPORT))
    assert (code, json.loads(out)) == (0, REPORT)


def test_reconcile_that_fails_in_the_function_says_so_with_exit_status_1() -> None:
    failure = {"errorMessage": "the table is not there", "errorType": "ResourceNotFoundException"}
    code, out, err = run(FakeApi({}), "reconcile", lambda_client=FakeLambda(failure, "Unhandled"))
    assert (code, out) == (1, "")
    assert err.strip() == "jevs: reconciliation did not run: ResourceNotFoundException: the table is not there"


def parked_message(number: str, version: int, sent_millis: int) -> dict[str, Any]:
    body = {
        "kind": "china.delivery",
        "created_at": "2026-12-07T01:00:00+00:00",
        "history_of": number,
        "body": {"message_type": "certificate.issued", "version": version, "message_id": f"{number}/v{version}"},
    }
    return {"MessageId": f"m-{number}", "Body": json.dumps(body), "Attributes": {"SentTimestamp": str(sent_millis)}}


def test_parked_lists_the_dead_letters_without_taking_them_with_each_delivery_state() -> None:
    sqs = FakeSqs({}, [parked_message("11.0001.00001", 2, 1_765_069_200_000)])
    api = FakeApi({("GET", "/v1/certificates/11.0001.00001/delivery"): lambda _: httpx.Response(200, json=DELIVERIES)})

    code, out, _ = run(api, "parked", "--json", sqs=sqs)

    assert code == 0
    assert json.loads(out)["parked"] == [
        {
            "certificate_number": "11.0001.00001",
            "declaration_id": None,
            "message_type": "certificate.issued",
            "version": 2,
            "delivery_key": "11.0001.00001/v2",
            "created_at": "2026-12-07T01:00:00+00:00",
            "parked_at": "2025-12-07T01:00:00+00:00",
            "state": "PARKED",
            "attempts": 45,
            "last_error": "China answered 503",
        }
    ]
    # Read with a visibility timeout of 0: each message stays there for the redrive.
    assert {receive["VisibilityTimeout"] for receive in sqs.receives} == {0}


def test_the_local_profile_needs_no_file_and_the_environment_wins(tmp_path: Path) -> None:
    local = load_profile(LOCAL, {"JEVS_PROFILE_FILE": str(tmp_path / "none.toml")})
    assert (local.api_url, local.token_url, local.aws_endpoint_url) == (
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/oauth2/token",
        "http://127.0.0.1:4566",
    )
    # Lambda's Invoke answers at the local stack's own port: moto's Lambda runs no code
    assert local.lambda_url == "http://127.0.0.1:4567"
    assert aws.client(local, "lambda").meta.endpoint_url == "http://127.0.0.1:4567"
    assert aws.client(local, "sqs").meta.endpoint_url == "http://127.0.0.1:4566"
    ports = {"JEVS_PROFILE_FILE": str(tmp_path / "none.toml"), "JEVS_API_PORT": "9000", "JEVS_MOTO_PORT": "5000"}
    moved = load_profile(LOCAL, ports | {"JEVS_LAMBDA_PORT": "5001"})
    assert (moved.token_url, moved.aws_endpoint_url) == ("http://127.0.0.1:9000/oauth2/token", "http://127.0.0.1:5000")
    assert moved.lambda_url == "http://127.0.0.1:5001"
    assert local.client_id
    assert local.client_secret

    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        '[aws]\napi_url = "https://api.example/"\ntoken_url = "https://auth.example/oauth2/token"\n'
        'client_id = "ops-app"\napi_key = "k"\n',
        encoding="utf-8",
    )
    environment = {"JEVS_PROFILE_FILE": str(profiles), "JEVS_CLIENT_SECRET": "s"}
    assert load_profile("aws", environment) == Profile(
        name="aws",
        api_url="https://api.example",
        token_url="https://auth.example/oauth2/token",
        client_id="ops-app",
        client_secret="s",
        api_key="k",
    )
    with pytest.raises(ProfileError, match="no profile 'prod'"):
        load_profile("prod", {"JEVS_PROFILE_FILE": str(profiles)})
    # A profile of AWS from the environment alone; what the API needs is asked for when the API is called
    from_environment = load_profile("prod", {"JEVS_PROFILE_FILE": str(profiles), "JEVS_API_URL": "https://a.example"})
    assert (from_environment.api_url, from_environment.aws_endpoint_url) == ("https://a.example", "")
    with pytest.raises(ApiError, match="lacks token_url \\(JEVS_TOKEN_URL\\), client_id"):
        OpsApi(from_environment)


def test_the_token_is_fetched_once_a_run_and_the_api_key_sent_where_the_profile_has_one() -> None:
    api = FakeApi({("GET", "/v1/ops/redrives/rd-1"): lambda _: httpx.Response(200, json=job("DONE", 0))})
    profile = Profile("aws", "https://api.example", "https://auth.example/oauth2/token", "id", "secret", api_key="k")
    with OpsApi(profile, httpx.MockTransport(api)) as client:
        client.get("/v1/ops/redrives/rd-1")
        client.get("/v1/ops/redrives/rd-1")

    token_requests = [request for request in api.requests if request.url.host == "auth.example"]
    assert len(token_requests) == 1
    assert urllib.parse.parse_qs(token_requests[0].content.decode()) == {"grant_type": ["client_credentials"]}
    assert [request.headers.get("x-api-key") for request in api.requests[1:]] == ["k", "k"]


def test_the_cli_reference_page_is_current() -> None:
    assert docs.PAGE.read_text(encoding="utf-8") == docs.page(), "docs/operations/cli.md is stale: run make cli-docs"
