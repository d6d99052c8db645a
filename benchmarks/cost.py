"""The cost model (docs/cost.md): what a million certificates cost in AWS requests, Lambda GB-seconds, DynamoDB
units, SQS requests, S3 PUTs and KMS signatures, from the round trips and durations ``benchmarks/round_trips.py``
measured (its ``lifecycle`` figures: one certificate submitted, delivered, documented and matched by two
declarations) and the public prices below.

    python -m benchmarks --only round_trips cost        (or: make bench)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchmarks.report import RESULTS_FILE, Report, Table

CERTIFICATES = 1_000_000
# Each message a queue carries costs Lambda's event source mapping a receive and a delete besides its send (at most:
# both are batched under load); an empty poll is a fixed cost of each queue, not of a certificate.
SQS_REQUESTS_PER_MESSAGE = 3


@dataclass(frozen=True)
class Price:
    what: str
    usd: float
    per: float
    unit: str
    source: str


# Public list prices, US East (N. Virginia), as the pages below gave them on 2026-12-07. JEVS runs in Asia Pacific
# (Sydney), where each is somewhat higher: every figure scales by the same factor.
PRICES = {
    "api": Price(
        "API Gateway REST API",
        3.50,
        1e6,
        "requests",
        "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html",
    ),
    "lambda_requests": Price("Lambda requests", 0.20, 1e6, "requests", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_seconds": Price(
        "Lambda duration, arm64", 0.0000133334, 1, "GB-seconds", "https://aws.amazon.com/lambda/pricing/"
    ),
    "wru": Price(
        "DynamoDB on-demand writes",
        0.625,
        1e6,
        "write request units",
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing",
    ),
    "rru": Price(
        "DynamoDB on-demand reads",
        0.125,
        1e6,
        "read request units",
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing",
    ),
    "sqs": Price("SQS standard", 0.40, 1e6, "requests", "https://cloudburn.io/blog/amazon-sqs-pricing"),
    "s3_put": Price(
        "S3 Standard PUT",
        0.005,
        1e3,
        "requests",
        "https://www.cloudkaramchari.com/blog/understanding-per-1000-put-copy-post-or-list-requests-in-amazon-s3-pricing/",
    ),
    "kms": Price(
        "KMS asymmetric (ECC) requests",
        0.15,
        1e4,
        "requests",
        "https://www.factualminds.com/blog/aws-kms-pricing-keys-requests-multi-region/",
    ),
}


def quantities(lifecycle: dict[str, Any], certificates: int = CERTIFICATES) -> dict[str, float]:
    """What ``certificates`` certificates use of each priced quantity, from one certificate's measured life."""
    functions: dict[str, dict[str, Any]] = lifecycle["functions"]

    def calls(prefix: str) -> float:
        return float(sum(n for f in functions.values() for call, n in f["calls"].items() if call.startswith(prefix)))

    messages = calls("SQS.SendMessage")  # SendMessage and SendMessageBatch: one message each, a record per invocation
    return {
        "api": functions["api"]["invocations"] * certificates,
        "lambda_requests": sum(f["invocations"] for f in functions.values()) * certificates,
        "lambda_gb_seconds": sum(
            f["invocations"] * f["median_ms"] / 1000 * f["memory_mb"] / 1024 for f in functions.values()
        )
        * certificates,
        "wru": sum(f["units"].get("WRU", 0) for f in functions.values()) * certificates,
        "rru": sum(f["units"].get("RRU", 0) for f in functions.values()) * certificates,
        "sqs": (messages * SQS_REQUESTS_PER_MESSAGE + calls("SQS.") - messages) * certificates,
        "s3_put": calls("S3.PutObject") * certificates,
        "kms": calls("KMS.") * certificates,
    }


def lifecycle_figures(report: Report) -> dict[str, Any]:
    """The round trips' lifecycle figures: from this run, else from the results already written."""
    section = report.sections.get("round_trips")
    if section is None:
        written = json.loads((report.folder / RESULTS_FILE).read_text(encoding="utf-8"))
        found: dict[str, Any] = written["sections"]["round_trips"]["figures"]["lifecycle"]
        return found
    measured: dict[str, Any] = section.figures["lifecycle"]
    return measured


def run(report: Report, quick: bool) -> None:
    lifecycle = lifecycle_figures(report)
    section = report.section(
        "cost",
        "Cost model: a million certificates",
        f"Each certificate submitted, delivered to China, documented (PDF and data file) and matched by an export "
        f"entry and an import declaration, their results delivered and filed: the AWS calls, DynamoDB units and "
        f"Lambda invocations measured over {lifecycle['certificates']} certificates (Round trips), durations warm "
        "and in process against moto (see docs/cost.md for what they leave out), at US East list prices. One "
        "record per Lambda invocation: the most invocations (batches under load make fewer).",
    )
    used = quantities(lifecycle)
    costs = {key: used[key] / PRICES[key].per * PRICES[key].usd for key in PRICES}
    total = sum(costs.values())
    table = Table(["what", "per million certificates", "unit", "price", "USD", "share"])
    for key, price in PRICES.items():
        per = f"${price.usd:g} per {price.per:,.0f}" if price.per > 1 else f"${price.usd:g}"
        table.rows.append([price.what, used[key], price.unit, per, costs[key], costs[key] / total])
    table.rows.append(["total", "", "", "", total, 1.0])
    section.tables.append(("What a million certificates use, and cost", table))
    per_function = Table(["function", "invocations", "median ms", "memory MB", "GB-seconds per million"])
    for name, function in lifecycle["functions"].items():
        seconds = function["invocations"] * function["median_ms"] / 1000 * function["memory_mb"] / 1024
        per_function.rows.append(
            [name, function["invocations"], function["median_ms"], function["memory_mb"], seconds * CERTIFICATES]
        )
    section.tables.append(("Lambda per function, per certificate", per_function))
    section.figures = {
        "certificates": CERTIFICATES,
        "quantities": used,
        "usd": costs,
        "usd_total": total,
        "prices": {key: vars(price) for key, price in PRICES.items()},
    }
