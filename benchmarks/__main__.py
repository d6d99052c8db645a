"""``make bench``: every benchmark of ``SUITE``, written to ``docs/benchmarks/`` (results.json, index.md, plots).

python -m benchmarks                 # the whole suite
python -m benchmarks --only matching # one benchmark; its section replaces only its own in the files
python -m benchmarks --quick         # fewer repetitions: checks the suite runs, not figures to keep
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from pathlib import Path

from benchmarks.report import RESULTS_FOLDER, Report

# Module names under benchmarks/, each with ``run(report: Report, quick: bool) -> None``, in the order they run.
SUITE = ("matching", "round_trips", "cost", "cold_start", "package_sizes", "memory", "load")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SUITE, help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (to check the suite runs)")
    parser.add_argument("--output", type=Path, default=RESULTS_FOLDER, help="where to write (docs/benchmarks)")
    arguments = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    # The functions' info lines and metrics would bury the progress lines; warnings and errors still show. Set before
    # any benchmark imports a function (Powertools reads them when its Logger and Metrics are made).
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    report = Report(arguments.output)
    started = time.monotonic()
    for name in arguments.only or SUITE:
        module = importlib.import_module(f"benchmarks.{name}")
        section_started = time.monotonic()
        module.run(report, arguments.quick)
        print(f"benchmarks: {name} took {time.monotonic() - section_started:.0f} s", flush=True)
    written = report.write(merge=bool(arguments.only), order=SUITE)
    print(f"benchmarks: {len(report.sections)} written to {written.parent} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
