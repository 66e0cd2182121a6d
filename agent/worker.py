"""The agent's child process: the heavy half of a cycle, so the long-running agent stays small.

``wardwatch agent run`` is a lean supervisor (schedule, spool, delivery: stdlib, sqlite3 and httpx,
no pydantic models). Everything that needs the fact models, the host inventory, the checks
catalog or a capability (``agent.capabilities``) runs here, in a child that exits when done, so
its memory goes back to the system between cycles. The commands, their answers and exit statuses
are the protocol in ``agent.protocol``::

    python -m agent.worker settings [--config FILE] [--state-dir DIR]        -> SettingsMessage
    python -m agent.worker collect --modules inventory,checks,devices [--full] -> CollectResult
    python -m agent.worker deliver                                           -> FlushResult

Secrets travel on stdin, never in argv or the environment of the child.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.protocol import HOST_MODULES, CollectResult, HostIdentityJson, SettingsMessage, WorkerExit

if TYPE_CHECKING:
    from agent.config import AgentSettings


def settings_to_json(settings: AgentSettings) -> str:
    """Effective settings as JSON, secrets revealed (for the child's stdin only)."""
    return json.dumps(settings_data(settings))


def settings_message(settings: AgentSettings) -> SettingsMessage:
    """The settings and each capability's schedule, as the supervisor reads them."""
    from agent.capabilities import CAPABILITIES

    return SettingsMessage(
        settings=settings_data(settings), schedules=[c.schedule(settings) for c in CAPABILITIES]
    )


def settings_data(settings: AgentSettings) -> dict[str, Any]:
    """Effective settings as JSON-ready data, secrets revealed."""
    from pydantic import SecretBytes, SecretStr

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr | SecretBytes):
            secret = value.get_secret_value()
            return secret.decode() if isinstance(secret, bytes) else secret
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [reveal(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    raw: dict[str, Any] = json.loads(json.dumps(reveal(settings.model_dump(mode="python")), default=str))
    return raw


def _load_from_stdin() -> AgentSettings:
    from agent.config import AgentSettings

    return AgentSettings.model_validate_json(sys.stdin.read())


def cmd_settings(args: argparse.Namespace) -> int:
    from agent.config import ConfigError, load_settings

    overrides: dict[str, Any] = {}
    if args.state_dir:
        overrides["state_dir"] = Path(args.state_dir)
    try:
        settings = load_settings(Path(args.config) if args.config else None, **overrides)
    except (ConfigError, FileNotFoundError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return WorkerExit.CONFIG
    sys.stdout.write(settings_message(settings).to_json() + "\n")
    return WorkerExit.OK


def cmd_collect(args: argparse.Namespace) -> int:
    from agent.cycle import build_report, collect_host, spool_device_reports, spool_report
    from agent.errors import SpoolError
    from agent.spool import Spool
    from agent.state import AgentState, Baseline

    stopping = {"flag": False}

    def _stop(_sig: int, _frame: Any) -> None:
        stopping["flag"] = True  # finish what is under way; skip the write if it has not begun

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    settings = _load_from_stdin()
    _logging(settings.log_level)
    modules = set(filter(None, args.modules.split(",")))
    state_dir = settings.state_dir
    ident = AgentState.load(state_dir)
    agent_id = ident.agent_id if ident else ""
    out = CollectResult()
    started = time.monotonic()
    try:
        spool = Spool.in_state_dir(
            state_dir, max_bytes=settings.spool.max_bytes, max_age_seconds=settings.spool.max_age_days * 86400
        )
    except SpoolError as exc:
        out.error = str(exc)
        print(out.to_json())
        return WorkerExit.SPOOL
    code = WorkerExit.OK
    try:
        if modules & (set(HOST_MODULES) | set(host_capabilities())):
            collected = collect_host(settings, with_checks="checks" in modules, run=modules)
            baseline = Baseline.load(state_dir)
            built = build_report(collected, agent_id=agent_id, baseline=baseline, full=args.full)
            out.report_id = built.report_id
            out.kind = built.kind
            out.bytes = len(built.body)
            out.results = len(built.report.results)
            out.failing = built.failing
            out.hostname = collected.hostname
            ident_ = collected.identity
            out.identity = HostIdentityJson(
                machine_id=ident_.machine_id, serial=ident_.serial, mac=ident_.mac
            )
            out.problems += collected.problems
            if stopping["flag"]:
                out.stopped = True
            else:
                try:
                    spool_report(spool, built)
                    out.spooled += 1
                except SpoolError as exc:
                    out.error = str(exc)
                    code = WorkerExit.SPOOL
        if not stopping["flag"]:
            count, problems = spool_device_reports(settings, spool, agent_id=agent_id, run=modules)
            out.spooled += count
            out.devices = count
            out.problems += problems
    finally:
        spool.close()
    out.seconds = round(time.monotonic() - started, 3)
    out.usage = _usage()
    print(out.to_json())
    return code


def host_capabilities() -> list[str]:
    from agent.capabilities import CAPABILITIES

    return [c.name for c in CAPABILITIES if c.in_host_report]


def _usage() -> dict[str, float]:
    """This process's own peak RSS and CPU, and its commands' (smartctl, dpkg, apt ...), for the bench."""
    try:
        import resource
    except ImportError:  # Windows
        return {}
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "peak_self_mb": round(me.ru_maxrss / 1024, 1),
        "cpu_self": round(me.ru_utime + me.ru_stime, 3),
        "peak_commands_mb": round(kids.ru_maxrss / 1024, 1),
        "cpu_commands": round(kids.ru_utime + kids.ru_stime, 3),
    }


def cmd_deliver(_args: argparse.Namespace) -> int:
    from agent.delivery import Deliverer
    from agent.errors import SpoolError, TransientError
    from agent.flush import FlushResult
    from agent.spool import Spool
    from agent.state import update_baseline

    stopping = {"flag": False}

    def _stop(_sig: int, _frame: Any) -> None:
        stopping["flag"] = True  # the report on the wire finishes, and its acknowledgement is written

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    settings = _load_from_stdin()
    _logging(settings.log_level)
    try:
        spool = Spool.in_state_dir(
            settings.state_dir,
            max_bytes=settings.spool.max_bytes,
            max_age_seconds=settings.spool.max_age_days * 86400,
        )
    except SpoolError as exc:  # a full disk, say: the agent goes on and tries again later
        print(json.dumps(FlushResult(error=TransientError(f"spool: {exc}")).to_json()))
        return WorkerExit.OK
    try:
        result = Deliverer(
            settings, spool, on_ack=lambda item, status: update_baseline(settings.state_dir, item, status)
        ).flush(stop=lambda: stopping["flag"])
    finally:
        spool.close()
    print(json.dumps(result.to_json()))
    return WorkerExit.OK


def _logging(level: str) -> None:
    import logging

    logging.basicConfig(
        level=getattr(logging, str(level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise; outcomes are logged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.worker")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("settings")
    s.add_argument("--config")
    s.add_argument("--state-dir")
    c = sub.add_parser("collect")
    c.add_argument("--modules", default="inventory,checks,certs")
    c.add_argument("--full", action="store_true")
    sub.add_parser("deliver")
    args = parser.parse_args(argv)
    commands = {"settings": cmd_settings, "collect": cmd_collect, "deliver": cmd_deliver}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
