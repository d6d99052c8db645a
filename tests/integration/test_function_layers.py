"""Each function runs on its own Lambda layers (README "Packaging"): its real handler, in a fresh process, over
representative events against a local stack (``benchmarks.workload``), with every import outside its layers, the
domain package and what the runtime ships refused as Lambda would refuse it. Every event is handled without a
failure, and the heavy dependencies each layer exists for are loaded by the one function that carries them: the
build's static check (tests/infrastructure/test_assets.py) sees module-level imports, this sees the paths taken."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.workload import ORDER, HandlerRun, Workload, layer_distributions
from jevs.resources import FUNCTIONS, FunctionDefinition

pytestmark = pytest.mark.integration

# What each function must really load on its representative events: why it carries the layer that holds it.
LOADS = {
    "notifier": {"reportlab", "pillow"},
    "matcher": {"rapidfuzz"},
    "dispatcher": {"httpx", "cryptography", "joserfc"},
    "api": {"holidays", "cryptography", "joserfc"},
    # The relay's settings are plain dataclasses: it loads nothing of pydantic.
    "outbox_relay": {"aws-lambda-powertools"},
    "reconciler": {"pydantic", "aws-lambda-powertools"},
    "overseer": {"pydantic", "aws-lambda-powertools"},
}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, HandlerRun]]:
    with Workload(certificates=5, requests=24, schedules=2) as workload:
        yield {folder: workload.run(folder, layers_only=True) for folder in ORDER}


@pytest.mark.parametrize("definition", FUNCTIONS, ids=[definition.folder for definition in FUNCTIONS])
def test_each_function_handles_its_events_with_only_its_own_layers(
    runs: dict[str, HandlerRun], definition: FunctionDefinition
) -> None:
    run = runs[definition.folder]

    assert run.records > 0
    assert run.failures == ()
    assert run.distributions <= layer_distributions(definition), run.distributions - layer_distributions(definition)
    assert LOADS[definition.folder] <= run.distributions
    if definition.folder == "outbox_relay":
        assert "pydantic" not in run.distributions


def test_a_heavy_dependency_outside_the_layers_is_refused_not_loaded(runs: dict[str, HandlerRun]) -> None:
    """The refusal is real: the notifier's reportlab probes for optional modules no layer holds, and gets none."""
    notifier = runs["notifier"]

    assert "reportlab" in notifier.modules
    assert notifier.refused
    assert not notifier.refused & notifier.modules
    assert all("rapidfuzz" not in run.modules for folder, run in runs.items() if folder != "matcher")
