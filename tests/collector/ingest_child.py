"""Collectors whose reports are stored in an ingest process (``ingest_processes = 1``), served for real.

The test process runs with ``WARDWATCH_INGEST_PROCESSES=0`` (tests/conftest.py); these helpers build
the production path: an app whose lifespan starts the ingest process, served by uvicorn. ``HeldIngest``
holds the ingest inside the ingest process (the process is a fresh interpreter: a monkeypatch of the
test process does not reach it), so a test can act while a report is being stored there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from collector.app import create_app
from collector.services.ingest_pool import IngestPool
from collector.settings import CollectorSettings


def process_app(settings: CollectorSettings, **update: Any) -> Any:
    """An app over ``settings``' database whose reports go to one ingest process (small ones too,
    unless ``ingest_inline_max_bytes`` says otherwise)."""
    return create_app(
        settings.model_copy(update={"ingest_processes": 1, "ingest_inline_max_bytes": 0, **update})
    )


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
