"""Shared vulnerability fixtures: the NVD records and KEV snapshot of tests/fixtures/vuln (see its
SOURCES.md: CC0 for KEV; NVD terms of use and the CVE terms of use kept in nvd_license/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.vulns.matcher import Index
from collector.vulns.nvd import CveRecord, records_of

VULN = Path(__file__).parent.parent / "fixtures" / "vuln"
NVD_DIR = VULN / "nvd"
KEV_FILE = VULN / "kev" / "known_exploited_vulnerabilities.json"


def nvd_records() -> list[CveRecord]:
    out: list[CveRecord] = []
    for p in sorted(NVD_DIR.glob("CVE-*.json")):
        out.extend(records_of(json.loads(p.read_text(encoding="utf-8")), p.name))
    return out


@pytest.fixture(scope="session")
def fixture_index() -> Index:
    index = Index()
    for r in nvd_records():
        index.add_record(r.id, r.configurations)
    return index
