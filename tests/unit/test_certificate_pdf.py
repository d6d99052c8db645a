"""The certificate as a PDF (DESIGN.md §2, §5): what it prints, its verification QR code, and the digest of the
printed data that the public verification endpoint checks."""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pypdfium2  # type: ignore[import-untyped, unused-ignore]
import pypdfium2.raw as pdfium  # type: ignore[import-untyped, unused-ignore]
import pytest
import zxingcpp

from jevs.documents.certificate_pdf import (
    CERTIFICATION_TEXT,
    EMBEDDED_FONT,
    LAST_RESORT_FONT,
    render_certificate_pdf,
)
from jevs.documents.printed import printed_data, printed_digest, verification_url
from jevs.domain.canonical import canonical_json
from jevs.domain.records import CertificateRecord, CertificateStatus, Usage
from jevs.reference import hs2022_subheadings
from tests.factories import ISSUING_BODY, certificate_payload, item_payload
from tests.unit.support import certificate, dated_certificate, party, record_of

pytestmark = pytest.mark.unit

BASE_URL = "https://verify.jevs.test/"
INVOICE_AMOUNT = "812500.37"
COMMERCIAL = {"invoice_values": [{"invoice_number": "INV-2026-0042", "amount": INVOICE_AMOUNT, "currency": "NZD"}]}
# Three lines of goods under different headings and origin criteria, one under a regional value content rule.
THREE_ITEMS = [
    item_payload(1, hs_code="040221", origin_criterion="WO"),
    item_payload(
        2,
        hs_code="220421",
        origin_criterion="WP",
        description="Sauvignon blanc, Marlborough, 2026 vintage, in 750 ml bottles",
        packages={"count": 500, "kind": "CT"},
        quantity={"value": "4500", "unit": "LTR"},
    ),
    item_payload(3, hs_code="020443", origin_criterion="PSR", rvc_percent="45", description="Lamb, boneless, frozen"),
]


def issued(**overrides: Any) -> CertificateRecord:
    """The example certificate with ``overrides``, as issued by the Auckland chamber."""
    return record_of(certificate(**overrides), party(ISSUING_BODY))


def pdf_text(document: bytes) -> str:
    pdf = pypdfium2.PdfDocument(document)
    try:
        return "\n".join(page.get_textpage().get_text_bounded() for page in pdf)
    finally:
        pdf.close()


QR_CODE = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def decoded_qr_codes(document: bytes, dpi: int = 200) -> list[str]:
    """Every QR code found on the rendered pages, decoded as a phone would read the paper."""
    found: list[str] = []
    pdf = pypdfium2.PdfDocument(document)
    try:
        for page in pdf:
            image = page.render(scale=dpi / 72).to_pil().convert("L")
            found.extend(code.text for code in zxingcpp.read_barcodes(image, formats=QR_CODE))
    finally:
        pdf.close()
    return found


@pytest.fixture(scope="module")
def three_items() -> CertificateRecord:
    return issued(items=THREE_ITEMS, commercial=COMMERCIAL, remarks="Shipped in two 20 ft containers")


@pytest.fixture(scope="module")
def three_items_pdf(three_items: CertificateRecord) -> bytes:
    return render_certificate_pdf(three_items, verification_base_url=BASE_URL)


def test_the_pdf_prints_the_certificate_its_parties_items_and_certification(
    three_items: CertificateRecord, three_items_pdf: bytes
) -> None:
    # Given a three-item certificate, When it is rendered and its text read back
    text = pdf_text(three_items_pdf)
    # Then its number, exporter, consignee and issuing body are there
    assert three_items_pdf.startswith(b"%PDF-")
    assert "11.1234.12345" in text
    assert "CERTIFICATE OF ORIGIN" in text
    assert "Kauri Dairy Co-operative Limited" in text
    assert "Shanghai Harbour Foods Co., Ltd." in text
    assert "Auckland Business Chamber" in text
    assert "Auckland, 2026-11-20" in text  # box 15: place and date of issue
    assert CERTIFICATION_TEXT in " ".join(text.split())
    assert "Shipped in two 20 ft containers" in text
    # And each item's HS code with its own origin criterion, RVC included for the product-specific rule
    assert re.search(r"\b040221\s+WO\b", text)
    assert re.search(r"\b220421\s+WP\b", text)
    assert re.search(r"\b020443\s+PSR\s+RVC 45%", text)


def test_the_pdf_carries_no_commercial_details(three_items: CertificateRecord, three_items_pdf: bytes) -> None:
    assert three_items.content.commercial is not None
    assert INVOICE_AMOUNT not in pdf_text(three_items_pdf)
    assert INVOICE_AMOUNT.encode() not in canonical_json(printed_data(three_items))
    assert "commercial" not in canonical_json(printed_data(three_items)).decode()


def test_the_pdf_metadata_name_the_certificate_and_its_issuing_body(three_items_pdf: bytes) -> None:
    metadata = pypdfium2.PdfDocument(three_items_pdf).get_metadata_dict()
    assert metadata["Title"] == "Certificate of Origin 11.1234.12345"
    assert metadata["Author"] == "Auckland Business Chamber"
    assert "11.1234.12345" in metadata["Subject"]


def test_a_retrospective_certificate_is_printed_issued_retrospectively() -> None:
    # Given a certificate issued after the goods left, recorded as retrospective
    content = dated_certificate(issued=date(2026, 11, 20), departed=date(2026, 6, 1), remarks="Late application")
    record = record_of(content, party(ISSUING_BODY)).model_copy(
        update={"retrospective": True, "valid_from": date(2026, 6, 1), "valid_until": date(2027, 5, 31)}
    )
    # When it is rendered, Then box 6 says so, before what the issuing body wrote
    text = pdf_text(render_certificate_pdf(record, verification_base_url=BASE_URL))
    assert "ISSUED RETROSPECTIVELY. Late application" in text
    assert "2027-05-31" in text


def test_box_4_prints_the_transit_and_the_final_port_in_china() -> None:
    # Given goods discharged in Hong Kong on their way to Shenzhen
    transit = {"via": ["HKHKG"], "final_port": "CNSZX"}
    record = issued(transport=certificate_payload()["transport"] | {"port_of_discharge": "HKHKG", "transit": transit})
    # When it is rendered, Then box 4 shows the whole route
    text = pdf_text(render_certificate_pdf(record, verification_base_url=BASE_URL))
    assert "Port of discharge: HKHKG" in text
    assert "In transit via HKHKG to final port CNSZX" in text


def test_box_4_without_a_transit_prints_no_transit(three_items_pdf: bytes) -> None:
    assert "transit" not in pdf_text(three_items_pdf)


def test_a_certificate_issued_in_time_is_not_printed_retrospective(three_items_pdf: bytes) -> None:
    assert "RETROSPECTIVELY" not in pdf_text(three_items_pdf)


def test_the_qr_code_decodes_to_the_verification_url(three_items: CertificateRecord, three_items_pdf: bytes) -> None:
    expected = verification_url(BASE_URL, three_items)
    assert expected == f"https://verify.jevs.test/v1/verify/11.1234.12345?digest={printed_digest(three_items)}"
    assert decoded_qr_codes(three_items_pdf) == [expected]
    # And the digest is printed beside it, for a reader without a camera
    assert printed_digest(three_items) in pdf_text(three_items_pdf)


def test_twenty_items_with_long_descriptions_flow_onto_further_pages() -> None:
    # Given the most items a certificate may have, each under its own subheading, with long descriptions
    codes = sorted(hs2022_subheadings())[::250][:20]
    items = [
        item_payload(number, hs_code=code, description=f"Goods of subheading {code}, " + "carefully packed " * 25)
        for number, code in enumerate(codes, start=1)
    ]
    record = issued(items=items)
    # When it is rendered
    document = render_certificate_pdf(record, verification_base_url=BASE_URL)
    # Then every line of goods is printed, over more than one page, and the QR code is still readable
    text = pdf_text(document)
    assert len(pypdfium2.PdfDocument(document)) > 1
    for code in codes:
        assert code in text
    assert "(continued)" in text
    assert decoded_qr_codes(document) == [verification_url(BASE_URL, record)]


def test_the_longest_fields_the_rules_allow_still_render() -> None:
    # Given every text at its maximum length, producers listed beyond what box 2 holds, and third-party invoicing
    long_address = ("12 Long Road, Industrial Park\n" * 12).strip()[:350]
    producers = [{"name": f"Producer {n} " + "x" * 120, "address": long_address} for n in range(1, 6)]
    invoice = {
        "number": "I" * 35,
        "date": "2026-11-18",
        "third_party_invoicing": {"name": "T" * 140, "address": long_address, "country": "HK"},
    }
    items = [
        item_payload(n, marks_and_numbers="M" * 10 + " m" * 251, description="word " * 102, invoice=invoice)
        for n in range(1, 21)
    ]
    payload = certificate_payload(
        items=items,
        producer={"disclosure": "LISTED", "producers": producers},
        remarks=("Remark line\n" * 80).strip(),
        exporter=certificate_payload()["exporter"] | {"address": long_address},
    )
    record = issued(**payload)
    # When it is rendered, Then nothing is too big for a page, and the producers are on the continuation sheet
    text = pdf_text(render_certificate_pdf(record, verification_base_url=BASE_URL))
    assert "Continuation sheet" in text
    assert "Producer 5" in text


def test_text_beyond_latin_1_is_kept_in_the_text_layer() -> None:
    consignee = certificate_payload()["consignee"] | {"name": "上海港食品有限公司"}
    producer = {"disclosure": "LISTED", "producers": [{"name": "Ōtāhuhu Orchards", "address": "1 Great South Road"}]}
    text = pdf_text(
        render_certificate_pdf(issued(consignee=consignee, producer=producer), verification_base_url=BASE_URL)
    )
    assert "上海港食品有限公司" in text
    assert "Ōtāhuhu Orchards" in text


ORIGINAL = "11.1234.12340"


def test_a_replacement_certificate_names_the_certificate_it_replaces() -> None:
    # Given a certificate issued to replace another
    record = issued(remarks="Consignee's address corrected").model_copy(update={"replaces": ORIGINAL})
    # When it is rendered and read back
    document = render_certificate_pdf(record, verification_base_url=BASE_URL)
    text = pdf_text(document)
    # Then it says so under its number, in box 6 above the remarks, and in the footer
    assert re.search(rf"Certificate No\. 11\.1234\.12345\s+REPLACES {ORIGINAL}\s+CERTIFICATE OF ORIGIN", text)
    assert re.search(rf"6\. Remarks\s+REPLACES {ORIGINAL}\s+Consignee's address corrected", text)
    assert f"version 1 · REPLACES {ORIGINAL}" in text
    assert "CERTIFIED TRUE COPY" not in text
    # And the digest its QR code carries covers the mark
    assert printed_data(record)["lifecycle_marks"] == [f"REPLACES {ORIGINAL}"]
    assert decoded_qr_codes(document) == [verification_url(BASE_URL, record)]
    assert printed_digest(record) != printed_digest(record.model_copy(update={"replaces": None}))


def test_a_certified_true_copy_says_so_by_its_title_and_in_box_6() -> None:
    # Given a later version that is a certified true copy of the certificate (its number and issue date)
    original = issued(remarks="Shipped in two 20 ft containers")
    copy = original.model_copy(update={"version": 2, "certified_true_copy_of": original.number})
    # When it is rendered and read back
    text = pdf_text(render_certificate_pdf(copy, verification_base_url=BASE_URL))
    # Then it says so between its number and the title, in box 6 above the remarks, and in the footer
    assert re.search(r"Certificate No\. 11\.1234\.12345\s+CERTIFIED TRUE COPY\s+CERTIFICATE OF ORIGIN", text)
    assert re.search(r"6\. Remarks\s+CERTIFIED TRUE COPY\s+Shipped in two 20 ft containers", text)
    assert "version 2 · CERTIFIED TRUE COPY" in text
    # And it keeps the original's issue date in box 15
    assert "Auckland, 2026-11-20" in text
    assert "REPLACES" not in text
    assert printed_data(copy)["lifecycle_marks"] == ["CERTIFIED TRUE COPY"]


def test_a_certified_true_copy_of_a_replacement_carries_both_marks() -> None:
    record = issued().model_copy(update={"version": 2, "replaces": ORIGINAL, "certified_true_copy_of": "11.1234.12345"})
    text = pdf_text(render_certificate_pdf(record, verification_base_url=BASE_URL))
    assert re.search(rf"6\. Remarks\s+CERTIFIED TRUE COPY\s+REPLACES {ORIGINAL}\b", text)
    assert printed_data(record)["lifecycle_marks"] == ["CERTIFIED TRUE COPY", f"REPLACES {ORIGINAL}"]


@pytest.mark.parametrize(
    "update",
    [
        pytest.param({"status": CertificateStatus.REVOKED, "revocation_reason": "Issued in error"}, id="revoked"),
        pytest.param({"status": CertificateStatus.REPLACED, "replaced_by": "11.1234.12399"}, id="replaced"),
    ],
)
def test_a_revoked_or_replaced_certificate_prints_as_it_was_issued(
    update: dict[str, Any], three_items: CertificateRecord, three_items_pdf: bytes
) -> None:
    # Its paper is what was printed before; the verification endpoint says what became of it.
    later = three_items.model_copy(update=update)
    assert render_certificate_pdf(later, verification_base_url=BASE_URL) == three_items_pdf
    assert printed_digest(later) == printed_digest(three_items)


STANDARD_FONTS = {"Helvetica", "Helvetica-Bold", "Courier"}
CHINESE_CONSIGNEE = "上海港食品（集团）有限公司"
# The sfnt version that opens a TrueType font program.
TRUETYPE = b"\x00\x01\x00\x00"


def _font_name(font: Any) -> str:
    size = pdfium.FPDFFont_GetBaseFontName(font, None, 0)
    name = ctypes.create_string_buffer(size)
    pdfium.FPDFFont_GetBaseFontName(font, name, size)
    return name.value.decode()


def _font_program(font: Any) -> bytes:
    """The font program embedded in the file; empty for a font left to the viewer."""
    if not pdfium.FPDFFont_GetIsEmbedded(font):
        return b""
    size = ctypes.c_size_t()
    pdfium.FPDFFont_GetFontData(font, None, 0, ctypes.byref(size))
    program = (ctypes.c_ubyte * size.value)()
    pdfium.FPDFFont_GetFontData(font, program, size.value, ctypes.byref(size))
    return bytes(program)


def page_fonts(document: bytes) -> dict[str, bytes]:
    """Every font the pages' text is set in, by its base font name (without a subset's tag), with its embedded
    font program (empty when it is not embedded)."""
    fonts: dict[str, bytes] = {}
    pdf = pypdfium2.PdfDocument(document)
    try:
        for page in pdf:
            for text in page.get_objects(filter=[pdfium.FPDF_PAGEOBJ_TEXT]):
                font = pdfium.FPDFTextObj_GetFont(text.raw)
                fonts[_font_name(font)] = _font_program(font)
    finally:
        pdf.close()
    return fonts


def test_a_chinese_consignee_is_printed_in_an_embedded_font() -> None:
    # Given a consignee whose name, address and business number are written in Chinese
    consignee = certificate_payload()["consignee"] | {
        "name": CHINESE_CONSIGNEE,
        "address": "上海市浦东新区外高桥保税区富特北路２２３号\n邮编：２００１３１",
    }
    document = render_certificate_pdf(issued(consignee=consignee), verification_base_url=BASE_URL)
    # When its fonts are read back, Then the Chinese text is set in a TrueType font embedded in the file
    fonts = page_fonts(document)
    assert fonts[EMBEDDED_FONT].startswith(TRUETYPE)
    assert len(fonts[EMBEDDED_FONT]) > 1000
    # And every other font is one of the standard fonts every viewer has: nothing is left to the viewer's fonts
    assert set(fonts) - {EMBEDDED_FONT} <= STANDARD_FONTS
    # And the name is text, not pictures: it can be searched for and copied
    text = pdf_text(document)
    assert CHINESE_CONSIGNEE in text
    assert "富特北路２２３号" in text


def test_latin_text_stays_in_helvetica(three_items_pdf: bytes) -> None:
    assert set(page_fonts(three_items_pdf)) == STANDARD_FONTS


def test_a_character_beyond_the_embedded_font_is_still_kept_in_the_text_layer() -> None:
    # Given a name with a character the embedded subset does not have (Hangul)
    consignee = certificate_payload()["consignee"] | {"name": "한국 Trading Ltd 上海"}
    # When it is rendered, Then that character is referenced in Adobe's CID font, and the text is all there
    document = render_certificate_pdf(issued(consignee=consignee), verification_base_url=BASE_URL)
    assert LAST_RESORT_FONT in page_fonts(document)
    assert "한국 Trading Ltd 上海" in pdf_text(document)


def test_a_chinese_consignee_renders_to_the_same_bytes_every_time() -> None:
    consignee = certificate_payload()["consignee"] | {"name": CHINESE_CONSIGNEE}
    renders = {render_certificate_pdf(issued(consignee=consignee), verification_base_url=BASE_URL) for _ in range(2)}
    assert len(renders) == 1


def test_the_same_record_renders_to_the_same_bytes(three_items: CertificateRecord, three_items_pdf: bytes) -> None:
    assert render_certificate_pdf(three_items, verification_base_url=BASE_URL) == three_items_pdf


def _with_content(**overrides: Any) -> Callable[[CertificateRecord], CertificateRecord]:
    def change(record: CertificateRecord) -> CertificateRecord:
        payload = record.content.model_dump(mode="json") | overrides
        return record.model_copy(update={"content": certificate(**payload)})

    return change


def _with_record(**update: Any) -> Callable[[CertificateRecord], CertificateRecord]:
    return lambda record: record.model_copy(update=update)


EXAMPLE = certificate_payload()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_with_content(certificate_number="11.1234.12346"), id="certificate number"),
        pytest.param(_with_record(number="11.1234.12346"), id="record number"),
        pytest.param(_with_record(version=2), id="version"),
        pytest.param(_with_content(issue_date="2026-11-21"), id="issue date"),
        pytest.param(_with_content(exporter=EXAMPLE["exporter"] | {"name": "Kauri Dairy Limited"}), id="exporter"),
        pytest.param(_with_content(producer={"disclosure": "UNKNOWN"}), id="producer"),
        pytest.param(_with_content(consignee=EXAMPLE["consignee"] | {"address": "1 Bund Road"}), id="consignee"),
        pytest.param(_with_content(transport=EXAMPLE["transport"] | {"vessel_or_flight": "X 1"}), id="transport"),
        pytest.param(
            _with_content(transport=EXAMPLE["transport"] | {"transit": {"via": ["HKHKG"], "final_port": "CNSHA"}}),
            id="transit",
        ),
        pytest.param(_with_content(remarks="Second shipment"), id="remarks"),
        pytest.param(_with_content(items=[item_payload(1, hs_code="040210")]), id="hs code"),
        pytest.param(_with_content(items=[item_payload(1, origin_criterion="WP")]), id="origin criterion"),
        pytest.param(_with_content(items=[item_payload(1, gross_weight_kg="25501")]), id="gross weight"),
        pytest.param(_with_record(issuing_body_name="Auckland Chamber of Commerce"), id="issuing body name"),
        pytest.param(_with_record(place_of_issue="Manukau"), id="place of issue"),
        pytest.param(_with_record(retrospective=True), id="retrospective"),
        pytest.param(_with_record(valid_until=date(2027, 11, 18)), id="validity"),
        pytest.param(_with_record(replaces=ORIGINAL), id="replaces"),
        pytest.param(_with_record(certified_true_copy_of="11.1234.12345"), id="certified true copy"),
    ],
)
def test_the_digest_changes_when_anything_printed_changes(
    change: Callable[[CertificateRecord], CertificateRecord],
) -> None:
    record = issued()
    assert printed_digest(change(record)) != printed_digest(record)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_with_content(commercial=COMMERCIAL), id="commercial block added"),
        pytest.param(
            _with_content(commercial={"invoice_values": [COMMERCIAL["invoice_values"][0] | {"amount": "1.5"}]}),
            id="invoice amount",
        ),
        pytest.param(_with_record(status=CertificateStatus.REVOKED, usage=Usage.USED), id="status and usage"),
        pytest.param(_with_record(issuing_body="other-id", content_hash="0" * 64), id="what the paper does not show"),
        pytest.param(_with_record(recorded_at=issued().recorded_at + timedelta(hours=1)), id="recorded at"),
        pytest.param(
            _with_record(status=CertificateStatus.REPLACED, replaced_by="11.1234.12399"), id="replaced by another"
        ),
        pytest.param(_with_record(revocation_reason="Issued in error"), id="revocation reason"),
    ],
)
def test_the_digest_ignores_what_the_paper_does_not_print(
    change: Callable[[CertificateRecord], CertificateRecord],
) -> None:
    record = issued(commercial=COMMERCIAL)
    assert printed_digest(change(record)) == printed_digest(record)
    assert verification_url(BASE_URL, change(record)) == verification_url(BASE_URL, record)


def test_printed_data_is_the_fta_form_with_its_certification_and_validity(three_items: CertificateRecord) -> None:
    data = printed_data(three_items)
    # No lifecycle marks, and so no key for them: a certificate's digest is what it was before marks existed.
    assert set(data) == {"certificate_number", "version", "form", "certification", "printed_remarks", "validity"}
    assert data["certification"] == {
        "issuing_body_name": "Auckland Business Chamber",
        "place_of_issue": "Auckland",
        "issue_date": "2026-11-20",
    }
    assert data["validity"] == {"retrospective": False, "valid_from": "2026-11-20", "valid_until": "2027-11-19"}
    assert printed_digest(three_items) == printed_digest(three_items.model_copy())
    assert re.fullmatch(r"[0-9a-f]{64}", printed_digest(three_items))


def test_the_verification_url_takes_a_base_with_or_without_a_trailing_slash(three_items: CertificateRecord) -> None:
    assert verification_url("https://verify.jevs.test", three_items) == verification_url(BASE_URL, three_items)


def test_reportlab_formats_with_its_c_accelerators() -> None:
    # rl-accel, a dependency of the PDF layer: without it reportlab falls back to Python for every number it writes.
    from reportlab.lib import rl_accel  # type: ignore[import-untyped, unused-ignore]

    assert type(rl_accel.fp_str).__name__ == "builtin_function_or_method"
