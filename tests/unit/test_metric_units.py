"""Every metric the functions emit has a unit CloudWatch reads as what it is: a duration in Seconds or
Milliseconds (named so: ...Seconds, ...Latency in ms), anything else a Count; no duration recorded as a Count."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "layers" / "jevs" / "python" / "jevs").rglob("*.py")]
DURATION_WORDS = ("Seconds", "Milliseconds", "Minutes", "Hours", "Latency", "Duration", "Time", "Age")


def _metrics() -> dict[str, str]:
    """Each metric name emitted with a literal name, and its MetricUnit member."""
    found: dict[str, str] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric"):
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            name, unit = keywords.get("name"), keywords.get("unit")
            if isinstance(name, ast.Constant) and isinstance(unit, ast.Attribute):
                found[str(name.value)] = unit.attr
    return found


def test_durations_are_in_seconds_or_milliseconds_and_everything_else_is_a_count() -> None:
    metrics = _metrics()
    durations = {name: unit for name, unit in metrics.items() if name.endswith(DURATION_WORDS)}

    assert len(metrics) >= 20  # the scan finds them
    assert durations == {
        "ApplicationProcessingSeconds": "Seconds",
        "DeliveryLatency": "Milliseconds",
        "MatchLatency": "Milliseconds",
    }
    assert {unit for name, unit in metrics.items() if name not in durations} == {"Count"}
