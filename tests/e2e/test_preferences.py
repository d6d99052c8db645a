"""Box 5 on the local stack, over HTTP as the partners call it (DESIGN.md §3, §5): China Customs records its
preference decision on an import declaration it lodged; the exporter, its issuing body and NZ Customs read it;
NZ Customs finds the decision's data file in its listing at /v1/exchange/nz-customs/files and reads it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from infrastructure.local.stack import LocalStack
from tests.e2e.partners import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUER,
    NZ_CUSTOMS,
    OPS,
    OTHER_EXPORTER,
    Partners,
    declaration_number,
)
from tests.problems import problem_type

pytestmark = pytest.mark.e2e

FILES = "/v1/exchange/nz-customs/files"


@pytest.fixture(scope="module")
def customs(stack: LocalStack) -> Iterator[Partners]:
    caller = Partners(stack)
    yield caller
    caller.close()


def declared(customs: Partners) -> tuple[str, str]:
    """A certificate and an import declaration China lodged quoting it: their numbers."""
    number = customs.certificate()
    declaration = declaration_number()
    lodged = customs.lodge(CN_CUSTOMS, certificate_number=number, declaration_number=declaration)
    assert lodged.status_code == 202, lodged.text
    return number, declaration


def not_given(declaration: str) -> dict[str, Any]:
    return {
        "declaration_number": declaration,
        "decision": "NOT_GIVEN",
        "reasons": [{"code": "GOODS_NOT_COVERED", "text": "The declared goods are skim milk powder, not whole."}],
    }


def decide(customs: Partners, number: str, body: dict[str, Any], client_id: str = CN_CUSTOMS) -> httpx.Response:
    return customs.post(f"/v1/certificates/{number}/preference-decisions", body, client_id)


def test_china_customs_records_a_decision_the_parties_involved_read(customs: Partners) -> None:
    number, declaration = declared(customs)

    recorded = decide(customs, number, not_given(declaration))

    assert recorded.status_code == 201, recorded.text
    for reader in (EXPORTER, ISSUER, NZ_CUSTOMS, CN_CUSTOMS):
        listed = customs.get(f"/v1/certificates/{number}/preference-decisions", reader)
        assert listed.status_code == 200, (reader, listed.text)
        assert listed.json()["decisions"] == [recorded.json()], reader


@pytest.mark.parametrize("client_id", [OTHER_EXPORTER, OPS])
def test_a_party_not_involved_gets_404_reading(customs: Partners, client_id: str) -> None:
    number, declaration = declared(customs)
    assert decide(customs, number, not_given(declaration)).status_code == 201

    assert customs.get(f"/v1/certificates/{number}/preference-decisions", client_id).status_code == 404


@pytest.mark.parametrize("client_id", [EXPORTER, ISSUER, NZ_CUSTOMS, OTHER_EXPORTER, OPS])
def test_anyone_but_china_customs_gets_404_recording(customs: Partners, client_id: str) -> None:
    number, declaration = declared(customs)

    refused = decide(customs, number, not_given(declaration), client_id)

    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_second_decision_for_the_same_declaration_is_409(customs: Partners) -> None:
    number, declaration = declared(customs)
    assert decide(customs, number, {"declaration_number": declaration, "decision": "GIVEN"}).status_code == 201

    second = decide(customs, number, not_given(declaration))

    assert second.status_code == 409, second.text
    assert second.json()["type"] == problem_type("preference-already-decided")


def test_not_given_without_reasons_is_422(customs: Partners) -> None:
    number, declaration = declared(customs)

    refused = decide(customs, number, {"declaration_number": declaration, "decision": "NOT_GIVEN"})

    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == ["reasons"]


def test_a_declaration_china_did_not_lodge_for_the_certificate_is_422(customs: Partners) -> None:
    number, _ = declared(customs)

    refused = decide(customs, number, not_given(declaration_number()))

    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == ["declaration_number"]


def _listed(customs: Partners, since: str, kind: str, key: str, timeout: float = 15) -> dict[str, Any]:
    """The listing's entry of ``key``, paging through every page, once the notifier has filed it."""
    deadline = time.monotonic() + timeout
    while True:
        cursor: str | None = None
        while True:
            params = {"since": since, "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = customs.http.get(FILES, params=params, headers=customs.headers(NZ_CUSTOMS))
            assert page.status_code == 200, page.text
            for item in page.json()["items"]:
                if item["key"] == key:
                    assert item["kind"] == kind
                    found: dict[str, Any] = item
                    return found
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert time.monotonic() < deadline, f"{key} was never listed"
        time.sleep(0.2)


def test_nz_customs_lists_and_reads_the_decisions_data_file(customs: Partners) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    number, declaration = declared(customs)
    recorded = decide(customs, number, not_given(declaration)).json()

    entry = _listed(
        customs,
        since,
        "preference_decision",
        f"nz-customs/preference-decisions/{number}/CNIM-{declaration}.json",
    )

    read = customs.get(entry["href"], NZ_CUSTOMS)
    assert read.status_code == 200, read.text
    assert read.json() == recorded
    assert entry["size"] == len(read.content)


def test_nz_customs_files_are_404_for_anyone_else(customs: Partners) -> None:
    for client_id in (CN_CUSTOMS, EXPORTER, ISSUER, OPS):
        listed = customs.http.get(FILES, params={"since": "2026-01-01T00:00:00Z"}, headers=customs.headers(client_id))
        assert listed.status_code == 404, client_id
