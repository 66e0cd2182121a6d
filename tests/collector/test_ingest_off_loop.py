"""A report being ingested never stalls the collector: /healthz and pages answer meanwhile.

Before, ``post_report`` parsed and ingested on the event loop: one large report stopped /healthz,
every page and every other agent until it was stored (45 s for 20,000 results). Here the ingest of a
report at the per-report bounds is held open until /healthz has answered; were the ingest on the event
loop, /healthz could not answer and the hold would time out. Both ways of ingesting: in a worker
thread (``ingest_processes = 0``) and in an ingest process (1, the default of a real collector), where
the hold is made inside that process. (Latency figures: bench/ingest_stall.py.)
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from collector.services import intake
from tests.collector.ingest_child import HeldIngest, process_app, stop_ingest_processes
from tests.helpers import LiveServer, enroll, largest_report, seed_site, user_token

HOLD = 20.0


@pytest.fixture(autouse=True)
def _no_ingest_process_left() -> Iterator[None]:
    """Every ingest process a test started has ended when it ends (tests.collector.ingest_child)."""
    yield
    stop_ingest_processes()


@pytest.mark.parametrize("ingest_processes", [0, 1])
def test_healthz_and_a_page_answer_while_a_large_report_is_ingested(
    app, client, settings, monkeypatch, tmp_path, ingest_processes
):
    agent = enroll(client, seed_site(app.state.engine))
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    body = gzip.compress(largest_report(agent.agent_id, settings).model_dump_json().encode())
    ingesting: Any
    answered: Any
    if ingest_processes:
        app = process_app(settings)
        held = HeldIngest(app, tmp_path / "hold", hold_seconds=HOLD)  # until /healthz answered
        ingesting = SimpleNamespace(wait=held.wait_ingesting)
        answered = SimpleNamespace(is_set=lambda: held.released, set=held.release)
    else:
        ingesting, answered = threading.Event(), threading.Event()
        real = intake.ingest_report

        def held_ingest(*args, **kwargs):  # type: ignore[no-untyped-def]
            ingesting.set()
            # Stay in the ingest until /healthz answered (or give up after HOLD seconds).
            answered.wait(HOLD)
            return real(*args, **kwargs)

        monkeypatch.setattr(intake, "ingest_report", held_ingest)
    outcome: dict[str, object] = {}

    def deliver(url: str) -> None:
        headers = {**agent.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
        r = httpx.post(f"{url}/api/v1/reports", content=body, headers=headers, timeout=120)
        outcome["status"] = r.status_code
        outcome["results"] = r.json()

    with LiveServer(app) as url:
        sender = threading.Thread(target=deliver, args=(url,))
        sender.start()
        assert ingesting.wait(60), "the report never reached the ingest"
        started = time.monotonic()
        health = httpx.get(f"{url}/healthz", timeout=HOLD * 2)
        page = httpx.get(f"{url}/api/v1/devices", headers=admin, timeout=HOLD * 2)
        waited = time.monotonic() - started
        during = not answered.is_set()
        answered.set()
        sender.join(120)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert page.status_code == 200
    assert during and waited < HOLD, f"/healthz waited {waited:.1f} s for the ingest to finish"
    assert outcome["status"] == 202, outcome
