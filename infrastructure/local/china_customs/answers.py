"""What China Customs' endpoint answers: JSON documents, and an RFC 9457 problem for every refusal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROBLEM_JSON = "application/problem+json"
_PROBLEM_TITLES = {
    400: "Bad request",
    401: "Signature not accepted",
    404: "Not found",
    405: "Method not allowed",
    409: "Idempotency key reused",
    411: "Length required",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Rejected",
    425: "Too early",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # Shown in the request's log line: why the answer is what it is.
    note: str = ""

    @classmethod
    def json(
        cls, status: int, document: object, *, headers: list[tuple[str, str]] | None = None, note: str = ""
    ) -> Answer:
        return cls(
            status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(document).encode(), note
        )

    def with_headers(self, *headers: tuple[str, str]) -> Answer:
        return Answer(self.status, [*self.headers, *headers], self.body, self.note)


def problem(status: int, detail: str, *, code: str, note: str = "", **extra: Any) -> Answer:
    """An RFC 9457 problem, as China's side answers every refusal; ``note`` defaults to ``code``."""
    document = {
        "type": f"urn:cn-customs-simulator:problem:{code}",
        "title": _PROBLEM_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return Answer(status, [("Content-Type", PROBLEM_JSON)], json.dumps(document).encode(), note or code)
