"""Who may see what (DESIGN.md §1): each party's view of a certificate, its listing scope and the history."""

from __future__ import annotations

from datetime import date

import pytest

from jevs.domain.access import (
    ListingConstraints,
    View,
    certificate_view,
    may_read_history,
    project_content,
    visible_listing,
)
from jevs.domain.parties import Party
from jevs.domain.records import CertificateRecord, CertificateStatus
from tests.factories import CN_CUSTOMS, EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS, OTHER_EXPORTER
from tests.unit.support import AUSTRALIAN_CONSIGNEE, OTHER_ISSUING_BODY, certificate, party, record_of

pytestmark = pytest.mark.unit

KAURI_NZBN = "9429041234563"
TUI_NZBN = "9429047654327"
COMMERCIAL = {"invoice_values": [{"invoice_number": "INV-2026-0042", "amount": "812500.00", "currency": "NZD"}]}


@pytest.fixture
def to_china() -> CertificateRecord:
    """The example certificate, issued by the Auckland chamber for Kauri Dairy, to a consignee in China."""
    return record_of(certificate(commercial=COMMERCIAL), party(ISSUING_BODY))


@pytest.fixture
def to_an_australian_buyer() -> CertificateRecord:
    """The example certificate, its goods discharged in Shanghai, for a consignee in Australia."""
    return record_of(certificate(consignee=AUSTRALIAN_CONSIGNEE, commercial=COMMERCIAL), party(ISSUING_BODY))


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (party(ISSUING_BODY), View.FULL),
        (OTHER_ISSUING_BODY, None),
        (party(EXPORTER), View.FULL),
        (party(OTHER_EXPORTER), None),
        (party(NZ_CUSTOMS), View.FTA_FORM),
        (party(CN_CUSTOMS), View.FTA_FORM),
        (party(OPS), View.OPERATIONS),
    ],
    ids=[
        "issuing body that issued it",
        "other issuing body",
        "owning exporter",
        "other exporter",
        "NZ customs",
        "CN customs",
        "ops",
    ],
)
def test_each_party_gets_its_view_of_a_certificate_for_china(
    to_china: CertificateRecord, caller: Party, expected: View | None
) -> None:
    # Given a certificate for goods going to China
    # When a party asks for it, Then it gets its own projection, or none at all
    assert certificate_view(caller, to_china) is expected


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (party(ISSUING_BODY), View.FULL),
        (OTHER_ISSUING_BODY, None),
        (party(EXPORTER), View.FULL),
        (party(OTHER_EXPORTER), None),
        (party(NZ_CUSTOMS), View.FTA_FORM),
        (party(CN_CUSTOMS), View.FTA_FORM),
        (party(OPS), View.OPERATIONS),
    ],
    ids=[
        "issuing body that issued it",
        "other issuing body",
        "owning exporter",
        "other exporter",
        "NZ customs",
        "CN customs",
        "ops",
    ],
)
def test_each_party_gets_its_view_of_a_certificate_whose_consignee_is_outside_china(
    to_an_australian_buyer: CertificateRecord, caller: Party, expected: View | None
) -> None:
    # Given a certificate for goods imported into China, bought by a consignee in Australia
    # When a party asks for it, Then it gets the view it gets of any certificate: China Customs too sees it
    assert certificate_view(caller, to_an_australian_buyer) is expected


def test_china_customs_sees_no_record_whose_goods_are_not_for_china() -> None:
    # Given a record whose final port is outside China (none passes the rules of issue: the view does not rely
    # on that)
    transport = certificate().transport.model_dump(mode="json") | {"port_of_discharge": "AUSYD"}
    elsewhere = record_of(certificate(transport=transport), party(ISSUING_BODY))
    # When China Customs asks for it, Then it does not see it; NZ Customs does
    assert certificate_view(party(CN_CUSTOMS), elsewhere) is None
    assert certificate_view(party(NZ_CUSTOMS), elsewhere) is View.FTA_FORM


def test_the_fta_form_projection_leaves_out_the_commercial_details(to_china: CertificateRecord) -> None:
    # Given a certificate filed with commercial details
    # When it is projected for a customs administration
    projected = project_content(to_china, View.FTA_FORM)
    # Then those details are gone and the form's boxes remain
    assert projected is not None
    assert projected.commercial is None
    assert projected.model_dump(exclude={"commercial"}) == to_china.content.model_dump(exclude={"commercial"})


def test_the_full_projection_keeps_the_commercial_details(to_china: CertificateRecord) -> None:
    projected = project_content(to_china, View.FULL)
    assert projected is not None
    assert projected.commercial == to_china.content.commercial
    assert projected.commercial is not None


def test_the_operations_projection_has_no_content(to_china: CertificateRecord) -> None:
    assert project_content(to_china, View.OPERATIONS) is None


@pytest.mark.parametrize(
    ("caller", "allowed"),
    [
        (party(ISSUING_BODY), True),
        (OTHER_ISSUING_BODY, False),
        (party(EXPORTER), True),
        (party(OTHER_EXPORTER), False),
        (party(NZ_CUSTOMS), True),
        (party(CN_CUSTOMS), False),
        (party(OPS), False),
    ],
    ids=[
        "issuing body that issued it",
        "other issuing body",
        "owning exporter",
        "other exporter",
        "NZ customs",
        "CN customs",
        "ops",
    ],
)
def test_only_the_owner_the_issuer_and_nz_customs_may_read_the_history(
    to_china: CertificateRecord, caller: Party, allowed: bool
) -> None:
    assert may_read_history(caller, to_china) is allowed


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (party(ISSUING_BODY), ListingConstraints(issuing_body="akl-chamber")),
        (OTHER_ISSUING_BODY, ListingConstraints(issuing_body="wlg-chamber")),
        (party(EXPORTER), ListingConstraints(exporter_business_number=KAURI_NZBN)),
        (party(OTHER_EXPORTER), ListingConstraints(exporter_business_number=TUI_NZBN)),
        (party(NZ_CUSTOMS), ListingConstraints()),
        (party(CN_CUSTOMS), ListingConstraints(importing_country="CN")),
        (party(OPS), ListingConstraints()),
    ],
    ids=["issuing body", "other issuing body", "exporter", "other exporter", "NZ customs", "CN customs", "ops"],
)
def test_an_unfiltered_listing_is_narrowed_to_what_the_party_may_see(
    caller: Party, expected: ListingConstraints
) -> None:
    assert visible_listing(caller, ListingConstraints()) == expected


def test_a_listing_keeps_the_filters_the_party_asked_for() -> None:
    # Given an exporter filtering by issuing body, status and dates
    filters = ListingConstraints(
        issuing_body="akl-chamber",
        status=CertificateStatus.ISSUED,
        issued_from=date(2026, 1, 1),
        issued_to=date(2026, 12, 31),
    )
    # When its listing is narrowed, Then its own scope is added and its filters kept
    assert visible_listing(party(EXPORTER), filters) == ListingConstraints(
        issuing_body="akl-chamber",
        exporter_business_number=KAURI_NZBN,
        status=CertificateStatus.ISSUED,
        issued_from=date(2026, 1, 1),
        issued_to=date(2026, 12, 31),
    )


def test_a_filter_that_agrees_with_the_partys_scope_is_kept() -> None:
    filters = ListingConstraints(exporter_business_number=KAURI_NZBN)
    assert visible_listing(party(EXPORTER), filters) == filters


@pytest.mark.parametrize(
    ("caller", "filters"),
    [
        (party(EXPORTER), ListingConstraints(exporter_business_number=TUI_NZBN)),
        (party(ISSUING_BODY), ListingConstraints(issuing_body="wlg-chamber")),
        (party(CN_CUSTOMS), ListingConstraints(importing_country="AU")),
    ],
    ids=["exporter asks for another exporter", "issuing body asks for another's", "CN customs asks for AU"],
)
def test_a_filter_that_contradicts_the_partys_scope_lists_nothing(caller: Party, filters: ListingConstraints) -> None:
    assert visible_listing(caller, filters) is None


@pytest.mark.parametrize("client_id", [NZ_CUSTOMS, OPS])
def test_a_party_with_no_scope_may_filter_by_anything(client_id: str) -> None:
    filters = ListingConstraints(issuing_body="akl-chamber", exporter_business_number=TUI_NZBN, importing_country="AU")
    assert visible_listing(party(client_id), filters) == filters
