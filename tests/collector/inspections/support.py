"""What the inspection tests share: two PCs at site P01 with their results, users of each role, signing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inventory.report import CheckResult, CheckStatus
from tests.helpers import enroll, host_report, post_report, seed_site, user_token
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
