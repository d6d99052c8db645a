"""Rule work (DESIGN.md §8): matching a declaration against its certificate as lines grow, split into the fixed cost
per declaration and the marginal cost per line, and validating a 20-item certificate as a submission does. Pure
domain work: no storage, no AWS (their round trips are benchmarks/round_trips.py).

    python -m benchmarks --only matching        (or: make bench)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from benchmarks.report import Report, Table
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import MAX_LINES, Declarant, DeclarationContent, DeclarationLine, DeclarationRecord
from jevs.domain.matching import decide_match
from jevs.domain.records import CertificateRecord
from tests.factories import certificate_payload, item_payload
from tests.unit.matching_support import line_payload, lodged, record
from tests.unit.support import certificate, party

Key = TypeVar("Key", bound=Hashable)
DECIDED_AT = datetime(2026, 12, 6, tzinfo=UTC)
# The example certificate's day of issue: its rules of issue pass on that day.
ISSUED_AT = datetime(2026, 11, 20, 1, tzinfo=UTC)
ITEMS = 20
# Lines per declaration: up to what a declaration may have (MAX_LINES), then 999 (the most line numbers go to),
# built past the API's limit to see whether the rules' work per line stays flat beyond it.
BEYOND_LIMIT = 999
LINES = (1, 10, 100, MAX_LINES, BEYOND_LIMIT)


def median_microseconds(works: Mapping[Key, Callable[[], object]], quick: bool) -> dict[Key, float]:
    """Each work's median time per call over repeated samples, the works' samples interleaved so that a busy spell
    of the machine falls on all of them alike. Each sample times as many calls as fill about 20 ms (5 ms quick),
    so a call of a few microseconds is not lost in the timer's resolution."""
    calls = {}
    for key, work in works.items():
        started, count = time.perf_counter(), 0
        while time.perf_counter() - started < 0.005:
            work()
            count += 1
        calls[key] = count * (1 if quick else 4)
    samples: dict[Key, list[float]] = {key: [] for key in works}
    for _ in range(3 if quick else 9):
        for key, work in works.items():
            started = time.perf_counter()
            for _ in range(calls[key]):
                work()
            samples[key].append((time.perf_counter() - started) / calls[key])
    return {key: statistics.median(found) * 1e6 for key, found in samples.items()}


def declaration(lines: int) -> DeclarationRecord:
    """An import declaration of ``lines`` lines against a 20-item certificate, each line claiming a small share of
    one item, all matched. Past MAX_LINES the list is put together line by line, each line validated."""
    payloads = [
        line_payload(n, certificate_item_number=(n - 1) % ITEMS + 1, quantity={"value": "10", "unit": "KGM"})
        for n in range(1, lines + 1)
    ]
    if lines <= MAX_LINES:
        return lodged(Declarant.CN_IMPORT_DECLARATION, lines=payloads)
    one = lodged(Declarant.CN_IMPORT_DECLARATION, lines=payloads[:1])
    many = [DeclarationLine.model_validate(payload) for payload in payloads]
    content = DeclarationContent.model_construct(**{**dict(one.content), "lines": many})
    return one.model_copy(update={"content": content})


def twenty_items() -> dict[str, Any]:
    return certificate_payload(items=[item_payload(n) for n in range(1, ITEMS + 1)])


def validated_and_issued(payload: dict[str, Any]) -> object:
    """What a submission checks before it stores: the certificate's model, then the rules of issue (dates, the
    issuing body's prefix) as its first version is made."""
    content = CertificateContent.model_validate(payload)
    return CertificateRecord.issue(content, issuer=party("local-akl-chamber"), at=ISSUED_AT)


def run(report: Report, quick: bool) -> None:
    section = report.section(
        "matching",
        "Rule work: matching per line, validating a certificate",
        "One import declaration decided against a 20-item certificate, every line matched, in pure rule work "
        "(no storage), the median of repeated samples: the fixed cost per declaration and the marginal cost per "
        "line from a least-squares fit of time on lines, and the marginal cost between successive sizes, which "
        f"stays flat when the work per line does not grow with lines. {BEYOND_LIMIT} lines are past MAX_LINES "
        f"({MAX_LINES}), built directly to see the curve beyond the API's limit.",
    )
    items = [item_payload(n, quantity={"value": "100000", "unit": "KGM"}) for n in range(1, ITEMS + 1)]
    certificate_record = record(certificate(items=items))
    deciders: dict[int, Callable[[], str]] = {}
    for lines in LINES:
        built = declaration(lines)

        def decide(built: DeclarationRecord = built) -> str:
            return decide_match(built, certificate_record, None, DECIDED_AT).result.status.value

        assert decide() == "MATCHED"
        deciders[lines] = decide
    report.progress(f"matching {', '.join(map(str, LINES))} lines", 1, 2)
    medians = median_microseconds(deciders, quick)
    micros = [medians[lines] for lines in LINES]
    slope, intercept = statistics.linear_regression(LINES, micros)
    table = Table(["lines", "µs per declaration", "µs per line", "marginal µs per line (from the size before)"])
    marginal: list[float | str] = ["–"]
    marginal += [(micros[k] - micros[k - 1]) / (LINES[k] - LINES[k - 1]) for k in range(1, len(LINES))]
    for lines, spent, step in zip(LINES, micros, marginal, strict=True):
        table.rows.append([lines, spent, spent / lines, step])
    section.tables.append(("Matching by lines per declaration", table))
    section.figures["microseconds_per_declaration"] = dict(zip(map(str, LINES), micros, strict=True))
    section.figures["microseconds_per_line"] = {str(n): spent / n for n, spent in zip(LINES, micros, strict=True)}
    section.figures["fit"] = {"fixed_microseconds": intercept, "microseconds_per_line": slope}
    section.tables.append(
        (
            "Linear fit: µs per declaration = fixed + marginal × lines",
            Table(["fixed µs per declaration", "marginal µs per line"], [[intercept, slope]]),
        )
    )

    report.progress("validating a certificate", 2, 2)
    one, twenty = certificate_payload(), twenty_items()
    validation = median_microseconds(
        {
            "1 item": lambda: validated_and_issued(one),
            f"{ITEMS} items": lambda: validated_and_issued(twenty),
            f"{ITEMS} items, model only": lambda: CertificateContent.model_validate(twenty),
        },
        quick,
    )
    section.figures["validation_microseconds"] = validation
    section.tables.append(
        (
            "Validating a certificate as a submission does (model, then the rules of issue), median µs",
            Table(
                ["certificate", "µs", "ratio to 1 item"],
                [[k, v, v / validation["1 item"]] for k, v in validation.items()],
            ),
        )
    )
    report.plot(
        section,
        "per-line",
        "Matching: µs per line as lines per declaration grow (marginal: from the size before)",
        x_label="lines per declaration",
        y_label="µs per line",
        series={
            "µs per line (whole declaration)": (LINES, [spent / n for n, spent in zip(LINES, micros, strict=True)]),
            "marginal µs per line": (LINES[1:], [float(step) for step in marginal[1:]]),
            "fit: marginal µs per line": (LINES, [slope] * len(LINES)),
        },
        log_x=True,
    )
