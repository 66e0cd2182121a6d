"""The scan's result goes into the agent's next report; without a schedule the agent never scans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agent.config import load_settings
from agent.cycle import collect_host
from agent.lan.store import save_scan
from inventory.lan import LanHost, LanScanFacts, ServiceProbe
from inventory.report import CheckStatus


def test_the_saved_scan_goes_into_the_next_report(tmp_path: Path) -> None:
    settings = load_settings(None, state_dir=tmp_path)
    before = collect_host(settings, run=("lan",))
    assert before.facts.network_scan is None  # no interval configured: nothing was scanned
    assert not (tmp_path / "lan").exists()
    assert not any(r.check_id.startswith("lan.") for r in before.results)

    scan = LanScanFacts(
        cidr="198.18.0.0/24",
        privileged=True,
        finished_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        ports=[23, 80],
        parts_run=["discovery", "services"],
        hosts=[LanHost(ip="198.18.0.30", mac="00:15:5d:01:02:03", services=[ServiceProbe(port=23)])],
    )
    save_scan(tmp_path, scan)  # what `wardwatch agent scan` does
    after = collect_host(settings, run=("lan",))
    assert after.facts.network_scan == scan
    assert "lan" in after.modules
    telnet = [r for r in after.results if r.check_id == "lan.telnet_open"]
    assert [(r.status, r.target) for r in telnet] == [(CheckStatus.FAIL, "198.18.0.30 (00:15:5d:01:02:03)")]
