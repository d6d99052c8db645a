"""A certificate's life after issue through the API and the matching function (DESIGN.md §2, §3): replaced by a
corrected certificate, revoked, covered by a certified true copy; declarations amended by new revisions, and a
declaration that arrived before its certificate matched when the certificate is issued."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from infrastructure.local.functions import FunctionSet
from jevs.domain.messages import OUTBOX_MESSAGE, DeliverToChina
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, certificate_payload, declaration_payload
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import (
    lodge,
    partition_outbox,
    run_awaiting,
    run_matcher,
    submit_certificate,
)
from tests.problems import problem_type

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
REPLACEMENT = "11.1234.20001"
CN_ID = "CNIM-223320261000123456"
_keys = itertools.count(1)


def post(call_api: ApiCall, path: str, body: dict[str, Any], client_id: str = ISSUING_BODY) -> dict[str, Any]:
    return call_api("POST", path, body=body, client_id=client_id, headers={"Idempotency-Key": f"k-{next(_keys)}"})


def read(call_api: ApiCall, number: str, client_id: str = ISSUING_BODY) -> dict[str, Any]:
    response = call_api("GET", f"/v1/certificates/{number}", client_id=client_id)
    assert response["statusCode"] == 200, response
    body: dict[str, Any] = response["json"]
    return body


def replace(call_api: ApiCall, number: str = NUMBER, replacement: str = REPLACEMENT, **body: Any) -> dict[str, Any]:
    corrected = certificate_payload(certificate_number=replacement, remarks="Invoice date corrected")
    return post(
        call_api,
        f"/v1/certificates/{number}/replacement",
        {"reason": "Invoice date corrected", "certificate": corrected, **body},
    )


def history_types(call_api: ApiCall, number: str) -> list[str]:
    history = call_api("GET", f"/v1/certificates/{number}/history", client_id=ISSUING_BODY)["json"]
    assert history["chain"]["valid"], history["chain"]
    return [event["type"] for event in history["events"]]


def china_messages(number: str) -> list[DeliverToChina]:
    messages = [
        OUTBOX_MESSAGE.validate_json(body) for body in partition_outbox(f"CERTIFICATE#{number}", DeliverToChina)
    ]
    return [message for message in messages if isinstance(message, DeliverToChina)]


def decision_of(call_api: ApiCall, declaration_id: str = CN_ID, client_id: str = CN_CUSTOMS) -> dict[str, Any]:
    body: dict[str, Any] = call_api("GET", f"/v1/declarations/{declaration_id}", client_id=client_id)["json"]
    return body


# -- replacement ------------------------------------------------------------------------------------------------


def test_a_replacement_supersedes_the_original_in_one_transaction(call_api: ApiCall) -> None:
    submit_certificate(call_api)

    response = replace(call_api)

    assert response["statusCode"] == 201, response
    assert response["headers"]["location"] == f"/v1/certificates/{REPLACEMENT}"
    replacement = response["json"]
    assert (replacement["certificate_number"], replacement["status"], replacement["replaces"]) == (
        REPLACEMENT,
        "ISSUED",
        NUMBER,
    )
    assert replacement["remarks"].startswith(f"REPLACES {NUMBER}")
    original = read(call_api, NUMBER)
    assert (original["status"], original["replaced_by"], original["currently_valid"]) == (
        "REPLACED",
        REPLACEMENT,
        False,
    )
    assert history_types(call_api, NUMBER) == ["CERTIFICATE_ISSUED", "CERTIFICATE_REPLACED"]
    assert history_types(call_api, REPLACEMENT) == ["CERTIFICATE_ISSUED"]
    # China is told of both: the original replaced, the replacement issued with what it replaces.
    (told_replaced,) = [m for m in china_messages(NUMBER) if m.body.message_type == "certificate.replaced"]
    (told_issued,) = china_messages(REPLACEMENT)
    assert told_replaced.delivery_key == f"{NUMBER}/replaced"
    assert (told_issued.body.message_type, told_issued.delivery_key) == ("certificate.issued", f"{REPLACEMENT}/v1")
    assert told_issued.body.model_dump()["replaces"] == NUMBER


def test_a_replacement_of_a_used_certificate_keeps_its_usage(functions: FunctionSet, call_api: ApiCall) -> None:
    # Given a certificate used by a matched import declaration
    submit_certificate(call_api)
    lodge(call_api)
    run_matcher(functions, CN_ID)
    assert read(call_api, NUMBER)["usage"] == "USED"
    # When it is replaced
    assert replace(call_api)["statusCode"] == 201
    # Then the replacement is used too, and another import declaration on it finds it used
    assert read(call_api, REPLACEMENT)["usage"] == "USED"
    lodge(call_api, declaration_number="223320261000999999", certificate_number=REPLACEMENT)
    run_matcher(functions, "CNIM-223320261000999999")
    assert decision_of(call_api, "CNIM-223320261000999999")["status"] == "CERTIFICATE_ALREADY_USED"


def test_a_declaration_quoting_a_replaced_certificate_points_to_its_replacement(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    submit_certificate(call_api)
    replace(call_api)

    lodge(call_api)
    run_matcher(functions, CN_ID)

    decided = decision_of(call_api)
    assert (decided["status"], decided["replacement_certificate_number"]) == ("CERTIFICATE_NOT_VALID", REPLACEMENT)


@pytest.mark.parametrize(
    ("replacement", "field"),
    [("12.1234.20001", "certificate.certificate_number"), (NUMBER, "certificate.certificate_number")],
    ids=["another body's prefix", "its own number"],
)
def test_a_replacement_needs_a_number_of_its_own_under_the_originals_prefix(
    call_api: ApiCall, replacement: str, field: str
) -> None:
    submit_certificate(call_api)

    response = replace(call_api, replacement=replacement)

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == [field]
    assert read(call_api, NUMBER)["status"] == "ISSUED"


@pytest.mark.parametrize("client_id", [EXPORTER, NZ_CUSTOMS, CN_CUSTOMS, "local-ops"])
def test_only_the_issuing_body_that_issued_it_acts_on_a_certificate(call_api: ApiCall, client_id: str) -> None:
    submit_certificate(call_api)

    answers = [
        replace(call_api, client_id=client_id)
        if False
        else post(
            call_api,
            f"/v1/certificates/{NUMBER}/{action}",
            body,
            client_id=client_id,
        )
        for action, body in (
            ("replacement", {"reason": "x", "certificate": certificate_payload(certificate_number=REPLACEMENT)}),
            ("revocation", {"reason": "x"}),
            ("certified-true-copy", {"reason": "x"}),
        )
    ]

    assert [answer["statusCode"] for answer in answers] == [404, 404, 404]
    assert read(call_api, NUMBER)["status"] == "ISSUED"


def test_a_revoked_certificate_is_not_replaced(call_api: ApiCall) -> None:
    submit_certificate(call_api)
    assert post(call_api, f"/v1/certificates/{NUMBER}/revocation", {"reason": "Origin not proven"})["statusCode"] == 200

    response = replace(call_api)

    assert response["statusCode"] == 409
    assert response["json"]["type"] == problem_type("certificate-not-issued")
    assert call_api("GET", f"/v1/certificates/{REPLACEMENT}", client_id=ISSUING_BODY)["statusCode"] == 404


# -- revocation -------------------------------------------------------------------------------------------------


def test_a_revocation_withdraws_the_certificate_and_tells_china(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)

    revoked = post(call_api, f"/v1/certificates/{NUMBER}/revocation", {"reason": "Origin not proven"})
    again = post(call_api, f"/v1/certificates/{NUMBER}/revocation", {"reason": "Origin not proven"})

    assert revoked["statusCode"] == 200
    assert (revoked["json"]["status"], revoked["json"]["revocation_reason"]) == ("REVOKED", "Origin not proven")
    assert again["statusCode"] == 409
    assert history_types(call_api, NUMBER) == ["CERTIFICATE_ISSUED", "CERTIFICATE_REVOKED"]
    (told,) = [m for m in china_messages(NUMBER) if m.body.message_type == "certificate.revoked"]
    assert told.delivery_key == f"{NUMBER}/revoked"
    lodge(call_api)
    run_matcher(functions, CN_ID)
    assert decision_of(call_api)["status"] == "CERTIFICATE_NOT_VALID"


# -- certified true copy ----------------------------------------------------------------------------------------


def test_a_certified_true_copy_is_the_next_version_with_the_originals_number_and_validity(call_api: ApiCall) -> None:
    original = read(call_api, submit_certificate(call_api)["certificate_number"])

    response = post(call_api, f"/v1/certificates/{NUMBER}/certified-true-copy", {"reason": "Original lost in transit"})

    assert response["statusCode"] == 201, response
    copy = response["json"]
    assert (copy["certificate_number"], copy["version"], copy["certified_true_copy_of"]) == (NUMBER, 2, NUMBER)
    assert (copy["issue_date"], copy["valid_until"]) == (original["issue_date"], original["valid_until"])
    assert copy["remarks"].startswith("CERTIFIED TRUE COPY")
    assert history_types(call_api, NUMBER) == ["CERTIFICATE_ISSUED", "CERTIFIED_TRUE_COPY_ISSUED"]
    (told,) = [m for m in china_messages(NUMBER) if m.body.message_type == "certificate.copy_issued"]
    assert told.delivery_key == f"{NUMBER}/v2"


def test_a_used_original_is_not_copied(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    lodge(call_api)
    run_matcher(functions, CN_ID)

    response = post(call_api, f"/v1/certificates/{NUMBER}/certified-true-copy", {"reason": "Original lost"})

    assert response["statusCode"] == 409
    assert response["json"]["type"] == problem_type("certificate-used")
    assert read(call_api, NUMBER)["version"] == 1


def test_once_the_copy_is_used_the_original_is_void(functions: FunctionSet, call_api: ApiCall) -> None:
    # Given a copy, used by an import declaration (which quotes the number both carry)
    submit_certificate(call_api)
    post(call_api, f"/v1/certificates/{NUMBER}/certified-true-copy", {"reason": "Original lost in transit"})
    lodge(call_api)
    run_matcher(functions, CN_ID)
    assert decision_of(call_api)["status"] == "MATCHED"
    # When the original turns up and is presented with another import declaration
    lodge(call_api, declaration_number="223320261000999999")
    run_matcher(functions, "CNIM-223320261000999999")
    # Then it is void: the certificate was used
    assert decision_of(call_api, "CNIM-223320261000999999")["status"] == "CERTIFICATE_ALREADY_USED"


# -- declarations amended, and waiting for their certificate -----------------------------------------------------


def test_an_amended_declaration_is_decided_again_and_every_decision_is_kept(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    # Given an import declaration decided MISMATCHED on a wrong tariff code
    submit_certificate(call_api)
    wrong = [{**line, "hs_code": "0401100000"} for line in certificate_lines()]
    lodge(call_api, lines=wrong)
    run_matcher(functions, CN_ID)
    assert decision_of(call_api)["status"] == "MISMATCHED"
    # When China Customs lodges the same declaration number with the line corrected
    amended = lodge(call_api, key="amended")
    run_matcher(functions, CN_ID)
    # Then the new revision is decided MATCHED, and the owner sees both decisions
    assert (amended["statusCode"], amended["json"]["revision"]) == (202, 2)
    decided = decision_of(call_api)
    assert (decided["revision"], decided["status"]) == (2, "MATCHED")
    matches = call_api("GET", f"/v1/certificates/{NUMBER}/match-results", client_id=ISSUING_BODY)["json"]["matches"]
    assert [(m["revision"], m["decision"], m["status"]) for m in matches] == [(1, 1, "MISMATCHED"), (2, 2, "MATCHED")]


def test_an_amended_export_entry_releases_what_its_previous_revision_drew(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    # Given an export entry that drew 15 000 of the 25 000 kg certified
    submit_certificate(call_api)
    first = [{**certificate_lines()[0], "hs_code": "04022100000", "quantity": {"value": "15000", "unit": "KGM"}}]
    lodge(call_api, client_id=NZ_CUSTOMS, declaration_number="EX1", lines=first)
    run_matcher(functions, "NZEX-EX1")
    # When it is amended to 20 000 kg
    amended = [{**first[0], "quantity": {"value": "20000", "unit": "KGM"}}]
    lodge(call_api, client_id=NZ_CUSTOMS, declaration_number="EX1", lines=amended, key="amended")
    run_matcher(functions, "NZEX-EX1")
    # Then it matches (20 000 of 25 000, the first 15 000 released), and a second entry for 10 000 more does not
    assert decision_of(call_api, "NZEX-EX1", NZ_CUSTOMS)["status"] == "MATCHED"
    lodge(
        call_api,
        client_id=NZ_CUSTOMS,
        declaration_number="EX2",
        lines=[{**first[0], "quantity": {"value": "10000", "unit": "KGM"}}],
    )
    run_matcher(functions, "NZEX-EX2")
    refused = decision_of(call_api, "NZEX-EX2", NZ_CUSTOMS)
    assert refused["status"] == "MISMATCHED"
    assert [(d["field"], d["certificate_value"]) for d in refused["discrepancies"]] == [("quantity", "5000")]


def test_a_declaration_that_arrived_before_its_certificate_is_matched_when_it_is_issued(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    # Given an import declaration quoting a certificate not issued yet
    lodge(call_api)
    run_matcher(functions, CN_ID)
    assert decision_of(call_api)["status"] == "CERTIFICATE_NOT_FOUND"
    # When the certificate is submitted
    submit_certificate(call_api)
    assert run_awaiting(functions, NUMBER) == {"batchItemFailures": []}
    # Then the declaration is decided again, without China Customs doing anything, and China gets the new result
    decided = decision_of(call_api)
    assert (decided["status"], decided["revision"]) == ("MATCHED", 1)
    results = [OUTBOX_MESSAGE.validate_json(body) for body in partition_outbox(f"DECLARATION#{CN_ID}", DeliverToChina)]
    keys = sorted(message.delivery_key for message in results if isinstance(message, DeliverToChina))
    assert keys == [f"{CN_ID}/result/1", f"{CN_ID}/result/2"]
    assert read(call_api, NUMBER)["usage"] == "USED"


def certificate_lines() -> list[dict[str, Any]]:
    """The example declaration's lines."""
    lines: list[dict[str, Any]] = declaration_payload()["lines"]
    return lines
