"""Collectors whose reports are stored in an ingest process (``ingest_processes = 1``), served for real.

The test process runs with ``WARDWATCH_INGEST_PROCESSES=0`` (tests/conftest.py); these helpers build
the production path: an app whose lifespan starts the ingest process, served by uvicorn. ``HeldIngest``
holds the ingest inside the ingest process (the process is a fresh interpreter: a monkeypatch of the
test process does not reach it), so a test can act while a report is being stored there.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from collector.app import create_app
from collector.services.ingest_pool import IngestPool
from collector.settings import CollectorSettings

# The ingest pools of the apps ``process_app`` made, for ``stop_ingest_processes``.
_pools: list[IngestPool] = []


def process_app(settings: CollectorSettings, **update: Any) -> Any:
    """An app over ``settings``' database whose reports go to one ingest process (small ones too,
    unless ``ingest_inline_max_bytes`` says otherwise)."""
    app = create_app(
        settings.model_copy(update={"ingest_processes": 1, "ingest_inline_max_bytes": 0, **update})
    )
    _pools.append(app.state.ingest_pool)
    return app


def stop_ingest_processes(timeout: float = 30.0) -> None:
    """After a test: every ingest process it started has ended (a fixture of each test file calls this).

    The app's lifespan stops its pool when ``LiveServer`` stops serving, but ``LiveServer`` waits 20 s
    for that, and a test that failed may not have got there: the pool is stopped here (a no-op when the
    lifespan did), and a process that outlives that (one of a pool replaced after a kill, still ending)
    is waited for, then terminated, so that none is left running into the next test or past the run."""
    while _pools:
        _pools.pop().stop()
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in multiprocessing.active_children():
        child.terminate()
        child.join(5)


class HeldIngest:
    """Each ingest process of the app holds the next report before storing it, until ``release``.

    The signals are files in ``folder``, not multiprocessing events: a test kills an ingest process
    while it waits, and a killed waiter would leave such an event's condition waiting for it forever.
    """

    def __init__(self, app: Any, folder: Path, hold_seconds: float = 60.0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._ingesting, self._released = folder / "ingesting", folder / "released"
        pool: IngestPool = app.state.ingest_pool
        pool.child_setup = (_hold_ingest, (str(self._ingesting), str(self._released), hold_seconds))

    def wait_ingesting(self, timeout: float = 60.0) -> bool:
        """True once a report is held in an ingest process."""
        try:
            wait_for(self._ingesting.exists, timeout)
        except AssertionError:
            return False
        return True

    @property
    def released(self) -> bool:
        return self._released.exists()

    def release(self) -> None:
        self._released.touch()


def _hold_ingest(ingesting: str, released: str, hold_seconds: float) -> None:
    """In the ingest process: wrap the ingest so that it waits for ``released`` (once released, no more)."""
    from collector.services import intake

    real = intake.ingest_report

    def held(*args: Any, **kwargs: Any) -> Any:
        if not os.path.exists(released):
            Path(ingesting).touch()
            deadline = time.monotonic() + hold_seconds
            while not os.path.exists(released) and time.monotonic() < deadline:
                time.sleep(0.02)
        return real(*args, **kwargs)

    intake.ingest_report = held  # type: ignore[assignment]


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
