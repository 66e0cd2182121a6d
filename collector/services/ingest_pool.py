"""Ingest processes: reports are parsed and stored, and derived jobs done, outside the serving process.

A thread of the serving process that parses a 1.8 MB report (pydantic, one C call), runs the ORM and
the hooks, or does derived jobs holds the GIL the event loop needs to answer pages and /healthz (the
overview's p95 reached 269 ms with 0.5 ms GIL slices). With ``ingest_processes`` >= 1 each serving
process (each ``serve --workers`` worker, ``wardwatch up``) owns a ``ProcessPoolExecutor`` of that
many processes, started with ``spawn`` (a fresh interpreter: never a fork of a threaded server). Each
ingest process builds its own engine from the settings and, when ``job_worker`` is on, runs the
job worker thread (``collector.services.jobs.Worker``) that the serving process then does not run;
it wakes that worker after each report it accepted.

The route sends (agent id, body, gzip bytes) and gets back what ``collector.services.intake`` answers,
which is plain data. A process that dies (out of memory, killed) does not wedge the collector: the
pool is replaced, and the report that was in it is answered 503 with ``Retry-After`` (the agent keeps
it and sends it again; if it had been stored, the resend is a duplicate). A process that dies while
idle is noticed by the next submission (nothing of that report was sent: it goes to the new pool) or
by the watch every ``WATCH_SECONDS``, so the job worker comes back without waiting for a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import util
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from sqlmodel import Session

from collector.db import error_reason
from collector.models.core import Agent
from collector.services.ingest import IngestOutcome
from collector.services.intake import DatabaseRefused, IngestAnswer, ingest_body
from collector.services.jobs import Worker
from collector.settings import CollectorSettings

log = logging.getLogger(__name__)

# A fresh interpreter per ingest process: forking a server that runs threads (uvicorn's, the
# scheduler's, anyio's) can copy a lock held by one of them into the child.
CONTEXT = multiprocessing.get_context("spawn")
WATCH_SECONDS = 5.0
PARENT_CHECK_SECONDS = 1.0
# What the agent is told to wait before sending again a report whose ingest process died.
RETRY_AFTER_SECONDS = 2
LOG_FORMAT = "%(levelname)s: [ingest process %(process)d] %(name)s: %(message)s"
# Reports stored in the serving process (small ones, see the reports route) wake the ingest process's
# job worker at most this often: one message per report would cost a pipe round trip each, and the
# worker polls anyway (``job_poll_seconds``).
WAKE_EVERY_SECONDS = 0.2

ChildSetup = tuple[Callable[..., Any], tuple[Any, ...]]


class IngestProcessLost(Exception):
    """The ingest process died while it held this report: whether it was stored is not known here,
    so the agent sends it again (a duplicate if it was)."""


class IngestPool:
    """The ingest processes of one serving process. ``start`` in the app's lifespan, ``stop`` at its
    end. ``child_setup`` (function, args) runs in each new process after its engine and worker are
    made (tests use it to hold an ingest in the child)."""

    def __init__(self, settings: CollectorSettings, *, child_setup: ChildSetup | None = None) -> None:
        self.settings = settings
        self.child_setup = child_setup
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._watch: asyncio.Task[None] | None = None
        self._woken = -WAKE_EVERY_SECONDS

    @property
    def started(self) -> bool:
        return self._executor is not None

    def start(self) -> IngestPool:
        with self._lock:
            if self._executor is None:
                self._executor = self._new()
        return self

    def stop(self) -> None:
        """Let the processes finish the report they hold and their job worker's current job, then end."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _new(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.settings.ingest_processes,
            mp_context=CONTEXT,
            initializer=_init_child,
            # This process's id, not the child's getppid(): killed while the child still starts, the
            # child's parent is already init, and it would wait for init to go.
            initargs=(self.settings, self.child_setup, os.getpid()),
        )
        # Processes start on demand: start them now (they import the collector, about a second), so
        # that the job worker runs from the start and the first report does not wait for them.
        for _ in range(self.settings.ingest_processes):
            executor.submit(_ready)
        return executor

    def _current(self) -> ProcessPoolExecutor:
        executor = self._executor
        if executor is None:
            raise RuntimeError("the ingest pool is not started")
        return executor

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """A new pool for one whose process died (once, however many callers saw it die)."""
        with self._lock:
            if self._executor is broken:
                log.warning("an ingest process stopped unexpectedly; starting a new one")
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new()
            return self._current()

    def _submit(self, fn: Callable[..., Any], *args: Any) -> tuple[ProcessPoolExecutor, Future[Any]]:
        executor = self._current()
        try:
            return executor, executor.submit(fn, *args)
        except BrokenProcessPool:
            # It died while idle: nothing was sent yet, so the new pool takes the call.
            executor = self._replace(executor)
            return executor, executor.submit(fn, *args)

    async def ingest(self, agent_id: int, body: bytes, body_gz: bytes | None) -> IngestAnswer:
        """Parse and store one report in an ingest process; its answer. ``IngestProcessLost`` when
        the process died meanwhile (the pool is replaced)."""
        executor, future = self._submit(_ingest_in_child, agent_id, body, body_gz)
        try:
            answer: IngestAnswer = await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            self._replace(executor)
            raise IngestProcessLost("the ingest process stopped while it held this report") from exc
        return answer

    def wake_jobs(self) -> None:
        """Wake an ingest process's job worker for the derived work of a report stored elsewhere (in
        the serving process), at most every ``WAKE_EVERY_SECONDS``; nothing is awaited."""
        now = time.monotonic()
        executor = self._executor
        if executor is None or not self.settings.job_worker or now - self._woken < WAKE_EVERY_SECONDS:
            return
        self._woken = now
        # A dead process: the watch or the next report replaces the pool, and the new worker polls.
        with contextlib.suppress(BrokenProcessPool, RuntimeError):
            executor.submit(_wake_worker)

    async def check(self) -> None:
        """Replace the pool if its process died while idle (the job worker lives there)."""
        executor, future = self._submit(_ready)
        try:
            await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._replace(executor)

    def start_watch(self) -> None:
        async def watch() -> None:
            while True:
                await asyncio.sleep(WATCH_SECONDS)
                try:
                    await self.check()
                except RuntimeError:  # stopped meanwhile
                    return

        self._watch = asyncio.get_running_loop().create_task(watch())

    def stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def pid(self, timeout: float = 60.0) -> int:
        """The process id of an ingest process, once it is ready (monitoring, tests)."""
        _executor, future = self._submit(_ready)
        return int(future.result(timeout))


# --- in the ingest process ---------------------------------------------------------------------

_engine: Engine | None = None
_settings: CollectorSettings | None = None
_worker: Worker | None = None


def _init_child(settings: CollectorSettings, setup: ChildSetup | None, parent: int) -> None:
    global _engine, _settings, _worker
    # Ctrl-C reaches the whole process group: the serving process lets the reports in flight finish,
    # then ends this one (``IngestPool.stop``); were this one to stop first, those reports would be
    # answered 503 and the pool replaced during the shutdown. SIGTERM keeps its default: the pool
    # ends a process of a broken pool with it (the systemd unit signals the main process only).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    from collector.db import make_engine

    _settings = settings
    _engine = make_engine(settings.database_url)
    if settings.job_worker:
        _worker = Worker(_engine, settings).start()
    # Run when the pool ends this process (multiprocessing's exit, not atexit): the job in hand
    # commits or rolls back before the process goes.
    util.Finalize(None, _stop_child, exitpriority=10)
    if setup is not None:
        fn, args = setup
        fn(*args)


def _exit_with_parent(parent: int) -> None:
    """End this process if the serving process is gone (killed: it could not stop this one). The
    pool's pipe does not tell: this process holds both of its ends."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        log.warning("the serving process is gone; this ingest process stops")
        _stop_child()
        os._exit(0)

    threading.Thread(target=watch, name="wardwatch-parent-watch", daemon=True).start()


def _stop_child() -> None:
    if _worker is not None:
        _worker.stop()
    if _engine is not None:
        _engine.dispose()


def _ready() -> int:
    return os.getpid()


def _wake_worker() -> None:
    if _worker is not None:
        _worker.wake()


def _ingest_in_child(agent_id: int, body: bytes, body_gz: bytes | None) -> IngestAnswer:
    assert _engine is not None and _settings is not None, "not an ingest process"
    with Session(_engine) as session:
        agent = session.get(Agent, agent_id)
        if agent is None:  # removed since its key was checked
            return 401, "unknown agent key; enroll again"
        try:
            answer = ingest_body(session, _settings, agent, body, body_gz)
        except DataError as exc:
            # As the app answers a DataError in the serving process (collector.app, ``_refused``).
            session.rollback()
            reason = error_reason(exc)
            log.warning("the database refused a value on POST /api/v1/reports: %s", reason)
            raise DatabaseRefused("the database refused a value: %(reason)s", reason=reason) from None
    if _worker is not None and isinstance(answer, IngestOutcome) and answer.status == "accepted":
        _worker.wake()  # the derived work this report queued starts now, not at the next poll
    return answer
