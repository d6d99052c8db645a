"""Operations from the command line, against a running JEVS (the local stack by default).

    python -m infrastructure.local.ops redrive              # parked deliveries back onto the delivery queue
    python -m infrastructure.local.ops delivery NUMBER      # a certificate's delivery states

It calls the API as the ``ops`` party, exactly as an operator's tooling would in AWS (there with the
Cognito token endpoint and the party's own credentials, given by JEVS_TOKEN_URL, JEVS_OPS_CLIENT_ID and
JEVS_OPS_CLIENT_SECRET).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from typing import TextIO

import httpx

from infrastructure.local.tokens import PARTIES_FILE, TOKEN_PATH, load_clients

DEFAULT_API_URL = "http://127.0.0.1:8080"


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


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infrastructure.local.ops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("redrive", help="move every parked delivery back onto the delivery queue")
    delivery = commands.add_parser("delivery", help="show a certificate's delivery states")
    delivery.add_argument("number")
    arguments = parser.parse_args(argv)
    api_url = os.environ.get("JEVS_API_URL", DEFAULT_API_URL).rstrip("/")
    with httpx.Client(base_url=api_url, timeout=30) as http:
        try:
            headers = {"Authorization": f"Bearer {_token(http, api_url)}"}
            if arguments.command == "redrive":
                headers["Idempotency-Key"] = f"ops-redrive-{uuid.uuid4()}"
                response = http.post("/v1/ops/deliveries/redrive", headers=headers)
            else:
                response = http.get(f"/v1/certificates/{arguments.number}/delivery", headers=headers)
        except httpx.HTTPError as error:
            print(f"jevs ops: no answer from {api_url}: {error}", file=sys.stderr)
            return 1
    print(json.dumps(response.json(), indent=2), file=out or sys.stdout)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
