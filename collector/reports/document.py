"""A report as data (title, summary, typed tables) and its writers: CSV, XLSX, PDF.

The plan and the asset report build one ``Document``; each format renders it the same way, so the
three files always say the same thing. Cells keep their types (int money, dates) until the writer:
the XLSX gets real numbers and dates, the CSV and PDF get the Vietnamese text forms.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from collector.i18n import format_date, format_money, format_number, translator
from collector.pdf.layout import (
    AdminDocument,
    Appendix,
    Bullets,
    Grid,
    Issuer,
    Para,
    Section,
    Signer,
)
from collector.pdf.layout import Column as LayoutColumn
from collector.pdf.layout import render as render_layout
from collector.reports.spreadsheet import append_xlsx_row, safe_cell

Kind = Literal["text", "int", "money", "date", "percent"]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = "text"
    width: int | None = None  # characters; None: from the content
    weight: float = 1.0  # share of the page width in the PDF
    in_pdf: bool = True  # long detail the PDF leaves to the XLSX (it would take pages per row)


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    sheet: str | None = None  # XLSX sheet name (max 31 characters)


@dataclass
class Document:
    title: str
    lang: str = "vi"
    subtitle: list[str] = field(default_factory=list)
    summary: list[tuple[str, Any, Kind]] = field(default_factory=list)  # label, value, kind
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The one table a CSV export carries (default: the first of ``tables``).
    csv: Table | None = None
    footer: str = ""
    # The PDF is a proposal (tờ trình) or a report (báo cáo) of the responsible unit.
    kind: Literal["proposal", "report"] = "report"
    issued_on: date | None = None


def text_of(value: Any, kind: Kind, lang: str = "vi") -> str:
    if value is None or value == "":
        return ""
    if kind == "money":
        return format_money(value)
    if kind == "date" and isinstance(value, date | datetime):
        return format_date(value, lang)
    if kind == "percent":
        return f"{value}%"
    if kind == "int":
        return format_number(int(value), lang, 0)
    return str(value)


# ---- CSV ---------------------------------------------------------------------------------------


def to_csv(doc: Document) -> bytes:
    """One table as CSV in UTF-8 with a BOM (Excel then reads the Vietnamese letters right).

    Money and counts stay plain digits so that a spreadsheet can sum them; dates are ISO; text that
    a spreadsheet would take for a formula is neutralised (``safe_cell``).
    """
    table = doc.csv or doc.tables[0]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([safe_cell(c.title) for c in table.columns])
    for row in table.rows:
        cells = []
        for c in table.columns:
            v = row.get(c.key)
            if v is None:
                cells.append("")
            elif c.kind == "date" and isinstance(v, date | datetime):
                cells.append(v.isoformat()[:10])
            elif isinstance(v, int | float) and not isinstance(v, bool):
                cells.append(str(v))  # a number, even a negative one, is not a formula
            else:
                cells.append(safe_cell(str(v)))
        w.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---- XLSX --------------------------------------------------------------------------------------

MONEY_FORMAT = '#,##0" ₫"'
DATE_FORMAT = "dd/mm/yyyy"


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "Sheet"
    candidate, n = base, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


def to_xlsx(doc: Document) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    used: set[str] = set()
    ws.title = _sheet_name(translator(doc.lang)("Summary"), used)
    bold = Font(bold=True)
    # Text goes through append_xlsx_row: a string cell, never a formula (site names, serials and
    # notes come from agents and imports).
    append_xlsx_row(ws, [doc.title])
    ws["A1"].font = Font(bold=True, size=14)
    for line in doc.subtitle:
        append_xlsx_row(ws, [line])
    ws.append([])
    for label, value, kind in doc.summary:
        append_xlsx_row(ws, [label, value])
        cell = ws.cell(row=ws.max_row, column=2)
        ws.cell(row=ws.max_row, column=1).font = bold
        if kind == "money":
            cell.number_format = MONEY_FORMAT
        elif kind == "date":
            cell.number_format = DATE_FORMAT
    if doc.notes:
        ws.append([])
        for note in doc.notes:
            append_xlsx_row(ws, [note])
    ws.column_dimensions["A"].width = max([len(str(s[0])) for s in doc.summary] + [24]) + 2
    ws.column_dimensions["B"].width = 24
    head_fill = PatternFill("solid", fgColor="DDE3EE")
    for table in doc.tables:
        sheet = wb.create_sheet(_sheet_name(table.sheet or table.title, used))
        append_xlsx_row(sheet, [c.title for c in table.columns])
        for cell in sheet[1]:
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        for row in table.rows:
            append_xlsx_row(sheet, [_xlsx_value(row.get(c.key), c.kind) for c in table.columns])
            r = sheet.max_row
            for i, c in enumerate(table.columns, start=1):
                cell = sheet.cell(row=r, column=i)
                if c.kind == "money":
                    cell.number_format = MONEY_FORMAT
                elif c.kind == "date":
                    cell.number_format = DATE_FORMAT
                elif c.kind == "text" and (c.width or 0) >= 40:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for i, c in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = _width(c, table)
        sheet.freeze_panes = "A2"
        if table.rows:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(value: Any, kind: Kind) -> Any:
    if value is None or value == "":
        return None
    if kind in ("money", "int", "percent"):
        return int(value)
    if kind == "date" and isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def _width(c: Column, table: Table) -> float:
    if c.width:
        return c.width
    longest = max([len(text_of(r.get(c.key), c.kind)) for r in table.rows[:500]] + [len(c.title), 6])
    return min(60, longest + 2)


# ---- PDF ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterhead:
    """Who issues a document and who signs it: the PDF is an administrative document of that unit."""

    issuer: Issuer
    signer: Signer | None = None


def letterhead_for(session: Any, settings: Any, username: str, lang: str) -> Letterhead:
    """The configured issuer, signed by the user who makes the document (full name and position)."""
    from collector.services.publishing import person

    who = person(session, username)
    capacity = translator(lang)("PREPARED BY")
    return Letterhead(
        Issuer.from_settings(settings),
        Signer(position=who["position"], full_name=who["name"], capacity=capacity),
    )


def default_letterhead() -> Letterhead:
    from collector.settings import CollectorSettings

    return Letterhead(Issuer.from_settings(CollectorSettings()))


def to_pdf(doc: Document, letterhead: Letterhead | None = None) -> bytes:
    """The document in the administrative layout (collector.pdf.layout): the summary, subtitle and
    notes in the body, each table as an appendix on a landscape page."""
    _ = translator(doc.lang)
    head = letterhead or default_letterhead()
    body: list[Any] = [Para(line) for line in doc.subtitle]
    sections = []
    if doc.summary:
        sections.append(
            Section(
                _("Summary"),
                [
                    Grid(
                        [LayoutColumn(_("Item"), 3), LayoutColumn(_("Value"), 2.2, "RIGHT")],
                        [[str(label), text_of(value, kind, doc.lang)] for label, value, kind in doc.summary],
                    )
                ],
            )
        )
    if doc.notes:
        sections.append(Section(_("Notes"), [Bullets(list(doc.notes))]))
    if doc.tables:
        sections.append(
            Section(
                _("Details"),
                [Para(_("The details are in the appendices attached to this document."))],
            )
        )
    appendices = []
    for table in doc.tables:
        columns = [c for c in table.columns if c.in_pdf]
        rows = [[text_of(r.get(c.key), c.kind, doc.lang) for c in columns] for r in table.rows]
        align = {"money": "RIGHT", "int": "RIGHT", "percent": "RIGHT"}
        grid = Grid(
            [LayoutColumn(c.title, c.weight, align.get(c.kind, "LEFT")) for c in columns],
            rows,
            size=8,
        )
        appendices.append(Appendix(table.title, [grid]))
    if doc.footer:
        body.append(Para(doc.footer, italic=True))
    # The document types of Decree 30/2020/ND-CP (appendix III): a proposal or a report of the unit.
    doc_type, symbol = {"proposal": (_("PROPOSAL"), "TTr"), "report": (_("REPORT"), "BC")}[doc.kind]
    admin = AdminDocument(
        issuer=head.issuer,
        doc_type=doc_type,
        symbol=symbol,
        summary=doc.title,
        issued_on=doc.issued_on or date.today(),
        lang=doc.lang,
        intro=body,
        sections=sections,
        signer=head.signer or Signer(position="", full_name="", capacity=_("PREPARED BY")),
        recipients=[_("Filed: records office, %(unit)s", unit=head.issuer.unit_code)],
        appendices=appendices,
        title=doc.title,
    )
    return render_layout(admin).pdf


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "json": "application/json",
}


def render(doc: Document, fmt: str, letterhead: Letterhead | None = None) -> bytes:
    if fmt == "csv":
        return to_csv(doc)
    if fmt == "xlsx":
        return to_xlsx(doc)
    if fmt == "pdf":
        return to_pdf(doc, letterhead)
    raise ValueError(f"unknown format {fmt!r}; use csv, xlsx, pdf or json")
