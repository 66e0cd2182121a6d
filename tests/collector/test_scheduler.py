"""Periodic jobs run once per interval across collector processes sharing one database.

"Processes" here are collectors with their own engine and connection pool on the same database (a
SQLite file and the real PostgreSQL), running at the same moment; one test kills a real process with
SIGKILL in the middle of a job. Before the scheduler, each process ran the notification scan itself:
N processes, N scans per interval.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from collector.db import make_engine
from collector.models.scheduling import ScheduledRun
from collector.scheduler import Job, Scheduler, run_if_due

EVERY = timedelta(minutes=10)
T0 = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Any]]:
    made = [make_engine(database_url) for _ in range(2)]
    yield made
    for engine in made:
        engine.dispose()


def _together(engines: list[Any], call: Any) -> list[Any]:
    """``call(engine)`` in one thread per engine, released at the same instant; their results."""
    barrier = threading.Barrier(len(engines))
    results: list[Any] = [None] * len(engines)
    errors: list[BaseException] = []

    def work(i: int, engine: Any) -> None:
        try:
            barrier.wait()
            results[i] = call(engine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, e)) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_two_collectors_running_the_scheduler_together_run_a_job_once_per_interval(
    engines: list[Any],
) -> None:
    side_effects: list[str] = []
    lock = threading.Lock()

    def job(engine: Any) -> None:
        time.sleep(0.1)  # long enough for the other process to look while this one runs
        with lock:
            side_effects.append(str(engine.url))

    schedulers = []
    for engine in engines:
        s = Scheduler(engine)
        s.register("test.job", EVERY, job)
        schedulers.append(s)
    by_engine = {id(s.engine): s for s in schedulers}
    # Six rounds, half an interval apart: due at 0, 10 and 20 minutes only.
    ran = []
    for step in range(6):
        now = T0 + step * EVERY / 2
        ran.append(_together(engines, lambda e, now=now: by_engine[id(e)].run_due(now)))
    runs_per_round = [sum(len(names) for names in r) for r in ran]
    assert runs_per_round == [1, 0, 1, 0, 1, 0]
    assert len(side_effects) == 3
    with Session(engines[0]) as session:
        row = session.get(ScheduledRun, "test.job")
        assert row is not None and row.runs == 3 and row.last_error is None
        assert row.last_started_at == T0 + 2 * EVERY and row.last_finished_at is not None


def test_a_failing_job_records_its_error_and_waits_for_the_next_interval(engines: list[Any]) -> None:
    calls: list[datetime] = []

    def job(_engine: Any) -> None:
        calls.append(T0)
        raise RuntimeError("the SMTP server is down")

    j = Job("test.failing", EVERY, job)
    assert run_if_due(engines[0], j, now=T0) is True
    # Not again a minute later from the other process: a broken job must not run in a tight loop.
    assert run_if_due(engines[1], j, now=T0 + timedelta(minutes=1)) is False
    assert len(calls) == 1
    with Session(engines[0]) as session:
        row = session.get(ScheduledRun, "test.failing")
        assert row is not None and row.last_error == "RuntimeError: the SMTP server is down"
    assert run_if_due(engines[1], j, now=T0 + EVERY) is True
    assert len(calls) == 2


def test_on_postgresql_a_slow_job_never_runs_twice_at_once(engines: list[Any], database_url: str) -> None:
    """Its interval passes while it still runs: the other process sees the advisory lock and waits."""
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; one SQLite collector runs its jobs alone")
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(_engine: Any) -> None:
        calls.append(1)
        started.set()
        assert release.wait(30)

    j = Job("test.slow", EVERY, slow)
    first = threading.Thread(target=run_if_due, args=(engines[0], j), kwargs={"now": T0})
    first.start()
    try:
        assert started.wait(30)
        assert run_if_due(engines[1], j, now=T0 + 3 * EVERY) is False
    finally:
        release.set()
        first.join(30)
    assert calls == [1]


_KILLED_RUNNER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from collector.db import make_engine
    from collector.scheduler import Job, run_if_due

    url, flag = sys.argv[1], Path(sys.argv[2])

    def forever(_engine):
        flag.write_text("running")
        time.sleep(600)

    run_if_due(make_engine(url), Job("test.killed", timedelta(minutes=10), forever),
               now=datetime(2026, 12, 5, 3, 0, tzinfo=UTC))
    """
)


def test_on_postgresql_a_collector_killed_mid_job_leaves_the_interval_to_another(
    engines: list[Any], database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite the claim is committed before the job runs (one process is the norm)")
    flag = tmp_path / "running"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUNNER, database_url, str(flag)])
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        calls: list[int] = []
        j = Job("test.killed", EVERY, lambda _e: calls.append(1))
        assert run_if_due(engines[0], j, now=T0 + timedelta(minutes=1)) is False  # still running there
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        # PostgreSQL notices the dead connection and rolls its claim back: the job is due again now,
        # not only after the interval the dead process claimed.
        deadline = time.monotonic() + 30
        while not run_if_due(engines[0], j, now=T0 + timedelta(minutes=1)):
            assert time.monotonic() < deadline, "the killed process's claim was never released"
            time.sleep(0.1)
        assert calls == [1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_two_collector_apps_started_together_deliver_once_per_interval(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application's own jobs: two collectors on one database, each with its scheduler running;
    the notification round (every 0.2 s here) runs once per interval, not once per collector."""
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.services import notify_sender

    calls: list[float] = []
    lock = threading.Lock()
    real = notify_sender.deliver

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(notify_sender, "deliver", counted)
    s = settings.model_copy(update={"notify_interval_seconds": 0.2})
    apps = [create_app(s) for _ in range(2)]
    try:
        with TestClient(apps[0]), TestClient(apps[1]):
            time.sleep(2.5)
            with lock:
                seen = list(calls)
        with Session(apps[0].state.engine) as session:
            row = session.get(ScheduledRun, "notify.deliver")
            # A round started before the snapshot may be stopped with the apps before it records
            # itself: at most one (a round runs once per interval, whichever collector starts it).
            assert row is not None and row.last_error is None and row.runs >= len(seen) - 1
        # Each start at least an interval after the one before, whichever collector made it: n runs
        # span (n - 1) intervals (each collector on its own would make about twice as many).
        assert len(seen) >= 5, seen
        span = seen[-1] - seen[0]
        assert (len(seen) - 1) * 0.2 <= span + 0.1, (len(seen), span)
    finally:
        for app in apps:
            app.state.engine.dispose()


def test_a_collector_told_not_to_schedule_runs_no_job(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from collector.app import create_app

    s = settings.model_copy(update={"notify_interval_seconds": 0.05, "scheduler_enabled": False})
    app = create_app(s)
    try:
        with TestClient(app):
            time.sleep(0.5)
        with Session(app.state.engine) as session:
            assert session.get(ScheduledRun, "notify.deliver") is None
    finally:
        app.state.engine.dispose()
