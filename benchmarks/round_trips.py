"""AWS round trips per operation (DESIGN.md §8), counted by a botocore hook on every client of the real adapters
(``tests/integration/round_trips_support.py``) against moto in process, China's simulator answering; what one
certificate's life costs per function (the cost model's input, ``benchmarks/cost.py``); and how large a
declaration's body, item and message grow with its lines against the limits they must fit.

    python -m benchmarks --only round_trips        (or: make bench)
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.report import Report, Table, metrics_discarded
from jevs.domain.declarations import MAX_LINES
from jevs.resources import DECLARATIONS_QUEUE, DELIVERY_QUEUE, FUNCTIONS, NOTIFICATIONS_QUEUE
from tests.factories import CN_CUSTOMS, ISSUING_BODY, NZ_CUSTOMS, OPS, declaration_payload
from tests.integration import round_trips_support as trips_support
from tests.integration.round_trips_support import (
    RoundTrips,
    answer_verification,
    application,
    certified_true_copy,
    certify,
    china_simulator,
    decide_preference,
    listed,
    lodge,
    post,
    provisioned,
    raise_verification,
    replace,
    revoke,
    submit,
)

SERVICES = ("DynamoDB", "SQS", "S3", "KMS")
# The limits a declaration must fit: the API's body (as far as WAF inspects one), a DynamoDB item, an SQS message.
BODY_LIMIT = 65_536
ITEM_LIMIT = 400 * 1024
MESSAGE_LIMIT = 256 * 1024
# The example declaration's number, and others of the same form for more declarations.
DECLARATION_NUMBER = "223320261000123456"

Calls = Counter[str]


def per(calls: Calls, count: int) -> dict[str, float]:
    """Calls per one of ``count`` (operations, messages, certificates)."""
    return {name: value / count for name, value in sorted(calls.items())} if count else {}


def _declaration_number(serial: int) -> str:
    return f"2233202610{serial:08d}"


def _declare(trips: RoundTrips, number: str, serial: int, lines: int, client_id: str = CN_CUSTOMS) -> None:
    """A declaration numbered by ``serial`` quoting certificate ``number``."""
    lodge(trips, lines, client_id=client_id, number=number, declaration_number=_declaration_number(serial))


def warm(trips: RoundTrips) -> None:
    """One certificate's whole life, so that every function has its clients and has read its key, and nothing
    counted yet."""
    submit(trips, "11.1234.90000", items=20)
    trips.settle()
    _declare(trips, "11.1234.90000", 90000, 1)
    _declare(trips, "11.1234.90000", 90000, 1, client_id=NZ_CUSTOMS)
    trips.settle()
    trips.taken()


def operation_calls(quick: bool) -> dict[str, dict[str, float]]:
    """Each operation's AWS calls, warm (every function has signed once: a container's first signature also reads
    the key's public half, once per ``KmsSigner`` refresh)."""
    stored = 10 if quick else 100
    rows: dict[str, dict[str, float]] = {}
    with provisioned() as resources, china_simulator(resources) as china:
        trips = RoundTrips(resources, china.endpoint_url)

        def measure(name: str, action: Callable[[], object], each: bool = False) -> None:
            """The calls ``action`` made and DynamoDB's units they consumed; with ``each``, per one of the records
            it says it handled."""
            trips.units.clear()
            done = action()
            count = done if each and isinstance(done, int) else 1
            rows[name] = {**per(trips.taken(), count), **{unit: value / count for unit, value in trips.units.items()}}

        warm(trips)

        measure("submission, 1 item", lambda: submit(trips, "11.1234.00001"))
        measure("submission, 20 items", lambda: submit(trips, "11.1234.00002", items=20))
        measure("submission replayed (same key)", lambda: submit(trips, "11.1234.00002", items=20))
        for serial in range(100, 100 + stored):
            submit(trips, f"11.1234.{serial:05d}")
        trips.taken()
        measure(f"submission, 20 items, {stored + 3} certificates stored", lambda: submit(trips, "11.1234.00003", 20))
        measure("outbox relay, per record", trips.relay, each=True)
        delivered, documented, matched = (
            partial(trips.consume, DELIVERY_QUEUE),
            partial(trips.consume, NOTIFICATIONS_QUEUE),
            partial(trips.consume, DECLARATIONS_QUEUE),
        )
        measure("delivery to China (dispatcher), per certificate version", delivered, each=True)
        measure("documents (notifier: PDF, data file), per version", documented, each=True)
        measure("declarations waiting for an issued certificate, per issue", matched, each=True)
        for lines, number in ((1, "11.1234.00001"), (MAX_LINES, "11.1234.00002")):
            measure(f"declaration lodged, {lines} lines", partial(_declare, trips, number, lines, lines))
            trips.relay()
            trips.taken()
            measure(f"declaration matched, {lines} lines", matched, each=True)
            trips.relay()
            trips.taken()
            measure(f"match result to China, {lines} lines", delivered, each=True)
        trips.settle()
        trips.taken()
        lodged = application(trips)
        trips.taken()
        measure("certification (hosted issuing)", lambda: certify(trips, lodged))
        trips.settle()
        trips.taken()
        measure("replacement", lambda: replace(trips, "11.1234.00101", "11.1234.20001"))
        measure("revocation", lambda: revoke(trips, "11.1234.00102"))
        measure("certified true copy", lambda: certified_true_copy(trips, "11.1234.00103"))
        measure("preference decision", lambda: decide_preference(trips, "11.1234.00001", _declaration_number(1)))
        request = raise_verification(trips, "11.1234.00001")
        trips.taken()
        measure("verification answer (one document)", lambda: answer_verification(trips, request))
        trips.settle()
        trips.taken()
        measure("list certificates (issuing body)", lambda: listed(trips, "/v1/certificates", ISSUING_BODY))
        measure(
            "list certificates (ops, fewer than a page: every issue year)",
            lambda: listed(trips, "/v1/certificates", OPS, status="REVOKED"),
        )
        measure("list certificates (ops, a page of 10)", lambda: listed(trips, "/v1/certificates", OPS, limit="10"))
        measure("list verification requests", lambda: listed(trips, "/v1/verification-requests", NZ_CUSTOMS))
        measure(
            "list NZ Customs' exchange files",
            lambda: listed(trips, "/v1/exchange/nz-customs/files", NZ_CUSTOMS, since="2026-01-01T00:00:00Z"),
        )
    return rows


def lifecycle(certificates: int) -> dict[str, Any]:
    """What one certificate's life costs, per function: submitted, delivered to China, documented, and matched by
    an export entry and an import declaration (their results delivered and filed). Each Lambda invocation takes one
    record (the most invocations: under load the event source mappings batch). Durations: warm, in process, AWS
    calls answered by moto in the same process."""
    with provisioned() as resources, china_simulator(resources) as china:
        trips = RoundTrips(resources, china.endpoint_url)
        warm(trips)
        trips.invocations.clear()
        trips.function_calls.clear()
        trips.durations.clear()
        for serial in range(certificates):
            number = f"11.1234.{serial:05d}"
            submit(trips, number, items=20)
            trips.settle()
            _declare(trips, number, serial, 1)
            _declare(trips, number, serial, 1, client_id=NZ_CUSTOMS)
            trips.settle()
        memory = {definition.name: definition.memory_mb for definition in FUNCTIONS}
        return {
            "certificates": certificates,
            "functions": {
                name: {
                    "invocations": count / certificates,
                    "calls": per(trips.function_calls[name], certificates),
                    "units": {unit: value / certificates for unit, value in trips.function_units[name].items()},
                    "median_ms": statistics.median(trips.durations[name]) * 1000,
                    "memory_mb": memory[f"jevs-{'outbox-relay' if name == 'relay' else name}"],
                }
                for name, count in sorted(trips.invocations.items())
            },
        }


def declaration_sizes(lines: int) -> tuple[int, int, int]:
    """(body, largest item, largest message) in bytes for a declaration of ``lines`` lines at their longest, lodged
    by both customs and decided, its results delivered and filed: every line mismatched on every check, the
    largest result there can be."""
    with provisioned() as resources, china_simulator(resources) as china:
        trips = RoundTrips(resources, china.endpoint_url)
        submit(trips, items=20)
        trips.settle()
        trips.largest_item = trips.largest_message = 0
        body = declaration_payload(
            certificate_number=trips_support.NUMBER,
            exporter_name="E" * 140,
            importer_name="I" * 140,
            lines=trips_support.longest_lines(lines, mismatched=True),
        )
        for client_id in (CN_CUSTOMS, NZ_CUSTOMS):
            post(trips, "/v1/declarations", body, client_id)
        trips.settle()
        return len(json.dumps(body).encode()), trips.largest_item, trips.largest_message


def _fit(xs: list[int], ys: list[int]) -> tuple[float, float]:
    """Least squares (intercept, slope)."""
    slope, intercept = statistics.linear_regression(xs, ys)
    return intercept, slope


def size_table(sizes: dict[int, tuple[int, int, int]], beyond: tuple[int, ...]) -> tuple[Table, list[float]]:
    """The measured sizes, then those of ``beyond`` lines from a linear fit of each; and bytes per line of each."""
    measured = sorted(sizes)
    # From 100 lines up, where the declaration (not its certificate) is the largest item.
    fitted = [lines for lines in measured if lines >= 100]
    fits = [_fit(fitted, [sizes[lines][k] for lines in fitted]) for k in range(3)]
    table = Table(
        ["lines", "body bytes", "of 64 KiB", "largest item bytes", "of 400 KB", "largest message", "of 256 KB"]
    )
    for lines in [*measured, *beyond]:
        body, item, message = sizes.get(lines) or tuple(round(a + b * lines) for a, b in fits)
        label = str(lines) if lines in sizes else f"{lines} (extrapolated)"
        table.rows.append([label, body, body / BODY_LIMIT, item, item / ITEM_LIMIT, message, message / MESSAGE_LIMIT])
    return table, [slope for _, slope in fits]


def run(report: Report, quick: bool) -> None:
    section = report.section(
        "round_trips",
        "Round trips: AWS calls per operation",
        "Every AWS call of the real adapters, counted by a botocore hook (`before-call.*.*`) on each function's "
        "clients against moto in process, China's simulator answering (`tests/integration/round_trips_support.py`; "
        "the targets are pinned in `tests/integration/test_round_trips.py`). Warm: a container's first signature "
        "also reads the key's public half (`KMS.GetPublicKey`), once per refresh. A listing never scans. WRU and RRU: "
        "DynamoDB's on-demand units, sized from the items each call wrote or read (1 WRU per KB of each item written, "
        "twice in a transaction; 1 RRU per 4 KB read strongly consistent, half eventually).",
    )
    report.progress("operations", 1, 3)
    with metrics_discarded():
        operations = operation_calls(quick)
    table = Table(["operation", *SERVICES, "WRU", "RRU", "calls"])
    for name, found in operations.items():
        calls = {call: count for call, count in found.items() if "." in call}
        by_service: dict[str, float] = dict.fromkeys(SERVICES, 0.0)
        for call, count in calls.items():
            by_service[call.split(".")[0]] += count
        detail = ", ".join(f"{call} {count:g}" for call, count in calls.items())
        units = [f"{found.get(unit, 0):g}" for unit in ("WRU", "RRU")]
        table.rows.append([name, *(f"{by_service[service]:g}" for service in SERVICES), *units, detail])
    section.figures["operations"] = operations
    section.tables.append(("AWS calls per operation (warm)", table))

    report.progress("one certificate's life", 2, 3)
    with metrics_discarded():
        life = lifecycle(3 if quick else 20)
    section.figures["lifecycle"] = life
    life_table = Table(["function", "invocations", "AWS calls", "WRU", "RRU", "median ms (warm, in process)", "calls"])
    for name, function in life["functions"].items():
        detail = ", ".join(f"{call} {count:g}" for call, count in function["calls"].items())
        total = sum(function["calls"].values())
        units = [f"{function['units'].get(unit, 0):g}" for unit in ("WRU", "RRU")]
        invocations = f"{function['invocations']:g}"
        life_table.rows.append([name, invocations, f"{total:g}", *units, function["median_ms"], detail])
    section.tables.append(
        (
            f"One certificate's life, per certificate ({life['certificates']} certificates: submitted, delivered, "
            "documented, matched by an export entry and an import declaration)",
            life_table,
        )
    )

    report.progress("declaration sizes", 3, 3)
    with metrics_discarded():
        sizes = {lines: declaration_sizes(lines) for lines in sorted({1, 10, 100, MAX_LINES})}
    table, per_line = size_table(sizes, (500, 999))
    section.figures["declaration_sizes"] = {str(lines): list(found) for lines, found in sizes.items()}
    section.figures["declaration_bytes_per_line"] = dict(zip(("body", "item", "message"), per_line, strict=True))
    section.tables.append(
        (
            f"A declaration's size by lines, every field at its longest, lodged by both customs, every line "
            "mismatched on all four checks (the largest result) "
            f"(MAX_LINES = {MAX_LINES}; 500 and 999 extrapolated from the bytes per line from 100 lines up; the "
            "largest item below 100 lines is the 20-item certificate's)",
            table,
        )
    )
