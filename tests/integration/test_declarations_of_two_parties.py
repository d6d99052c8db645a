"""Two parties of one customs type (issue 14, finding 6): a declaration is its lodger's alone. Another party of the
same type that lodges its number, with the same content or amended, gets a 409 that carries nothing of the record,
and changes nothing; a read by it is the 404 of a declaration no one lodged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.local.functions import FunctionSet
from tests.factories import CN_CUSTOMS, NZ_CUSTOMS, OTHER_CN_CUSTOMS, OTHER_NZ_CUSTOMS, declaration_payload
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import lodge, run_matcher, submit_certificate
from tests.problems import problem_type

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
DECLARATION_NUMBER = declaration_payload()["declaration_number"]
# Lodger, another party of its type, and the id its lodgement answers.
PAIRS = [
    pytest.param(CN_CUSTOMS, OTHER_CN_CUSTOMS, f"CNIM-{DECLARATION_NUMBER}", id="cn_customs"),
    pytest.param(NZ_CUSTOMS, OTHER_NZ_CUSTOMS, f"NZEX-{DECLARATION_NUMBER}", id="nz_customs"),
]


def decided(call_api: ApiCall, functions: FunctionSet, lodger: str, declaration_id: str) -> dict[str, Any]:
    """The lodger's declaration of the example certificate, matched: as the lodger reads it."""
    submit_certificate(call_api, certificate_number=NUMBER)
    assert lodge(call_api, client_id=lodger)["statusCode"] == 202
    run_matcher(functions, declaration_id)
    read = call_api("GET", f"/v1/declarations/{declaration_id}", client_id=lodger)
    assert (read["statusCode"], read["json"]["status"]) == (200, "MATCHED"), read
    return dict(read["json"])


def assert_reveals_nothing(response: dict[str, Any], record: dict[str, Any]) -> None:
    """A 409 problem with no field of the record, and none of its values but the number the caller sent."""
    assert response["statusCode"] == 409, response
    assert response["headers"]["content-type"] == "application/problem+json"
    problem = response["json"]
    assert problem["type"] == problem_type("declaration-number-exists")
    assert "location" not in response["headers"]
    assert set(problem) <= {"type", "title", "status", "detail", "instance"}
    text = json.dumps(problem)
    for field in ("declaration_id", "certificate_number", "status", "decided_at", "received_at"):
        assert str(record[field]) not in text, field


@pytest.mark.parametrize(("lodger", "other", "declaration_id"), PAIRS)
@pytest.mark.parametrize("amended", [False, True], ids=["resent", "amended"])
def test_a_lodgement_by_another_party_of_the_same_type_neither_hands_it_the_lodgers_result_nor_changes_it(
    call_api: ApiCall, functions: FunctionSet, lodger: str, other: str, declaration_id: str, amended: bool
) -> None:
    # Given a declaration its lodger lodged and had matched
    record = decided(call_api, functions, lodger, declaration_id)
    # When another party of the same customs type lodges the very same declaration, or an amendment of it
    lodged = lodge(call_api, client_id=other, key="other-1", **({"declared_on": "2026-12-06"} if amended else {}))
    # Then it is told the number is taken, and nothing of the lodger's record, which stays as it was
    assert_reveals_nothing(lodged, record)
    assert call_api("GET", f"/v1/declarations/{declaration_id}", client_id=lodger)["json"] == record


@pytest.mark.parametrize(("lodger", "other", "declaration_id"), PAIRS)
def test_another_party_of_the_same_type_reads_the_declaration_as_one_that_does_not_exist(
    call_api: ApiCall, functions: FunctionSet, lodger: str, other: str, declaration_id: str
) -> None:
    decided(call_api, functions, lodger, declaration_id)

    theirs = call_api("GET", f"/v1/declarations/{declaration_id}", client_id=other)
    nobodys = call_api("GET", f"/v1/declarations/{declaration_id[:5]}999999", client_id=other)

    assert (theirs["statusCode"], nobodys["statusCode"]) == (404, 404)
    assert theirs["json"]["detail"].replace(declaration_id, "") == nobodys["json"]["detail"].replace(
        f"{declaration_id[:5]}999999", ""
    )


@pytest.mark.parametrize(("lodger", "other", "declaration_id"), PAIRS)
def test_each_party_of_a_type_lodges_and_reads_its_own_declarations(
    call_api: ApiCall, lodger: str, other: str, declaration_id: str
) -> None:
    assert lodge(call_api, client_id=lodger)["statusCode"] == 202
    theirs = lodge(call_api, client_id=other, declaration_number="223320261000999999")

    assert theirs["statusCode"] == 202, theirs
    read = call_api("GET", theirs["headers"]["location"], client_id=other)
    assert (read["statusCode"], read["json"]["declaration_number"]) == (200, "223320261000999999")
    assert call_api("GET", theirs["headers"]["location"], client_id=lodger)["statusCode"] == 404
