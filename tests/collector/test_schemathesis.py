"""Schemathesis against a running collector: every operation of the OpenAPI document, all checks.

A real collector (uvicorn on 127.0.0.1) on SQLite, then PostgreSQL when configured, seeded with a site,
an administrator and an enrolled agent. ``st run`` fuzzes every operation as the administrator, and
POST /api/v1/reports with the agent's key, with every check Schemathesis has (server errors, status
codes, content types and headers the document does not list, schema conformance, 405 with ``Allow``,
valid data rejected, invalid data accepted, ignored auth ...). Any failure fails the test, with
Schemathesis' report (and its curl line to reproduce) in the message. The examples per operation and
the time are bounded (``MAX_EXAMPLES``, ``MAX_SECONDS``); the seed is fixed, so a run repeats.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import LiveServer, enroll, host_report, post_report, seed_site, user_token

# Bounded for CI; a deeper hunt: WARDWATCH_SCHEMATHESIS="EXAMPLES SECONDS SEED", e.g. "25 300 7".
_DEEP = os.environ.get("WARDWATCH_SCHEMATHESIS", "").split()
MAX_EXAMPLES, MAX_SECONDS, SEED = (int(v) for v in _DEEP) if len(_DEEP) == 3 else (3, 15, 14)


# What JSON Schema cannot say, refused with 400 and the reason, which the positive-data check counts as
# "valid data rejected": the CSV import's body is "text/csv with a header naming a serial or an
# asset-tag column" (English or Vietnamese names, any delimiter Excel writes); an asset's purchase date
# is not in the future.
CONFIG = """
[[operations]]
include-path-regex = '^/api/v1/assets/(import|[{]device_id[}])$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429]
"""


def schemathesis(url: str, token: str, workdir: Path, *filters: str) -> subprocess.CompletedProcess[str]:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    cmd = [
        st, "--config-file", str(config), "run", f"{url}/api/v1/openapi.json",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--max-time", str(MAX_SECONDS),
        "--seed", str(SEED),
        "--workers", "1",
        "--no-shrink",
        "--request-timeout", "30",
        "--header", f"Authorization: Bearer {token}",
        *filters,
    ]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def seeded(app, client):  # type: ignore[no-untyped-def]
    agent = enroll(client, seed_site(app.state.engine))
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    admin = user_token(client, app.state.engine, username="admin", role="admin")
    return admin["Authorization"].split()[1], agent.key


def test_the_openapi_document_tells_the_truth(app, seeded, tmp_path):
    pytest.importorskip("schemathesis")
    admin, agent = seeded
    with LiveServer(app) as url:
        runs = {
            "as an administrator": schemathesis(url, admin, tmp_path, "--exclude-path", "/api/v1/reports"),
            "as an agent": schemathesis(url, agent, tmp_path, "--include-path", "/api/v1/reports"),
        }
    failed = {who: run for who, run in runs.items() if run.returncode != 0}
    report = "\n\n".join(
        f"--- {who} ---\n{run.stdout[-12000:]}\n{run.stderr[-2000:]}" for who, run in failed.items()
    )
    assert not failed, report
