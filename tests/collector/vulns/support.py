"""What the vulnerability tests share: the NVD records and KEV snapshot of tests/fixtures/vuln (see its
SOURCES.md: CC0 for KEV; NVD terms of use and the CVE terms of use kept in nvd_license/)."""

from __future__ import annotations

import json
from pathlib import Path

from collector.vulns.nvd import CveRecord, records_of

VULN = Path(__file__).parents[2] / "fixtures" / "vuln"
NVD_DIR = VULN / "nvd"
KEV_FILE = VULN / "kev" / "known_exploited_vulnerabilities.json"


def nvd_records() -> list[CveRecord]:
    out: list[CveRecord] = []
    for p in sorted(NVD_DIR.glob("CVE-*.json")):
        out.extend(records_of(json.loads(p.read_text(encoding="utf-8")), p.name))
    return out
