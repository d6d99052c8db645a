"""What ``make bench`` writes: ``docs/benchmarks/results.json``, a Markdown page of tables
(``docs/benchmarks/index.md``, on the documentation site) and PNG plots beside them.

Each benchmark module has ``run(report, quick)``: it measures, and records what it found as a section of the report
(figures for the JSON, a table for people, plots where a curve says more). These machines are noisy, so every time
is the median of repeated runs, and where a time is compared with a target it is a ratio to a baseline measured in
the same run (``median_seconds``, ``ratio``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_FOLDER = Path(__file__).parents[1] / "docs" / "benchmarks"
RESULTS_FILE = "results.json"
PAGE_FILE = "index.md"


@contextlib.contextmanager
def metrics_discarded() -> Iterator[None]:
    """The functions run in this process print their metrics to stdout (Powertools' EMF lines, as Lambda prints
    them): not the benchmark's output, and they would bury its progress lines."""
    with open(os.devnull, "w") as discard, contextlib.redirect_stdout(discard):
        yield


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ratio(measured: float, baseline: float) -> float:
    return round(measured / baseline, 2)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0 < fraction ≤ 1)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


@dataclass
class Table:
    columns: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in self.rows]
        return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return str(value)


@dataclass
class Section:
    """One benchmark's findings: ``figures`` go to the JSON as they are; ``tables`` and ``plots`` to the page."""

    title: str
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    tables: list[tuple[str, Table]] = field(default_factory=list)
    plots: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "summary": self.summary,
            "figures": self.figures,
            "tables": [{"caption": caption, "columns": list(t.columns), "rows": t.rows} for caption, t in self.tables],
            "plots": [{"caption": caption, "file": name} for caption, name in self.plots],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Section:
        return cls(
            title=document["title"],
            summary=document["summary"],
            figures=document["figures"],
            tables=[(t["caption"], Table(t["columns"], t["rows"])) for t in document["tables"]],
            plots=[(p["caption"], p["file"]) for p in document["plots"]],
        )


class Report:
    """The sections of one ``make bench`` run, written into ``folder``."""

    def __init__(self, folder: Path = RESULTS_FOLDER, *, quiet: bool = False) -> None:
        self.folder = folder
        self.quiet = quiet
        self.sections: dict[str, Section] = {}
        self._current = ""
        self._section_started = time.monotonic()

    def section(self, key: str, title: str, summary: str) -> Section:
        """A new section under ``key`` (the JSON's key and the plots' file prefix); later calls fill it."""
        self._current = key
        self._section_started = time.monotonic()
        self.sections[key] = Section(title, summary)
        self.progress("started")
        return self.sections[key]

    def progress(self, message: str, done: int | None = None, total: int | None = None) -> None:
        """One line on stderr: long runs say where they are, and how long since their section started."""
        if self.quiet:
            return
        count = f" {done}/{total}" if done is not None and total is not None else ""
        elapsed = time.monotonic() - self._section_started
        print(f"[bench {self._current} +{elapsed:.0f} s]{count} {message}", file=sys.stderr, flush=True)

    def plot(
        self,
        section: Section,
        name: str,
        caption: str,
        *,
        x_label: str,
        y_label: str,
        series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
        log_x: bool = False,
        log_y: bool = False,
        y_from_zero: bool = True,
    ) -> None:
        """A line plot of ``series`` (label → (xs, ys)) as ``<section key>-<name>.png``, shown with ``caption``."""
        plt = _pyplot()
        figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
        for label, (xs, ys) in series.items():
            axes.plot(list(xs), list(ys), marker="o", label=label)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.set_title(caption, fontsize=10)
        if log_x:
            axes.set_xscale("log")
        if log_y:
            axes.set_yscale("log")
        elif y_from_zero:
            axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        if len(series) > 1:
            axes.legend(fontsize=8)
        self._save(figure, section, name, caption)

    def bars(
        self,
        section: Section,
        name: str,
        caption: str,
        *,
        categories: Sequence[str],
        series: Mapping[str, Sequence[float]],
        y_label: str,
        limits: Mapping[str, Sequence[float]] | None = None,
        value_format: str = "%.0f",
    ) -> None:
        """Grouped bars, one group per category, as ``<section key>-<name>.png``; ``limits``: a short horizontal mark
        per category (a budget, a configured size, a target)."""
        plt = _pyplot()
        figure, axes = plt.subplots(figsize=(8, 4.2), dpi=100)
        width = 0.8 / len(series)
        for index, (label, values) in enumerate(series.items()):
            positions = [at + (index - (len(series) - 1) / 2) * width for at in range(len(categories))]
            drawn = axes.bar(positions, list(values), width, label=label)
            axes.bar_label(drawn, fmt=value_format, fontsize=7)
        for label, values in (limits or {}).items():
            axes.hlines(
                list(values),
                [at - 0.45 for at in range(len(categories))],
                [at + 0.45 for at in range(len(categories))],
                colors="black",
                linestyles="dashed",
                label=label,
            )
        axes.set_xticks(range(len(categories)), list(categories), rotation=20, ha="right", fontsize=8)
        axes.set_ylabel(y_label)
        axes.set_title(caption, fontsize=10)
        axes.set_ylim(bottom=0)
        axes.grid(True, axis="y", alpha=0.3)
        axes.legend(fontsize=8)
        self._save(figure, section, name, caption)

    def _save(self, figure: Any, section: Section, name: str, caption: str) -> None:
        figure.tight_layout()
        file_name = f"{self._key_of(section)}-{name}.png"
        self.folder.mkdir(parents=True, exist_ok=True)
        # No timestamp in the file: the same figures give the same bytes.
        figure.savefig(self.folder / file_name, metadata={"Software": None})
        _pyplot().close(figure)
        section.plots.append((caption, file_name))

    def _key_of(self, section: Section) -> str:
        return next(key for key, found in self.sections.items() if found is section)

    def write(self, *, merge: bool = False, order: Sequence[str] = ()) -> Path:
        """results.json and index.md; with ``merge``, the sections of this run replace only their own in the files
        already there (``python -m benchmarks --only …``). Sections come in ``order`` (by key), any others last."""
        self.folder.mkdir(parents=True, exist_ok=True)
        results = self.folder / RESULTS_FILE
        sections = dict(self.sections)
        if merge and results.exists():
            earlier = json.loads(results.read_text(encoding="utf-8"))["sections"]
            sections = {**{key: Section.from_json(value) for key, value in earlier.items()}, **sections}
        rank = {key: index for index, key in enumerate(order)}
        sections = dict(sorted(sections.items(), key=lambda entry: rank.get(entry[0], len(rank))))
        facts = machine()
        document = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": facts,
            "sections": {key: section.to_json() for key, section in sections.items()},
        }
        results.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (self.folder / PAGE_FILE).write_text(page(facts, sections), encoding="utf-8")
        return results


def _pyplot() -> Any:
    import matplotlib  # here: only make bench plots, nothing else pays for the import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.system(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def page(machine_facts: Mapping[str, Any], sections: Mapping[str, Section]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/`), with every figure in [`results.json`](results.json). Times are "
        "medians of repeated runs; a time held to a target is a ratio to a baseline measured in the same run, as "
        "these machines are noisy. Measured on Python {python}, {system} {machine}, {cpus} CPUs.".format(
            **machine_facts
        ),
    ]
    for section in sections.values():
        lines += ["", f"## {section.title}", "", section.summary]
        for caption, table in section.tables:
            lines += ["", f"**{caption}**", "", table.markdown()]
        for caption, file_name in section.plots:
            lines += ["", f"![{caption}]({file_name})"]
    return "\n".join(lines) + "\n"
