"""An ingest process never outlives its serving process, even one killed while the ingest process
was still starting (importing the collector takes about a second): it then stops by itself instead
of waiting for a parent that is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STARTER = """
import sys, time
from collector.services.ingest_pool import IngestPool
from collector.settings import CollectorSettings

settings = CollectorSettings(database_url=sys.argv[1], data_dir=sys.argv[2], ingest_processes=1)
pool = IngestPool(settings).start()
print(" ".join(str(pid) for pid in pool._executor._processes), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has ended; whoever adopted it has not reaped it yet


def test_an_ingest_process_whose_serving_process_is_killed_while_it_starts_stops(
    sqlite_url: str, tmp_path: Path
) -> None:
    serving = subprocess.Popen(
        [sys.executable, "-c", STARTER, sqlite_url, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        text=True,
    )
    children: list[int] = []
    try:
        assert serving.stdout is not None
        children = [int(pid) for pid in serving.stdout.readline().split()]
        assert children, "the pool started no ingest process"
        os.kill(serving.pid, signal.SIGKILL)  # before the child has finished importing
        serving.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in children if _alive(pid)]
        assert not left, f"ingest processes {left} outlived their killed serving process"
    finally:
        if serving.poll() is None:
            serving.kill()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
