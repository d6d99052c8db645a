"""The request examples OpenAPI shows (and Swagger UI's "Try it out" sends): the example certificate and
declaration in ``examples/``, the very files the walkthrough and the tests build their bodies from."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import Example

_FOLDER = Path(__file__).with_name("examples")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((_FOLDER / name).read_text(encoding="utf-8"))
    return document


def _example(summary: str, value: Any) -> Example:
    """An OpenAPI Example object as the mapping it is in the document. Not Powertools' model of it: that imports
    Powertools' OpenAPI models, a third of a second of every cold start, for a document only /openapi.json and
    /docs make (where Powertools reads this mapping into the same model)."""
    return cast("Example", {"summary": summary, "value": value})


CERTIFICATE = _load("certificate.json")
DECLARATION = _load("declaration.json")

_CORRECTED = {
    **CERTIFICATE,
    "certificate_number": "11.1234.12346",
    "consignee": {**CERTIFICATE["consignee"], "address": "88 Century Avenue, Pudong New Area, Shanghai 200120"},
}

SUBMISSION = {"milk-powder": _example("Whole milk powder by sea to Shanghai", value=CERTIFICATE)}
REPLACEMENT = {
    "correction": _example(
        "The consignee's address corrected, under a number of its own",
        value={"reason": "Consignee's address corrected", "certificate": _CORRECTED},
    )
}
REVOCATION = {"revocation": _example("A revocation", value={"reason": "Goods found not to meet the origin criterion"})}
COPY = {"copy": _example("A certified true copy", value={"reason": "Original lost in transit"})}
LODGEMENT = {"import": _example("China Customs' import declaration", value=DECLARATION)}
PREFERENCE_DECISION = _load("preference-decision.json")
PREFERENCE = {"not-given": _example("Preference not given, with the reason", value=PREFERENCE_DECISION)}

# A one-page PDF, small enough to read in the OpenAPI document; a real cost statement is larger (at most the
# limit per document).
_COST_STATEMENT_PDF = (
    "JVBERi0xLjQKMSAwIG9iajw8L1R5cGUvQ2F0YWxvZy9QYWdlcyAyIDAgUj4+ZW5kb2JqCjIgMCBvYmo8PC9UeXBlL1BhZ2VzL0tpZHNbMyAw"
    "IFJdL0NvdW50IDE+PmVuZG9iagozIDAgb2JqPDwvVHlwZS9QYWdlL1BhcmVudCAyIDAgUi9NZWRpYUJveFswIDAgNTk1IDg0Ml0+PmVuZG9i"
    "agp0cmFpbGVyPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg=="
)
VERIFICATION_REQUEST = {
    "milk-origin": _example(
        # No due_date: the FTA's reply period from the day it is raised (a fixed date would one day be past).
        "China Customs asks where the milk came from, due in the FTA's reply period",
        value={
            "certificate_number": "11.1234.12345",
            "questions": [
                "Please confirm the farms the raw milk was collected from.",
                "Please provide the cost statement supporting the origin criterion WO.",
            ],
        },
    )
}
VERIFICATION_ANSWER = {
    "with-cost-statement": _example(
        "The issuing body answers with the exporter's cost statement",
        value={
            "text": "All raw milk was collected from the exporter's supplier farms in the Waikato; see the statement.",
            "attachments": [
                {"name": "cost-statement.pdf", "media_type": "application/pdf", "content_base64": _COST_STATEMENT_PDF}
            ],
        },
    )
}
VERIFICATION_CLOSURE = {
    "confirmed": _example(
        "China Customs confirms the origin",
        value={"conclusion": "ORIGIN_CONFIRMED", "text": "The answer and the cost statement establish the origin."},
    )
}
REDRIVE = {
    "deliveries": _example(
        "Resume every parked delivery and send it to China again",
        value={"queue": "deliveries"},
    )
}


# Success bodies as a local stack answered the walk of ``infrastructure/local/response_examples.py`` (``make
# examples``): ``responses/<operationId>.<status>.json``, shown with each operation's answer. A unit test holds each
# to its schema; an e2e test runs the walk, so an operation without an example fails.
@cache  # read when the document is made, not at import: a cold start has no use for them
def responses() -> dict[str, dict[int, dict[str, Example]]]:
    found: dict[str, dict[int, dict[str, Example]]] = {}
    for path in sorted((_FOLDER / "responses").glob("*.json")):
        operation, status = path.stem.rsplit(".", 1)
        example = json.loads(path.read_text(encoding="utf-8"))
        found.setdefault(operation, {})[int(status)] = {"local-stack": _example(example["summary"], example["value"])}
    return found
