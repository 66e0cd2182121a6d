"""Namespace test fixtures: labs closed after each test (helpers: tests/agent/lan/support.py)."""

from __future__ import annotations

import pytest

from tests.agent.lan.netlab import Lab
from tests.agent.lan.support import require_netns


@pytest.fixture
def lab_factory():
    """Labs made by a test are closed afterwards, also when the test fails."""
    require_netns()
    labs: list[Lab] = []

    def make() -> Lab:
        lab = Lab()
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.close()
