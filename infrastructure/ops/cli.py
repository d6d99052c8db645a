"""``jevs``: the operations CLI (docs/operations/cli.md). Tables for people, ``--json`` for scripts.

Every command takes ``--profile`` (default ``local``: ``make run``'s stack) and logs in with the profile's client
credentials once per run; see infrastructure/ops/profiles.py for the profile file and the environment."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infrastructure.ops import aws
from infrastructure.ops.api import ApiError, OpsApi
from infrastructure.ops.profiles import LOCAL, Profile, ProfileError, load_profile
from jevs.adapters.kms_signer import RotationRefused, rotate_signing_key
from jevs.domain.recovery import RedriveQueue
from jevs.resources import SIGNING_KEY

REDRIVES_PATH = "/v1/ops/redrives"
STATUS_PATH = "/v1/ops/deliveries/status"

app = typer.Typer(
    name="jevs",
    help="Operate JEVS: dead-letter queues, redrives, reconciliation, a certificate's delivery journey, the signing "
    "key.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@dataclass
class State:
    """What the commands reach the world through: replaced in tests (a fake transport, moto)."""

    api: Callable[[Profile], OpsApi] = OpsApi
    aws: Callable[[Profile, str], Any] = aws.client
    out: Console = field(default_factory=lambda: Console(soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True))
    profile: Profile | None = None

    def the_profile(self) -> Profile:
        assert self.profile is not None  # set by the app's callback before any command runs
        return self.profile


Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]


def _state(context: typer.Context) -> State:
    state = context.find_root().obj
    assert isinstance(state, State)
    return state


@app.callback()
def main_options(
    context: typer.Context,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            "-p",
            envvar="JEVS_PROFILE",
            help="The profile in ~/.config/jevs/profiles.toml (or JEVS_PROFILE_FILE); JEVS_API_URL, "
            "JEVS_TOKEN_URL, JEVS_CLIENT_ID, JEVS_CLIENT_SECRET, JEVS_OPS_API_KEY and JEVS_AWS_URL override it. "
            "'local' needs no file: make run's stack.",
        ),
    ] = LOCAL,
) -> None:
    state = context.obj if isinstance(context.obj, State) else State()
    context.obj = state
    try:
        state.profile = load_profile(profile)
    except ProfileError as error:
        _fail(state, str(error))


def _fail(state: State, message: str) -> NoReturn:
    state.err.print(f"jevs: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _print_json(state: State, document: Any) -> None:
    state.out.print_json(json.dumps(document, default=_instant))


def _instant(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def _when(value: str | datetime | None) -> str:
    """An instant as people read it: UTC, to the second."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- parked --------------------------------------------------------------------------------------------------------


@app.command()
def parked(
    context: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    as_json: Json = False,
) -> None:
    """List the parked deliveries: the messages waiting in the deliveries' dead-letter queue (read without
    taking them), each with its delivery's state and attempts from the API."""
    state = _state(context)
    profile = state.the_profile()
    try:
        messages = aws.parked_messages(state.aws(profile, "sqs"), limit)
    except (BotoCoreError, ClientError) as error:
        _fail(state, f"could not read the deliveries' dead-letter queue: {error}")
    try:
        with state.api(profile) as api:
            rows = [_with_delivery_state(api, message) for message in messages]
    except ApiError as error:
        _fail(state, str(error))
    if as_json:
        _print_json(state, {"parked": rows})
        return
    table = Table(title=f"Parked deliveries ({len(rows)})")
    for column in ("certificate", "version", "message", "state", "attempts", "last error", "parked at"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["certificate_number"] or f"declaration {row['declaration_id']}",
            str(row["version"] or ""),
            row["message_type"],
            row.get("state", ""),
            str(row.get("attempts", "")),
            row.get("last_error") or "",
            _when(row["parked_at"]),
        )
    state.out.print(table)


def _with_delivery_state(api: OpsApi, message: aws.ParkedMessage) -> dict[str, Any]:
    """The message, with its delivery's state, attempts and last error when it is a certificate's."""
    row: dict[str, Any] = asdict(message)
    if message.certificate_number is None or message.declaration_id is not None:
        return row  # a match result's delivery: its declaration keeps it, read at /v1/declarations
    deliveries = api.get(f"/v1/certificates/{message.certificate_number}/delivery")["deliveries"]
    delivery = next((d for d in deliveries if d["version"] == message.version), None)
    if delivery is not None and delivery["message_type"] == message.message_type:
        row |= {key: delivery[key] for key in ("state", "attempts", "last_error")}
    return row


# -- queues --------------------------------------------------------------------------------------------------------


@app.command()
def queues(context: typer.Context, as_json: Json = False) -> None:
    """The dead-letter queues with their counts and each one's latest redrive, China's circuit breaker and the
    deliveries still pending."""
    state = _state(context)
    profile = state.the_profile()
    try:
        counts = aws.dead_letter_counts(state.aws(profile, "sqs"))
    except (BotoCoreError, ClientError) as error:
        _fail(state, f"could not count the dead-letter queues: {error}")
    try:
        with state.api(profile) as api:
            redrives = api.get(REDRIVES_PATH, limit=50)["items"]
            status = api.get(STATUS_PATH)
    except ApiError as error:
        _fail(state, str(error))
    latest: dict[str, dict[str, Any]] = {}
    for job in reversed(redrives):  # newest first: the newest of each queue wins
        latest[job["queue"]] = job
    rows: list[dict[str, Any]] = [
        {
            "queue": count.queue.value,
            "dead_letter_queue": count.name,
            "waiting": count.visible,
            "in_flight": count.in_flight,
            "latest_redrive": latest.get(count.queue.value),
        }
        for count in counts
    ]
    if as_json:
        _print_json(state, {"queues": rows, "delivery_status": status})
        return
    table = Table(title="Dead-letter queues")
    for column in ("queue", "dead-letter queue", "waiting", "in flight", "latest redrive"):
        table.add_column(column)
    for row in rows:
        last = row["latest_redrive"]
        redrive = f"{last['status']}, {last['moved']} moved, {_when(last['requested_at'])}" if last else ""
        table.add_row(row["queue"], row["dead_letter_queue"], str(row["waiting"]), str(row["in_flight"]), redrive)
    state.out.print(table)
    circuit, pending = status["circuit"], status["pending"]
    at_least = "at least " if pending["count_is_at_least"] else ""
    state.out.print(
        f"China's circuit: {circuit['state']} ({circuit['consecutive_failures']} failures in a row); "
        f"deliveries pending: {at_least}{pending['count']}",
        highlight=False,
    )


# -- redrive -------------------------------------------------------------------------------------------------------


@app.command()
def redrive(
    context: typer.Context,
    queue: Annotated[RedriveQueue, typer.Argument(help="The dead-letter queue to empty back into the system.")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job with a progress bar until it is DONE.")] = False,
    timeout: Annotated[float, typer.Option(help="How long --wait waits, in seconds.")] = 900,
    poll_seconds: Annotated[float, typer.Option(help="How often --wait asks, in seconds.")] = 2,
    as_json: Json = False,
) -> None:
    """Start a redrive of a dead-letter queue: a job the reconciler works within a minute, a page at a time.
    With --wait, follow it until it is DONE (exit status 1 if not DONE within --timeout)."""
    state = _state(context)
    profile = state.the_profile()
    total = _waiting(state, profile, queue) if wait else None
    try:
        with state.api(profile) as api:
            started = api.post(REDRIVES_PATH, {"queue": queue.value})
            job: dict[str, Any] = started.json()
            if wait:
                location = started.headers.get("Location", f"{REDRIVES_PATH}/{job['id']}")
                job = _follow(state, api, location, job, total, timeout, poll_seconds, quiet=as_json)
    except ApiError as error:
        _fail(state, str(error))
    if as_json:
        _print_json(state, job)
    else:
        _show_job(state, job)
    if wait and job["status"] != "DONE":
        _fail(state, f"redrive {job['id']} not done after {timeout:g} s; still {job['status']}")


def _waiting(state: State, profile: Profile, queue: RedriveQueue) -> int | None:
    """How many messages the queue holds now: the progress bar's total (none when the queue cannot be read)."""
    try:
        count = aws.dead_letter_count(state.aws(profile, "sqs"), queue)
    except (BotoCoreError, ClientError):
        return None
    return count.visible + count.in_flight


def _follow(
    state: State,
    api: OpsApi,
    location: str,
    job: dict[str, Any],
    total: int | None,
    timeout: float,
    poll_seconds: float,
    *,
    quiet: bool,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=state.err, disable=quiet) as progress:
        task = progress.add_task(f"redrive {job['queue']}", total=total)
        while True:
            handled = job["moved"] + job["quarantined_count"] + job["batches_not_found_count"]
            progress.update(task, completed=handled, description=f"redrive {job['queue']}: {job['status']}")
            if job["status"] == "DONE":
                # Done means the queue was found empty: the bar ends full whatever the count said at the start.
                progress.update(task, total=max(handled, 1), completed=max(handled, 1))
                return job
            if time.monotonic() >= deadline:
                return job
            time.sleep(poll_seconds)
            job = api.get(location)


def _show_job(state: State, job: dict[str, Any]) -> None:
    table = Table(title=f"Redrive {job['id']}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for label, value in (
        ("queue", job["queue"]),
        ("status", job["status"]),
        ("moved", job["moved"]),
        ("pages", job["pages"]),
        ("quarantined", job["quarantined_count"]),
        ("stream batches not found", job["batches_not_found_count"]),
        ("requested", f"{_when(job['requested_at'])} by {job['requested_by']}"),
        ("finished", _when(job.get("finished_at"))),
    ):
        table.add_row(label, str(value))
    state.out.print(table)


# -- journey -------------------------------------------------------------------------------------------------------


def journey_of(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each version's delivery as steps: issued and queued, the attempts, then where it ended (or waits)."""
    journeys = []
    for delivery in deliveries:
        steps = [{"step": "issued, queued for China", "at": delivery["created_at"], "detail": ""}]
        if delivery["attempts"]:
            last_error = delivery.get("last_error") or ""
            detail = f"{delivery['attempts']} attempt(s)" + (f"; last error: {last_error}" if last_error else "")
            steps.append({"step": "attempted", "at": delivery["updated_at"], "detail": detail})
        match delivery["state"]:
            case "DELIVERED":
                receipt = delivery.get("receipt_id") or ""
                steps.append({"step": "delivered", "at": delivery.get("delivered_at"), "detail": f"receipt {receipt}"})
            case "REJECTED":
                reason = delivery.get("rejection_reason") or ""
                steps.append({"step": "rejected by China", "at": delivery["updated_at"], "detail": reason})
            case "PARKED":
                steps.append({"step": "parked (redrive deliveries)", "at": delivery["updated_at"], "detail": ""})
            case _:
                steps.append({"step": "pending", "at": None, "detail": "waiting for its next attempt"})
        journeys.append(
            {
                "version": delivery["version"],
                "message_type": delivery["message_type"],
                "state": delivery["state"],
                "steps": steps,
            }
        )
    return journeys


@app.command()
def journey(
    context: typer.Context,
    certificate_number: Annotated[str, typer.Argument(help="The certificate's number, e.g. 11.0001.00001.")],
    as_json: Json = False,
) -> None:
    """A certificate's way to China Customs, each version's message: issued and queued, its attempts, delivered
    (or rejected, or parked), with times. Operations see the delivery, never the certificate's content."""
    state = _state(context)
    try:
        with state.api(state.the_profile()) as api:
            answer = api.get(f"/v1/certificates/{certificate_number}/delivery")
    except ApiError as error:
        _fail(state, str(error))
    journeys = journey_of(answer["deliveries"])
    if as_json:
        _print_json(state, {"certificate_number": certificate_number, "journey": journeys})
        return
    table = Table(title=f"Journey of {certificate_number} to China Customs")
    for column in ("version", "message", "step", "at (UTC)", "detail"):
        table.add_column(column)
    for one in journeys:
        for index, step in enumerate(one["steps"]):
            first = index == 0
            table.add_row(
                str(one["version"]) if first else "",
                one["message_type"] if first else "",
                step["step"],
                _when(step["at"]),
                step["detail"],
            )
    state.out.print(table)


# -- reconcile ----------------------------------------------------------------------------------------------------


@app.command()
def reconcile(context: typer.Context, as_json: Json = False) -> None:
    """Run reconciliation now rather than at the next minute: the reconciler function invoked as its schedule
    invokes it (Lambda's Invoke, with your AWS credentials; the local stack's own Invoke API locally). It queues
    again each delivery and other open work past its bound, works the redrive jobs, and reports what it did."""
    state = _state(context)
    profile = state.the_profile()
    try:
        account = state.aws(profile, "sts").get_caller_identity()["Account"]
        report = aws.reconcile_now(state.aws(profile, "lambda"), account, profile.region)
    except (aws.FunctionFailed, BotoCoreError, ClientError) as error:
        _fail(state, f"reconciliation did not run: {error}")
    if as_json:
        _print_json(state, report)
        return
    table = Table(title="Reconciliation: queued again")
    for column in ("kind", "count", "message ids"):
        table.add_column(column)
    kinds = {"deliveries": report["requeued"], **report["open_work"]}
    for kind, message_ids in kinds.items():
        table.add_row(kind, str(len(message_ids)), ", ".join(message_ids))
    state.out.print(table)
    for job in report["redrives"]:
        state.out.print(
            f"redrive {job['id']} ({job['queue']}): {job['status']}, {job['moved']} moved in {job['pages']} page(s), "
            f"{job['quarantined']} quarantined",
            highlight=False,
        )


# -- rotate-key ----------------------------------------------------------------------------------------------------


@app.command("rotate-key")
def rotate_key(context: typer.Context, as_json: Json = False) -> None:
    """Rotate the signing key in KMS (the profile's endpoint; AWS itself with your AWS credentials when it has
    none): the alias moves to a new key tagged with the keys it retires, and the retired key keeps an alias of its
    own. Functions follow the alias within five minutes; /.well-known/jwks.json lists the retired key for the
    overlap period, and ?retired=all for good, so what it sealed still verifies."""
    state = _state(context)
    kms = state.aws(state.the_profile(), "kms")
    try:
        retired, current = rotate_signing_key(kms, SIGNING_KEY.alias, SIGNING_KEY.key_spec, at=datetime.now(UTC))
    except (RotationRefused, BotoCoreError, ClientError) as error:
        _fail(state, f"the signing key was not rotated: {error}")
    result = {"alias": SIGNING_KEY.alias, "retired_key": retired, "current_key": current}
    if as_json:
        _print_json(state, result)
        return
    state.out.print(f"{SIGNING_KEY.alias}: now {current}; {retired} retired (still in the JWKS)", highlight=False)


def main() -> None:
    """The console script's entry point."""
    app()
