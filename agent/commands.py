"""Implementations of ``wardwatch agent collect|enroll|run|status`` (agent/cli.py holds the options).

Errors a user can act on end with one line on stderr naming the problem and a non-zero exit
status, never a traceback; secrets (enroll secret, agent key) are never printed.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.i18n import _

if TYPE_CHECKING:
    from agent.config import AgentSettings

log = logging.getLogger("agent")
LOW_DISK = 1024 * 1024  # below this, status says the state directory's disk is full


def _settings(config_path: Path | None, **overrides: Any) -> AgentSettings:
    from agent.config import ConfigError, load_settings

    try:
        settings = load_settings(config_path, **overrides)
    except (ConfigError, FileNotFoundError) as exc:
        typer.echo(_("error: %(problem)s", problem=exc), err=True)
        raise typer.Exit(2) from None
    _logging(settings.log_level)
    return settings


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; the agent logs outcomes itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(_("error: %(problem)s", problem=message), err=True)
    return typer.Exit(code)


def collect_command(*, json_out: bool, config_path: Path | None, state_dir: Path | None = None) -> None:
    from agent.cycle import build_report, collect_host
    from agent.state import AgentState

    settings = _settings(config_path, state_dir=state_dir)
    collected = collect_host(settings)
    ident = AgentState.load(settings.state_dir) if settings.state_dir.exists() else None
    built = build_report(collected, agent_id=ident.agent_id if ident else "local")
    if json_out:
        sys.stdout.write(json.dumps(json.loads(built.body), indent=2, ensure_ascii=False) + "\n")
        return
    report = built.report
    none = _("(none)")
    typer.echo(
        _("%(hostname)s: report %(report_id)s", hostname=report.subject.hostname, report_id=report.report_id)
    )
    typer.echo(_("  sections: %(sections)s", sections=", ".join(report.present_sections()) or none))
    counts = Counter(r.status.value for r in report.results)
    typer.echo(
        _("  checks:   %(counts)s", counts=", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or none)
    )
    for problem in collected.problems:
        typer.echo(_("  problem:  %(problem)s", problem=problem))
    typer.echo(_("  size:     %(n)s bytes JSON (use --json to print it)", n=len(built.body)))


def enroll_command(
    *, collector_url: str, secret: str, state_dir: Path | None, config_path: Path | None
) -> None:
    from agent.cycle import fallback_hostname
    from agent.delivery import Backoff, enroll
    from agent.errors import AgentError, PermanentError
    from agent.state import StateError, ensure_state_dir
    from inventory.host import hostname as host_name

    settings = _settings(config_path, state_dir=state_dir, collector_url=collector_url)
    try:
        hostname = host_name()
    except Exception:  # a broken platform reader must not stop enrolment: the socket's name will do
        hostname = None
    if not hostname:
        hostname = fallback_hostname()
    backoff = Backoff(base=1.0, cap=8.0, retry_after_max=30.0)
    try:
        ensure_state_dir(settings.state_dir)
    except StateError as exc:
        raise _fail(str(exc)) from None
    for attempt in range(1, 6):
        try:
            ident = enroll(
                settings,
                collector_url=settings.collector_url or collector_url,
                secret=secret,
                hostname=hostname,
                state_dir=settings.state_dir,
            )
            break
        except PermanentError as exc:
            raise _fail(str(exc)) from None
        except AgentError as exc:
            if attempt == 5:
                raise _fail(str(exc)) from None
            delay = backoff.next_delay(getattr(exc, "retry_after", None))
            log.warning(_("%(problem)s; retrying in %(delay).1f s", problem=exc, delay=delay))
            time.sleep(delay)
    try:
        ensure_state_dir(settings.state_dir)
        ident.save(settings.state_dir)
    except StateError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        _(
            "enrolled: agent %(agent_id)s, site %(site)s, state in %(state_dir)s",
            agent_id=ident.agent_id,
            site=ident.site,
            state_dir=settings.state_dir,
        )
    )


def rotate_key_command(*, state_dir: Path | None, config_path: Path | None) -> None:
    from agent.errors import AgentError
    from agent.keys import rotate_key

    settings = _settings(config_path, state_dir=state_dir)
    try:
        done = rotate_key(settings, state_dir=settings.state_dir)
    except AgentError as exc:
        raise _fail(_("%(problem)s (the current key keeps working)", problem=exc)) from None
    if not done.confirmed:
        typer.echo(
            _(
                "agent %(agent_id)s: new key saved; the collector retires the old key at the next "
                "delivery (%(problem)s)",
                agent_id=done.agent_id,
                problem=done.problem,
            )
        )
        return
    typer.echo(_("agent %(agent_id)s: key rotated; the old key no longer works", agent_id=done.agent_id))


def run_command(*, once: bool, state_dir: Path | None, config_path: Path | None) -> None:
    # The long-running agent never imports pydantic or the fact models (see agent.runner).
    from agent.errors import AgentError
    from agent.runner import ConfigInvalid, resolve_settings, run

    try:
        settings = resolve_settings(config_path, state_dir)
    except ConfigInvalid as exc:
        raise _fail(str(exc).removeprefix("error: "), 2) from None
    _logging(settings.log_level)
    try:
        outcome = run(settings, once=once)
    except AgentError as exc:
        raise _fail(str(exc)) from None
    if outcome is not None:
        msg = _(
            "spooled %(spooled)s, delivered %(delivered)s, waiting %(remaining)s",
            spooled=outcome.spooled,
            delivered=outcome.delivered,
            remaining=outcome.remaining,
        )
        if outcome.error:
            typer.echo(_("%(summary)s; last error: %(error)s", summary=msg, error=outcome.error), err=True)
            raise typer.Exit(1)
        typer.echo(msg)


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def status_data(settings: AgentSettings) -> dict[str, Any]:
    """What ``agent status`` shows; reads only (it works on a full disk, beside a running agent)."""
    from agent.spool import SPOOL_FILE, inspect
    from agent.state import AgentState, Status

    state_dir = settings.state_dir
    ident = AgentState.load(state_dir) if state_dir.exists() else None
    st = Status.load(state_dir) if state_dir.exists() else Status()
    spool: dict[str, Any] = {"path": str(state_dir / SPOOL_FILE), "depth": 0}
    if (state_dir / SPOOL_FILE).exists():
        s, records = inspect(state_dir / SPOOL_FILE)
        spool.update(
            depth=s.count,
            bytes=s.bytes,
            oldest_at=_when(s.oldest_at),
            oldest_age_seconds=round(time.time() - s.oldest_at) if s.oldest_at else None,
            quarantined=s.quarantined,
            quarantine=[
                {
                    "report_id": r.report_id,
                    "kind": r.kind,
                    "subject": r.subject,
                    "reason": r.reason,
                    "quarantined_at": _when(r.quarantined_at),
                }
                for r in records
            ],
        )
    try:
        disk_free: int | None = shutil.disk_usage(state_dir).free if state_dir.exists() else None
    except OSError:
        disk_free = None
    return {
        "state_dir": str(state_dir),
        "enrolled": ident is not None,
        "agent_id": ident.agent_id if ident else None,
        "site": ident.site if ident else None,
        "collector_url": settings.collector_url or (ident.collector_url if ident else None),
        "spool": spool,
        "disk_free_bytes": disk_free,
        "last_success_at": _when(st.last_success_at),
        "last_attempt_at": _when(st.last_attempt_at),
        "last_error": st.last_error,
        "last_error_at": _when(st.last_error_at),
        "delivered_total": st.delivered,
        "needs_full": st.needs_full,
        "last_run": {k: _when(v) for k, v in st.last_run.items()},
    }


def status_command(*, state_dir: Path | None, config_path: Path | None, json_out: bool = False) -> None:
    from agent.errors import AgentError

    settings = _settings(config_path, state_dir=state_dir)
    try:
        data = status_data(settings)
    except AgentError as exc:
        raise _fail(str(exc)) from None
    if json_out:
        typer.echo(json.dumps(data, indent=2))
        return
    sp = data["spool"]
    typer.echo(_("state dir:     %(path)s", path=data["state_dir"]))
    if data["enrolled"]:
        typer.echo(
            _(
                "enrolled:      agent %(agent_id)s (site %(site)s) -> %(url)s",
                agent_id=data["agent_id"],
                site=data["site"],
                url=data["collector_url"],
            )
        )
    else:
        typer.echo(_("enrolled:      no (run `wardwatch agent enroll --collector URL --secret SECRET`)"))
    oldest = (
        _(", oldest %(at)s (%(age)s s ago)", at=sp["oldest_at"], age=sp["oldest_age_seconds"])
        if sp.get("oldest_at")
        else ""
    )
    typer.echo(
        _("spool:         %(n)s report(s), %(bytes)s bytes", n=sp["depth"], bytes=sp.get("bytes", 0)) + oldest
    )
    if sp.get("quarantined"):
        typer.echo(_("quarantined:   %(n)s report(s), kept in the spool; newest first:", n=sp["quarantined"]))
        for q in sp["quarantine"]:
            what = " ".join(x for x in (q["kind"], q["report_id"]) if x) or _("a record")
            typer.echo(f"  {q['quarantined_at']} {what}: {q['reason']}")
    if data["disk_free_bytes"] is not None and data["disk_free_bytes"] < LOW_DISK:
        typer.echo(
            _(
                "disk:          full (%(n)s bytes free); heartbeats wait in memory",
                n=data["disk_free_bytes"],
            )
        )
    typer.echo(_("last success:  %(at)s", at=data["last_success_at"] or _("never")))
    err = (
        _("%(error)s (at %(at)s)", error=data["last_error"], at=data["last_error_at"])
        if data["last_error"]
        else _("none")
    )
    typer.echo(_("last error:    %(error)s", error=err))
