"""The fill page's "refresh from the agents' data" button: new reports reach the automatic items,
answers the team changed by hand stay, and the form needs its CSRF token like every other."""

from __future__ import annotations

from collector.db import session_scope
from collector.services.enrollment import create_enroll_secret
from tests.collector.inspections.support import CSRF, create, op, result, web_login
from tests.helpers import enroll, host_report, post_report


def test_refresh_button_brings_new_agent_data_and_keeps_hand_answers(client, app, seeded):
    insp = create(client, seeded.inspector)
    assert "pc-3" not in insp["answers"]["firewall"]["auto_evidence"]
    # The team answers the antivirus item by hand (pc-2 was updated during the visit).
    av = insp["answers"]["antivirus"]
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/sync",
        json={"ops": [op("antivirus", "pass", "pc-2 cập nhật tại chỗ", av["revision"])]},
        headers=seeded.inspector,
    )
    assert r.json()["results"][0]["outcome"] == "applied"
    # Meanwhile a third PC of the ward reports, with its firewall off and old signatures.
    with session_scope(app.state.engine) as s:
        secret = create_enroll_secret(s, site_code="P01", created_by="admin1")
    agent = enroll(client, secret, "pc-3")
    results = [
        result("host.firewall.enabled", False, "ufw inactive"),
        result("host.antivirus.signatures_fresh", False, "40 days old"),
    ]
    report = host_report(agent.agent_id, hostname="pc-3", machine_id="m3", serial="s3", results=results)
    assert post_report(client, agent, report).status_code == 202

    web_login(client, "lan.nguyen")
    url = f"/inspections/{insp['id']}"
    page = client.get(url)
    assert page.status_code == 200
    assert f'action="{url}/prefill"' in page.text
    assert "Cập nhật lại từ dữ liệu tác tử" in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    # Without its token the form changes nothing.
    forged = client.post(f"{url}/prefill", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    before = client.get(f"/api/v1/inspections/{insp['id']}", headers=seeded.inspector).json()["answers"]
    assert "pc-3" not in before["firewall"]["auto_evidence"]

    done = client.post(f"{url}/prefill", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == url
    shown = client.get(url).text
    assert "Đã cập nhật các tiêu chí tự động" in shown and "pc-3" in shown
    after = client.get(f"/api/v1/inspections/{insp['id']}", headers=seeded.inspector).json()["answers"]
    firewall = after["firewall"]
    assert firewall["value"] == "fail" and "2 of 3 devices fail" in firewall["auto_evidence"]
    # The hand answer stays; the evidence beside it is the new one.
    assert after["antivirus"]["value"] == "pass" and after["antivirus"]["note"] == "pc-2 cập nhật tại chỗ"
    assert "pc-3" in after["antivirus"]["auto_evidence"] and after["antivirus"]["source"] == "override"


def test_technicians_may_not_refresh(client, seeded):
    insp = create(client, seeded.inspector)
    web_login(client, "tech1")
    page = client.get(f"/inspections/{insp['id']}")
    assert page.status_code == 200 and "/prefill" not in page.text  # read-only for them
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = client.post(f"/inspections/{insp['id']}/prefill", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
