"""The server freezes its startup heap once per process (``collector.app.freeze_startup_heap``): the
cyclic garbage collector's full collections then skip the ~160,000 objects of modules, routes and
models instead of walking them during whichever request triggered one (the replacement plan with
commune minimums triggered ~0.5 per request; bench/read_side.py shows the p95)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc, json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from collector.app import create_app
from collector.settings import CollectorSettings

def app():
    return create_app(CollectorSettings(database_url=sys.argv[1], data_dir=Path(sys.argv[2]),
                                        scheduler_enabled=False, job_worker=False))

before = gc.get_freeze_count()
with TestClient(app()) as client:
    ok = client.get("/healthz").status_code
    first = gc.get_freeze_count()
    tracked = len(gc.get_objects())
print(json.dumps({"before": before, "first": first, "tracked": tracked, "ok": ok}))
"""


def test_server_startup_freezes_its_heap_once(sqlite_url: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, sqlite_url, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ok"] == 200
    assert got["before"] == 0
    # The modules, routes and models are out of the collector's walk (tens of thousands of objects);
    # what a full collection still walks is what requests made since.
    assert got["first"] > 50_000
    assert got["tracked"] < got["first"]
