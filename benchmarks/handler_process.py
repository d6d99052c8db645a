"""One function's handler over a batch of events, in this fresh process, as Lambda runs it: ``python -m
benchmarks.handler_process <job.json>`` (``benchmarks.workload`` writes the job and reads the answer).

The job names the function, the environment its settings come from (the local stack's AWS, China and parties), the
events and, optionally, the only top-level modules it may import besides the standard library: any other import
fails as it would in Lambda without the layer that holds it (``ModuleNotFoundError``, which libraries probing for
optional modules take as absence). It answers what the handler imported, what each invocation returned that was a
failure, the peak resident set of the process and, when asked, Python's own peak allocation (``tracemalloc``, which
slows and swells the process: it is measured in a run of its own).

Only the standard library is imported here, so that what the process loaded is what the handler loaded.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any


class LayersOnly(importlib.abc.MetaPathFinder):
    """Refuses every top-level module that is neither in the standard library nor ``allowed``."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.refused: set[str] = set()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.partition(".")[0]
        standard = top in sys.stdlib_module_names or top in sys.builtin_module_names or top.startswith("_sysconfigdata")
        if standard or top in self.allowed:
            return None  # the ordinary finders decide
        self.refused.add(top)
        raise ModuleNotFoundError(f"No module named {fullname!r} (not in this function's layers)", name=fullname)


class Context:
    """What a handler reads of Lambda's context."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:ap-southeast-2:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = "00000000-0000-0000-0000-000000000000"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        # Every invocation of the batch gets the function's whole timeout (``renew``).
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def renew(self, timeout_seconds: float) -> None:
        self._deadline = time.monotonic() + timeout_seconds


def _failures(result: Any) -> list[str]:
    """What in a handler's answer says it failed: an API answer of 5xx, a batch's item failures."""
    if isinstance(result, dict):
        if isinstance(result.get("statusCode"), int) and result["statusCode"] >= 500:
            return [f"status {result['statusCode']}: {str(result.get('body'))[:300]}"]
        if result.get("batchItemFailures"):
            return [f"batch item failures: {result['batchItemFailures']}"]
    return []


def peak_resident_bytes() -> int:
    """The process's peak resident set since it started this program. getrusage's ``ru_maxrss`` is not it on Linux:
    it survives ``execve``, so it starts at the size of the parent that forked us (the whole local stack); the
    kernel's high-water mark of this program's own memory (``VmHWM``) starts afresh at ``execve``."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # elsewhere: KiB on Linux, bytes on macOS


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(job: dict[str, Any]) -> dict[str, Any]:
    os.environ.update(job["environment"])
    finder = None
    if job.get("allowed") is not None:
        finder = LayersOnly(frozenset(job["allowed"]))
        sys.meta_path.insert(0, finder)
    if job.get("tracemalloc"):
        tracemalloc.start()
    loaded_before = {name.partition(".")[0] for name in sys.modules}
    started = time.perf_counter()
    module = importlib.import_module(f"functions.{job['folder']}.handler")
    imported = time.perf_counter()
    cpu_imported = _cpu_seconds()
    context = Context(job["function_name"], job["timeout_seconds"], job["memory_mb"])
    failures: list[str] = []
    for event in job["events"]:
        context.renew(job["timeout_seconds"])
        try:
            failures += _failures(module.handler(event, context))
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
    finished = time.perf_counter()
    cpu_finished = _cpu_seconds()
    python_peak = tracemalloc.get_traced_memory()[1] if job.get("tracemalloc") else None
    return {
        "modules": sorted({name.partition(".")[0] for name in sys.modules} - loaded_before),
        "refused": sorted(finder.refused) if finder else [],
        "failures": failures,
        "peak_rss_bytes": peak_resident_bytes(),
        "python_peak_bytes": python_peak,
        "import_seconds": imported - started,
        "handler_seconds": finished - imported,
        # CPU time of this process alone (moto and China's simulator run in the parent): what Lambda's share of a
        # vCPU, in proportion to the memory configured, would have to supply.
        "import_cpu_seconds": cpu_imported,
        "handler_cpu_seconds": cpu_finished - cpu_imported,
    }


def main(argv: list[str]) -> int:
    job_file = Path(argv[1])
    job = json.loads(job_file.read_text(encoding="utf-8"))
    answer = run(job)
    Path(job["answer"]).write_text(json.dumps(answer), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
