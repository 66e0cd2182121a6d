"""The one PDF layout of wardwatch: an administrative document as Decree 30/2020/ND-CP draws it.

Every PDF the collector writes (the inspection record, the replacement plan, the asset report) is an
``AdminDocument`` rendered here, so the three look like papers of the same office:

- the issuing body (parent body above, issuing unit in bold with a short rule under it) and the number
  and symbol ("Số: 12/BB-SKHCN"; left blank on a draft, where the clerk writes it at issue) on the left;
- the national heading (Quốc hiệu) and the motto (Tiêu ngữ, with a rule under it) on the right, then
  the place and date line in italics;
- the document type in capitals and its summary line (trích yếu), centred;
- the body in numbered sections (I, II, ...), tables and photos with captions;
- the signature block (capacity, position, room for the signature, full name) and the recipients;
- appendices (phụ lục) after the signature, on landscape pages when their tables are wide;
- page numbers centred at the top from the second page on;
- Liberation Serif (metric-compatible with Times New Roman, which the decree names) embedded, so every
  Vietnamese letter prints and extracts.

The signature block's empty space is returned with the PDF so that the PDF signature's appearance
lands where a person would sign.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Literal

from collector.i18n import translator

FONT = "Serif"
FONT_FILES = {
    "": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}
# Decree 30 margins (mm): top 20-25, bottom 20-25, left 30-35, right 15-20.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 30.0, 15.0, 20.0, 20.0
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
PT_PER_MM = 72 / 25.4
SIGNATURE_ROOM = 30.0  # mm left empty between the position and the name
PHOTO_MAX_PX = 1600


def font_path(style: str = "") -> str:
    return str(resources.files("collector.data") / "fonts" / FONT_FILES[style])


@dataclass(frozen=True)
class Issuer:
    """Who issues the document: the parent body and the issuing unit, its symbol code and its place."""

    parent_body: str
    unit: str
    unit_code: str
    place: str

    @classmethod
    def from_settings(cls, settings: object) -> Issuer:
        return cls(
            parent_body=str(getattr(settings, "org_parent_body", "")),
            unit=str(getattr(settings, "org_unit", "")),
            unit_code=str(getattr(settings, "org_unit_code", "")),
            place=str(getattr(settings, "org_place", "")),
        )


@dataclass(frozen=True)
class Signer:
    position: str  # chức vụ, as it stands above the signature
    full_name: str
    capacity: str = ""  # the role in this document, above the position (e.g. the team lead)


# ---- body blocks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False
    italic: bool = False
    indent: bool = True


@dataclass(frozen=True)
class Fields:
    """Label: value lines."""

    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class Bullets:
    lines: list[str]


@dataclass(frozen=True)
class Column:
    title: str
    weight: float = 1.0
    align: Literal["LEFT", "RIGHT", "CENTER"] = "LEFT"


@dataclass(frozen=True)
class Grid:
    columns: list[Column]
    rows: list[list[str]]
    title: str = ""
    size: float = 11


@dataclass(frozen=True)
class Photo:
    data: bytes
    caption: str


Block = Para | Fields | Bullets | Grid | Photo


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Appendix:
    title: str
    blocks: list[Block] = field(default_factory=list)
    landscape: bool = True


@dataclass
class AdminDocument:
    issuer: Issuer
    doc_type: str  # "BIÊN BẢN KIỂM TRA", already in the document's language
    symbol: str  # the type's abbreviation: BB, BC, TTr
    summary: str  # trích yếu
    issued_on: date
    lang: str = "vi"
    number: int | None = None  # None: a draft, the number is written at issue
    intro: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    signer: Signer | None = None
    recipients: list[str] = field(default_factory=list)
    appendices: list[Appendix] = field(default_factory=list)
    title: str = ""  # the PDF's metadata title
    created_at: datetime | None = None  # fixed creation date: the same document gives the same bytes


@dataclass(frozen=True)
class SignatureBox:
    """Where the signature goes: page index from 0, and the box in PDF points (origin bottom-left)."""

    page: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    signature_box: SignatureBox | None


# ---- words of the layout itself -----------------------------------------------------------------


def number_line(doc: AdminDocument) -> str:
    _ = translator(doc.lang)
    number = str(doc.number) if doc.number is not None else "\u00a0" * 6
    return _(
        "No.: %(number)s/%(symbol)s-%(unit)s", number=number, symbol=doc.symbol, unit=doc.issuer.unit_code
    )


def place_date_line(place: str, on: date, lang: str) -> str:
    """ "Hà Nội, ngày 05 tháng 3 năm 2026": Decree 30 writes a leading zero on days below 10 and on
    months 1 and 2 only."""
    _ = translator(lang)
    day = f"{on.day:02d}"
    month = f"{on.month:02d}" if on.month <= 2 or lang != "vi" else str(on.month)
    text = _("%(day)s/%(month)s/%(year)s", day=day, month=month, year=on.year)
    return f"{place}, {text}" if place else text


# ---- rendering ----------------------------------------------------------------------------------


def _pdf_class():
    from fpdf import FPDF

    class AdminPdf(FPDF):
        def header(self) -> None:
            # Decree 30: page numbers centred in the top margin, none on the first page.
            if self.page_no() > 1:
                self.set_font(FONT, "", 13)
                self.set_y(10)
                self.cell(0, 6, str(self.page_no()), align="C")
                self.set_y(MARGIN_TOP)

    return AdminPdf


def render(doc: AdminDocument) -> Rendered:
    pdf = _pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_BOTTOM)
    for style in FONT_FILES:
        pdf.add_font(FONT, style, font_path(style))
    pdf.set_title(doc.title or f"{doc.doc_type} — {doc.summary}")
    pdf.set_creator("wardwatch")
    pdf.set_lang("vi-VN" if doc.lang == "vi" else "en")
    if doc.created_at is not None:
        pdf.set_creation_date(doc.created_at)
    pdf.add_page()
    _letterhead(pdf, doc)
    for block in doc.intro:
        _block(pdf, block, doc.lang)
    for n, section in enumerate(doc.sections):
        _section_title(pdf, f"{ROMAN[n] if n < len(ROMAN) else n + 1}. {section.title}")
        for block in section.blocks:
            _block(pdf, block, doc.lang)
    box = _signature_block(pdf, doc)
    for n, appendix in enumerate(doc.appendices):
        _appendix(pdf, appendix, n, doc)
    return Rendered(bytes(pdf.output()), box)


def _width(pdf) -> float:
    return pdf.w - pdf.l_margin - pdf.r_margin


def _rule(pdf, cx: float, y: float, width: float) -> None:
    pdf.set_line_width(0.3)
    pdf.line(cx - width / 2, y, cx + width / 2, y)


def _letterhead(pdf, doc: AdminDocument) -> None:
    _ = translator(doc.lang)
    left_x, left_w = (
        MARGIN_LEFT - 8,
        78.0,
    )  # the issuer block may reach into the left margin, as printed forms do
    right_w = 100.0
    right_x = pdf.w - MARGIN_RIGHT - right_w + 3
    top = pdf.get_y()
    # Left: parent body, issuing unit (bold) with a short rule under it.
    pdf.set_xy(left_x, top)
    pdf.set_font(FONT, "", 12.5)
    pdf.multi_cell(left_w, 5.5, doc.issuer.parent_body.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "B", 12.5)
    pdf.multi_cell(left_w, 5.5, doc.issuer.unit.upper(), align="C", new_x="LEFT", new_y="NEXT")
    unit_w = min(pdf.get_string_width(doc.issuer.unit.upper()), left_w)
    _rule(pdf, left_x + left_w / 2, pdf.get_y() + 0.8, max(unit_w / 2.5, 18))
    left_bottom = pdf.get_y() + 2
    # Right: national heading and motto (rule as wide as the motto).
    pdf.set_xy(right_x, top)
    pdf.set_font(FONT, "B", 12.5)
    pdf.multi_cell(right_w, 5.5, _("SOCIALIST REPUBLIC OF VIETNAM"), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "B", 13.5)
    motto = _("Independence - Freedom - Happiness")
    pdf.multi_cell(right_w, 6, motto, align="C", new_x="LEFT", new_y="NEXT")
    _rule(pdf, right_x + right_w / 2, pdf.get_y() + 0.6, min(pdf.get_string_width(motto), right_w))
    right_bottom = pdf.get_y() + 2
    # Number and symbol, and on the same line the place and date.
    line_y = max(left_bottom, right_bottom) + 1.5
    pdf.set_xy(left_x, line_y)
    pdf.set_font(FONT, "", 13)
    pdf.multi_cell(left_w, 6, number_line(doc), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(right_x, line_y)
    pdf.set_font(FONT, "I", 13.5)
    pdf.multi_cell(
        right_w,
        6,
        place_date_line(doc.issuer.place, doc.issued_on, doc.lang),
        align="C",
        new_x="LEFT",
        new_y="NEXT",
    )
    pdf.set_y(max(pdf.get_y(), line_y + 6) + 8)
    # Document type and summary line, centred; a short rule under the summary.
    pdf.set_x(MARGIN_LEFT)
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 7, doc.doc_type.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    if doc.summary:
        pdf.set_font(FONT, "B", 13.5)
        pdf.multi_cell(0, 6.5, doc.summary, align="C", new_x="LMARGIN", new_y="NEXT")
    _rule(pdf, MARGIN_LEFT + _width(pdf) / 2, pdf.get_y() + 1, 30)
    pdf.ln(6)


def _section_title(pdf, text: str) -> None:
    if pdf.get_y() > pdf.h - MARGIN_BOTTOM - 25:
        pdf.add_page()  # a heading never stands alone at the foot of a page
    pdf.ln(1.5)
    pdf.set_font(FONT, "B", 13.5)
    pdf.multi_cell(0, 6.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(0.5)


def _block(pdf, block: Block, lang: str) -> None:
    if isinstance(block, Para):
        style = ("B" if block.bold else "") + ("I" if block.italic else "")
        pdf.set_font(FONT, style, 13.5)
        indent = "\u00a0" * 6 if block.indent else ""
        pdf.multi_cell(0, 6.5, indent + block.text, align="J", new_x="LMARGIN", new_y="NEXT")
    elif isinstance(block, Fields):
        for label, value in block.rows:
            _label_value(pdf, label, value)
    elif isinstance(block, Bullets):
        pdf.set_font(FONT, "", 13.5)
        for line in block.lines:
            pdf.set_x(MARGIN_LEFT + 4)
            pdf.multi_cell(0, 6.5, "- " + line, align="J", new_x="LMARGIN", new_y="NEXT")
    elif isinstance(block, Grid):
        _grid(pdf, block)
    elif isinstance(block, Photo):
        _photo(pdf, block)


def _label_value(pdf, label: str, value: str) -> None:
    """ "Label: value" with the label plain and the value as written, wrapped under the text width."""
    pdf.set_font(FONT, "", 13.5)
    pdf.set_x(MARGIN_LEFT + 4)
    pdf.multi_cell(0, 6.5, f"- {label}: {value}", align="L", new_x="LMARGIN", new_y="NEXT")


def _grid(pdf, grid: Grid) -> None:
    from fpdf.fonts import FontFace

    if grid.title:
        pdf.set_font(FONT, "B", 12.5)
        pdf.multi_cell(0, 6, grid.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", grid.size)
    if not grid.rows:
        pdf.multi_cell(0, 6, "—", new_x="LMARGIN", new_y="NEXT")
        return
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=tuple(c.weight for c in grid.columns),
        headings_style=heading,
        line_height=grid.size * 0.45,
        padding=1,
        text_align=tuple(c.align for c in grid.columns),
        v_align="TOP",
        width=_width(pdf),
    ) as table:
        head = table.row()
        for c in grid.columns:
            head.cell(c.title, align="CENTER")
        for values in grid.rows:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(2)


def _photo_bytes(data: bytes) -> tuple[io.BytesIO, int, int]:
    """The photo scaled to at most PHOTO_MAX_PX on its long side, as JPEG (WebP becomes JPEG too):
    a 10 MB phone photo does not make a 10 MB page."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as original:
        img = ImageOps.exif_transpose(original)
        img.thumbnail((PHOTO_MAX_PX, PHOTO_MAX_PX))
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=80)
        out.seek(0)
        return out, img.width, img.height


def _photo(pdf, photo: Photo) -> None:
    try:
        stream, w_px, h_px = _photo_bytes(photo.data)
    except (OSError, ValueError):
        pdf.set_font(FONT, "I", 12)
        pdf.multi_cell(0, 6, photo.caption + " (—)", align="C", new_x="LMARGIN", new_y="NEXT")
        return
    width = min(110.0, _width(pdf))
    height = width * h_px / w_px
    if height > 90:
        height, width = 90.0, 90.0 * w_px / h_px
    if pdf.get_y() + height + 10 > pdf.h - MARGIN_BOTTOM:
        pdf.add_page()
    x = MARGIN_LEFT + (_width(pdf) - width) / 2
    pdf.image(stream, x=x, y=pdf.get_y() + 1, w=width, h=height)
    pdf.set_y(pdf.get_y() + height + 2)
    pdf.set_font(FONT, "I", 12)
    pdf.multi_cell(0, 5.5, photo.caption, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _signature_block(pdf, doc: AdminDocument) -> SignatureBox | None:
    _ = translator(doc.lang)
    needed = 12 + SIGNATURE_ROOM + 14 + 6 * len(doc.recipients)
    if pdf.get_y() + min(needed, 70) > pdf.h - MARGIN_BOTTOM:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    col_w = 85.0
    right_x = pdf.w - MARGIN_RIGHT - col_w
    box = None
    if doc.signer is not None:
        pdf.set_xy(right_x, top)
        pdf.set_font(FONT, "B", 13.5)
        for line in (doc.signer.capacity, doc.signer.position):
            if line:
                pdf.multi_cell(col_w, 6.5, line.upper(), align="C", new_x="LEFT", new_y="NEXT")
        room_top = pdf.get_y() + 1
        box_mm = (right_x + 5, room_top, right_x + col_w - 5, room_top + SIGNATURE_ROOM - 2)
        pdf.set_y(room_top + SIGNATURE_ROOM)
        pdf.set_x(right_x)
        pdf.multi_cell(col_w, 6.5, doc.signer.full_name or "", align="C", new_x="LEFT", new_y="NEXT")
        box = _to_points(pdf, box_mm)
    sign_bottom = pdf.get_y()
    if doc.recipients:
        pdf.set_xy(MARGIN_LEFT, top)
        pdf.set_font(FONT, "BI", 12)
        pdf.cell(70, 6, _("Recipients:"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 11)
        for n, line in enumerate(doc.recipients):
            end = "." if n == len(doc.recipients) - 1 else ";"
            pdf.set_x(MARGIN_LEFT)
            pdf.multi_cell(72, 5, f"- {line}{end}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(sign_bottom, pdf.get_y()) + 4)
    return box


def _to_points(pdf, box_mm: tuple[float, float, float, float]) -> SignatureBox:
    x1, y1, x2, y2 = box_mm
    h = pdf.h
    return SignatureBox(
        page=pdf.page_no() - 1,
        box=(
            round(x1 * PT_PER_MM),
            round((h - y2) * PT_PER_MM),
            round(x2 * PT_PER_MM),
            round((h - y1) * PT_PER_MM),
        ),
    )


def _appendix(pdf, appendix: Appendix, n: int, doc: AdminDocument) -> None:
    _ = translator(doc.lang)
    pdf.add_page(orientation="L" if appendix.landscape else "P")
    pdf.set_font(FONT, "B", 13.5)
    label = ROMAN[n] if n < len(ROMAN) else str(n + 1)
    pdf.multi_cell(0, 6.5, _("APPENDIX %(n)s", n=label), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6.5, appendix.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "I", 12)
    attached = _(
        "(Attached to the %(type)s, %(number)s)", type=doc.doc_type.capitalize(), number=number_line(doc)
    )
    pdf.multi_cell(0, 6, attached, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for block in appendix.blocks:
        _block(pdf, block, doc.lang)
