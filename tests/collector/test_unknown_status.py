"""A check that could not observe reports ``unknown``: the wire contract takes it, the compliance
score counts it as not passed, the device page shows it as such, and it opens no finding.
SQLite and PostgreSQL."""

from __future__ import annotations

from inventory.report import CheckResult, CheckStatus
from tests.helpers import enroll, host_report, post_report, seed_site, user_token


def test_unknown_counts_as_not_passed_and_is_shown(client, app) -> None:  # type: ignore[no-untyped-def]
    agent = enroll(client, seed_site(app.state.engine), "pc-a")
    results = [
        CheckResult(check_id="host.os.supported", status=CheckStatus.PASS, evidence="Windows 11 23H2"),
        CheckResult(
            check_id="host.firewall.enabled",
            status=CheckStatus.UNKNOWN,
            evidence="could not observe: security.firewall (nft/iptables need root)",
        ),
        CheckResult(check_id="host.tpm.present", status=CheckStatus.NOT_APPLICABLE, evidence="not collected"),
    ]
    r = post_report(client, agent, host_report(agent.agent_id, results=results))
    assert r.status_code == 202, r.text
    viewer = user_token(client, app.state.engine, username="view", role="viewer")
    c = client.get("/api/v1/sites/P01/compliance", headers=viewer).json()
    # 1 passed of 2 judged: the unknown firewall is not a pass; the not-applicable TPM is left out.
    assert (c["passed"], c["failed"], c["unknown"], c["not_counted"], c["percent"]) == (1, 0, 1, 1, 50)
    assert client.get("/api/v1/findings", headers=viewer).json() == []  # unknown is not a failure either
    device_id = r.json()["device_id"]
    from collector.db import session_scope
    from collector.services.users import create_user
    from tests.collector.web.support import PASSWORD, login

    with session_scope(app.state.engine) as s:
        create_user(s, username="tech-web", password=PASSWORD, role="technician")
    client.cookies.clear()
    login(client, "tech-web")
    page = client.get(f"/devices/{device_id}")
    assert "1 không xác định, tính là không đạt" in page.text
    # The summary's tile of results that could not be observed leads to them.
    assert f'href="/devices/{device_id}/checks?status=unknown"' in page.text
    # The checks tab counts and lists it under its own name, after the failures.
    checks = client.get(f"/devices/{device_id}/checks").text
    assert "Không xác định (không quan sát được)" in checks
    assert f'href="/devices/{device_id}/checks?status=unknown"' in checks
