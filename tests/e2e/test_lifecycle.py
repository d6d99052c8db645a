"""A certificate's life after issue on the local stack, over HTTP as its partners call it (DESIGN.md §2–3, §5):
each action and each refusal, what matching then decides, and what China Customs (the simulator) holds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pypdfium2  # type: ignore[import-untyped, unused-ignore]
import pytest

from infrastructure.local.china_customs import ChinaCustomsSimulator, HeldStatus
from infrastructure.local.stack import LocalStack
from jevs.resources import EXCHANGE_BUCKET, nz_customs_certificate_key
from tests.e2e.partners import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUER,
    NZ_CUSTOMS,
    OPS,
    OTHER_EXPORTER,
    Partners,
    certificate_number,
    declaration_number,
)
from tests.factories import certificate_payload, declaration_payload
from tests.problems import problem_type

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def partners(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


@pytest.fixture
def china(stack: LocalStack) -> ChinaCustomsSimulator:
    assert stack.china is not None, "the e2e stack delivers to its own simulator"
    return stack.china


def replace(partners: Partners, number: str, replacement: str, client_id: str = ISSUER) -> Any:
    body = {"reason": "Invoice number corrected", "certificate": certificate_payload(certificate_number=replacement)}
    return partners.post(f"/v1/certificates/{number}/replacement", body, client_id)


def revoke(partners: Partners, number: str, client_id: str = ISSUER) -> Any:
    return partners.post(f"/v1/certificates/{number}/revocation", {"reason": "Origin not proven"}, client_id)


def copy(partners: Partners, number: str, client_id: str = ISSUER) -> Any:
    return partners.post(f"/v1/certificates/{number}/certified-true-copy", {"reason": "Lost in transit"}, client_id)


def import_declaration(partners: Partners, number: str) -> dict[str, Any]:
    """China Customs lodges an import declaration quoting ``number``: its decision."""
    lodged = partners.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=declaration_number())
    assert lodged.status_code == 202, lodged.text
    return partners.decided(CN_CUSTOMS, lodged.headers["Location"])


def held(china: ChinaCustomsSimulator, number: str, status: HeldStatus) -> None:
    """Wait until China holds ``number`` with ``status``."""
    china.wait_for_certificates(lambda found: number in found and found[number].status is status, timeout=15)


def test_a_replacement_supersedes_the_original_and_china_holds_both(
    partners: Partners, china: ChinaCustomsSimulator
) -> None:
    original, replacement = partners.certificate(), certificate_number()

    response = replace(partners, original, replacement)

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/v1/certificates/{replacement}"
    assert (response.json()["replaces"], response.json()["status"]) == (original, "ISSUED")
    assert (partners.read(original)["status"], partners.read(original)["replaced_by"]) == ("REPLACED", replacement)
    held(china, original, HeldStatus.REPLACED)
    held(china, replacement, HeldStatus.ISSUED)
    told = china.certificate(original)
    assert told is not None
    assert told.replaced_by == replacement
    assert import_declaration(partners, original)["replacement_certificate_number"] == replacement


def test_a_replacement_of_a_used_certificate_keeps_its_usage(partners: Partners) -> None:
    original, replacement = partners.certificate(), certificate_number()
    assert import_declaration(partners, original)["status"] == "MATCHED"

    assert replace(partners, original, replacement).status_code == 201

    usage = partners.get(f"/v1/certificates/{replacement}/match-results", EXPORTER).json()
    assert usage["usage"] == "USED"
    assert import_declaration(partners, replacement)["status"] == "CERTIFICATE_ALREADY_USED"


def test_a_revoked_certificate_is_not_replaced_and_nothing_is_stored(partners: Partners) -> None:
    original, replacement = partners.certificate(), certificate_number()
    assert revoke(partners, original).status_code == 200

    response = replace(partners, original, replacement)

    assert response.status_code == 409
    assert response.json()["type"] == problem_type("certificate-not-issued")
    assert partners.get(f"/v1/certificates/{replacement}").status_code == 404


def test_a_replacement_under_another_bodys_prefix_is_refused(partners: Partners) -> None:
    original = partners.certificate()

    response = replace(partners, original, "12.5555.99999")

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["certificate.certificate_number"]
    assert partners.read(original)["status"] == "ISSUED"
    assert partners.get("/v1/certificates/12.5555.99999").status_code == 404


def test_revoking_twice_is_a_conflict_and_china_is_told_once(partners: Partners, china: ChinaCustomsSimulator) -> None:
    number = partners.certificate()

    first, second = revoke(partners, number), revoke(partners, number)

    assert (first.status_code, first.json()["status"]) == (200, "REVOKED")
    assert (second.status_code, second.json()["type"]) == (409, problem_type("certificate-not-issued"))
    held(china, number, HeldStatus.REVOKED)
    revocations = [m for m in china.received if m.idempotency_key == f"{number}/revoked"]
    assert [m.body["reason"] for m in revocations] == ["Origin not proven"]
    assert import_declaration(partners, number)["status"] == "CERTIFICATE_NOT_VALID"
    verified = partners.http.get(f"/v1/verify/{number}").json()
    assert verified["currently_valid"] is False


def test_a_used_original_is_not_copied(partners: Partners) -> None:
    number = partners.certificate()
    assert import_declaration(partners, number)["status"] == "MATCHED"

    response = copy(partners, number)

    assert (response.status_code, response.json()["type"]) == (409, problem_type("certificate-used"))
    assert partners.read(number)["version"] == 1


def test_once_its_copy_is_used_the_original_is_void(partners: Partners, china: ChinaCustomsSimulator) -> None:
    # Given a certified true copy of a certificate, which China holds as its next version
    number = partners.certificate()
    response = copy(partners, number)
    assert response.status_code == 201, response.text
    assert (response.json()["version"], response.json()["certified_true_copy_of"]) == (2, number)
    china.wait_for_certificates(lambda found: number in found and found[number].version_numbers == (1, 2), 15)
    # When the copy is used by an import declaration (quoting the number both carry)
    assert import_declaration(partners, number)["status"] == "MATCHED"
    # Then the original, presented with another, is void
    assert import_declaration(partners, number)["status"] == "CERTIFICATE_ALREADY_USED"


@pytest.mark.parametrize("client_id", [EXPORTER, OTHER_EXPORTER, NZ_CUSTOMS, CN_CUSTOMS, OPS])
def test_a_party_that_is_not_the_issuer_is_told_the_certificate_does_not_exist(
    partners: Partners, client_id: str
) -> None:
    number = partners.certificate()

    answers = [
        replace(partners, number, certificate_number(), client_id),
        revoke(partners, number, client_id),
        copy(partners, number, client_id),
    ]

    assert [(answer.status_code, answer.json()["type"]) for answer in answers] == [(404, problem_type("not-found"))] * 3
    found = partners.read(number)
    assert (found["status"], found["version"]) == ("ISSUED", 1)


def test_a_declaration_lodged_before_its_certificate_is_matched_when_it_lands(
    partners: Partners, china: ChinaCustomsSimulator
) -> None:
    # Given an import declaration quoting a certificate not issued yet
    number = certificate_number()
    lodged = partners.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=declaration_number())
    location = lodged.headers["Location"]
    assert partners.decided(CN_CUSTOMS, location)["status"] == "CERTIFICATE_NOT_FOUND"

    # When the issuing body submits the certificate
    partners.certificate(number)

    # Then the declaration is MATCHED without China Customs doing anything, and China receives the new result
    decided = partners.eventually(CN_CUSTOMS, location, lambda found: found["status"] == "MATCHED")
    assert (decided["status"], decided["revision"]) == ("MATCHED", 1)
    result_key = f"{decided['declaration_id']}/result/2"
    [result] = [
        m
        for m in china.wait_for(lambda ms: any(m.idempotency_key == result_key for m in ms), 15)
        if m.idempotency_key == result_key
    ]
    assert (result.body["status"], result.body["certificate_number"]) == ("MATCHED", number)
    usage = partners.get(f"/v1/certificates/{number}/match-results", EXPORTER).json()
    # (its first decision found no certificate to be filed under: the certificate's results begin with the second)
    assert [(m["decision"], m["status"]) for m in usage["matches"]] == [(2, "MATCHED")]


def test_an_amended_declaration_is_decided_again(partners: Partners) -> None:
    # Given an import declaration decided MISMATCHED on a wrong tariff code
    number, declared = partners.certificate(), declaration_number()
    wrong = partners.lodge(
        CN_CUSTOMS,
        certificate_number=number,
        declaration_number=declared,
        lines=[{**line, "hs_code": "0401100000"} for line in lines()],
    )
    assert partners.decided(CN_CUSTOMS, wrong.headers["Location"])["status"] == "MISMATCHED"

    # When China Customs lodges it again with the line corrected
    amended = partners.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=declared)

    # Then it is its second revision, decided MATCHED
    assert (amended.status_code, amended.json()["revision"]) == (202, 2)
    decided = partners.eventually(
        CN_CUSTOMS, amended.headers["Location"], lambda found: found["revision"] == 2 and found["status"] != "RECEIVED"
    )
    assert (decided["revision"], decided["status"]) == (2, "MATCHED")


def lines() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = declaration_payload()["lines"]
    return found


# -- each new version's documents ---------------------------------------------------------------------------------


def printed(partners: Partners, number: str, version: int) -> str:
    """The text of ``number``'s PDF once the version ``version`` has been rendered (the route serves the latest)."""
    deadline = time.monotonic() + 15
    while True:
        response = partners.get(f"/v1/certificates/{number}/document", EXPORTER)
        if response.status_code == 200:
            pdf = pypdfium2.PdfDocument(response.content)
            text = "\n".join(page.get_textpage().get_text_bounded() for page in pdf)
            pdf.close()
            if f"version {version}" in text or time.monotonic() > deadline:
                return text
        assert time.monotonic() < deadline, f"the PDF of {number} v{version} was never rendered"
        time.sleep(0.2)


def filed_for_nz_customs(stack: LocalStack, number: str, version: int) -> dict[str, Any]:
    s3 = stack.aws_client("s3")
    deadline = time.monotonic() + 15
    while True:
        try:
            found = s3.get_object(Bucket=EXCHANGE_BUCKET.local_name, Key=nz_customs_certificate_key(number, version))
            document: dict[str, Any] = json.loads(found["Body"].read())
            return document
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, f"NZ Customs' file of {number} v{version} never arrived"
            time.sleep(0.2)


def test_a_copy_and_a_replacement_each_get_their_pdf_with_their_mark_and_nz_customs_file(
    stack: LocalStack, partners: Partners
) -> None:
    original, replacement = partners.certificate(), certificate_number()
    assert copy(partners, original).status_code == 201
    assert replace(partners, original, replacement).status_code == 201

    assert "CERTIFIED TRUE COPY" in printed(partners, original, 2)
    assert f"REPLACES {original}" in printed(partners, replacement, 1)
    assert filed_for_nz_customs(stack, original, 2)["version"] == 2
    assert filed_for_nz_customs(stack, replacement, 1)["certificate_number"] == replacement
