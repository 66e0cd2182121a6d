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
import warnings
from pathlib import Path

import httpx
import pytest

from collector.db import session_scope
from collector.services.users import create_user
from tests.helpers import (
    PASSWORD,
    LiveServer,
    drain_jobs,
    enroll,
    host_report,
    post_report,
    seed_site,
    user_token,
)

# Bounded for CI; a deeper hunt: WARDWATCH_SCHEMATHESIS="EXAMPLES SECONDS SEED", e.g. "25 300 7".
_DEEP = os.environ.get("WARDWATCH_SCHEMATHESIS", "").split()
MAX_EXAMPLES, MAX_SECONDS, SEED = (int(v) for v in _DEEP) if len(_DEEP) == 3 else (3, 15, 14)


# What JSON Schema cannot say, refused with 400 and the reason, which the positive-data check counts as
# "valid data rejected": the CSV import's body is "text/csv with a header naming a serial or an
# asset-tag column" (English or Vietnamese names, any delimiter Excel writes); an asset's purchase date
# is not in the future; a password follows the password policy (not the username, not a common one)
# and a change needs the current one; a subscription's target is what its channel sends to (an e-mail
# address, an http(s) URL) and its event one the collector knows; a merge names two different sites.
# A report's contract (``wardwatch schema``: time window, per-report bounds) is larger than the
# document's "an object": its refusals are 400 and 422.
CONFIG = """
[[operations]]
include-path-regex = '^/api/v1/(planning/assets/(import|[{]device_id[}])|me/password|users|sites/merge)$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429]

# A page cursor is what the previous page's X-Next-Cursor said; any other text is refused with 400.
[[operations]]
include-path-regex = '^/api/v1/(findings|devices|certificates|software|notifications/subscriptions)$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429]

[[operations]]
include-path-regex = '^/api/v1/reports$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 422, 429]

# A user's account routes act on a user made for the fuzzing: on the administrator's own account a
# reset would demand a new password, and every later request would be refused until then.
[[operations]]
include-path-regex = '^/api/v1/users/[{]user_id[}]'
parameters = { user_id = TARGET_USER }
"""


def schemathesis(
    url: str, document: Path, token: str, target_user: int, workdir: Path, *filters: str
) -> subprocess.CompletedProcess[str]:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.replace("TARGET_USER", str(target_user)), encoding="utf-8")
    cmd = [
        st, "--config-file", str(config), "run", str(document), "--url", url,
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
def settings(settings):  # type: ignore[no-untyped-def]
    # A still world while Schemathesis runs: no scheduled job or background worker changes the data
    # between two requests (the derived work of the seed report is done before, by drain_jobs).
    return settings.model_copy(update={"scheduler_enabled": False, "job_worker": False})


@pytest.fixture
def seeded(app, client):  # type: ignore[no-untyped-def]
    agent = enroll(client, seed_site(app.state.engine))
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    drain_jobs(client)
    admin = user_token(client, app.state.engine, username="admin", role="admin")
    with session_scope(app.state.engine) as session:
        target = create_user(session, username="fuzz-target", password=PASSWORD, role="viewer")
        target_id = target.id or 0
    return admin["Authorization"].split()[1], agent.key, target_id


def test_the_openapi_document_tells_the_truth(app, seeded, tmp_path):
    pytest.importorskip("schemathesis")
    admin, agent, target_user = seeded
    with LiveServer(app) as url:
        # The document is for logged-in users (an agent's key does not open it): read as the admin.
        # The first build of the document takes seconds of CPU: httpx's 5 s default timed out once on a
        # machine at load 12.
        fetched = httpx.get(
            f"{url}/api/v1/openapi.json", headers={"Authorization": f"Bearer {admin}"}, timeout=120
        )
        assert fetched.status_code == 200, fetched.text
        document = tmp_path / "openapi.json"
        document.write_bytes(fetched.content)
        filters = {
            "as an administrator": (admin, "--exclude-path", "/api/v1/reports"),
            "as an agent": (agent, "--include-path", "/api/v1/reports"),
        }
        runs = {
            who: schemathesis(url, document, t, target_user, tmp_path, *f) for who, (t, *f) in filters.items()
        }
        # Once in a CI run on a busy machine, three coverage cases failed that never repeated with the same
        # seed: a failure is run again once; one that repeats fails the test, one that does not is a
        # warning that names its cases (they stay in the log to be looked into).
        for who, run in list(runs.items()):
            if run.returncode != 0:
                token, *rest = filters[who]
                again = schemathesis(url, document, token, target_user, tmp_path, *rest)
                (tmp_path / f"report {who}, first run.txt").write_text(
                    run.stdout + run.stderr, encoding="utf-8"
                )
                if again.returncode == 0:
                    first = _failures(run.stdout)
                    warnings.warn(f"Schemathesis {who}: failed once, passed again:\n{first}", stacklevel=1)
                runs[who] = again
    for who, run in runs.items():  # the whole report, for reading (pytest --basetemp=DIR keeps it)
        (tmp_path / f"report {who}.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
    failed = {who: run for who, run in runs.items() if run.returncode != 0}
    report = "\n\n".join(
        f"--- {who} ---\n{_failures(run.stdout)}\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
        for who, run in failed.items()
    )
    assert not failed, report


def _failures(stdout: str) -> str:
    """The failing cases first (their curl lines), so a CI log that keeps only a part still names them."""
    start = stdout.find("= FAILURES =")
    if start < 0:
        return ""
    ends = [i for i in (stdout.find(m, start) for m in ("= WARNINGS =", "= SUMMARY =")) if i > 0]
    return stdout[start : min(ends, default=len(stdout))][:9000]
