"""Acceptable text (``jevs.domain.text``): no control or format characters, unpaired surrogates or line
separators in anything a party sends, line feeds only where a field's text has lines; checked in every field
family that comes in from outside (issue 14, finding 5)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from functions.api.requests import ReasonRequest, RejectionRequest
from functions.api.verification_models import AnswerRequest, AttachmentIn, RaiseRequest
from infrastructure.local.request_bodies import preference_decision_payload
from jevs.domain.applications import ApplicationLodgement
from jevs.domain.certificate import CertificateContent
from jevs.domain.declarations import DeclarationContent
from jevs.domain.preferences import PreferenceDecisionContent
from jevs.domain.registrations import ApprovalDecision, GoodsLodgement, SignatoryLodgement
from jevs.domain.text import Inbound, text_problem
from tests.factories import (
    application_payload,
    certificate_payload,
    commercial_payload,
    declaration_payload,
    goods_payload,
    signatory_payload,
)
from tests.unit.support import AUSTRALIAN_CONSIGNEE

pytestmark = pytest.mark.unit

# Each character the finding named, and one of each other category refused.
UNACCEPTABLE = {
    "NUL": "\x00",
    "CR": "\r",
    "LF": "\n",
    "ESC": "\x1b",
    "TAB": "\t",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "right-to-left override": "\u202e",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "unpaired surrogate": "\ud800",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
}
# Text a party legitimately sends: Māori and Chinese names, punctuation, symbols.
ACCEPTABLE = [
    "Te Rapa Dairy Ltd",
    "Ngāti Whātua Ōrākei",
    "上海港湾食品有限公司",
    "INV-2026/0042 (rev. 2)",
    "€ 5 — «ok»",
]


def refusal(model: type[BaseModel], payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The (field path, message) of every error validating ``payload``; [] when it is accepted."""
    try:
        model.model_validate(payload)
    except ValidationError as error:
        return [(".".join(str(part) for part in e["loc"]), e["msg"]) for e in error.errors()]
    return []


@pytest.mark.parametrize("character", UNACCEPTABLE.values(), ids=UNACCEPTABLE.keys())
def test_one_line_text_refuses_every_control_format_surrogate_and_separator_character(character: str) -> None:
    assert text_problem(f"INV{character}42") is not None


@pytest.mark.parametrize(
    "character", [c for name, c in UNACCEPTABLE.items() if name != "LF"], ids=[n for n in UNACCEPTABLE if n != "LF"]
)
def test_text_with_lines_takes_line_feeds_and_refuses_everything_else_one_line_text_does(character: str) -> None:
    assert text_problem("1 Quay Street\nAuckland 1010", lines=True) is None
    assert text_problem(f"1 Quay Street{character}Auckland", lines=True) is not None


@pytest.mark.parametrize("text", ACCEPTABLE)
def test_names_in_any_script_are_acceptable(text: str) -> None:
    assert text_problem(text) is None


def test_the_problem_names_the_character_and_where_it_is() -> None:
    assert text_problem("ab\u202ecd") == (
        "format characters (bidi controls, zero-width characters) are not allowed: U+202E at position 2"
    )


# -- every family of fields that comes in from outside ------------------------------------------------------------


def certificate_with(**changes: Any) -> dict[str, Any]:
    return certificate_payload(**changes)


def item_invoice(number: str) -> dict[str, Any]:
    item = certificate_payload()["items"][0]
    return {**item, "invoice": {**item["invoice"], "number": number}}


# (model, payload, the field path of the refusal) per field family the finding named, and the others.
FIELDS: dict[str, tuple[type[BaseModel], dict[str, Any], str]] = {
    "certificate invoice number (NUL)": (
        CertificateContent,
        certificate_with(items=[item_invoice("INV\x0042")]),
        "items.0.invoice.number",
    ),
    "certificate invoice number (CR LF)": (
        CertificateContent,
        certificate_with(items=[item_invoice("INV-1\r\nINV-2")]),
        "items.0.invoice.number",
    ),
    "commercial invoice number (ESC)": (
        CertificateContent,
        certificate_with(
            commercial={"invoice_values": [{**commercial_payload()["invoice_values"][0], "invoice_number": "\x1b[2J"}]}
        ),
        "commercial.invoice_values.0.invoice_number",
    ),
    "business number of a consignee outside China": (
        CertificateContent,
        certificate_with(consignee={**AUSTRALIAN_CONSIGNEE, "business_number": "ABN\n51824753556"}),
        "consignee.business_number",
    ),
    "exporter name (bidi override)": (
        CertificateContent,
        certificate_with(exporter={**certificate_payload()["exporter"], "name": "Kauri \u202eyriaD"}),
        "exporter.name",
    ),
    "consignee name (zero-width space)": (
        CertificateContent,
        certificate_with(consignee={**certificate_payload()["consignee"], "name": "Shanghai\u200bHarbour"}),
        "consignee.name",
    ),
    "address (carriage return)": (
        CertificateContent,
        certificate_with(exporter={**certificate_payload()["exporter"], "address": "1 Quay Street\rAuckland"}),
        "exporter.address",
    ),
    "remarks (NUL)": (CertificateContent, certificate_with(remarks="see\x00attached"), "remarks"),
    "declaration invoice number": (
        DeclarationContent,
        declaration_payload(lines=[{**declaration_payload()["lines"][0], "invoice_number": "INV\r42"}]),
        "lines.0.invoice_number",
    ),
    "declaration importer name": (
        DeclarationContent,
        declaration_payload(importer_name="Shanghai\u202eHarbour"),
        "importer_name",
    ),
    "decision reason": (ApprovalDecision, {"decision": "REFUSED", "reasons": ["no evidence\x1b[31m"]}, "reasons.0"),
    "decision reason (a second line)": (
        ApprovalDecision,
        {"decision": "REFUSED", "reasons": ["no evidence\nforged: approved"]},
        "reasons.0",
    ),
    "revocation reason": (ReasonRequest, {"reason": "issued in error\x00"}, "reason"),
    "rejection reason": (RejectionRequest, {"reasons": ["\u200b"]}, "reasons.0"),
    "signatory email": (SignatoryLodgement, signatory_payload(email="aroha\x00@kauri.example.nz"), "email"),
    "signatory name": (SignatoryLodgement, signatory_payload(name="Aroha\u200dNgata"), "name"),
    "goods supplier": (
        GoodsLodgement,
        goods_payload(evidence={**goods_payload()["evidence"], "suppliers": ["Farm\u2028B"]}),
        "evidence.suppliers.0",
    ),
    "application remarks": (
        ApplicationLodgement,
        application_payload("sig-1", ["goods-1"], remarks="\ufeffurgent"),
        "remarks",
    ),
    "preference refusal text": (
        PreferenceDecisionContent,
        preference_decision_payload(reasons=[{"code": "OTHER", "text": "late\rer"}]),
        "reasons.0.text",
    ),
    "verification question": (
        RaiseRequest,
        {"certificate_number": "11.1234.12345", "questions": ["Where\x07 is the milk from?"]},
        "questions.0",
    ),
    "verification answer": (AnswerRequest, {"text": "From Waikato.\r\n"}, "text"),
    "attachment media type": (
        AttachmentIn,
        {"name": "a.pdf", "media_type": "application/pdf\r\nX-Injected: 1", "content_base64": "JVBERg=="},
        "media_type",
    ),
}


@pytest.mark.parametrize(("model", "payload", "field"), FIELDS.values(), ids=FIELDS.keys())
def test_unacceptable_text_is_refused_at_its_field(model: type[BaseModel], payload: dict[str, Any], field: str) -> None:
    assert [path for path, _ in refusal(model, payload)] == [field]


def test_the_example_bodies_and_a_chinese_consignee_are_accepted() -> None:
    chinese = {
        **certificate_payload()["consignee"],
        "name": "上海港湾食品有限公司",
        "address": "上海市浦东新区世纪大道88号",
    }
    assert refusal(CertificateContent, certificate_payload(consignee=chinese)) == []
    assert refusal(DeclarationContent, declaration_payload(importer_name="上海港湾食品有限公司")) == []


def test_text_with_lines_keeps_its_line_feeds() -> None:
    # An address, a description of goods, remarks and a verification answer are written on several lines.
    exporter = {**certificate_payload()["exporter"], "address": "1 Quay Street\nAuckland 1010"}
    item = {**certificate_payload()["items"][0], "description": "Whole milk powder\n26% fat, 25 kg bags"}
    content = CertificateContent.model_validate(
        certificate_payload(exporter=exporter, items=[item], remarks="Line one\nLine two")
    )
    assert (content.exporter.address, content.remarks) == ("1 Quay Street\nAuckland 1010", "Line one\nLine two")
    assert AnswerRequest.model_validate({"text": "From Waikato.\nSee the statement."}).text.count("\n") == 1


def test_a_field_added_to_a_model_from_outside_is_checked_without_saying_so() -> None:
    # Given a model from outside with a plain string field, in a list and a dict too
    class Later(Inbound):
        note: str
        tags: list[str] = Field(default_factory=list)
        labels: dict[str, str] = Field(default_factory=dict)

    # Then each refuses what acceptable text refuses, a line feed included
    assert [path for path, _ in refusal(Later, {"note": "a\x00b"})] == ["note"]
    assert [path for path, _ in refusal(Later, {"note": "a", "tags": ["x", "two\nlines"]})] == ["tags"]
    assert [path for path, _ in refusal(Later, {"note": "a", "labels": {"k\u202e": "v"}})] == ["labels"]
    assert refusal(Later, {"note": "ok", "tags": ["ok"], "labels": {"k": "v"}}) == []


def test_dates_and_numbers_are_not_text() -> None:
    # The check leaves what is not a string alone (a date field of a model from outside).
    class Dated(Inbound):
        day: date
        count: int

    assert Dated.model_validate({"day": "2026-11-20", "count": 3}).day == date(2026, 11, 20)
