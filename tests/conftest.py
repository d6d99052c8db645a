"""Settings shared by every tier: no test ever reaches a real AWS account."""

from __future__ import annotations

import os

import pytest

# Set before any boto3 client exists. Credentials are moto's dummies; the region is where JEVS runs.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-southeast-2",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_METRICS_NAMESPACE": "JEVS",
        "POWERTOOLS_SERVICE_NAME": "jevs-tests",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


# What the security tests counted (the authorisation matrix's cells, the fuzzing's operations and examples): said in
# the terminal summary, so `make test` shows it whether or not the tests pass.
SECURITY_COUNTS = pytest.StashKey[list[str]]()


def record_count(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(SECURITY_COUNTS, []).append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    counts = config.stash.get(SECURITY_COUNTS, [])
    if counts:
        terminalreporter.section("security counts")
        for line in counts:
            terminalreporter.write_line(line)
