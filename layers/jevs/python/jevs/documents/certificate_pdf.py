"""The certificate of origin as a PDF, in the layout of the China–New Zealand FTA form (DESIGN.md §2), for
``GET /v1/certificates/{number}/document`` and the email to the applicant.

What the paper prints is fixed first, as data (``jevs.documents.printed``: the FTA form's data elements, never the
commercial block, the number and version, box 15's certification, the printed remarks, the validity, and
whether the paper is a certified true copy or replaces another certificate). Its digest travels in the QR code's
verification URL, so the public verification endpoint can tell whether a paper in someone's hand still says what
JEVS certified. The PDF is drawn from exactly that data.

The same record always gives the same bytes (reportlab's invariant mode, and the document date taken from
the record), so a retry stores the same document.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pycountry

# reportlab ships no type information; everything it returns is Any here.
from reportlab.graphics.barcode import qrencoder  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.enums import TA_CENTER, TA_RIGHT  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from jevs.documents.printed import Printed, printed_digest, read_printed, verification_url, verify_at
from jevs.domain.certificate import (
    CertificateContent,
    Consignee,
    Item,
    OriginCriterion,
    Producer,
    ProducerDisclosure,
    Transport,
)
from jevs.domain.records import CertificateRecord
from jevs.reference import rec21_package_kinds

TITLE = "CERTIFICATE OF ORIGIN — Form for China-New Zealand Free Trade Agreement"
CERTIFICATION_TEXT = (
    "It is hereby certified, on the basis of control carried out, that the declaration by the exporter is correct."
)
EXPORTER_DECLARATION_TEXT = "Not required for exports from New Zealand to China"
ELECTRONIC_CERTIFICATION_TEXT = "Electronically certified by JEVS; verify at the QR code"

# Listed producers beyond this many go to a continuation sheet, so box 2 never outgrows the first page.
PRODUCERS_IN_BOX = 3
# The QR code's drawing, quiet zone included: a version 6 symbol (a typical verification URL) is then
# about 32 mm across, which phone cameras and scanners read from paper without trouble.
QR_SIZE_MM = 38

_PAGE_WIDTH, _PAGE_HEIGHT = A4
_MARGIN = 12 * mm
_WIDTH = _PAGE_WIDTH - 2 * _MARGIN
# Boxes 7 to 13, in the proportions of the paper form.
_ITEM_COLUMNS_MM = (13, 27, 47, 16, 18, 33, 32)

_LABEL = ParagraphStyle("label", fontName="Helvetica-Bold", fontSize=6.5, leading=8, spaceAfter=1.5)
_TEXT = ParagraphStyle("text", fontName="Helvetica", fontSize=8.5, leading=10.5)
_ITEM = ParagraphStyle("item", fontName="Helvetica", fontSize=7.5, leading=9)
_ITEM_CENTRED = ParagraphStyle("item-centred", parent=_ITEM, alignment=TA_CENTER)
_SMALL = ParagraphStyle("small", fontName="Helvetica", fontSize=6.5, leading=8)
_NUMBER = ParagraphStyle("number", fontName="Helvetica-Bold", fontSize=13, leading=16, alignment=TA_RIGHT)
_TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=10, leading=12.5, alignment=TA_CENTER)
_CENTRED = ParagraphStyle("centred", parent=_TEXT, alignment=TA_CENTER)
# Framed, like a stamp, so a copy or a replacement cannot be taken for the original at a glance.
_MARK = ParagraphStyle(
    "mark",
    fontName="Helvetica-Bold",
    fontSize=10.5,
    leading=13,
    alignment=TA_CENTER,
    borderWidth=1,
    borderColor=colors.black,
    borderPadding=(2, 4, 3, 4),
    # Inset from the box's own lines, which a frame the box's width would double.
    leftIndent=14 * mm,
    rightIndent=14 * mm,
    spaceBefore=5,
    spaceAfter=5,
)

_GRID: list[tuple[Any, ...]] = [
    ("GRID", (0, 0), (-1, -1), 0.75, colors.black),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ("TOPPADDING", (0, 0), (-1, -1), 3),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
]


def render_certificate_pdf(record: CertificateRecord, *, verification_base_url: str) -> bytes:
    """The certificate as an A4 PDF in the FTA form's layout, with box 15's QR code for verification."""
    printed = read_printed(record)
    story: list[Any] = [_boxes_1_to_6(printed), _items_table(printed.form.items)]
    producers = printed.form.producer.producers or []
    if len(producers) > PRODUCERS_IN_BOX:
        story += _producer_continuation(producers)
    story += [
        Spacer(1, 3 * mm),
        KeepTogether([_boxes_14_and_15(printed, record, verification_base_url)]),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=18 * mm,
        bottomMargin=14 * mm,
        title=f"Certificate of Origin {printed.number}",
        author=printed.issuing_body_name,
        subject=(
            f"China–New Zealand FTA certificate of origin {printed.number}, version {printed.version}, "
            f"issued {printed.issue_date.isoformat()} in {printed.place_of_issue}"
        ),
        creator="JEVS",
        keywords=["certificate of origin", "China-New Zealand FTA", printed.number],
        lang="en",
        invariant=1,
        pageCompression=1,
    )
    first_page, later_pages = _page_decorations(printed, record.recorded_at)
    document.build(story, onFirstPage=first_page, onLaterPages=later_pages)
    return buffer.getvalue()


# --- text ----------------------------------------------------------------------------------------------


# Runs Helvetica cannot show (it has Windows-1252 only) are set in an embedded subset of WenQuanYi Micro Hei
# (fonts/README.md): Chinese names and addresses, Māori macrons and every other letter it has print on every
# viewer. reportlab embeds only the glyphs a document uses, in TrueType subsets of 256.
EMBEDDED_FONT = "WenQuanYiMicroHei"
_EMBEDDED_FONT_FILE = Path(__file__).with_name("fonts") / "WenQuanYiMicroHei-subset.ttf"
# For the few characters the subset lacks (a rare hanzi, Hangul): Adobe's CID font, referenced, not embedded.
# The text layer is still right and searchable; viewers with an Adobe Asian font pack draw it.
LAST_RESORT_FONT = "STSong-Light"


@cache
def _embedded_characters() -> frozenset[int]:
    """Registers the embedded font (once, on first need: parsing it takes tens of milliseconds) and returns
    the code points it can draw."""
    font = TTFont(EMBEDDED_FONT, str(_EMBEDDED_FONT_FILE))
    pdfmetrics.registerFont(font)
    return frozenset(font.face.charToGlyph)


@cache
def _last_resort_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(LAST_RESORT_FONT))
    return LAST_RESORT_FONT


def _in_winansi(character: str) -> bool:
    try:
        character.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _font_for(character: str) -> str | None:
    """The font ``character`` is set in: None for the paragraph's own (Helvetica), else the embedded font,
    else the last resort."""
    if _in_winansi(character):
        return None
    if ord(character) in _embedded_characters():
        return EMBEDDED_FONT
    return _last_resort_font()


def _markup(text: str) -> str:
    """``text`` as paragraph markup: escaped, and any run Helvetica cannot show set in a font that can."""
    runs = []
    for font, characters in groupby(text, key=_font_for):
        run = escape("".join(characters))
        runs.append(run if font is None else f'<font name="{font}">{run}</font>')
    return "".join(runs)


def _multiline(text: str, most_lines: int) -> str:
    """Multi-line text (addresses, remarks, marks) with its line breaks, unless it has so many that they
    would only stretch the box: then one wrapped paragraph."""
    lines = [_markup(line.strip()) for line in text.splitlines() if line.strip()]
    return ("<br/>" if len(lines) <= most_lines else ", ").join(lines)


def _country(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return _markup(str(country.name)) if country is not None else code


def _box(label: str, *lines: str) -> list[Any]:
    return [Paragraph(label, _LABEL), *(Paragraph(line, _TEXT) for line in lines if line)]


# --- boxes 1 to 6 --------------------------------------------------------------------------------------


def _boxes_1_to_6(printed: Printed) -> Any:
    form = printed.form
    exporter = form.exporter
    box_1 = _box(
        "1. Exporter's name, address and country",
        f"<b>{_markup(exporter.name)}</b>",
        _multiline(exporter.address, 6),
        _country(exporter.country),
        f"NZBN {exporter.business_number}",
    )
    title = [
        Paragraph(f"Certificate No. {printed.number}", _NUMBER),
        *(Paragraph(_markup(mark), _MARK) for mark in printed.marks),
        Spacer(1, 2 * mm),
        Paragraph(escape(TITLE).replace(" — ", " —<br/>"), _TITLE),
        Paragraph("Issued in New Zealand", _CENTRED),
        Spacer(1, 1.5 * mm),
        Paragraph(
            f"Version {printed.version} · valid from {printed.validity.valid_from.isoformat()} "
            f"until {printed.validity.valid_until.isoformat()}",
            ParagraphStyle("validity", parent=_SMALL, alignment=TA_CENTER),
        ),
    ]
    transport = form.transport
    box_4 = _box(
        "4. Means of transport and route (as far as known)",
        f"Departure date: {transport.departure_date.isoformat()}",
        f"Means of transport: {transport.mode.value}",
        f"Vessel / flight / voyage: {_markup(transport.vessel_or_flight)}",
        f"Port of loading: {transport.port_of_loading}",
        f"Port of discharge: {transport.port_of_discharge}",
        *_transit_lines(transport),
    )
    box_6 = _box("6. Remarks", *(f"<b>{_markup(mark)}</b>" for mark in printed.marks), _multiline(printed.remarks, 12))
    rows: list[list[Any]] = [
        [box_1, title],
        [_box("2. Producer's name and address, if known", *_producer_lines(form)), _box_5()],
        [_box("3. Consignee's name, address and country", *_consignee_lines(form.consignee)), ""],
        [box_4, box_6],
    ]
    table = Table(rows, colWidths=[_WIDTH / 2, _WIDTH / 2])
    table.setStyle(TableStyle([*_GRID, ("SPAN", (1, 1), (1, 2))]))
    return table


def _transit_lines(transport: Transport) -> list[str]:
    """Box 4's transit, when it names one: the paper shows the whole route the digest covers."""
    if transport.transit is None:
        return []
    return [f"In transit via {', '.join(transport.transit.via)} to final port {transport.transit.final_port}"]


def _producer_lines(form: CertificateContent) -> list[str]:
    box = form.producer
    if box.disclosure is not ProducerDisclosure.LISTED:
        return [box.disclosure.value.replace("_", " ")]
    producers = box.producers or []
    if len(producers) > PRODUCERS_IN_BOX:
        return [f"LISTED: {len(producers)} producers, named on the continuation sheet after box 13"]
    return [f"<b>{_markup(producer.name)}</b><br/>{_multiline(producer.address, 4)}" for producer in producers]


def _consignee_lines(consignee: Consignee) -> list[str]:
    lines = [f"<b>{_markup(consignee.name)}</b>", _multiline(consignee.address, 6), _country(consignee.country)]
    if consignee.business_number is not None:
        label = "Unified social credit code" if consignee.country == "CN" else "Business number"
        lines.append(f"{label}: {_markup(consignee.business_number)}")
    return lines


def _box_5() -> list[Any]:
    """For the importing customs: left blank on the certificate (its decision is recorded in JEVS)."""
    return [
        Paragraph("5. For official use only", _LABEL),
        _checkbox("Preferential treatment given under the China-New Zealand Free Trade Agreement"),
        Spacer(1, 1.5 * mm),
        _checkbox("Preferential treatment not given (please state reasons)"),
        Spacer(1, 16 * mm),
        Paragraph("." * 70, _SMALL),
        Paragraph("Signature of authorised signatory of the importing country", _SMALL),
    ]


def _checkbox(text: str) -> Any:
    """An empty tick box and its text."""
    side = 3 * mm
    box = Table([[""]], colWidths=[side], rowHeights=[side])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.75, colors.black)]))
    row = Table([[box, Paragraph(text, _TEXT)]], colWidths=[side + 2 * mm, _WIDTH / 2 - side - 10 * mm])
    row.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (0, 0), 1),
                ("TOPPADDING", (1, 0), (1, 0), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    row.hAlign = "LEFT"
    return row


# --- boxes 7 to 13 -------------------------------------------------------------------------------------


_ITEM_HEADINGS = (
    "7. Item number (max. 20)",
    "8. Marks and numbers on packages",
    "9. Number and kind of packages; description of goods",
    "10. HS code (six-digit code)",
    "11. Origin criterion",
    "12. Gross weight or other quantity",
    "13. Number and date of invoice",
)


def _items_table(items: Sequence[Item]) -> Any:
    rows: list[list[Any]] = [[Paragraph(heading, _LABEL) for heading in _ITEM_HEADINGS]]
    rows += [_item_row(item) for item in items]
    table = Table(rows, colWidths=[width * mm for width in _ITEM_COLUMNS_MM], repeatRows=1)
    table.setStyle(TableStyle([*_GRID, ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE"))]))
    return table


def _item_row(item: Item) -> list[Any]:
    kind = item.packages.kind
    kind_name = _markup(rec21_package_kinds().get(kind, kind))
    packages = f"In bulk ({kind}, {kind_name})" if item.packages.count is None else f"{item.packages.count} {kind}"
    if item.packages.count is not None:
        packages += f" ({kind_name})"
    criterion = item.origin_criterion.value
    if item.origin_criterion is OriginCriterion.PSR and item.rvc_percent is not None:
        criterion += f"<br/>RVC {item.rvc_percent}%"
    invoice = f"{_markup(item.invoice.number)}<br/>{item.invoice.date.isoformat()}"
    third_party = item.invoice.third_party_invoicing
    if third_party is not None:
        invoice += (
            f"<br/><i>Third-party invoicing:</i> {_markup(third_party.name)}, "
            f"{_multiline(third_party.address, 1)}, {_country(third_party.country)}"
        )
    return [
        Paragraph(str(item.item_number), _ITEM_CENTRED),
        Paragraph(_multiline(item.marks_and_numbers, 6), _ITEM),
        Paragraph(f"<b>{packages}</b><br/>{_multiline(item.description, 6)}", _ITEM),
        Paragraph(item.hs_code, _ITEM_CENTRED),
        Paragraph(criterion, _ITEM_CENTRED),
        Paragraph(
            f"{item.quantity.value} {item.quantity.unit}<br/>Gross weight: {item.gross_weight_kg} kg",
            _ITEM,
        ),
        Paragraph(invoice, _ITEM),
    ]


def _producer_continuation(producers: Sequence[Producer]) -> list[Any]:
    """Box 2 continued, when more producers are listed than the box holds."""
    rows: list[list[Any]] = [[Paragraph(heading, _LABEL) for heading in ("No.", "Producer's name", "Address")]]
    rows += [
        [Paragraph(str(number), _ITEM), Paragraph(_markup(p.name), _ITEM), Paragraph(_multiline(p.address, 4), _ITEM)]
        for number, p in enumerate(producers, start=1)
    ]
    table = Table(rows, colWidths=[11 * mm, 70 * mm, _WIDTH - 81 * mm], repeatRows=1)
    table.setStyle(TableStyle(_GRID))
    return [Spacer(1, 3 * mm), Paragraph("Continuation sheet — box 2: producers", _LABEL), table]


# --- boxes 14 and 15 -----------------------------------------------------------------------------------


def _boxes_14_and_15(printed: Printed, record: CertificateRecord, verification_base_url: str) -> Any:
    box_14 = _box("14. Declaration by the exporter", f"{EXPORTER_DECLARATION_TEXT}.")
    box_15_width = _WIDTH * 0.62
    qr_size = QR_SIZE_MM * mm
    certification = [
        Paragraph("15. Certification", _LABEL),
        Paragraph(CERTIFICATION_TEXT, _TEXT),
        Spacer(1, 2.5 * mm),
        Paragraph(f"<b>{_markup(printed.issuing_body_name)}</b>", _TEXT),
        Paragraph(
            f"Place and date of issue: {_markup(printed.place_of_issue)}, {printed.issue_date.isoformat()}", _TEXT
        ),
        Spacer(1, 2.5 * mm),
        Paragraph(ELECTRONIC_CERTIFICATION_TEXT, _TEXT),
        Spacer(1, 1 * mm),
        Paragraph(f"Verify at {escape(verify_at(verification_base_url, printed.number))}", _SMALL),
    ]
    printed_hash = printed_digest(record)
    digest_line = Paragraph(f'Printed-data digest (SHA-256): <font name="Courier">{printed_hash}</font>', _SMALL)
    box_15 = Table(
        [[certification, _QrCode(verification_url(verification_base_url, record), qr_size)], [digest_line, ""]],
        colWidths=[box_15_width - qr_size - 8, qr_size],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("SPAN", (0, 1), (1, 1)),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    table = Table([[box_14, box_15]], colWidths=[_WIDTH - box_15_width, box_15_width])
    table.setStyle(TableStyle(_GRID))
    return table


# The standard quiet zone around a QR code, in modules.
QR_QUIET_MODULES = 4


class _QrCode(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """The QR code of ``value`` (error correction M, the standard quiet zone) in a ``size`` square, drawn as one
    filled path of its dark runs. reportlab's ``QrCodeWidget`` draws the same runs as a validated shape each, every
    one rendered with its own graphics state: that was a third of the time a certificate's PDF took to make."""

    def __init__(self, value: str, size: float) -> None:
        super().__init__()
        self.value = value
        self.width = self.height = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(self.value)
        code.make()
        module = self.width / (code.getModuleCount() + 2 * QR_QUIET_MODULES)
        path = self.canv.beginPath()
        for row, modules in enumerate(code.modules, start=QR_QUIET_MODULES + 1):
            column = QR_QUIET_MODULES
            for dark, run in groupby(modules, key=bool):
                length = sum(1 for _ in run)
                if dark:
                    path.rect(column * module, self.height - row * module, length * module, module)
                column += length
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


# --- every page ----------------------------------------------------------------------------------------


def _page_decorations(printed: Printed, recorded_at: datetime) -> tuple[Callable[..., None], Callable[..., None]]:
    # The document's date is when JEVS recorded the certificate: the same on every rendering of the record.
    stamp = recorded_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")

    def footer(canvas: Any, document: Any) -> None:
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawString(
            _MARGIN,
            8 * mm,
            " · ".join([f"Certificate No. {printed.number}", f"version {printed.version}", *printed.marks]),
        )
        canvas.drawRightString(_PAGE_WIDTH - _MARGIN, 8 * mm, f"Page {document.page}")

    def first_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setDateFormatter(lambda *_date: stamp)
        footer(canvas, document)
        canvas.restoreState()

    def later_pages(canvas: Any, document: Any) -> None:
        canvas.saveState()
        top = _PAGE_HEIGHT - 11 * mm
        canvas.setFont("Helvetica-Bold", 8.5)
        canvas.drawString(_MARGIN, top, TITLE)
        canvas.drawRightString(_PAGE_WIDTH - _MARGIN, top, f"Certificate No. {printed.number} (continued)")
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN, top - 2 * mm, _PAGE_WIDTH - _MARGIN, top - 2 * mm)
        footer(canvas, document)
        canvas.restoreState()

    return first_page, later_pages
