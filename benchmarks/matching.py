"""Matching figures (DESIGN.md §8): lines per second of pure rule work and how it grows with lines per
declaration, and the AWS round trips of one match as the table grows.

    python -m benchmarks --only matching        (or: make bench)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
from moto import mock_aws

from benchmarks.report import Report, Table
from infrastructure.local.provision import create_resources
from jevs.adapters.aws import AwsClients
from jevs.adapters.clock import SystemClock
from jevs.adapters.table.dynamodb import DynamoTable
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.declarations import Declarant, DeclarationContent
from jevs.domain.matching import decide_match
from jevs.domain.messages import MatchDeclaration
from jevs.resources import RECORDS_TABLE
from jevs.service.certificates import SubmitCertificate, submit_certificate
from jevs.service.declarations import LodgeDeclaration, lodge_declaration, match_declaration
from tests.factories import declaration_payload, item_payload
from tests.unit.matching_support import line_payload, lodged, record
from tests.unit.support import certificate, party

DECIDED_AT = datetime(2026, 12, 6, tzinfo=UTC)
ITEMS = 20


def rule_throughput(lines: int, seconds: float = 1.0) -> tuple[float, float]:
    """(declarations per second, lines per second) deciding a declaration of ``lines`` lines against a
    20-item certificate, each line claiming a small share of one item, all matched."""
    items = [item_payload(n, quantity={"value": "100000", "unit": "KGM"}) for n in range(1, ITEMS + 1)]
    certificate_record = record(certificate(items=items))
    declaration = lodged(
        Declarant.CN_IMPORT_DECLARATION,
        lines=[
            line_payload(n, certificate_item_number=(n - 1) % ITEMS + 1, quantity={"value": "10", "unit": "KGM"})
            for n in range(1, lines + 1)
        ],
    )
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        decision = decide_match(declaration, certificate_record, None, DECIDED_AT)
        done += 1
    assert decision.result.status.value == "MATCHED"
    return done / elapsed, done * lines / elapsed


@contextmanager
def local_aws() -> Iterator[None]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-2")
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    with mock_aws():
        create_resources(lambda service: boto3.client(service))  # type: ignore[call-overload]
        yield


def round_trips(stored: int) -> Counter[str]:
    """DynamoDB calls to match one declaration with ``stored`` certificates in the table."""
    with local_aws():
        aws = AwsClients()
        units = TableUnitOfWork(DynamoTable(aws.dynamodb, RECORDS_TABLE, RECORDS_TABLE.name), SystemClock())
        issuer = party("local-akl-chamber")
        for serial in range(stored):
            submit_certificate(
                SubmitCertificate(issuer, certificate(certificate_number=f"11.1234.{serial:05d}")), units
            )
        declared = DeclarationContent.model_validate(declaration_payload(certificate_number="11.1234.00000"))
        lodged_declaration = lodge_declaration(LodgeDeclaration(party("local-cn-customs"), declared), units)
        calls: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        aws.dynamodb.meta.events.register("before-call.dynamodb.*", count)
        message = MatchDeclaration(
            declaration_id=lodged_declaration.declaration.id,
            certificate_number=declared.certificate_number,
            created_at=DECIDED_AT,
        )
        match_declaration(message, units)
        return calls


LINES = (1, 10, 100)


def run(report: Report, quick: bool) -> None:
    section = report.section(
        "matching",
        "Matching: rule work per line",
        "One import declaration decided against a 20-item certificate, every line matched, in pure rule work "
        "(no storage): the time per line should stay flat as declarations grow.",
    )
    seconds = 0.2 if quick else 1.0
    table = Table(["lines", "declarations/s", "lines/s", "µs per line"])
    per_line = []
    for done, lines in enumerate(LINES, start=1):
        report.progress(f"{lines} lines", done, len(LINES))
        per_second, lines_per_second = rule_throughput(lines, seconds)
        per_line.append(1e6 / lines_per_second)
        table.rows.append([lines, per_second, lines_per_second, per_line[-1]])
    section.figures["microseconds_per_line"] = dict(zip(map(str, LINES), per_line, strict=True))
    section.tables.append(("Rule work by lines per declaration", table))
    report.plot(
        section,
        "per-line",
        "Matching: µs per line as lines per declaration grow",
        x_label="lines per declaration",
        y_label="µs per line",
        series={"µs per line": (LINES, per_line)},
        log_x=True,
    )
