"""The PDF rendering of a published inspection report (fpdf2, with an embedded Unicode font so
Vietnamese diacritics print correctly)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF

from collector.services.inspections import parse_evidence
from collector.services.publishing import SEVERITY_VI, font_path

VALUE_VI = {"pass": "Đạt", "fail": "Không đạt", "na": "Không áp dụng", None: "Chưa trả lời"}
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _check_titles() -> dict[str, str]:
    """Vietnamese catalog titles of the checks, as the published web page shows them."""
    from checks.catalog import load_catalog

    return {cid: check.title.vi for cid, check in load_catalog().items()}


def _check_name(check: str, titles: dict[str, str]) -> str:
    cid, sep, target = check.partition(" [")
    return f"{titles[cid]}{sep}{target}" if cid in titles else check


def evidence_vi(text: str | None, titles: dict[str, str]) -> list[str]:
    """The stored (English) evidence sentence as Vietnamese lines, check ids replaced by their titles
    (one line per failing device, as the web page lists them)."""
    ev = parse_evidence(text)
    if ev.kind == "fail":
        lines = [f"{ev.failing} trên {ev.total} thiết bị không đạt:"]
        lines += [
            f"• {host}: {'; '.join(_check_name(c, titles) for c in checks)}" for host, checks in ev.devices
        ]
        if ev.more:
            lines.append(f"• và {ev.more} thiết bị khác")
        return lines
    if ev.kind == "pass":
        return [f"Cả {ev.total} thiết bị đều đạt: {'; '.join(_check_name(c, titles) for c in ev.checks)}"]
    if ev.kind == "none":
        return ["Chưa có tác tử nào tại đơn vị gửi dữ liệu về tiêu chí này"]
    return [ev.text[:800]]


def _num(value: float | int | None) -> str:
    """A score as Vietnamese writes it: 87,5 (the PDF is in Vietnamese)."""
    from collector.web.i18n import format_number

    return format_number(value, "vi")


def _when(value: str | None) -> str:
    """An ISO date or timestamp of the document as Vietnamese read it: dd/mm/yyyy, Vietnam time."""
    if not value:
        return "—"
    if len(value) == 10:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    return datetime.fromisoformat(value).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def render_pdf(doc: dict[str, Any]) -> bytes:
    pdf = FPDF(format="A4")
    # The publication moment, not the wall clock: the PDF is a pure function of the document.
    pdf.set_creation_date(datetime.fromisoformat(doc["published_at"]))
    pdf.add_font("DejaVu", "", font_path("DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", font_path("DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{doc['checklist']['title']['vi']} — {doc['site']['name']}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, doc["checklist"]["title"]["vi"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    line = lambda text: pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")  # noqa: E731
    line(f"Đơn vị: {doc['site']['name']} ({doc['site']['code']})")
    line(f"Đoàn kiểm tra: {doc['inspection']['team'] or '—'}; trưởng đoàn: {doc['inspection']['lead']}")
    line(f"Ký duyệt: {doc['inspection']['signed_by']} lúc {_when(doc['inspection']['signed_at'])}")
    line(f"Công bố: {_when(doc['published_at'])} — mã {doc['id']} — khóa ký {doc['key_id']}")
    score = doc["score"]
    verdict = "Đạt" if score["passed"] else "Không đạt"
    pdf.set_font("DejaVu", "B", 12)
    line(f"Điểm tuân thủ: {_num(score['overall'])} / 100 (ngưỡng {_num(score['threshold'])}) — {verdict}")
    pdf.set_font("DejaVu", "", 11)
    if doc.get("trend"):
        t = doc["trend"]
        line(
            f"So với lần kiểm tra trước ({_when(t['previous_published_at'][:10])}): "
            f"{_num(t['previous_score'])} → {_num(score['overall'])} ({'+' if t['change'] > 0 else ''}"
            f"{_num(t['change'])})"
            if t["change"] is not None
            else ""
        )
    for s in score["sections"]:
        line(f"  • {s['title']['vi']}: {_num(s['score'])}")
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    line(f"Tồn tại, hạn chế ({len(doc['findings'])})")
    pdf.set_font("DejaVu", "", 10)
    titles = _check_titles()
    for f in doc["findings"]:
        line(f"- [{SEVERITY_VI.get(f['severity'], f['severity'])}] {f['label']['vi']}")
        if f["note"]:
            line(f"    Ghi chú: {f['note']}")
        if f["evidence"]:
            first, *more = evidence_vi(f["evidence"], titles)
            line(f"    Bằng chứng từ tác tử: {first}")
            for text in more:
                line(f"      {text}")
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    line(f"Việc cần làm ({len(doc['actions'])})")
    pdf.set_font("DejaVu", "", 10)
    for a in doc["actions"]:
        carried = " (chuyển từ lần trước)" if a["carried_over"] else ""
        due = _when(a["due_date"])
        line(f"- {a['title']} — hạn khắc phục {due}; phụ trách: {a['owner'] or '—'}{carried}")
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    line("Kết quả từng tiêu chí kiểm tra")
    pdf.set_font("DejaVu", "", 9)
    for item in doc["items"]:
        value = item["value"]
        shown = VALUE_VI.get(value, str(value)) if item["type"] == "pass_fail" else (value or "—")
        source = {"auto": " (tự động)", "override": " (đoàn kiểm tra điều chỉnh)"}.get(item["source"], "")
        line(f"{item['label']['vi']}: {shown}{source}")
    ev = doc["evidence_summary"]
    pdf.ln(2)
    line(
        f"Tiêu chí lấy từ dữ liệu tự động: {ev['automatic_items']}; đoàn điều chỉnh: "
        f"{ev['overridden_by_inspectors']}; ảnh: {ev['photos']}."
    )
    return bytes(pdf.output())
