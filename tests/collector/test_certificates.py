"""Certificate inventory in the collector: ingest, GET /api/v1/certificates, calendar and tabs.

Runs on SQLite and on PostgreSQL (``database_url`` is parametrised).
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from collector.models.certificates import DeviceCertificate, SignedDocumentRow, TlsEndpointRow
from collector.models.core import DeviceResult
from inventory.report import CheckResult, CheckStatus
from tests.collector.support import section
from tests.helpers import PASSWORD, enroll, host_report, post_report, seed_site, user_token


def results() -> list[CheckResult]:
    return [
        CheckResult(
            check_id="cert.signing.validity",
            status=CheckStatus.FAIL,
            evidence="expired",
            target=f"Trần Thị Bình [{'b' * 16}]",
        ),
        CheckResult(
            check_id="cert.signing.validity",
            status=CheckStatus.PASS,
            evidence="valid",
            target=f"Nguyễn Văn An [{'a' * 16}]",
        ),
    ]


def send(client: Any, app: Any, code: str = "P01", hostname: str = "ubnd-pc-01", **kw: Any) -> int:
    agent = enroll(client, seed_site(app.state.engine, code=code, name=f"UBND {code}"), hostname=hostname)
    report = host_report(
        agent.agent_id,
        hostname=hostname,
        machine_id=f"mid-{code}",
        serial=f"SN-{code}",
        certificates=section(**kw),
        results=results(),
    )
    r = post_report(client, agent, report)
    assert r.status_code == 202, r.text
    return r.json()["device_id"]


def test_ingest_stores_the_inventory_without_trust_store_roots(client: Any, app: Any) -> None:
    device_id = send(client, app)
    with Session(app.state.engine) as s:
        rows = s.exec(select(DeviceCertificate).where(DeviceCertificate.device_id == device_id)).all()
        assert sorted((r.subject_cn, r.role) for r in rows) == [
            ("Nguyễn Văn An", "signing"),
            ("Trần Thị Bình", "signing"),
            ("dichvucong.hanoi.gov.vn", "tls"),
        ]
        assert s.exec(select(TlsEndpointRow)).one().tls10_accepted is True
        assert s.exec(select(SignedDocumentRow)).one().status == "revoked"
        targets = {r.target for r in s.exec(select(DeviceResult).where(DeviceResult.status == "fail")).all()}
        assert f"Trần Thị Bình [{'b' * 16}]" in targets, "one result per certificate, so one finding each"


def test_api_lists_soonest_first_and_filters_by_window_and_site(client: Any, app: Any) -> None:
    send(client, app, code="P01")
    send(client, app, code="P02", hostname="ubnd-pc-02")
    headers = user_token(client, app.state.engine, username="admin1", role="admin")
    everything = client.get("/api/v1/certificates", headers=headers).json()
    assert [e["subject_cn"] for e in everything][:2] == ["Trần Thị Bình", "Trần Thị Bình"]
    assert all(
        everything[i]["not_after"] <= everything[i + 1]["not_after"] for i in range(len(everything) - 1)
    )
    soon = client.get("/api/v1/certificates?expiring_within_days=15&site=P02", headers=headers).json()
    assert {(e["subject_cn"], e["site"]) for e in soon} == {
        ("Trần Thị Bình", "P02"),
        ("dichvucong.hanoi.gov.vn", "P02"),
    }
    expired = next(e for e in soon if e["subject_cn"] == "Trần Thị Bình")
    assert (
        expired["days_left"] < 0
        and expired["status"] == "expired"
        and expired["reasons"] == ["expired reason"]
    )
    token = client.get(
        "/api/v1/certificates?role=signing&expiring_within_days=30&site=P01", headers=headers
    ).json()
    an = next(e for e in token if e["subject_cn"] == "Nguyễn Văn An")
    assert an["key_on_token"] is True and an["key_provider"] == "VNPT-CA CSP" and an["days_left"] == 20


def test_api_is_site_scoped(client: Any, app: Any) -> None:
    send(client, app, code="P01")
    send(client, app, code="P02", hostname="ubnd-pc-02")
    headers = user_token(client, app.state.engine, username="xem-p01", role="viewer", sites=["P01"])
    mine = client.get("/api/v1/certificates", headers=headers).json()
    assert mine and {e["site"] for e in mine} == {"P01"}
    assert client.get("/api/v1/certificates?site=P02", headers=headers).status_code == 404
    assert client.get("/api/v1/certificates?site=NOPE", headers=headers).status_code == 404
    assert client.get("/api/v1/certificates").status_code == 401


def test_a_certificate_gone_from_the_pc_leaves_the_inventory(client: Any, app: Any) -> None:
    agent = enroll(client, seed_site(app.state.engine))
    first = host_report(agent.agent_id, certificates=section())
    post_report(client, agent, first)
    with Session(app.state.engine) as s:
        an = s.exec(select(DeviceCertificate).where(DeviceCertificate.subject_cn == "Nguyễn Văn An")).one()
        first_seen = an.first_seen_at
    post_report(client, agent, host_report(agent.agent_id, certificates=section(with_expired=False)))
    with Session(app.state.engine) as s:
        names = {r.subject_cn for r in s.exec(select(DeviceCertificate)).all()}
        assert "Trần Thị Bình" not in names and "Nguyễn Văn An" in names
        an = s.exec(select(DeviceCertificate).where(DeviceCertificate.subject_cn == "Nguyễn Văn An")).one()
        assert an.first_seen_at == first_seen


def _web_login(client: Any, app: Any, username: str, role: str, sites: list[str] | None = None) -> None:
    from collector.db import session_scope
    from collector.services.users import create_user

    with session_scope(app.state.engine) as s:
        create_user(s, username=username, password=PASSWORD, role=role, site_codes=sites or [])
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text


def test_calendar_and_tabs_in_vietnamese(client: Any, app: Any) -> None:
    device_id = send(client, app)
    send(client, app, code="P02", hostname="ubnd-pc-02")
    _web_login(client, app, "canbo", "technician", sites=["P01"])
    cal = client.get("/certificates?days=30")
    assert cal.status_code == 200
    assert "Lịch hết hạn chứng thư số" in cal.text
    assert "Đã hết hạn" in cal.text and "Trần Thị Bình" in cal.text and "Nguyễn Văn An" in cal.text
    assert "ubnd-pc-02" not in cal.text, "a scoped technician sees only their site"
    assert client.get("/certificates?site=P02").status_code == 404
    site_tab = client.get("/sites/P01/certificates")
    assert site_tab.status_code == 200
    assert "Chứng thư số" in site_tab.text and "thiết bị lưu khóa (USB token)" in site_tab.text
    assert "https://dichvucong.hanoi.gov.vn" in site_tab.text and "Bị thu hồi" in site_tab.text
    device_tab = client.get(f"/devices/{device_id}/certificates")
    assert (
        device_tab.status_code == 200 and "Nguyễn Văn An" in device_tab.text and "Hết hạn" in device_tab.text
    )
    assert client.get("/sites/P02/certificates").status_code == 404
    other = client.get(
        "/api/v1/devices", headers=user_token(client, app.state.engine, username="adm", role="admin")
    ).json()
    other_id = next(d["id"] for d in other if d["hostname"] == "ubnd-pc-02")
    assert client.get(f"/devices/{other_id}/certificates").status_code == 404


def test_failing_certificate_checks_open_one_finding_each_with_the_raised_severity(
    client: Any, app: Any
) -> None:
    """End to end: the agent's real checks over a real section -> results -> findings in the collector."""
    from checks.runner import run_checks
    from inventory.facts import Facts

    facts = section()
    checked = [
        r for r in run_checks(Facts(certificates=facts), modules=["certs"]) if r.status is CheckStatus.FAIL
    ]
    agent = enroll(client, seed_site(app.state.engine))
    r = post_report(client, agent, host_report(agent.agent_id, certificates=facts, results=checked))
    assert r.status_code == 202
    headers = user_token(client, app.state.engine, username="adm2", role="admin")
    found = client.get("/api/v1/findings", headers=headers).json()
    by = {(f["check_id"], f["target"]): f for f in found}
    assert by[("cert.signing.validity", f"Trần Thị Bình [{'b' * 16}]")]["severity"] == "critical"
    assert (
        by[("cert.signing.expiring", f"Nguyễn Văn An [{'a' * 16}]")]["severity"] == "medium"
    )  # 20 days: 30-day window
    assert (
        by[("cert.tls.expiring", "https://dichvucong.hanoi.gov.vn")]["severity"] == "high"
    )  # 10 days: 14-day window
    assert by[("cert.tls.legacy_protocols", "https://dichvucong.hanoi.gov.vn")]["severity"] == "high"
    assert by[("cert.tls.hsts", "https://dichvucong.hanoi.gov.vn")]["severity"] == "low"
    assert by[("doc.signature.revocation", r"D:\VanBan\QD-12.pdf#ChuKy1")]["severity"] == "critical"


def test_calendar_pages_soonest_first_by_keyset(client: Any, app: Any) -> None:
    from collector.services import certificates as svc

    send(client, app)
    _web_login(client, app, "canbo2", "technician", sites=["P01"])
    whole = client.get("/certificates?days=30").text
    assert 'rel="next"' not in whole and "Trần Thị Bình" in whole and "Nguyễn Văn An" in whole
    saved = svc.calendar_page.__kwdefaults__["limit"]
    svc.calendar_page.__kwdefaults__["limit"] = 1
    try:
        first = client.get("/certificates?days=30").text
        assert "Trần Thị Bình" in first and "Nguyễn Văn An" not in first  # expired first
        pages = [first]
        while nxt := re.search(r'<a href="([^"]+)" rel="next"', pages[-1]):
            pages.append(client.get(nxt.group(1).replace("&amp;", "&")).text)
            assert 'rel="prev"' in pages[-1] and len(pages) < 10
        # Every certificate of the window once, on one page each, the expired one first.
        assert len(pages) == whole.count("<tr") - whole.count("<thead") > 1
        assert [i for i, p in enumerate(pages) if "Trần Thị Bình" in p] == [0]
        assert len([p for p in pages if "Nguyễn Văn An" in p]) == 1
        assert "Trần Thị Bình" in client.get("/certificates?days=30&cursor=nonsense").text
    finally:
        svc.calendar_page.__kwdefaults__["limit"] = saved
