"""``wardwatch agent run``: collect on schedule, spool, deliver; stop cleanly on SIGTERM/SIGINT.

The first report goes at once (an inventory with checks: full when the collector holds no
baseline or the last full report is a day old, else a delta), then a heartbeat every 5 minutes,
an inventory and checks every hour, network devices on their interval. Delivery runs whenever the
spool holds reports, backing off with full jitter after a failure. A stop signal is noted and acted
on between steps: the spool write under way finishes first.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from agent.config import AgentSettings
from agent.cycle import (
    HOST_SUBJECT,
    Collected,
    build_report,
    collect_host,
    heartbeat_report,
    spool_device_reports,
    spool_report,
    update_baseline,
)
from agent.delivery import Backoff, Deliverer, FlushResult
from agent.errors import AlreadyRunning, PermanentError, SpoolError
from agent.schedule import Schedule
from agent.spool import Spool, SpoolItem
from agent.state import AgentState, Baseline, RunLock, Status, ensure_state_dir

log = logging.getLogger(__name__)

INVENTORY, CHECKS, HEARTBEAT, DEVICES = "inventory", "checks", "heartbeat", "devices"


@dataclass
class RunOutcome:
    spooled: int = 0
    delivered: int = 0
    remaining: int = 0
    error: str | None = None


class AgentRunner:
    def __init__(
        self,
        settings: AgentSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.state_dir = ensure_state_dir(settings.state_dir)
        self.clock = clock
        self.stop_event = threading.Event()
        self.spool = Spool.in_state_dir(
            self.state_dir,
            max_bytes=settings.spool.max_bytes,
            max_age_seconds=settings.spool.max_age_days * 86400,
        )
        self.status = Status.load(self.state_dir)
        self.baseline = Baseline.load(self.state_dir)
        self.deliverer = Deliverer(
            settings, self.spool, state_dir=self.state_dir, transport=transport, on_ack=self._acked
        )
        self.backoff = Backoff.from_settings(settings)
        iv = settings.intervals
        self.schedule = Schedule(
            {HEARTBEAT: iv.heartbeat, INVENTORY: iv.inventory, CHECKS: iv.checks, DEVICES: iv.devices},
            splay=iv.splay,
        )
        self._last: Collected | None = None
        self._next_flush = 0.0

    # -- signals ---------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal %d: stopping after the current step", signum)
            self.stop_event.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop)

    def stopping(self) -> bool:
        return self.stop_event.is_set()

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
        agent_id = self._agent_id()
        if INVENTORY in modules or CHECKS in modules:
            collected = collect_host(self.settings, with_checks=CHECKS in modules)
            self._last = collected
            full = self._want_full(now)
            built = build_report(collected, agent_id=agent_id, baseline=self.baseline, full=full)
            spooled += self._spool(lambda: spool_report(self.spool, built), f"{built.kind} report")
            if built.kind == "full":
                self.status.needs_full = False
            log.info(
                "%s report %s: %d bytes, %d result(s), %d failing%s",
                built.kind,
                built.report_id,
                len(built.body),
                len(built.report.results),
                built.failing,
                f"; problems: {'; '.join(collected.problems)}" if collected.problems else "",
            )
            for name in (INVENTORY, CHECKS, HEARTBEAT):
                if name in modules or name == HEARTBEAT:
                    self._mark(name, now)
        elif HEARTBEAT in modules:
            built = self._heartbeat(agent_id)
            spooled += self._spool(lambda: spool_report(self.spool, built), "heartbeat")
            self._mark(HEARTBEAT, now)
        if DEVICES in modules:
            count, problems = spool_device_reports(self.settings, self.spool, agent_id=agent_id)
            spooled += count
            for p in problems:
                self.status.error(p)
            self._mark(DEVICES, now)
        return spooled

    def _heartbeat(self, agent_id: str) -> Any:
        if self._last is None:
            # Identity and hostname only; no facts are collected for a heartbeat.
            from agent.cycle import fallback_hostname, fallback_identity, optional
            from inventory.facts import Facts

            ident_fn = optional("inventory.host", "host_identity")
            name_fn = optional("inventory.host", "hostname")
            try:
                identity = ident_fn() if ident_fn else fallback_identity(Facts())
                hostname = name_fn() if name_fn else fallback_hostname()
            except Exception:
                identity, hostname = fallback_identity(Facts()), fallback_hostname()
            return heartbeat_report(agent_id=agent_id, hostname=hostname, identity=identity)
        return heartbeat_report(agent_id=agent_id, hostname=self._last.hostname, identity=self._last.identity)

    def _spool(self, write: Callable[[], int], what: str) -> int:
        try:
            write()
            return 1
        except SpoolError as exc:
            log.error("%s not spooled: %s", what, exc)
            self.status.error(str(exc))
            return 0

    def _mark(self, name: str, now: float) -> None:
        self.schedule.done(name, now)
        self.status.last_run[name] = now

    def _acked(self, item: SpoolItem, _status: str) -> None:
        if item.subject != HOST_SUBJECT:
            return
        try:
            update_baseline(self.state_dir, self.baseline, item.kind, item.report_id, item.sections or {})
        except OSError as exc:
            log.warning("baseline not saved: %s", exc)

    def deliver(self) -> FlushResult:
        self.status.last_attempt_at = self.clock()
        result = self.deliverer.flush(stop=self.stopping)
        if result.delivered:
            self.status.success(result.delivered)
        if result.needs_full:
            dropped = self.spool.drop_subject_deltas(HOST_SUBJECT)
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
        modules = [INVENTORY, CHECKS] + ([DEVICES] if self._devices_configured() else [])
        out.spooled = self.collect_once(modules, now)
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
                out.spooled += self.collect_once([INVENTORY, CHECKS], self.clock())
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
        out.remaining = self.spool.stats().count
        self.status.save(self.state_dir)
        return out

    def _devices_configured(self) -> bool:
        from agent.cycle import capability_enabled

        return capability_enabled(self.settings.devices)

    def run_forever(self) -> None:
        now = self.clock()
        # The first report goes at once; the other modules keep their rhythm across restarts.
        self.schedule.run_now(INVENTORY, now)
        self.schedule.run_now(CHECKS, now)
        self.schedule.resume(HEARTBEAT, None, now)
        self.schedule.done(HEARTBEAT, now)
        if self._devices_configured():
            self.schedule.resume(DEVICES, self.status.last_run.get(DEVICES), now)
        while not self.stopping():
            try:
                self._step()
            except Exception as exc:  # the agent outlives its own bugs: log, note, try again later
                log.exception("agent step failed")
                self.status.error(f"{type(exc).__name__}: {exc}")
                self.status.save(self.state_dir)
                self.stop_event.wait(min(self.backoff.next_delay(), 300.0))

    def _step(self) -> None:
        now = self.clock()
        due = self.schedule.due(now)
        if self.status.needs_full:
            due = sorted(set(due) | {INVENTORY, CHECKS})
        if due:
            self.collect_once(due, now)
            self.status.save(self.state_dir)
        if self.stopping():
            return
        if now >= self._next_flush and self.spool.stats().count:
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
                if result.delivered and self.spool.stats().count == 0:
                    self.spool.compact()
        wake = self.schedule.next_wakeup()
        if self.spool.stats().count:
            wake = min(wake, max(self._next_flush, self.clock()))
        self.stop_event.wait(max(0.0, min(wake - self.clock(), 3600.0)))

    def close(self) -> None:
        self.status.save(self.state_dir)
        self.spool.close()


def run(
    settings: AgentSettings, *, once: bool, transport: httpx.BaseTransport | None = None
) -> RunOutcome | None:
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
