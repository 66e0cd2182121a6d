"""Findings open, resolve and reopen from real reports; risk acceptance; compliance; site scoping.
Runs on SQLite and PostgreSQL (the ``client`` fixture is parametrised over both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from collector.models.findings import Finding
from collector.services.findings import accept_risk
from inventory.report import CheckResult, CheckStatus, ReportKind
from tests.helpers import enroll, host_report, post_report, seed_site, user_token


def fail(check_id: str, evidence: str = "bad", target: str = "", **observed: object) -> CheckResult:
    return CheckResult(
        check_id=check_id, status=CheckStatus.FAIL, evidence=evidence, target=target, observed=observed
    )


def ok(check_id: str, evidence: str = "good", target: str = "") -> CheckResult:
    return CheckResult(check_id=check_id, status=CheckStatus.PASS, evidence=evidence, target=target)


def na(check_id: str) -> CheckResult:
    return CheckResult(check_id=check_id, status=CheckStatus.NOT_APPLICABLE, evidence="fact not collected")


def send(client, agent, *results: CheckResult, modules: list[str] | None = None, **kw):  # type: ignore[no-untyped-def]
    report = host_report(agent.agent_id, results=list(results), **kw)
    report.modules = modules or []
    r = post_report(client, agent, report)
    assert r.status_code == 202, r.text
    return r.json()["device_id"]


def setup(client, app, site: str = "P01", hostname: str = "pc-01"):  # type: ignore[no-untyped-def]
    agent = enroll(client, seed_site(app.state.engine, code=site, name=f"Phường {site}"), hostname)
    return agent


def test_failure_opens_a_finding_with_severity_and_due_date(client, app):
    agent = setup(client, app)
    send(client, agent, fail("host.firewall.enabled", "ufw off"), ok("host.os.supported"))
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    assert (f["check_id"], f["status"], f["severity"], f["known"], f["site"]) == (
        "host.firewall.enabled",
        "open",
        "high",
        True,
        "P01",
    )
    assert f["title"]["vi"] == "Tường lửa trên máy được bật"
    first_seen = datetime.fromisoformat(f["first_seen_at"])
    assert datetime.fromisoformat(f["due_at"]) - first_seen == timedelta(days=30)
    detail = client.get(f"/api/v1/findings/{f['id']}", headers=admin).json()
    assert [e["kind"] for e in detail["history"]] == ["opened"]
    assert "ufw" in detail["remediation"]["en"] and detail["references"]


def test_pass_resolves_and_a_later_failure_reopens_keeping_history(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(client, agent, fail("host.services.no_telnet", "telnet is listening: 0.0.0.0:23"))
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    send(client, agent, ok("host.services.no_telnet", "nothing listens for telnet"))
    resolved = client.get(f"/api/v1/findings/{f['id']}", headers=admin).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    send(client, agent, fail("host.services.no_telnet", "telnet is listening: 0.0.0.0:23 (inetd)"))
    again = client.get(f"/api/v1/findings/{f['id']}", headers=admin).json()
    assert again["status"] == "open" and again["reopen_count"] == 1 and again["resolved_at"] is None
    assert again["first_seen_at"] == f["first_seen_at"] and again["opened_at"] > f["opened_at"]
    assert [e["kind"] for e in again["history"]] == ["reopened", "resolved", "opened"]
    assert again["history"][0]["evidence"].endswith("(inetd)")
    # Still one finding: identity is device + check + target.
    assert len(client.get("/api/v1/findings", headers=admin).json()) == 1


def test_evidence_changes_are_kept_and_unchanged_repeats_add_nothing(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(client, agent, fail("host.updates.recent", "last update 40 days ago"))
    send(client, agent, fail("host.updates.recent", "last update 40 days ago"))
    send(client, agent, fail("host.updates.recent", "last update 41 days ago"))
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    history = client.get(f"/api/v1/findings/{f['id']}", headers=admin).json()["history"]
    assert [(e["kind"], e["evidence"]) for e in history] == [
        ("evidence", "last update 41 days ago"),
        ("opened", "last update 40 days ago"),
    ]


def test_observed_severity_overrides_the_catalog_and_brings_the_due_date_forward(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(client, agent, fail("host.updates.recent", "40 days"))
    send(client, agent, fail("host.updates.recent", "80 days", severity="critical"))
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    assert f["severity"] == "critical"
    opened = datetime.fromisoformat(f["opened_at"])
    assert datetime.fromisoformat(f["due_at"]) - opened == timedelta(days=15)


def test_unknown_check_ids_are_kept_and_shown_as_unknown(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(client, agent, fail("vendor.future_check", "something new"))
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    assert (f["check_id"], f["known"], f["title"], f["severity"], f["evidence"]) == (
        "collector.unknown_checks",
        False,
        None,
        "medium",
        "vendor.future_check",
    )
    device = client.get(f"/api/v1/devices/{f['device_id']}", headers=admin).json()
    assert [r["check_id"] for r in device["results"]] == ["vendor.future_check"]


def test_unknown_checks_open_one_finding_are_bounded_and_replaced_by_their_module(client, app):
    # A newer agent (or a broken one) sends thousands of ids this collector does not know.
    app.state.settings.report_max_unknown_results = 50
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    flood = [fail(f"vendor.check_{i:05d}", target=f"item-{i}") for i in range(400)]
    device_id = send(client, agent, fail("host.firewall.enabled", "ufw off"), *flood)
    findings = client.get("/api/v1/findings?status=open", headers=admin).json()
    assert sorted(f["check_id"] for f in findings) == ["collector.unknown_checks", "host.firewall.enabled"]
    unknown = next(f for f in findings if not f["known"])
    assert unknown["evidence"].startswith("vendor.check_00000 [item-0], ") and unknown["evidence"].endswith(
        "(+30)"
    )
    results = client.get(f"/api/v1/devices/{device_id}", headers=admin).json()["results"]
    assert len(results) == 51  # the known result and 50 unknown ones
    # Another flood later still keeps the device at the bound.
    send(client, agent, *[fail(f"vendor.other_{i}") for i in range(100)], modules=["lan"])
    results = client.get(f"/api/v1/devices/{device_id}", headers=admin).json()["results"]
    assert len([r for r in results if r["check_id"].startswith("vendor.")]) == 50
    # A lan-only report does not speak for host checks: the unknown ones of the host stay...
    assert client.get("/api/v1/findings?status=open", headers=admin).json()[0]["id"]
    # ...and the next full report of their module (checks) without them replaces them all.
    send(client, agent, ok("host.firewall.enabled"), modules=["checks"])
    results = client.get(f"/api/v1/devices/{device_id}", headers=admin).json()["results"]
    assert [r["check_id"] for r in results] == ["host.firewall.enabled"]
    assert client.get("/api/v1/findings?status=open", headers=admin).json() == []
    history = client.get(f"/api/v1/findings/{unknown['id']}", headers=admin).json()["history"]
    assert [e["kind"] for e in history][0] == "resolved"


def test_findings_opened_per_unknown_id_before_are_closed_into_one(client, app):
    from collector.models.core import Device

    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    device_id = send(client, agent, fail("host.firewall.enabled"))
    now = datetime.now(UTC)
    with Session(app.state.engine) as s:  # what the collector stored before: one finding per id
        site_id = s.get(Device, device_id).site_id  # type: ignore[union-attr]
        for i in range(3):
            s.add(
                Finding(
                    device_id=device_id, site_id=site_id, check_id=f"vendor.old_{i}", known=False,
                    severity="medium", status="open", first_seen_at=now, last_seen_at=now, opened_at=now,
                )
            )  # fmt: skip
        s.commit()
    send(client, agent, fail("host.firewall.enabled"), fail("vendor.old_0"))
    open_ids = sorted(f["check_id"] for f in client.get("/api/v1/findings?status=open", headers=admin).json())
    assert open_ids == ["collector.unknown_checks", "host.firewall.enabled"]


def test_target_is_part_of_the_identity(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(
        client,
        agent,
        fail("host.disk.free_space", "C: 97%", target="C:\\"),
        ok("host.disk.free_space", target="D:\\"),
    )
    send(
        client,
        agent,
        fail("host.disk.free_space", "C: 97%", target="C:\\"),
        fail("host.disk.free_space", target="D:\\"),
    )
    rows = client.get("/api/v1/findings?check=host.disk.free_space", headers=admin).json()
    assert sorted(r["target"] for r in rows) == ["C:\\", "D:\\"]


def test_a_check_no_longer_reported_in_a_full_report_resolves_but_heartbeats_and_deltas_do_not(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(client, agent, fail("host.disk.free_space", "E: full", target="E:\\"), ok("host.os.supported"))
    send(client, agent, kind=ReportKind.HEARTBEAT)
    assert client.get("/api/v1/findings?status=open", headers=admin).json()
    send(client, agent, ok("host.os.supported"))  # the USB disk E: is gone
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    assert f["status"] == "resolved"
    history = client.get(f"/api/v1/findings/{f['id']}", headers=admin).json()["history"]
    assert history[0]["kind"] == "gone"


def test_not_applicable_and_error_leave_a_finding_as_it_is(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    send(client, agent, fail("host.time.synchronized", "w32time off"))
    send(client, agent, na("host.time.synchronized"))
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    assert f["status"] == "open"


def test_risk_acceptance_holds_until_expiry(client, app):
    agent = setup(client, app)
    tech = user_token(client, app.state.engine, username="tech", role="technician")
    viewer = user_token(client, app.state.engine, username="view", role="viewer")
    send(client, agent, fail("host.services.no_smb1", "SMBv1 on"))
    (f,) = client.get("/api/v1/findings", headers=tech).json()
    until = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    body = {"reason": "Máy in cũ chỉ hỗ trợ SMBv1; thay thế trong quý tới", "until": until}
    assert client.post(f"/api/v1/findings/{f['id']}/accept", json=body, headers=viewer).status_code == 403
    assert (
        client.post(f"/api/v1/findings/{f['id']}/accept", json={"until": until}, headers=tech).status_code
        == 422
    )
    past = {**body, "until": "2020-01-01"}
    r = client.post(f"/api/v1/findings/{f['id']}/accept", json=past, headers=tech)
    assert r.status_code == 400 and "future" in r.json()["detail"]
    r = client.post(f"/api/v1/findings/{f['id']}/accept", json=body, headers=tech)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "accepted" and got["accepted_by"] == "tech"
    assert got["accepted_until"].startswith(until) and got["history"][0]["note"] == body["reason"]
    send(client, agent, fail("host.services.no_smb1", "SMBv1 on"))  # still failing: stays accepted
    assert client.get("/api/v1/findings?status=accepted", headers=tech).json()[0]["id"] == f["id"]
    assert client.get("/api/v1/findings?status=open", headers=tech).json() == []


def test_an_expired_acceptance_counts_as_open_again(client, app):
    agent = setup(client, app)
    tech = user_token(client, app.state.engine, username="tech", role="technician")
    send(client, agent, fail("host.services.no_smb1", "SMBv1 on"))
    (f,) = client.get("/api/v1/findings", headers=tech).json()
    long_ago = datetime.now(UTC) - timedelta(days=90)
    with Session(app.state.engine) as s:
        accept_risk(
            s,
            finding_id=f["id"],
            scope=None,
            actor="tech",
            reason="accepted last quarter",
            until=long_ago + timedelta(days=30),
            now=long_ago,
        )
        s.commit()
    (row,) = client.get("/api/v1/findings?status=open", headers=tech).json()
    assert row["id"] == f["id"] and row["status"] == "open"
    send(client, agent, fail("host.services.no_smb1", "SMBv1 on"))
    with Session(app.state.engine) as s:
        assert s.get(Finding, f["id"]).status == "open"  # type: ignore[union-attr]
    kinds = [e["kind"] for e in client.get(f"/api/v1/findings/{f['id']}", headers=tech).json()["history"]]
    assert kinds == ["expired", "accepted", "opened"]


def test_filters(client, app):
    agent = setup(client, app)
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    device = send(
        client,
        agent,
        fail("host.firewall.enabled"),
        fail("host.password.max_age"),
        fail("host.os.supported"),
        ok("host.services.no_telnet"),
    )
    get = lambda q: [r["check_id"] for r in client.get(f"/api/v1/findings?{q}", headers=admin).json()]  # noqa: E731
    assert get("") == ["host.os.supported", "host.firewall.enabled", "host.password.max_age"]  # by severity
    assert get("severity=low") == ["host.password.max_age"]
    assert get("check=host.os.supported") == ["host.os.supported"]
    assert len(get(f"device={device}&site=P01&status=open")) == 3
    assert get("status=resolved") == []
    # The severities are the parameter's schema: another is a 422 naming the parameter.
    bad = client.get("/api/v1/findings?severity=urgent", headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "severity"]
    assert client.get("/api/v1/findings?status=closed", headers=admin).status_code == 422


def test_site_scoping(client, app):
    a1 = setup(client, app, "P01", "pc-a")
    a2 = setup(client, app, "P02", "pc-b")
    send(client, a1, fail("host.firewall.enabled"), mac="00:00:00:00:00:01", machine_id="m1", serial="s1")
    send(client, a2, fail("host.firewall.enabled"), mac="00:00:00:00:00:02", machine_id="m2", serial="s2")
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    scoped = user_token(client, app.state.engine, username="p2", role="technician", sites=["P02"])
    other = next(f for f in client.get("/api/v1/findings", headers=admin).json() if f["site"] == "P01")
    mine = client.get("/api/v1/findings", headers=scoped).json()
    assert [f["site"] for f in mine] == ["P02"]
    assert client.get("/api/v1/findings?site=P01", headers=scoped).status_code == 404
    assert client.get(f"/api/v1/findings/{other['id']}", headers=scoped).status_code == 404
    accept = {"reason": "not mine to accept", "until": "2099-01-01"}
    assert (
        client.post(f"/api/v1/findings/{other['id']}/accept", json=accept, headers=scoped).status_code == 404
    )
    assert client.get("/api/v1/sites/P01/compliance", headers=scoped).status_code == 404
    assert client.get("/api/v1/sites/P02/compliance", headers=scoped).status_code == 200
    assert client.get("/api/v1/findings").status_code == 401


def test_compliance_per_device_and_site_ignores_not_applicable_and_skipped(client, app):
    a1 = setup(client, app, "P01", "pc-a")
    a2 = enroll(client, seed_site(app.state.engine, code="P01"), "pc-b")
    send(
        client,
        a1,
        ok("host.firewall.enabled"),
        ok("host.os.supported"),
        ok("host.time.synchronized"),
        fail("host.services.no_smb1"),
        na("host.tpm.present"),
        CheckResult(check_id="host.boot.secure_boot", status=CheckStatus.SKIPPED, evidence="no permission"),
        mac="00:00:00:00:00:01",
        machine_id="m1",
        serial="s1",
        hostname="pc-a",
    )
    send(
        client,
        a2,
        ok("host.firewall.enabled"),
        fail("host.os.supported"),
        mac="00:00:00:00:00:02",
        machine_id="m2",
        serial="s2",
        hostname="pc-b",
    )
    viewer = user_token(client, app.state.engine, username="view", role="viewer")
    c = client.get("/api/v1/sites/P01/compliance", headers=viewer).json()
    assert (c["passed"], c["failed"], c["not_counted"], c["percent"]) == (4, 2, 2, 67)
    assert abs(c["score"] - 4 / 6) < 1e-4
    per = {d["hostname"]: d for d in c["devices"]}
    assert (per["pc-a"]["passed"], per["pc-a"]["failed"], per["pc-a"]["percent"]) == (3, 1, 75)
    assert per["pc-b"]["percent"] == 50


def test_due_days_are_configurable(client, app):
    app.state.settings.due_days = {**app.state.settings.due_days, "high": 7}
    agent = setup(client, app)
    send(client, agent, fail("host.firewall.enabled"))
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    (f,) = client.get("/api/v1/findings", headers=admin).json()
    assert datetime.fromisoformat(f["due_at"]) - datetime.fromisoformat(f["opened_at"]) == timedelta(days=7)
