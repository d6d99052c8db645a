"""Where ``jevs`` points: a profile from ``~/.config/jevs/profiles.toml`` (or ``JEVS_PROFILE_FILE``), with the
environment's ``JEVS_*`` variables over it. The profile ``local`` works with no file against ``make run``.

A profile file, one table per profile::

    [aws]
    api_url = "https://api.jevs.example"
    token_url = "https://jevs.auth.ap-southeast-2.amazoncognito.com/oauth2/token"
    client_id = "..."
    client_secret = "..."      # or leave it out and set JEVS_CLIENT_SECRET
    api_key = "..."            # API Gateway's x-api-key for the ops party
    aws_endpoint_url = ""      # empty: AWS itself, with your AWS credentials (queues, signing key)
    lambda_url = ""            # empty: Lambda where aws_endpoint_url is (AWS itself: `jevs reconcile`)
    region = "ap-southeast-2"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from infrastructure.local.tokens import PARTIES_FILE, TOKEN_PATH, load_clients

LOCAL = "local"
DEFAULT_PROFILE_FILE = Path("~/.config/jevs/profiles.toml")
# make run's ports (infrastructure/local/stack.py), or those JEVS_API_PORT, JEVS_MOTO_PORT and JEVS_LAMBDA_PORT gave it.
LOCAL_API_PORT = "8080"
LOCAL_MOTO_PORT = "4566"
LOCAL_LAMBDA_PORT = "4567"
DEFAULT_REGION = "ap-southeast-2"

# Each field's environment variable: set, it wins over the profile's value.
ENVIRONMENT = {
    "api_url": "JEVS_API_URL",
    "token_url": "JEVS_TOKEN_URL",
    "client_id": "JEVS_CLIENT_ID",
    "client_secret": "JEVS_CLIENT_SECRET",
    "api_key": "JEVS_OPS_API_KEY",
    "aws_endpoint_url": "JEVS_AWS_URL",
    "lambda_url": "JEVS_LAMBDA_URL",
    "region": "AWS_DEFAULT_REGION",
}


class ProfileError(Exception):
    """The profile is not there, or lacks what a call needs."""


@dataclass(frozen=True)
class Profile:
    name: str
    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    # API Gateway's key for the ops party: AWS wants it beside the token, the local gateway wants none.
    api_key: str = ""
    # Where the queues and KMS answer: the local stack's moto; empty for AWS itself (your AWS credentials).
    aws_endpoint_url: str = ""
    # Where Lambda's Invoke API answers: the local stack's own (moto's Lambda runs no code without Docker); empty for
    # the same endpoint as the rest (AWS itself when that is empty too).
    lambda_url: str = ""
    region: str = DEFAULT_REGION


def local_profile(environment: Mapping[str, str]) -> Profile:
    """``make run``'s defaults: the gateway on :8080, its token endpoint, the demo ops client, moto on :4566, the
    functions' Invoke API on :4567."""
    api_port = environment.get("JEVS_API_PORT", LOCAL_API_PORT)
    api_url = environment.get("JEVS_API_URL", f"http://127.0.0.1:{api_port}").rstrip("/")
    ops = next(client for client in load_clients(PARTIES_FILE) if client.party.get("type") == "ops")
    port = environment.get("JEVS_MOTO_PORT", LOCAL_MOTO_PORT)
    lambda_port = environment.get("JEVS_LAMBDA_PORT", LOCAL_LAMBDA_PORT)
    return Profile(
        name=LOCAL,
        api_url=api_url,
        token_url=f"{api_url}{TOKEN_PATH}",
        client_id=ops.client_id,
        client_secret=ops.client_secret,
        aws_endpoint_url=f"http://127.0.0.1:{port}",
        lambda_url=f"http://127.0.0.1:{lambda_port}",
    )


def profile_file(environment: Mapping[str, str]) -> Path:
    return Path(environment.get("JEVS_PROFILE_FILE", str(DEFAULT_PROFILE_FILE))).expanduser()


def load_profile(name: str, environment: Mapping[str, str] | None = None) -> Profile:
    """The profile ``name`` (the file's table over the built-in ``local``), then the environment over it."""
    environment = os.environ if environment is None else environment
    path = profile_file(environment)
    tables = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    table = tables.get(name) or {}
    known = {field.name for field in fields(Profile)} - {"name"}
    if unknown := set(table) - known:
        raise ProfileError(f"profile {name!r} in {path}: unknown keys {sorted(unknown)}")
    values: dict[str, str] = {key: str(value) for key, value in table.items()}
    values |= {key: environment[variable] for key, variable in ENVIRONMENT.items() if variable in environment}
    if name == LOCAL:
        return replace(local_profile(environment), **values)
    # Another name is AWS itself (no endpoint of its own unless it says so), from the file, the environment or both.
    if not table and not values:
        raise ProfileError(f"no profile {name!r} in {path}, and no JEVS_API_URL in the environment")
    empty = dict.fromkeys(("api_url", "token_url", "client_id", "client_secret"), "")
    profile = Profile(name=name, **(empty | values))
    return replace(profile, api_url=profile.api_url.rstrip("/"))


def missing_for_the_api(profile: Profile) -> list[str]:
    """What the profile lacks to call the API (rotate-key needs none of it): each with its environment variable."""
    required = ("api_url", "token_url", "client_id", "client_secret")
    return [f"{key} ({ENVIRONMENT[key]})" for key in required if not getattr(profile, key)]
