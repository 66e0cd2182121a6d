"""What the inspection tests share: two PCs at site P01 with their results, users of each role, signing."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from inventory.report import CheckResult, CheckStatus
from tests.collector.support import CommandRun, ww
from tests.helpers import PASSWORD, enroll, host_report, post_report, seed_site, user_token
from tests.signing_pki import configure_signing, name_user


@dataclass
class Seeded:
    inspector: dict[str, str]
    admin: dict[str, str]
    technician: dict[str, str]
    viewer: dict[str, str]


def result(check_id: str, ok: bool, evidence: str = "") -> CheckResult:
    return CheckResult(
        check_id=check_id, status=CheckStatus.PASS if ok else CheckStatus.FAIL, evidence=evidence
    )


@pytest.fixture
def seeded(client, app) -> Seeded:  # type: ignore[no-untyped-def]
    """Two PCs at site P01: one with its firewall off and stale antivirus signatures."""
    engine = app.state.engine
    secret = seed_site(engine, "P01", "Phường Bến Nghé")
    seed_site(engine, "X02", "Xã Bình Chánh")
    for n, firewall in ((1, True), (2, False)):
        agent = enroll(client, secret, f"pc-{n}")
        results = [
            result("host.firewall.enabled", firewall, "ufw active" if firewall else "ufw inactive"),
            result("host.antivirus.present", True),
            result("host.antivirus.enabled", True),
            result("host.antivirus.signatures_fresh", n == 1),
            result("host.os.supported", True),
        ]
        r = post_report(
            client,
            agent,
            host_report(
                agent.agent_id, hostname=f"pc-{n}", machine_id=f"m{n}", serial=f"s{n}", results=results
            ),
        )
        assert r.status_code == 202
    seeded = Seeded(
        inspector=user_token(client, engine, username="lan.nguyen", role="inspector"),
        admin=user_token(client, engine, username="admin1", role="admin"),
        technician=user_token(client, engine, username="tech1", role="technician"),
        viewer=user_token(client, engine, username="viewer1", role="viewer"),
    )
    name_user(engine, "lan.nguyen", "Nguyễn Thị Lan", "Phó Trưởng phòng Công nghệ thông tin")
    configure_signing(engine, app.state.settings.data_dir)
    return seeded


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def op(item: str, value, note: str = "", base: int = 0) -> dict:  # type: ignore[no-untyped-def]
    return {"op_id": uuid.uuid4().hex, "item_id": item, "value": value, "note": note, "base_revision": base}


def create(client, headers, site="P01", **extra):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/inspections", json={"site": site, "team": "Đoàn kiểm tra số 1", **extra}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def answer_all(client, headers, insp, *, fail=()):  # type: ignore[no-untyped-def]
    """Answer every required manual item: pass, except the ids in ``fail``."""
    ops = []
    for section in insp["template"]["sections"]:
        for item in section["items"]:
            current = insp["answers"].get(item["id"], {})
            if item["type"] == "pass_fail":
                want = "fail" if item["id"] in fail else current.get("value") or "pass"
                if item["id"] in fail or current.get("value") is None:
                    ops.append(
                        op(item["id"], want, "hỏng" if want == "fail" else "", current.get("revision", 0))
                    )
    r = client.post(f"/api/v1/inspections/{insp['id']}/sync", json={"ops": ops}, headers=headers)
    assert r.status_code == 200, r.text
    assert all(x["outcome"] == "applied" for x in r.json()["results"]), r.json()


def publish(client, seeded, *, public=True, fail=("offline_backup",)):  # type: ignore[no-untyped-def]
    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail=set(fail) | {"antivirus"})
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff",
        json={"signature_name": "Nguyễn Thị Hằng"},
        headers=seeded.inspector,
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = {"public": public}
    if public:  # a public publication is the redacted rendering the lead previewed
        pre = client.get(f"/api/v1/inspections/{insp['id']}/publication-preview", headers=seeded.inspector)
        assert pre.status_code == 200, pre.text
        body["previewed"] = pre.json()["digest"]
    r = client.post(f"/api/v1/inspections/{insp['id']}/publish", json=body, headers=seeded.inspector)
    assert r.status_code == 201, r.text
    return r.json()


def wardwatch_cli(*args: str) -> CommandRun:
    """``wardwatch ARGS`` in this process (tests.collector.support.ww)."""
    return ww(*args)


def verify_with_cli(
    folder: Path, name: str, data: bytes, sig: bytes, keys: bytes, keyfile: str
) -> CommandRun:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    (folder / f"{name}.sig").write_bytes(sig)
    (folder / keyfile).write_bytes(keys)
    return wardwatch_cli("verify", str(folder / name))


def signed_with_failures(client, seeded, fail):  # type: ignore[no-untyped-def]
    insp = create(client, seeded.inspector)
    answer_all(client, seeded.inspector, insp, fail=set(fail) | {"antivirus"})
    r = client.post(
        f"/api/v1/inspections/{insp['id']}/signoff", json={"signature_name": "Lân"}, headers=seeded.inspector
    )
    assert r.status_code == 200, r.text
    return r.json()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_login(client, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
