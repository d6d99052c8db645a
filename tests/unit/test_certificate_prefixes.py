"""A certificate number belongs to the issuing body whose prefix it carries (DESIGN.md §2; issue 14, finding 1):
every issuing body has a prefix of its own, and none submits, replaces or copies under another's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.domain.errors import RuleViolation
from jevs.domain.parties import Party
from jevs.domain.records import CertificateRecord
from tests.factories import EXPORTER, ISSUING_BODY, NZ_CUSTOMS, registered_clients
from tests.fakes import FixedClock
from tests.unit.support import OTHER_ISSUING_BODY, certificate, party

pytestmark = pytest.mark.unit

WELLINGTON: dict[str, Any] = {
    "type": "issuing_body",
    "id": "wlg-chamber",
    "name": "Wellington Chamber of Commerce",
    "place": "Wellington",
}


def registry_json(*parties: dict[str, Any]) -> str:
    demo = [client.model_dump(mode="json") for client in registered_clients()]
    extra = [{"client_id": f"client-{index}", "party": body} for index, body in enumerate(parties)]
    return json.dumps(demo + extra)


def test_an_issuing_body_without_a_prefix_is_no_party_so_it_cannot_number_under_any_prefix() -> None:
    with pytest.raises(ValidationError, match="certificate prefix"):
        Party.model_validate(WELLINGTON)


def test_a_registry_holding_an_issuing_body_without_a_prefix_does_not_load() -> None:
    with pytest.raises(ValidationError, match="certificate prefix"):
        StaticPartyRegistry.from_json(registry_json(WELLINGTON))


def test_a_registry_where_two_issuing_bodies_share_a_prefix_does_not_load() -> None:
    # Given a second issuing body registered with the Auckland chamber's prefix
    with pytest.raises(ValueError, match="akl-chamber and wlg-chamber have one certificate prefix 11"):
        StaticPartyRegistry.from_json(registry_json(WELLINGTON | {"certificate_prefix": "11"}))


def test_the_demo_registry_loads_with_the_second_body_of_the_tests_under_a_prefix_of_its_own() -> None:
    registry = StaticPartyRegistry.from_json(registry_json(WELLINGTON | {"certificate_prefix": "22"}))

    bodies = [registry.party(body_id) for body_id in ("akl-chamber", "wlg-chamber")]
    assert [body.certificate_prefix if body else None for body in bodies] == ["11", "22"]


def test_a_certificate_under_another_bodys_prefix_is_refused_naming_the_number() -> None:
    # Given the Auckland chamber's number (prefix 11), When the Wellington chamber (prefix 22) issues under it
    with pytest.raises(RuleViolation) as raised:
        CertificateRecord.issue(
            certificate(certificate_number="11.2026.00001"), issuer=OTHER_ISSUING_BODY, at=FixedClock().now()
        )
    # Then the number is refused, as the 422 problem names it
    assert [error.field for error in raised.value.errors] == ["certificate_number"]
    assert "prefix 22" in raised.value.errors[0].message


def test_a_certificate_under_its_own_prefix_is_issued() -> None:
    issue = CertificateRecord.issue(
        certificate(certificate_number="22.2026.00001"), issuer=OTHER_ISSUING_BODY, at=FixedClock().now()
    )

    assert (issue.record.number, issue.record.issuing_body) == ("22.2026.00001", "wlg-chamber")


@pytest.mark.parametrize(
    ("client_id", "number", "owns"),
    [
        (ISSUING_BODY, "11.2026.00001", True),
        (ISSUING_BODY, "22.2026.00001", False),
        # "1" is a prefix of "11" as text, not as a number's first part.
        (ISSUING_BODY, "1.2026.00001", False),
        (EXPORTER, "11.2026.00001", False),
        (NZ_CUSTOMS, "11.2026.00001", False),
    ],
)
def test_a_number_is_owned_only_by_the_issuing_body_whose_prefix_it_carries(
    client_id: str, number: str, owns: bool
) -> None:
    assert party(client_id).owns_certificate_number(number) is owns
