"""Request bodies as partners send them, built from the API's example files (``functions/api/examples/``, also
its examples in OpenAPI).

The walkthrough (``demo.py``) and the tests (``tests/factories.py``) both build their bodies here, so the
certificate a newcomer watches go through ``make demo`` is the one the tests submit. Each builder returns a
fresh dict: callers change it freely. Keyword overrides replace whole top-level fields.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jevs.domain.new_zealand import new_zealand_date

EXAMPLES = Path(__file__).parents[2] / "functions" / "api" / "examples"
EXAMPLE_CERTIFICATE = EXAMPLES / "certificate.json"
EXAMPLE_DECLARATION = EXAMPLES / "declaration.json"
EXAMPLE_PREFERENCE_DECISION = EXAMPLES / "preference-decision.json"
# The Auckland chamber of the demo parties (parties.json), where the hosted-issuing bodies are lodged.
ISSUING_BODY_ID = "akl-chamber"


def today_in_new_zealand() -> date:
    """The day JEVS dates what it issues (a machine on UTC may still be on yesterday)."""
    return new_zealand_date(datetime.now(UTC))


# Read once: builders deep-copy, so no caller can change what the next one gets.
@cache
def _example(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def certificate_payload(**overrides: Any) -> dict[str, Any]:
    """The example certificate of DESIGN.md §5 as a fresh dict; top-level fields replaced by ``overrides``."""
    payload = copy.deepcopy(_example(EXAMPLE_CERTIFICATE))
    payload.update(overrides)
    return payload


def item_payload(item_number: int, **overrides: Any) -> dict[str, Any]:
    """The example certificate's item (box 7-11 of one line) numbered ``item_number``; fields replaced."""
    item: dict[str, Any] = copy.deepcopy(_example(EXAMPLE_CERTIFICATE)["items"][0])
    item["item_number"] = item_number
    item.update(overrides)
    return item


def certificate_issued_on(day: date, **overrides: Any) -> dict[str, Any]:
    """The example certificate issued and shipped on ``day``, invoiced two days before; fields replaced.

    The example's own dates grow old: a certificate a year past them is no longer valid on arrival.
    """
    example = certificate_payload()
    dated = certificate_payload(
        issue_date=day.isoformat(),
        transport={**example["transport"], "departure_date": day.isoformat()},
        items=[
            {**item, "invoice": {**item["invoice"], "date": (day - timedelta(days=2)).isoformat()}}
            for item in example["items"]
        ],
    )
    dated.update(overrides)
    return dated


def commercial_payload() -> dict[str, Any]:
    """Commercial details (the invoice values) an issuing body may file: only the full view shows them."""
    return {"invoice_values": [{"invoice_number": "INV-2026-0042", "amount": "112500.00", "currency": "NZD"}]}


def declaration_payload(**overrides: Any) -> dict[str, Any]:
    """The example import declaration of DESIGN.md §5 (it matches the example certificate); fields replaced."""
    payload = copy.deepcopy(_example(EXAMPLE_DECLARATION))
    payload.update(overrides)
    return payload


def preference_decision_payload(**overrides: Any) -> dict[str, Any]:
    """The example preference decision (box 5): not given, with its reason, on the example declaration."""
    payload = copy.deepcopy(_example(EXAMPLE_PREFERENCE_DECISION))
    payload.update(overrides)
    return payload


# -- hosted issuing: what an exporter lodges with its issuing body -------------------------------------------


def goods_payload(**overrides: Any) -> dict[str, Any]:
    """The example certificate's goods registered for origin, with the evidence only the chamber sees."""
    goods: dict[str, Any] = {
        "issuing_body": ISSUING_BODY_ID,
        "hs_code": "040221",
        "description": "Whole milk powder, 26% fat, in 25 kg bags",
        "origin_criterion": "WO",
        "producer": {"disclosure": "SAME"},
        "evidence": {
            "statement": "Milk from our own farms in Waikato, dried at our Te Rapa plant.",
            "currency": "NZD",
            "cost_build_up": [{"component": "raw milk", "origin_country": "NZ", "value": "3.10"}],
            "suppliers": ["Kauri Dairy farms"],
        },
    }
    goods.update(overrides)
    return goods


def signatory_payload(**overrides: Any) -> dict[str, Any]:
    """The person at the exporter who signs its applications."""
    person: dict[str, Any] = {
        "issuing_body": ISSUING_BODY_ID,
        "name": "Aroha Ngata",
        "position": "Export Manager",
        "email": "aroha.ngata@kauri-dairy.example.nz",
        "phone": "+64 9 555 0100",
    }
    person.update(overrides)
    return person


def application_payload(signatory_id: str, registration_ids: list[str], **overrides: Any) -> dict[str, Any]:
    """An application for the example certificate, shipping today, one item per approved goods registration.

    The goods' description, HS code and origin criterion come from the registration, not the application.
    """
    example = certificate_payload()
    item = example["items"][0]
    application: dict[str, Any] = {
        "issuing_body": ISSUING_BODY_ID,
        "signatory_id": signatory_id,
        "exporter": example["exporter"],
        "producer": example["producer"],
        "consignee": example["consignee"],
        "transport": {**example["transport"], "departure_date": today_in_new_zealand().isoformat()},
        "remarks": "",
        "items": [
            {
                "item_number": n,
                "goods_registration_id": registration_id,
                "marks_and_numbers": item["marks_and_numbers"],
                "packages": item["packages"],
                "quantity": item["quantity"],
                "gross_weight_kg": item["gross_weight_kg"],
                "invoice": item["invoice"],
            }
            for n, registration_id in enumerate(registration_ids, start=1)
        ],
    }
    application.update(overrides)
    return application


# The exporter's cost statement, as the issuing body attaches it to its answer: a one-page PDF.
COST_STATEMENT_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def verification_request_payload(certificate_number: str, **overrides: Any) -> dict[str, Any]:
    """China Customs' questions about a certificate, due in the FTA's reply period (no due date given)."""
    request: dict[str, Any] = {
        "certificate_number": certificate_number,
        "questions": [
            "Please confirm the farms the raw milk was collected from.",
            "Please provide the cost statement supporting the origin criterion WO.",
        ],
    }
    request.update(overrides)
    return request


def verification_answer_payload(**overrides: Any) -> dict[str, Any]:
    """The issuing body's answer, with the exporter's cost statement attached."""
    answer: dict[str, Any] = {
        "text": "All raw milk was collected from the exporter's supplier farms in the Waikato; see the statement.",
        "attachments": [
            {
                "name": "cost-statement.pdf",
                "media_type": "application/pdf",
                "content_base64": base64.b64encode(COST_STATEMENT_PDF).decode(),
            }
        ],
    }
    answer.update(overrides)
    return answer
