"""The agent's child process: the heavy half of a cycle, so the long-running agent stays small.

``wardwatch agent run`` is a lean supervisor (schedule, spool, delivery: stdlib, sqlite3 and httpx,
no pydantic models). Everything that needs the fact models, the host inventory, the checks
catalog or a capability (certificates, LAN, devices) runs here, in a child that exits when done, so
its memory goes back to the system between cycles::

    python -m agent.worker settings [--config FILE] [--state-dir DIR]
        -> the effective settings as JSON on stdout (exit 2 with the reason when invalid)
    python -m agent.worker collect --modules inventory,checks,devices [--full]   (settings JSON on stdin)
        -> collects, builds the report (full, or a delta against the baseline), spools it, and prints
           one JSON line: report id, kind, size, problems, hostname, identity
    python -m agent.worker deliver   (settings JSON on stdin)
        -> flushes the spool (agent.delivery, httpx) and prints the outcome as one JSON line

Secrets travel on stdin, never in argv or the environment of the child.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

EXIT_CONFIG = 2
EXIT_SPOOL = 3


def settings_to_json(settings: Any) -> str:
    """Effective settings as JSON, secrets revealed (for the child's stdin only)."""
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

    raw = reveal(settings.model_dump(mode="python"))
    return json.dumps(raw, default=str)


def _load_from_stdin() -> Any:
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
        return EXIT_CONFIG
    sys.stdout.write(settings_to_json(settings) + "\n")
    return 0


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
    out: dict[str, Any] = {"spooled": 0, "problems": []}
    started = time.monotonic()
    try:
        spool = Spool.in_state_dir(
            state_dir, max_bytes=settings.spool.max_bytes, max_age_seconds=settings.spool.max_age_days * 86400
        )
    except SpoolError as exc:
        out["error"] = str(exc)
        print(json.dumps(out))
        return EXIT_SPOOL
    code = 0
    try:
        if modules & {"inventory", "checks", "certs"}:
            collected = collect_host(settings, with_checks="checks" in modules, with_certs="certs" in modules)
            baseline = Baseline.load(state_dir)
            built = build_report(collected, agent_id=agent_id, baseline=baseline, full=args.full)
            out.update(
                report_id=built.report_id,
                kind=built.kind,
                bytes=len(built.body),
                results=len(built.report.results),
                failing=built.failing,
                hostname=collected.hostname,
                identity=collected.identity.model_dump(mode="json"),
            )
            out["problems"] += collected.problems
            if stopping["flag"]:
                out["stopped"] = True
            else:
                try:
                    spool_report(spool, built)
                    out["spooled"] += 1
                except SpoolError as exc:
                    out["error"] = str(exc)
                    code = EXIT_SPOOL
        if "devices" in modules and not stopping["flag"]:
            count, problems = spool_device_reports(settings, spool, agent_id=agent_id)
            out["spooled"] += count
            out["devices"] = count
            out["problems"] += problems
    finally:
        spool.close()
    out["seconds"] = round(time.monotonic() - started, 3)
    out.update(_usage())
    print(json.dumps(out))
    return code


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
        return 0
    try:
        result = Deliverer(
            settings, spool, on_ack=lambda item, status: update_baseline(settings.state_dir, item, status)
        ).flush(stop=lambda: stopping["flag"])
    finally:
        spool.close()
    print(json.dumps(result.to_json()))
    return 0


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
