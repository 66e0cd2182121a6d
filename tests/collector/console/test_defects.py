"""The defects met while trying the console as a city technician and a planner would, one test each
(SQLite and PostgreSQL). The CLI ones live with the CLI tests, the browser ones with the browser tests."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from collector.models.findings import Finding
from collector.models.inspections import Inspection
from collector.pdf.layout import Issuer
from inventory.facts import SystemFacts
from inventory.report import CheckResult, CheckStatus
from tests.collector.inspections.support import (
    answer_all,
    create,
    seeded,  # noqa: F401  (the inspections' seeded fixture)
)
from tests.collector.planning.seed import login
from tests.helpers import enroll, host_report, post_report, seed_site


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_enroll_command_shown_names_the_collector(client: Any, app: Any) -> None:
    seed_site(app.state.engine, "P01", "Phường Phúc Xá")
    csrf = login(client, app.state.engine, username="an", role="admin")["csrf"]
    page = client.post("/admin/enroll-secrets", data={"site": "P01", "label": "", "csrf_token": csrf})
    assert page.status_code == 200
    command = re.search(r"wardwatch agent enroll --collector (\S+) --secret (wwe_\S+)</p>", page.text)
    assert command, "the command lacks the collector URL"
    assert command.group(1) == "http://testserver"
    # Behind a reverse proxy the configured public address is the one agents must use.
    app.state.settings.public_url = "https://wardwatch.hanoi.gov.vn/"
    page = client.post("/admin/enroll-secrets", data={"site": "P01", "label": "", "csrf_token": csrf})
    assert "--collector https://wardwatch.hanoi.gov.vn --secret wwe_" in page.text


def _signed_inspection(client: Any, headers: dict[str, str], site: str = "P01") -> dict[str, Any]:
    insp = create(client, headers, site=site)
    answer_all(client, headers, insp, fail={"offline_backup", "antivirus"})
    signed = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff", json={"signature_name": "Lân"}, headers=headers
    )
    assert signed.status_code == 200, signed.text
    return signed.json()


def test_open_actions_say_which_site_and_inspection(client: Any, app: Any, seeded: Any) -> None:  # noqa: F811
    first = _signed_inspection(client, seeded.inspector)
    login(client, app.state.engine, username="lan.nguyen", role="inspector")
    page = client.get("/inspections").text
    table = page.split('id="open-actions"', 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th>([^<]+)</th>", table)
    assert header[:3] == ["Việc cần làm", "Đơn vị", "Cuộc kiểm tra"], header
    rows = re.findall(r'<tr id="action-\d+".*?</tr>', table, re.S)
    assert rows and len(rows) == len(first["actions"])
    for row in rows:
        assert 'href="/sites/P01">Phường Bến Nghé</a>' in row
        assert f'href="/inspections/{first["id"]}">#{first["id"]}</a>' in row
    # On one inspection's own page the columns would only repeat the page's title: not shown there.
    own = client.get(f"/inspections/{first['id']}").text
    assert "with-context" not in own


def test_a_risk_accepted_until_a_day_shows_that_day(client: Any, app: Any) -> None:
    secret = seed_site(app.state.engine, "P01", "Phường Phúc Xá")
    agent = enroll(client, secret, "pc-01")
    failing = [CheckResult(check_id="host.firewall.enabled", status=CheckStatus.FAIL, evidence="off")]
    assert post_report(client, agent, host_report(agent.agent_id, results=failing)).status_code == 202
    with Session(app.state.engine) as s:
        finding_id = s.exec(select(Finding.id)).one()
    csrf = login(client, app.state.engine, username="tech", role="technician")["csrf"]
    form = client.get(f"/findings/{finding_id}").text
    assert re.search(r'<form method="post" action="/findings/\d+/accept" class="stack">', form)
    day = date.today() + timedelta(days=30)
    done = client.post(
        f"/findings/{finding_id}/accept",
        data={"reason": "Chờ thay máy mới", "until": day.isoformat(), "csrf_token": csrf},
    )
    assert done.status_code == 200
    shown = re.search(r'id="accepted-until">([^ ]+) ', done.text)
    assert shown and shown.group(1) == day.strftime("%d/%m/%Y"), shown
    assert f"Đã chấp nhận rủi ro đến ngày {day:%d/%m/%Y}" in _text(done.text)
    with Session(app.state.engine) as s:
        until = s.get(Finding, finding_id).accepted_until  # type: ignore[union-attr]
    # The end of that day in Vietnam: 16:59:59 UTC.
    assert until.astimezone(UTC) == datetime(day.year, day.month, day.day, 16, 59, 59, tzinfo=UTC)


def _vm_world(client: Any, app: Any) -> None:
    secret = seed_site(app.state.engine, "P01", "Phường Phúc Xá")
    for n in (1, 2):
        agent = enroll(client, secret, f"vm-{n}")
        system = SystemFacts(
            hostname=f"vm-{n}", vendor="QEMU", model="Standard PC", chassis="vm", virtual=True
        )
        report = host_report(
            agent.agent_id, hostname=f"vm-{n}", machine_id=f"vm{n}", serial=None, system=system
        )
        assert post_report(client, agent, report).status_code == 202


def test_an_empty_plan_says_the_real_reason(client: Any, app: Any) -> None:
    _vm_world(client, app)
    login(client, app.state.engine, username="ke.hoach", role="planner")
    page = client.get("/planning", params={"budget": "500.000.000"}).text
    empty = re.search(r'<p id="plan-empty">([^<]+)</p>', page)
    assert empty and "máy ảo (2)" in empty.group(1) and "kinh phí" not in empty.group(1), empty
    english = client.get("/planning", params={"budget": "500000000", "lang": "en"}).text
    assert "the only devices are virtual machines (2): there is nothing to buy" in english
    # The downloads say it too.
    exported = client.get("/planning/plan.json", params={"budget": "500000000", "lang": "vi"}).json()
    assert any("máy ảo" in n for n in exported["notes"])


def test_an_empty_plan_blames_the_budget_only_when_it_is_the_budget(client: Any, app: Any) -> None:
    from collector.services.planning import Candidate, PlanRules, build_plan, render_reason

    pc = Candidate(1, "pc-1", "P01", "Phường 1", "desktop", 80, "replace_now", 15_000_000)
    short = build_plan([pc], PlanRules(budget=5_000_000))
    assert render_reason(short.notes[0], "vi").startswith("kinh phí không đủ cho thiết bị nào")
    healthy = build_plan(
        [Candidate(1, "pc-1", "P01", "Phường 1", "desktop", 3, "healthy", 15_000_000)],
        PlanRules(budget=10**9),
    )
    assert short.notes[0]["code"] == "empty_budget" and healthy.notes[0]["code"] == "empty_none_needed"
    assert build_plan([], PlanRules(budget=10**9)).notes[0]["code"] == "empty_no_devices"


def test_a_virtual_machine_is_said_once(client: Any, app: Any) -> None:
    _vm_world(client, app)
    login(client, app.state.engine, username="tech", role="technician")
    with Session(app.state.engine) as s:
        from collector.models.core import Device

        device_id = s.exec(select(Device.id).where(Device.hostname == "vm-1")).one()
    for path in (f"/devices/{device_id}", f"/devices/{device_id}/hardware"):
        shown = re.search(r'<dd id="form-factor">(.*?)</dd>', client.get(path).text, re.S)
        assert shown and _text(shown.group(1)).strip() == "máy ảo", shown


def test_scores_use_a_decimal_comma_on_vietnamese_pages(client: Any, app: Any, seeded: Any) -> None:  # noqa: F811
    insp = _signed_inspection(client, seeded.inspector)
    login(client, app.state.engine, username="lan.nguyen", role="inspector")
    score = insp["score"]["overall"]
    assert score != int(score), "the seeded inspection should have a fractional score"
    vi = f"{score:.1f}".replace(".", ",")
    page = client.get("/inspections").text
    assert f">{vi}</span>" in page and f">{score:.1f}</span>" not in page
    fill = client.get(f"/inspections/{insp['id']}").text
    assert f"<strong>{vi}</strong> / 100" in fill
    english = client.get("/inspections", params={"lang": "en"}).text
    assert f">{score:.1f}</span>" in english


def test_names_and_dates_follow_vietnam_time(client: Any, app: Any, seeded: Any) -> None:  # noqa: F811
    from collector.reports.planning_report import plan_filename
    from collector.services.planning import PlanRules, build_plan
    from collector.services.publishing import publish

    # 20:30 UTC on 1 March is 03:30 on 2 March in Hà Nội: files and slugs carry the 2nd.
    late = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
    plan = build_plan([], PlanRules(budget=0), generated_at=late)
    assert plan_filename(plan, "xlsx") == "ke-hoach-thay-the-20260302.xlsx"
    insp = _signed_inspection(client, seeded.inspector)
    with Session(app.state.engine) as s:
        row = s.get(Inspection, insp["id"])
        pub = publish(
            s,
            row,  # type: ignore[arg-type]
            data_dir=app.state.settings.data_dir,
            actor="lan.nguyen",
            issuer=Issuer.from_settings(app.state.settings),
            now=late,
        )
        s.commit()
        assert re.fullmatch(r"p01-20260302-[0-9a-f]{8}", pub.slug), pub.slug
