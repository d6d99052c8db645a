"""Operations from the command line, against a running JEVS (the local stack by default).

    python -m infrastructure.local.ops redrive              # start a redrive of the delivery dead letters
    python -m infrastructure.local.ops redrive --queue declarations --wait   # another queue; wait until DONE
    python -m infrastructure.local.ops delivery NUMBER      # a certificate's delivery states
    python -m infrastructure.local.ops status               # China's circuit breaker and what is still pending
    python -m infrastructure.local.ops rotate-key           # a new signing key; the old one stays in the JWKS
    python -m infrastructure.local.ops rotate-key --aws     # the same in AWS, with your AWS credentials

It calls the API as the ``ops`` party, exactly as an operator's tooling would in AWS (there with the
Cognito token endpoint and the party's own credentials, given by JEVS_TOKEN_URL, JEVS_OPS_CLIENT_ID and
JEVS_OPS_CLIENT_SECRET, and its API key, JEVS_OPS_API_KEY).

``redrive`` starts a job on one dead-letter queue (``deliveries``, ``declarations``, ``notifications`` or
``stream-failures``) and prints it; the reconciler works it within a minute (locally: every
JEVS_RECONCILE_EVERY_SECONDS). With ``--wait`` it follows the job until it is DONE, printing its progress on
standard error as it changes, then the finished job.

``rotate-key`` talks to KMS instead, with the operator's own AWS credentials (``--aws``; locally the stack's moto
server, at JEVS_AWS_URL or http://127.0.0.1:$JEVS_MOTO_PORT): it moves the signing alias to a new key, tags the
new key with the one it retires, and gives the retired key an alias of its own. Functions follow the alias within
five minutes; /.well-known/jwks.json lists the retired key for the overlap period (JEVS_SIGNING_KEY_OVERLAP_DAYS),
and ``?retired=all`` lists it for good: the history events it sealed still verify.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
import httpx
from botocore.exceptions import BotoCoreError, ClientError

from infrastructure.local.tokens import PARTIES_FILE, TOKEN_PATH, load_clients
from jevs.adapters.kms_signer import RotationRefused, rotate_signing_key
from jevs.domain.recovery import RedriveQueue
from jevs.resources import SIGNING_KEY

DEFAULT_API_URL = "http://127.0.0.1:8080"
REDRIVES_PATH = "/v1/ops/redrives"


def _token(http: httpx.Client, api_url: str) -> str:
    ops = next(client for client in load_clients(PARTIES_FILE) if client.party.get("type") == "ops")
    response = http.post(
        os.environ.get("JEVS_TOKEN_URL", f"{api_url}{TOKEN_PATH}"),
        data={"grant_type": "client_credentials"},
        auth=(
            os.environ.get("JEVS_OPS_CLIENT_ID", ops.client_id),
            os.environ.get("JEVS_OPS_CLIENT_SECRET", ops.client_secret),
        ),
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _kms(on_aws: bool) -> Any:
    if on_aws:
        return boto3.client("kms")
    port = os.environ.get("JEVS_MOTO_PORT", "4566")
    return boto3.client(
        "kms",
        endpoint_url=os.environ.get("JEVS_AWS_URL", f"http://127.0.0.1:{port}"),
        region_name=os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-2"),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's, as the local stack's own clients use)
    )


def rotate_key(kms: Any, out: TextIO) -> int:
    """Rotate the signing key (see the module's docstring) and say which key retired and which took over."""
    try:
        retired, current = rotate_signing_key(kms, SIGNING_KEY.alias, SIGNING_KEY.key_spec, at=datetime.now(UTC))
    except (RotationRefused, BotoCoreError, ClientError) as error:
        print(f"jevs ops: the signing key was not rotated: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"alias": SIGNING_KEY.alias, "retired_key": retired, "current_key": current}), file=out)
    return 0


def _progress(job: dict[str, Any]) -> str:
    line = f"redrive {job['id']} ({job['queue']}): {job['status']}, {job['moved']} moved in {job['pages']} pages"
    if job["quarantined_count"]:
        line += f", {job['quarantined_count']} quarantined"
    if job["batches_not_found_count"]:
        line += f", {job['batches_not_found_count']} stream batches not found"
    return line


def redrive(
    http: httpx.Client, headers: dict[str, str], arguments: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    """Start a redrive job; with ``--wait``, follow it until it is DONE (see the module's docstring)."""
    key = {"Idempotency-Key": f"ops-redrive-{uuid.uuid4()}"}
    response = http.post(REDRIVES_PATH, json={"queue": arguments.queue}, headers={**headers, **key})
    if not response.is_success or not arguments.wait:
        print(json.dumps(response.json(), indent=2), file=out)
        return 0 if response.is_success else 1
    job: dict[str, Any] = response.json()
    location = response.headers.get("Location", f"{REDRIVES_PATH}/{job['id']}")
    deadline = time.monotonic() + arguments.timeout
    shown = ""
    while True:
        if (line := _progress(job)) != shown:
            print(line, file=err, flush=True)
            shown = line
        if job["status"] == "DONE":
            print(json.dumps(job, indent=2), file=out)
            return 0
        if time.monotonic() >= deadline:
            print(f"jevs ops: redrive {job['id']} not done after {arguments.timeout:g} s; still RUNNING", file=err)
            return 1
        time.sleep(arguments.poll_seconds)
        polled = http.get(location, headers=headers)
        if not polled.is_success:
            print(json.dumps(polled.json(), indent=2), file=out)
            return 1
        job = polled.json()


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infrastructure.local.ops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    redriving = commands.add_parser("redrive", help="start a redrive of a dead-letter queue (a job)")
    redriving.add_argument(
        "--queue",
        choices=[queue.value for queue in RedriveQueue],
        default=RedriveQueue.DELIVERIES.value,
        help="which dead-letter queue (default: deliveries)",
    )
    redriving.add_argument("--wait", action="store_true", help="follow the job until it is DONE")
    redriving.add_argument("--timeout", type=float, default=900, help="how long --wait waits (seconds; 900)")
    redriving.add_argument("--poll-seconds", type=float, default=2, help="how often --wait asks (seconds; 2)")
    delivery = commands.add_parser("delivery", help="show a certificate's delivery states")
    delivery.add_argument("number")
    commands.add_parser("status", help="show China's circuit breaker and the deliveries still pending")
    rotation = commands.add_parser("rotate-key", help="move the signing alias to a new KMS key")
    rotation.add_argument("--aws", action="store_true", help="in AWS (your credentials), not the local stack")
    arguments = parser.parse_args(argv)
    if arguments.command == "rotate-key":
        return rotate_key(_kms(arguments.aws), out or sys.stdout)
    api_url = os.environ.get("JEVS_API_URL", DEFAULT_API_URL).rstrip("/")
    with httpx.Client(base_url=api_url, timeout=30) as http:
        try:
            headers = {"Authorization": f"Bearer {_token(http, api_url)}"}
            # In AWS every API Gateway method also wants the party's API key; the local gateway wants none.
            if api_key := os.environ.get("JEVS_OPS_API_KEY"):
                headers["x-api-key"] = api_key
            if arguments.command == "redrive":
                return redrive(http, headers, arguments, out or sys.stdout, err or sys.stderr)
            path = (
                "/v1/ops/deliveries/status"
                if arguments.command == "status"
                else f"/v1/certificates/{arguments.number}/delivery"
            )
            response = http.get(path, headers=headers)
        except httpx.HTTPError as error:
            print(f"jevs ops: no answer from {api_url}: {error}", file=sys.stderr)
            return 1
    print(json.dumps(response.json(), indent=2), file=out or sys.stdout)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
