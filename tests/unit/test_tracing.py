"""Tracing (jevs.bootstrap.traced): every function is traced through Powertools' Tracer in Lambda, and importing
a function costs nothing of it. Run in a fresh interpreter each: the Tracer's configuration and the X-Ray SDK's
switch are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jevs.resources import FUNCTIONS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, **environment: str) -> dict[str, object]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("POWERTOOLS_", "LAMBDA_"))}
    finished = subprocess.run(  # noqa: S603  # this interpreter, running the test's own script
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return answer


def test_importing_the_functions_imports_no_x_ray_sdk() -> None:
    modules = [f"functions.{definition.folder}.handler" for definition in FUNCTIONS]

    found = _run(
        f"""
        import importlib, json, sys
        for name in {modules!r}:
            importlib.import_module(name)
        print(json.dumps({{"xray": sorted(m for m in sys.modules if m.startswith("aws_xray_sdk"))}}))
        """
    )

    assert found == {"xray": []}


def test_in_lambda_with_tracing_disabled_the_handler_is_traced_and_answers() -> None:
    # LAMBDA_TASK_ROOT: as in Lambda, where only POWERTOOLS_TRACE_DISABLED turns the Tracer off.
    found = _run(
        """
        import json
        from aws_xray_sdk import global_sdk_config
        from jevs.bootstrap import traced
        def handler(event, context):
            return {"answered": event["n"] + 1}
        wrapped = traced()(handler)
        print(json.dumps({"answer": wrapped({"n": 1}, None), "wrapped": wrapped is not handler,
                          "sdk_enabled": global_sdk_config.sdk_enabled()}))
        """,
        LAMBDA_TASK_ROOT="/var/task",
        POWERTOOLS_TRACE_DISABLED="true",
    )

    assert found == {"answer": {"answered": 2}, "wrapped": True, "sdk_enabled": False}


def test_without_the_x_ray_sdk_a_function_runs_untraced_and_says_so() -> None:
    found = _run(
        """
        import importlib.util, json, logging
        original = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *rest: None if name == "aws_xray_sdk" else original(name, *rest)
        said = []
        class Said(logging.Handler):
            def emit(self, record):
                said.append(record.getMessage())
        logging.getLogger("jevs.bootstrap").addHandler(Said())
        from jevs.bootstrap import traced
        def handler(event, context):
            return "answered"
        wrapped = traced()(handler)
        print(json.dumps({"same": wrapped is handler, "answer": wrapped({}, None), "said": said}))
        """,
        LAMBDA_TASK_ROOT="/var/task",
    )

    assert found == {"same": True, "answer": "answered", "said": ["tracing off: aws_xray_sdk is not installed"]}
