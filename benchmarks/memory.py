"""Peak memory of each function's handler over a batch of representative events (issue 16, build 8), beside the
memory Lambda is configured to give it (``FunctionDefinition.memory_mb``).

Each function runs in a fresh process of its own, as a Lambda container does (``benchmarks.workload``): its handler
imported, then its batch handled, against a local stack's moto server and China Customs simulator. Two runs of the
same workload: one measures the process's peak resident set (the kernel's high-water mark, what Lambda's "Max
Memory Used" reports of a function's own process), the other Python's own peak allocation (``tracemalloc``, which
slows the process and swells its resident set, hence a run of its own). Memory is not noisy as times are: one run
each is the figure. Measured with this machine's CPython; Lambda runs its own CPython on arm64, and its runtime
client adds a few MiB of its own.
"""

from __future__ import annotations

from benchmarks.report import Report, Table
from benchmarks.workload import ORDER, HandlerRun, Workload
from jevs.resources import FUNCTIONS

MIB = 1024 * 1024


def _mib(size: int | None) -> float | None:
    return None if size is None else round(size / MIB, 1)


def measured(
    certificates: int, requests: int, schedules: int, *, trace_python: bool, report: Report
) -> dict[str, HandlerRun]:
    runs = {}
    with Workload(certificates=certificates, requests=requests, schedules=schedules) as workload:
        for done, folder in enumerate(ORDER, start=1):
            report.progress(f"{folder}{' (tracemalloc)' if trace_python else ''}", done, len(ORDER))
            runs[folder] = workload.run(folder, trace_python=trace_python)
            if runs[folder].failures:
                raise RuntimeError(f"{folder} failed: {runs[folder].failures[:3]}")
    return runs


def run(report: Report, quick: bool) -> None:
    certificates, requests, schedules = (10, 20, 5) if quick else (100, 100, 20)
    # tracemalloc makes every allocation several times dearer: its run takes a smaller workload, whose batches are
    # the same size (10 messages, 25 stream records, one request), so each invocation's peak is the same.
    traced_workload = (10, 20, 5) if quick else (30, 30, 10)
    section = report.section(
        "memory",
        "Peak memory of each function over a batch",
        f"Each function's handler in a fresh process over its share of one workload: {certificates} certificates "
        f"submitted and as many import declarations lodged (one in five naming the importer a little differently), "
        f"then the outbox relay over the table's stream, the dispatcher, the matcher and the notifier over what it "
        f"queued (batches of 10), the API over {requests} requests (reads, listings, histories, public "
        f"verification, submissions, declarations, an application), the reconciler and the overseer over "
        f"{schedules} scheduled runs each. Peak RSS is the process's high-water mark; Python's peak is "
        f"tracemalloc's, in a second run over a smaller workload ({traced_workload[0]} certificates, "
        f"{traced_workload[1]} requests, {traced_workload[2]} runs: the same batches, fewer of them). Headroom is "
        "the configured memory less the peak RSS. CPU is the function's own process's (moto and China's simulator "
        "run elsewhere), at a whole core of this machine: Lambda "
        "gives a function CPU in proportion to its memory (a whole vCPU at 1,769 MB), so these say which sizes are "
        "for CPU rather than memory.",
    )
    plain = measured(certificates, requests, schedules, trace_python=False, report=report)
    traced = measured(*traced_workload, trace_python=True, report=report)
    table = Table(
        [
            "function",
            "memory_mb",
            "records",
            "invocations",
            "peak RSS MiB",
            "Python peak MiB",
            "headroom MiB",
            "RSS / configured",
            "import CPU s",
            "CPU ms per record",
        ]
    )
    figures = {}
    for definition in FUNCTIONS:
        folder = definition.folder
        rss = plain[folder].peak_rss_bytes
        python = traced[folder].python_peak_bytes
        figures[folder] = {
            "memory_mb": definition.memory_mb,
            "records": plain[folder].records,
            "invocations": plain[folder].invocations,
            "peak_rss_mib": _mib(rss),
            "python_peak_mib": _mib(python),
            "headroom_mib": round(definition.memory_mb - rss / MIB, 1),
            "handler_seconds": round(plain[folder].handler_seconds, 2),
            "import_cpu_seconds": round(plain[folder].import_cpu_seconds, 2),
            "cpu_ms_per_record": round(1000 * plain[folder].handler_cpu_seconds / plain[folder].records, 1),
        }
        table.rows.append(
            [
                definition.name,
                definition.memory_mb,
                plain[folder].records,
                plain[folder].invocations,
                _mib(rss),
                _mib(python),
                round(definition.memory_mb - rss / MIB),
                round(rss / MIB / definition.memory_mb, 2),
                figures[folder]["import_cpu_seconds"],
                figures[folder]["cpu_ms_per_record"],
            ]
        )
    section.figures["functions"] = figures
    section.tables.append(("Peak memory by function, against its configured memory", table))
    names = [definition.folder for definition in FUNCTIONS]
    report.bars(
        section,
        "peaks",
        "Peak memory of each function over its batch (MiB); dashes: configured memory",
        categories=names,
        series={
            "peak RSS": [float(figures[name]["peak_rss_mib"] or 0) for name in names],
            "Python peak (tracemalloc)": [float(figures[name]["python_peak_mib"] or 0) for name in names],
        },
        limits={"configured memory_mb": [float(definition.memory_mb) for definition in FUNCTIONS]},
        y_label="MiB",
    )
