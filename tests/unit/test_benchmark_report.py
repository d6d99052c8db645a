"""make bench's report: a rerun of one benchmark replaces only its own section, in the suite's order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.report import Report, Table, percentile

pytestmark = pytest.mark.unit


def _run(folder: Path, key: str, value: int, *, merge: bool) -> None:
    report = Report(folder, quiet=True)
    section = report.section(key, f"{key} title", f"{key} summary")
    section.figures["value"] = value
    section.tables.append(("caption", Table(["a", "b"], [[1, 2.5]])))
    report.write(merge=merge, order=("first", "second"))


def test_a_rerun_of_one_section_keeps_the_others_and_the_suites_order(tmp_path: Path) -> None:
    _run(tmp_path, "second", 1, merge=False)
    _run(tmp_path, "first", 2, merge=True)
    _run(tmp_path, "second", 3, merge=True)

    sections = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["sections"]
    assert [(key, section["figures"]["value"]) for key, section in sections.items()] == [("first", 2), ("second", 3)]
    page = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert page.index("## first title") < page.index("## second title")
    assert "| 1 | 2.5 |" in page


def test_a_run_without_merge_writes_only_its_own_sections(tmp_path: Path) -> None:
    _run(tmp_path, "first", 1, merge=False)
    _run(tmp_path, "second", 2, merge=False)

    assert list(json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["sections"]) == ["second"]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]

    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)


def test_plots_are_written_beside_the_page_and_shown_on_it(tmp_path: Path) -> None:
    report = Report(tmp_path, quiet=True)
    section = report.section("sizes", "Sizes", "summary")
    report.plot(section, "curve", "A curve", x_label="x", y_label="y", series={"y": ([1, 2], [3.0, 4.0])})
    report.bars(
        section,
        "bars",
        "Bars",
        categories=["a", "b"],
        series={"v": [1.0, 2.0]},
        limits={"max": [3.0, 3.0]},
        y_label="v",
    )
    report.write()

    assert sorted(path.name for path in tmp_path.glob("*.png")) == ["sizes-bars.png", "sizes-curve.png"]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in tmp_path.glob("*.png"))
    page = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "![A curve](sizes-curve.png)" in page
    assert "![Bars](sizes-bars.png)" in page
