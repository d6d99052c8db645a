"""The request examples OpenAPI shows (and Swagger UI's "Try it out" sends): the example certificate and
declaration in ``examples/``, the very files the walkthrough and the tests build their bodies from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import Example

_FOLDER = Path(__file__).with_name("examples")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((_FOLDER / name).read_text(encoding="utf-8"))
    return document


CERTIFICATE = _load("certificate.json")
DECLARATION = _load("declaration.json")

_CORRECTED = {
    **CERTIFICATE,
    "certificate_number": "11.1234.12346",
    "consignee": {**CERTIFICATE["consignee"], "address": "88 Century Avenue, Pudong New Area, Shanghai 200120"},
}

SUBMISSION = {"milk-powder": Example(summary="Whole milk powder by sea to Shanghai", value=CERTIFICATE)}
REPLACEMENT = {
    "correction": Example(
        summary="The consignee's address corrected, under a number of its own",
        value={"reason": "Consignee's address corrected", "certificate": _CORRECTED},
    )
}
REVOCATION = {
    "revocation": Example(summary="A revocation", value={"reason": "Goods found not to meet the origin criterion"})
}
COPY = {"copy": Example(summary="A certified true copy", value={"reason": "Original lost in transit"})}
LODGEMENT = {"import": Example(summary="China Customs' import declaration", value=DECLARATION)}
PREFERENCE_DECISION = _load("preference-decision.json")
PREFERENCE = {"not-given": Example(summary="Preference not given, with the reason", value=PREFERENCE_DECISION)}
