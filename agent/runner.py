"""``wardwatch agent run``: collect on schedule, spool, deliver; stop cleanly on SIGTERM/SIGINT.

The first report goes at once (an inventory with checks: full when the collector holds no
baseline or the last full report is a day old, else a delta), then a heartbeat every 5 minutes,
an inventory and checks every hour, network devices on their interval. Delivery runs whenever the
spool holds reports, backing off with full jitter after a failure. A stop signal is noted and acted
on between steps: the spool write under way finishes first.

This process lives for months on a 4 GB PC, so it stays lean: it holds the schedule, the spool
and the HTTP client, and nothing else. Collection (fact models, host inventory, checks,
capabilities) runs in a child process, ``agent.worker``, whose memory is returned when it exits;
heartbeats are built here as plain JSON. Settings reach it from that same worker; everything that
crosses the process boundary is a dataclass of ``agent.protocol``. Capabilities are scheduled from
what their declarations (``agent.capabilities``) computed, by name: nothing here knows them.

A disk too full to open or write the spool does not stop it: heartbeats wait in memory (the
newest ``HELD_HEARTBEATS``) and are spooled once there is room. A heartbeat tells the collector
how many reports the spool has quarantined, and why (``quarantine``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError, AlreadyRunning, PermanentError, SpoolError
from agent.flush import FlushResult
from agent.protocol import (
    CHECKS,
    HEARTBEAT,
    HOST_MODULES,
    HOST_SUBJECT,
    INVENTORY,
    QUARANTINE_TOLD,
    CollectResult,
    QuarantineJson,
    SettingsMessage,
    SupervisorSettings,
    WorkerExit,
    heartbeat_json,
    last_json_line,
    quarantine_note,
)
from agent.schedule import Backoff, Schedule
from agent.spool import Spool
from agent.state import AgentState, Baseline, RunLock, Status, ensure_state_dir, update_baseline

if TYPE_CHECKING:
    import httpx

    from agent.config import AgentSettings

log = logging.getLogger(__name__)

WORKER_TIMEOUT = 1800.0  # a collection child taking longer is killed (a hung command, a stuck driver)
HELD_HEARTBEATS = 288  # a day of 5-minute heartbeats (about 150 KB) kept in memory while the disk is full


class ConfigInvalid(AgentError):
    """The agent configuration is not valid (the worker said why)."""


def resolve_settings(config_path: Path | None, state_dir: Path | None) -> SupervisorSettings:
    """Load and validate the settings in a worker (pydantic stays out of this process)."""
    argv = [sys.executable, "-m", "agent.worker", "settings"]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    if state_dir is not None:
        argv += ["--state-dir", str(state_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != WorkerExit.OK:
        raise ConfigInvalid((done.stderr.strip().splitlines() or ["the settings could not be loaded"])[-1])
    return SettingsMessage.from_json(done.stdout).supervisor_settings()


def as_supervisor(settings: SupervisorSettings | AgentSettings) -> SupervisorSettings:
    """A pydantic AgentSettings (tests, embedding) or supervisor settings, as supervisor settings."""
    if isinstance(settings, SupervisorSettings):
        return settings
    from agent.worker import settings_message

    return settings_message(settings).supervisor_settings()


@dataclass
class RunOutcome:
    spooled: int = 0
    delivered: int = 0
    remaining: int = 0
    error: str | None = None


class AgentRunner:
    def __init__(
        self,
        settings: SupervisorSettings | AgentSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = as_supervisor(settings)
        self.state_dir = ensure_state_dir(self.settings.state_dir)
        self.clock = clock
        self.stop_event = threading.Event()
        self.status = Status.load(self.state_dir)
        self.spool: Spool | None = None
        self._spool_tried = float("-inf")
        self._spool_error: str | None = None
        self._held: deque[tuple[str, str, bytes]] = deque(maxlen=HELD_HEARTBEATS)
        self.open_spool()
        self.baseline = Baseline.load(self.state_dir)
        # Delivery (httpx) runs in a worker child unless a transport is injected (tests, embedding).
        self.transport = transport
        self.backoff = Backoff.from_settings(self.settings)
        iv = self.settings.intervals
        self.schedule = Schedule(
            {
                HEARTBEAT: iv.heartbeat,
                INVENTORY: iv.inventory,
                CHECKS: iv.checks,
                **{c.name: c.interval for c in self.settings.capabilities},
            },
            splay=iv.splay,
        )
        self._next_flush = 0.0
        self._child: subprocess.Popen[str] | None = None

    # -- signals ---------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal %d: stopping after the current step", signum)
            self.stop_event.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop)

    def stopping(self) -> bool:
        return self.stop_event.is_set()

    # -- the spool, or memory while it cannot be written ------------------------------------------

    def open_spool(self) -> Spool | None:
        """The spool; None while it cannot be opened (a full disk). Tried again at most once a second."""
        if self.spool is None and self.clock() - self._spool_tried >= 1.0:
            self._spool_tried = self.clock()
            try:
                self.spool = Spool.in_state_dir(
                    self.state_dir,
                    max_bytes=self.settings.spool.max_bytes,
                    max_age_seconds=self.settings.spool.max_age_days * 86400,
                )
            except SpoolError as exc:
                if str(exc) != self._spool_error:  # said once, not at every step
                    log.error("%s; heartbeats are kept in memory until it opens", exc)
                    self._spool_error = str(exc)
                self.status.error(str(exc))
                return None
            if self._spool_error is not None:
                log.info("spool %s is open again", self.spool.path)
                self._spool_error = None
        return self.spool

    def _heartbeat(self) -> int:
        host = self.status.host or {}
        spool = self.open_spool()
        agent_id = self._agent_id()
        rid, body = heartbeat_json(
            agent_id=agent_id,
            hostname=host.get("hostname") or socket.gethostname() or "unknown",
            identity=host.get("identity"),
            quarantine=self._quarantine_note(spool),
        )
        self._held.append((rid, agent_id, body))
        spooled = self._spool_held(spool)
        if self._held:
            log.warning("%d heartbeat(s) kept in memory until the spool has room", len(self._held))
        return spooled

    def _spool_held(self, spool: Spool | None) -> int:
        """Spool the heartbeats held in memory, oldest first; what does not fit stays held."""
        spooled = 0
        while spool is not None and self._held:
            rid, agent_id, body = self._held[0]
            try:
                spool.enqueue(body, report_id=rid, agent_id=agent_id, kind="heartbeat")
            except SpoolError as exc:
                log.error("heartbeat not spooled: %s", exc)
                self.status.error(str(exc))
                break
            self._held.popleft()
            spooled += 1
        return spooled

    def _quarantine_note(self, spool: Spool | None) -> QuarantineJson | None:
        """What a heartbeat tells the collector about quarantined reports: while there are any, and
        once more when there are none left (so that the device page clears)."""
        if spool is None:
            return None
        try:
            count = spool.stats().quarantined
            records = spool.quarantined(QUARANTINE_TOLD) if count else []
        except SpoolError:
            return None
        if not count and not self.status.quarantine_told:
            return None
        self.status.quarantine_told = count
        return quarantine_note(count, records)

    # -- steps -----------------------------------------------------------------------------------

    def _agent_id(self) -> str:
        ident = AgentState.load(self.state_dir)
        return ident.agent_id if ident else ""

    def _want_full(self, now: float) -> bool:
        b = self.baseline
        return (
            self.status.needs_full
            or not b.report_id
            or now - b.full_at >= self.settings.intervals.full_report
        )

    def collect_once(self, modules: list[str], now: float) -> int:
        """Collect what ``modules`` ask for and spool it; returns how many reports were spooled."""
        spooled = 0
        known = {*HOST_MODULES, *(c.name for c in self.settings.capabilities)}
        heavy = [m for m in modules if m in known]
        if heavy:
            full = self._want_full(now)
            out = self._collect(["--modules", ",".join(heavy), *(["--full"] if full else [])])
            spooled += out.spooled
            if out.hostname:
                self.status.host = {"hostname": out.hostname, "identity": out.identity}
            if out.error:
                self.status.error(out.error)
                log.error("report not spooled: %s", out.error)
            if out.kind:
                if out.kind == "full" and out.spooled:
                    self.status.needs_full = False
                log.info(
                    "%s report %s: %s bytes, %s result(s), %s failing, %ss%s",
                    out.kind,
                    out.report_id,
                    out.bytes,
                    out.results,
                    out.failing,
                    out.seconds,
                    f"; problems: {'; '.join(out.problems)}" if out.problems else "",
                )
            for name in heavy:
                self._mark(name, now)
            if out.kind:
                self._mark(HEARTBEAT, now)  # a report is proof of life too
        elif HEARTBEAT in modules:
            spooled += self._heartbeat()
            self._mark(HEARTBEAT, now)
        return spooled

    def _collect(self, args: list[str]) -> CollectResult:
        code, line, error = self._worker(["collect", *args])
        try:
            out = CollectResult.from_json(line) if line else CollectResult()
        except (ValueError, TypeError):
            out = CollectResult()
        out.error = out.error or error
        if code not in (WorkerExit.OK, WorkerExit.SPOOL) and not out.error:
            out.error = f"collect worker exited with status {code}"
        return out

    def _worker(self, args: list[str]) -> tuple[int | None, str | None, str | None]:
        """Run ``python -m agent.worker ARGS`` with the settings on stdin: (exit status, its last JSON
        line, why it could not run)."""
        argv = [sys.executable, "-m", "agent.worker", *args]
        try:
            # The child gets its own stop signal from the terminal or systemd (same group / cgroup).
            self._child = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True
            )
            stdout, _ = self._child.communicate(self.settings.worker_input, timeout=WORKER_TIMEOUT)
            code = self._child.returncode
        except subprocess.TimeoutExpired:
            assert self._child is not None
            self._child.kill()
            self._child.communicate()
            return None, None, f"worker {args[0]} took longer than {WORKER_TIMEOUT:.0f} s and was stopped"
        except OSError as exc:
            return None, None, f"cannot start the {args[0]} worker: {exc}"
        finally:
            self._child = None
        return code, last_json_line(stdout), None

    def _mark(self, name: str, now: float) -> None:
        self.schedule.done(name, now)
        self.status.last_run[name] = now

    def _flush(self) -> FlushResult:
        if self.transport is not None:
            from agent.delivery import Deliverer
            from agent.errors import TransientError

            if self.spool is None:
                return FlushResult(error=TransientError("the spool cannot be opened"))
            deliverer = Deliverer(
                self.settings,
                self.spool,
                state_dir=self.state_dir,
                transport=self.transport,
                on_ack=lambda item, status: update_baseline(self.state_dir, item, status),
            )
            return deliverer.flush(stop=self.stopping)
        code, line, error = self._worker(["deliver"])
        try:
            data = json.loads(line) if line else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or "sent" not in data:
            from agent.errors import TransientError

            why = error or (
                f"delivery worker exited with status {code}" if code else "delivery worker failed"
            )
            return FlushResult(error=TransientError(why))
        return FlushResult.from_json(data)

    def deliver(self) -> FlushResult:
        self.status.last_attempt_at = self.clock()
        result = self._flush()
        self.baseline = Baseline.load(self.state_dir)
        if result.delivered:
            self.status.success(result.delivered)
        if result.needs_full:
            try:
                dropped = self.spool.drop_subject_deltas(HOST_SUBJECT) if self.spool else 0
            except SpoolError:
                dropped = 0
            if dropped:
                log.info("dropped %d waiting delta(s): the collector needs a full report first", dropped)
            self.status.needs_full = True
            Baseline.clear(self.state_dir)
            self.baseline = Baseline()
        if result.error is not None:
            self.status.error(str(result.error))
            log.warning("delivery: %s", result.error)
        elif result.delivered:
            log.info("delivered %d report(s) (%d duplicate)", result.delivered, result.duplicates)
        self.status.save(self.state_dir)
        return result

    # -- loops -----------------------------------------------------------------------------------

    def run_once(self) -> RunOutcome:
        """One inventory with checks (and devices when configured), then deliver with a few retries."""
        out = RunOutcome()
        now = self.clock()
        out.spooled = self.collect_once([*HOST_MODULES, *self.settings.enabled()], now)
        self.status.save(self.state_dir)
        attempts = self.settings.delivery.once_attempts
        fulls = 0
        for attempt in range(1, attempts + 1):
            if self.stopping():
                break
            result = self.deliver()
            out.delivered += result.delivered
            if result.needs_full and fulls < 2:
                fulls += 1
                out.spooled += self.collect_once(self._full_modules(), self.clock())
                continue
            if result.error is None:
                out.error = None
                break
            out.error = str(result.error)
            if isinstance(result.error, PermanentError) or attempt == attempts:
                break
            delay = min(self.backoff.next_delay(result.error.retry_after), 60.0)
            log.info("retrying delivery in %.1f s", delay)
            if self.stop_event.wait(delay):
                break
        out.remaining = self._waiting()
        self.status.save(self.state_dir)
        return out

    def run_forever(self) -> None:
        now = self.clock()
        # The first report goes at once; the other modules keep their rhythm across restarts.
        self.schedule.run_now(INVENTORY, now)
        self.schedule.run_now(CHECKS, now)
        self.schedule.done(HEARTBEAT, now)
        for name in self.settings.enabled():
            self.schedule.resume(name, self.status.last_run.get(name), now)
        while not self.stopping():
            try:
                self._step()
            except Exception as exc:  # the agent outlives its own bugs: log, note, try again later
                log.exception("agent step failed")
                self.status.error(f"{type(exc).__name__}: {exc}")
                self.status.save(self.state_dir)
                self.stop_event.wait(min(self.backoff.next_delay(), 300.0))

    def _full_modules(self) -> list[str]:
        """What a full host report holds: inventory, checks and the host-report capabilities enabled."""
        return [*HOST_MODULES, *self.settings.enabled(in_host_report=True)]

    def _waiting(self) -> int:
        """Reports waiting in the spool (0 while it cannot be opened)."""
        spool = self.open_spool()
        return spool.stats().count if spool is not None else 0

    def _step(self) -> None:
        now = self.clock()
        if self._held:
            self._spool_held(self.open_spool())
        due = self.schedule.due(now)
        if self.status.needs_full:
            due = sorted(set(due) | set(self._full_modules()))
        if due:
            self.collect_once(due, now)
            self.status.save(self.state_dir)
        if self.stopping():
            return
        if now >= self._next_flush and self._waiting():
            result = self.deliver()
            if result.error is not None:
                delay = self.backoff.next_delay(result.error.retry_after)
                self._next_flush = self.clock() + delay
                log.info("next delivery attempt in %.1f s", delay)
            else:
                self.backoff.reset()
                self._next_flush = 0.0
                if result.needs_full:
                    return  # collect the full report now
                if result.delivered and self.spool is not None and self._waiting() == 0:
                    self.spool.compact()
        wake = self.schedule.next_wakeup()
        if self._waiting():
            wake = min(wake, max(self._next_flush, self.clock()))
        self.stop_event.wait(max(0.0, min(wake - self.clock(), 3600.0)))

    def close(self) -> None:
        self.status.save(self.state_dir)
        if self.spool is not None:
            self.spool.close()
        if self._held:
            log.warning("%d heartbeat(s) kept in memory are lost: the spool never had room", len(self._held))


def run(
    settings: SupervisorSettings | AgentSettings,
    *,
    once: bool,
    transport: httpx.BaseTransport | None = None,
) -> RunOutcome | None:
    settings = as_supervisor(settings)
    lock = RunLock(settings.state_dir)
    if not lock.acquire():
        raise AlreadyRunning(f"another `wardwatch agent run` is using {settings.state_dir}")
    runner = AgentRunner(settings, transport=transport)
    runner.install_signal_handlers()
    runner.status.pid = None if once else os.getpid()
    try:
        if once:
            return runner.run_once()
        runner.run_forever()
        return None
    finally:
        runner.status.pid = None
        runner.close()
        lock.release()
