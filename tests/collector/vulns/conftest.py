"""Vulnerability test fixtures: one matcher index of the shared NVD records per session."""

from __future__ import annotations

import pytest

from collector.vulns.matcher import Index
from tests.collector.vulns.support import nvd_records


@pytest.fixture(scope="session")
def fixture_index() -> Index:
    index = Index()
    for r in nvd_records():
        index.add_record(r.id, r.configurations)
    return index
