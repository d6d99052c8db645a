"""SnapStart's runtime hooks (jevs.bootstrap.snap_start, issue 16, build 3): the API and the dispatcher register them
when their handler module is imported, and no other function does; before the snapshot the handler is built and
warmed; after a restore each copy gets AWS clients of its own (a new boto3 session, new clients, everything built
over them made again) and a reseeded random module."""

from __future__ import annotations

import gc
import importlib
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

from jevs import bootstrap
from jevs.adapters.aws import AwsClients
from jevs.bootstrap import LambdaEntry, RelayDependencies
from jevs.resources import FUNCTIONS
from jevs.settings import RelaySettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _registered(folder: str) -> tuple[bool, bool]:
    """Whether the handler module of ``folder`` registered its entry's before-snapshot and after-restore hooks (bound
    methods: equal, never the same object)."""
    module = importlib.import_module(f"functions.{folder}.handler")
    entry = module.handler
    before = any(hook == getattr(entry, "before_snapshot", None) for hook, _, _ in map(tuple, get_before_snapshot()))
    after = any(hook == getattr(entry, "after_restore", None) for hook, _, _ in map(tuple, get_after_restore()))
    return before, after


@pytest.mark.parametrize("definition", FUNCTIONS, ids=lambda definition: definition.folder)
def test_exactly_the_snap_started_functions_register_both_hooks(definition: Any) -> None:
    assert _registered(definition.folder) == (definition.snap_start, definition.snap_start)


def test_the_api_warms_with_its_own_warm_function() -> None:
    api = importlib.import_module("functions.api.handler")

    [arguments] = [args for hook, args, _ in map(tuple, get_before_snapshot()) if hook == api.handler.before_snapshot]

    assert arguments == (api.warm,)


@pytest.fixture
def relay_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, variable in RelaySettings.variables().items():
        monkeypatch.setenv(variable, f"https://sqs.example/{name}" if name.endswith("_url") else "jevs-records")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _relay_entry(seen: list[AwsClients]) -> LambdaEntry[RelaySettings, RelayDependencies]:
    def dependencies(settings: RelaySettings, aws: AwsClients) -> RelayDependencies:
        seen.append(aws)
        return bootstrap.relay(settings, aws)

    return LambdaEntry(RelaySettings, dependencies, lambda _: lambda event, context: "answered")


@pytest.mark.usefixtures("relay_environment")
def test_before_the_snapshot_the_handler_is_built_then_warmed() -> None:
    seen: list[AwsClients] = []
    entry = _relay_entry(seen)
    warmed: list[int] = []

    entry.before_snapshot(lambda: warmed.append(len(seen)))

    assert warmed == [1]  # built first, then warmed
    assert entry({}, None) == "answered"
    assert len(seen) == 1  # the invocation used what the snapshot holds


@pytest.mark.usefixtures("relay_environment")
def test_after_a_restore_the_clients_session_and_random_state_are_new() -> None:
    seen: list[AwsClients] = []
    entry = _relay_entry(seen)
    entry.before_snapshot(lambda: None)
    snapshot_built, snapshot_session = entry.built, boto3.DEFAULT_SESSION
    snapshot_sqs = seen[0].sqs
    random.seed(7)
    snapshot_random = random.getstate()

    entry.after_restore()

    assert len(seen) == 2
    assert seen[1] is not seen[0]
    assert seen[1].sqs is not snapshot_sqs
    assert entry.built is not snapshot_built
    assert boto3.DEFAULT_SESSION is not None
    assert boto3.DEFAULT_SESSION is not snapshot_session
    assert random.getstate() != snapshot_random
    assert entry({}, None) == "answered"
    assert len(seen) == 2  # the restored copy answers with what it built, not with the snapshot's


def test_the_apis_warm_up_imports_what_requests_import_late_and_builds_every_routes_models() -> None:
    # In a fresh interpreter: this one has imported everything long ago.
    script = """
import json, sys
from functions.api import handler
routes = handler.app._static_routes + handler.app._dynamic_routes
before = [route._dependant is not None for route in routes]
handler.warm()
print(json.dumps({"imported": all(name in sys.modules for name in handler.WARM_MODULES),
                  "built_before": any(before),
                  "built_after": all(route._dependant is not None for route in routes)}))
"""
    finished = subprocess.run(  # noqa: S603  # this interpreter, running the test's own script
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )

    assert json.loads(finished.stdout.strip().splitlines()[-1]) == {
        "imported": True,
        "built_before": False,
        "built_after": True,
    }


@pytest.mark.usefixtures("relay_environment")
def test_what_a_container_builds_before_its_first_request_is_frozen_out_of_the_collectors_reach() -> None:
    # A restored copy's first request reads its clients' service models, whose collections would otherwise scan
    # everything the import and the hooks made (see LambdaEntry._build).
    gc.unfreeze()
    try:
        entry = _relay_entry([])
        entry.before_snapshot(lambda: None)
        after_snapshot = gc.get_freeze_count()
        gc.unfreeze()
        entry.after_restore()

        assert after_snapshot > 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
