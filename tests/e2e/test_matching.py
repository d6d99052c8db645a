"""Matching on the local stack, over HTTP as customs call it (DESIGN.md §4): a declaration is lodged (202),
relayed from the table's stream to the declarations queue, decided by the matching function, and its result
goes back to the declarant: China receives it signed through the delivery channel, NZ Customs finds it in
the exchange bucket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from infrastructure.local.stack import LocalStack
from jevs.resources import EXCHANGE_BUCKET
from jevs.service.documents import result_key
from tests.e2e.partners import CN_CUSTOMS, EXPORTER, NZ_CUSTOMS, Partners, declaration_number
from tests.factories import declaration_payload

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def customs(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


def test_a_matching_import_declaration_is_matched_and_china_receives_the_signed_result(
    stack: LocalStack, customs: Partners
) -> None:
    number = customs.certificate()
    lodged = customs.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=declaration_number())
    assert lodged.status_code == 202, lodged.text

    result = customs.decided(CN_CUSTOMS, lodged.headers["Location"])

    assert (result["status"], result["discrepancies"]) == ("MATCHED", [])
    declaration_id = result["declaration_id"]
    assert stack.china is not None
    (received,) = stack.china.wait_for(
        lambda messages: any(m.idempotency_key == f"{declaration_id}/result/1" for m in messages), timeout=15
    )[-1:]
    assert received.body["message_type"] == "declaration.result"
    assert (received.body["status"], received.body["certificate_number"]) == ("MATCHED", number)
    owner = customs.http.get(f"/v1/certificates/{number}/match-results", headers=customs.headers(EXPORTER)).json()
    assert owner["usage"] == "USED"
    assert [m["status"] for m in owner["matches"]] == ["MATCHED"]


def test_a_mismatched_declaration_lists_its_discrepancies(customs: Partners) -> None:
    number = customs.certificate()
    line = {**declaration_payload()["lines"][0], "hs_code": "0402291000", "quantity": {"value": "25", "unit": "TNE"}}
    lodged = customs.lodge(
        CN_CUSTOMS,
        certificate_number=number,
        declaration_number=declaration_number(),
        lines=[line],
        exporter_name="Kauri Diary Co-operative Ltd",
    )

    result = customs.decided(CN_CUSTOMS, lodged.headers["Location"])

    assert result["status"] == "MISMATCHED"
    found = {(d["line_number"], d["field"], d["severity"]) for d in result["discrepancies"]}
    assert found == {(None, "exporter_name", "WARNING"), (1, "hs_code", "ERROR"), (1, "quantity.unit", "ERROR")}


def test_an_export_entry_quoting_the_coo_form_is_matched_and_filed_for_nz_customs(
    stack: LocalStack, customs: Partners
) -> None:
    number = customs.certificate()
    entry = "EX" + declaration_number()[-8:]
    lodged = customs.lodge(NZ_CUSTOMS, certificate_number="COO" + number.replace(".", ""), declaration_number=entry)
    assert lodged.status_code == 202, lodged.text

    result = customs.decided(NZ_CUSTOMS, lodged.headers["Location"])

    assert result["status"] == "MATCHED"
    s3 = stack.aws_client("s3")
    deadline = time.monotonic() + 15
    while True:
        try:
            filed = json.loads(
                s3.get_object(Bucket=EXCHANGE_BUCKET.local_name, Key=result_key(f"NZEX-{entry}"))["Body"].read()
            )
            break
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "NZ Customs' result file never arrived"
            time.sleep(0.1)
    assert (filed["status"], filed["certificate_number"]) == ("MATCHED", number)


def test_two_import_declarations_lodged_at_once_for_one_certificate_one_wins(customs: Partners) -> None:
    number = customs.certificate()
    numbers = [declaration_number(), declaration_number()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        lodged = list(
            pool.map(lambda n: customs.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=n), numbers)
        )

    statuses = sorted(customs.decided(CN_CUSTOMS, response.headers["Location"])["status"] for response in lodged)

    assert statuses == ["CERTIFICATE_ALREADY_USED", "MATCHED"]
