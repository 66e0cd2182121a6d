"""The published inspection as an administrative record: "BIÊN BẢN KIỂM TRA" (Decree 30/2020/ND-CP).

Built from the published JSON document (the full one, or the public redacted one), so the PDF says
exactly what the signed JSON says. Values are words, never stored codes: answers, severities, action
states, choice labels and the evidence sentence are put in the document's language here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from collector.i18n import LOCAL_TZ, format_date, translator
from collector.pdf.layout import (
    AdminDocument,
    Bullets,
    Column,
    Fields,
    Grid,
    Issuer,
    Para,
    Photo,
    Section,
    Signer,
)
from collector.services.inspections import parse_evidence

RECORD_SYMBOL = "BB"


def _check_titles(lang: str) -> dict[str, str]:
    from checks.catalog import load_catalog

    _ = translator(lang)
    return {cid: _(check.title) for cid, check in load_catalog().items()}


def _local_date(value: str | None) -> date | None:
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).astimezone(LOCAL_TZ).date()


def severity_label(severity: str, _: Callable[..., str]) -> str:
    labels = {
        "critical": _("Critical"),
        "high": _("High"),
        "medium": _("Medium"),
        "low": _("Low"),
        "info": _("Information"),
    }
    return labels.get(severity, severity)


def action_status_label(status: str, _: Callable[..., str]) -> str:
    labels = {
        "open": _("action status: Open"),
        "in_progress": _("In progress"),
        "done": _("action status: Done"),
        "verified": _("Verified"),
    }
    return labels.get(status, status)


def pick(pair: dict[str, str], lang: str) -> str:
    """A {vi, en} text of the signed document in ``lang``; any other language through the catalogs."""
    return str(pair[lang]) if lang in pair else translator(lang)(str(pair.get("en", "")))


def answer_label(item: dict[str, Any], lang: str, _: Callable[..., str]) -> str:
    value = item.get("value")
    if item["type"] == "pass_fail":
        return {"pass": _("Passed"), "fail": _("Not passed"), "na": _("Not applicable")}.get(
            value, _("Not answered")
        )
    if item.get("value_label"):
        return pick(item["value_label"], lang)
    if item["type"] in ("text", "signature") and item.get("answered") and value is None:
        return _("Answered (not published)")
    if value in (None, ""):
        return _("Not answered")
    return str(value)


def source_label(source: str, _: Callable[..., str]) -> str:
    return {"auto": _("agents' data"), "override": _("changed by the inspection team")}.get(
        source, _("inspection team")
    )


def evidence_lines(text: str | None, lang: str, titles: dict[str, str]) -> list[str]:
    """The stored evidence sentence in the document's language, one line per failing device."""
    _ = translator(lang)

    def name(check: str) -> str:
        cid, sep, target = check.partition(" [")
        return f"{titles[cid]}{sep}{target}" if cid in titles else check

    ev = parse_evidence(text)
    if ev.kind == "fail":
        lines = [_("%(failing)s of %(total)s devices fail:", failing=ev.failing, total=ev.total)]
        lines += [f"{host}: {'; '.join(name(c) for c in checks)}" for host, checks in ev.devices]
        if ev.more:
            lines.append(_("and %(n)s more devices", n=ev.more))
        return lines
    if ev.kind == "pass":
        return [
            _("All %(total)s devices pass:", total=ev.total) + " " + "; ".join(name(c) for c in ev.checks)
        ]
    if ev.kind == "none":
        return [_("No agent has reported on this at this site yet: answer it on site.")]
    return [ev.text[:800]]


def record_document(
    doc: dict[str, Any],
    *,
    issuer: Issuer,
    photos: Sequence[tuple[str, bytes]] = (),
    lang: str = "vi",
) -> AdminDocument:
    """The inspection record of a published document; ``photos`` are (item id, image bytes)."""
    _ = translator(lang)
    public = bool(doc.get("public"))
    titles = _check_titles(lang)
    site = doc["site"]
    insp = doc["inspection"]
    number = doc.get("document", {}).get("number")
    issued_on = _local_date(doc["published_at"]) or date.today()
    inspected_on = _local_date(insp.get("signed_at")) or issued_on
    site_name = site["name"]
    checklist = pick(doc["checklist"]["title"], lang)
    intro = [
        Para(
            _(
                "On %(date)s, at %(site)s, the inspection team inspected information security against "
                "the checklist “%(checklist)s” and recorded the following.",
                date=format_date(inspected_on, lang),
                site=site_name,
                checklist=checklist,
            )
        )
    ]
    if public:
        intro.append(
            Para(
                _(
                    "Public version: device names, network addresses, serial numbers, user names and the "
                    "details of the evidence are left out; the full record is kept by the issuing unit."
                ),
                italic=True,
            )
        )
    sections: list[Section] = []
    # I. Who inspected whom.
    people = [(_("Inspected site"), f"{site_name} ({site['code']})")]
    lead = insp.get("lead") or {}
    if lead.get("name"):
        people.append(
            (_("Lead inspector"), lead["name"] + (f", {lead['position']}" if lead.get("position") else ""))
        )
    if insp.get("team"):
        people.append((_("Inspection team"), insp["team"]))
    sections.append(Section(_("Inspection team and inspected site"), [Fields(people)]))
    # II. Results.
    score = doc["score"]
    overall = "—" if score["overall"] is None else f"{score['overall']}"
    verdict = _("Passed") if score["passed"] else _("Not passed")
    results: list[Any] = [
        Para(
            _(
                "Compliance score: %(score)s / 100 (pass threshold %(threshold)s): %(verdict)s.",
                score=overall,
                threshold=score["threshold"],
                verdict=verdict,
            ),
            bold=True,
        )
    ]
    trend = doc.get("trend")
    if trend and trend.get("change") is not None:
        results.append(
            Para(
                _(
                    "Previous inspection (%(date)s): %(previous)s; change %(change)s.",
                    date=format_date(_local_date(trend["previous_published_at"]), lang),
                    previous=trend["previous_score"],
                    change=f"{trend['change']:+}",
                )
            )
        )
    results.append(
        Grid(
            [Column(_("Group of checks"), 5), Column(_("Score"), 1.2, "RIGHT")],
            [
                [pick(s["title"], lang), "—" if s["score"] is None else str(s["score"])]
                for s in score["sections"]
            ],
        )
    )
    sections.append(Section(_("Inspection results"), results))
    # III. Findings.
    findings: list[Any] = []
    if not doc["findings"]:
        findings.append(Para(_("No findings.")))
    for n, f in enumerate(doc["findings"], start=1):
        severity = severity_label(f["severity"], _).lower()
        findings.append(
            Para(f"{n}. {pick(f['label'], lang)} ({_('Severity').lower()}: {severity})", indent=False)
        )
        details = []
        if f.get("note"):
            details.append(_("Note") + ": " + f["note"])
        if f.get("evidence"):
            first, *more = evidence_lines(f["evidence"], lang, titles)
            details.append(_("Agents' evidence") + ": " + first)
            details.extend(more)
        if f.get("failing_devices") is not None:
            details.append(_("Devices that fail: %(n)s", n=f["failing_devices"]))
        if details:
            findings.append(Bullets(details))
    sections.append(Section(_("Findings"), findings))
    # IV. Actions.
    actions = [
        [
            str(n),
            a["title"] + (f" ({_('carried over')})" if a.get("carried_over") else ""),
            severity_label(a["severity"], _),
            a.get("owner") or "—",
            format_date(date.fromisoformat(a["due_date"]), lang),
            action_status_label(a["status"], _),
        ]
        for n, a in enumerate(doc["actions"], start=1)
    ]
    columns = [
        Column(_("No."), 1.0, "CENTER"),
        Column(_("Action to take"), 5),
        Column(_("Severity"), 1.6),
        Column(_("Owner"), 2),
        Column(_("Due date"), 1.8),
        Column(_("Status"), 1.8),
    ]
    if public:
        columns.pop(3)
        actions = [row[:3] + row[4:] for row in actions]
    sections.append(
        Section(
            _("Remediation: actions to take"),
            [Grid(columns, actions)] if actions else [Para(_("No actions."))],
        )
    )
    # V. Every item.
    items = [
        [
            str(n),
            pick(item["label"], lang),
            answer_label(item, lang, _),
            source_label(item.get("source", "manual"), _),
        ]
        for n, item in enumerate((i for i in doc["items"] if i["type"] != "photo"), start=1)
    ]
    ev = doc["evidence_summary"]
    sections.append(
        Section(
            _("Result of every check"),
            [
                Grid(
                    [
                        Column(_("No."), 1.0, "CENTER"),
                        Column(_("Check"), 5.5),
                        Column(_("Result"), 1.8),
                        Column(_("Answered from"), 2.2),
                    ],
                    items,
                    size=10.5,
                ),
                Para(
                    _(
                        "Items answered from agent evidence: %(auto)s; changed by the inspection team: "
                        "%(overridden)s; photos: %(photos)s.",
                        auto=ev["automatic_items"],
                        overridden=ev["overridden_by_inspectors"],
                        photos=ev["photos"],
                    ),
                    italic=True,
                ),
            ],
        )
    )
    # VI. Photos (the full record only: a photo may show a screen or a label).
    if photos and not public:
        labels = {i["id"]: pick(i["label"], lang) for i in doc["items"]}
        sections.append(
            Section(
                _("Photos"),
                [
                    Photo(data, _("Photo %(n)s: %(item)s", n=n, item=labels.get(item_id, item_id)))
                    for n, (item_id, data) in enumerate(photos, start=1)
                ],
            )
        )
    sections.append(
        Section(
            _("Closing"),
            [
                Para(
                    _(
                        "This record was signed off on %(signed)s and published on %(published)s with the "
                        "code %(code)s. It is signed digitally; its electronic copy is the original.",
                        signed=format_date(inspected_on, lang),
                        published=format_date(issued_on, lang),
                        code=doc["id"],
                    )
                )
            ],
        )
    )
    signer_info = insp.get("signer") or {}
    is_lead = bool(signer_info.get("is_lead"))
    signer = Signer(
        capacity=_("LEAD INSPECTOR") if is_lead else _("APPROVED BY"),
        position=signer_info.get("position") or "",
        full_name=signer_info.get("name") or "",
    )
    return AdminDocument(
        issuer=issuer,
        doc_type=_("INSPECTION RECORD"),
        symbol=RECORD_SYMBOL,
        number=number,
        summary=_("Information security inspection at %(site)s", site=site["name"]),
        issued_on=issued_on,
        lang=lang,
        intro=intro,
        sections=sections,
        signer=signer,
        recipients=[site["name"], _("Filed: records office, %(unit)s", unit=issuer.unit_code)],
        title=f"{_('INSPECTION RECORD')} — {site['name']}",
        created_at=datetime.fromisoformat(doc["published_at"]),
    )
