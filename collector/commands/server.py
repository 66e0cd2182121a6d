"""Running the collector: ``wardwatch serve`` and the one-command ``wardwatch up``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from collector.cli import DEFAULT_DATA_DIR, DatabaseUrl, app, resolve_database_url

Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535)]


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
) -> None:
    """Run the collector only (migrations are applied first)."""
    import uvicorn

    url = resolve_database_url(database_url)
    _upgrade_or_exit(url)
    os.environ["WARDWATCH_DATABASE_URL"] = url
    uvicorn.run(
        "collector.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


@app.command()
def up(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Database, keys and agent state.")
    ] = DEFAULT_DATA_DIR,
    no_agent: Annotated[bool, typer.Option("--no-agent", help="Start the collector only.")] = False,
) -> None:
    """Collector on SQLite in DATA_DIR plus an enrolled local agent; Ctrl-C stops both."""
    import uvicorn

    from collector.app import create_app
    from collector.db import make_engine, session_scope
    from collector.services.bootstrap import bootstrap
    from collector.services.enrollment import create_enroll_secret
    from collector.settings import CollectorSettings

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = resolve_database_url(None, data_dir)
    _upgrade_or_exit(url)
    settings = CollectorSettings(database_url=url, data_dir=data_dir)
    engine = make_engine(url)
    agent_dir = data_dir / "agent"
    with session_scope(engine) as session:
        boot = bootstrap(session, admin_password=os.environ.get("WARDWATCH_ADMIN_PASSWORD"))
        secret = (
            None
            if _enrolled(agent_dir) or no_agent
            else create_enroll_secret(
                session,
                site_code=boot.site.code,
                label="wardwatch up: local agent",
                created_by="up",
                valid_days=1,
            )
        )
    base = f"http://{host}:{port}"
    typer.echo(f"wardwatch collector: {base}  (data in {data_dir})")
    if boot.admin_password:
        shown = (
            "from WARDWATCH_ADMIN_PASSWORD"
            if os.environ.get("WARDWATCH_ADMIN_PASSWORD")
            else boot.admin_password
        )
        typer.echo(f"first run: log in as 'admin' with password: {shown}  (shown once; change it)")

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine=engine), host=host, port=port, log_level="warning")
    )
    agent: dict[str, subprocess.Popen[bytes]] = {}
    if not no_agent:
        threading.Thread(
            target=_start_agent, args=(server, base, secret, agent_dir, agent), daemon=True
        ).start()
    # uvicorn handles SIGINT/SIGTERM, then re-raises the signal once stopped; with the default
    # handlers in place that would kill this process before it stops the agent, so note it instead.
    stop_signals: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop_signals.append(signum))
    try:
        server.run()  # returns once the server has stopped
    finally:
        proc = agent.get("proc")
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.dispose()
        typer.echo("wardwatch stopped")


def _upgrade_or_exit(url: str) -> None:
    """Migrations first; a database that cannot be reached is one clear line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from collector.db import database_error_line
    from collector.migrate import upgrade

    try:
        upgrade(url)
    except SQLAlchemyError as exc:
        typer.echo(f"error: {database_error_line(url, exc)}", err=True)
        raise typer.Exit(code=2) from None


def _enrolled(agent_dir: Path) -> bool:
    from agent.state import AgentState

    return AgentState.load(agent_dir) is not None


def _start_agent(
    server: object, base: str, secret: str | None, agent_dir: Path, out: dict[str, subprocess.Popen[bytes]]
) -> None:
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.1)
    cmd = [sys.executable, "-m", "collector.cli"]
    env = {**os.environ, "WARDWATCH_AGENT_COLLECTOR_URL": base, "WARDWATCH_AGENT_STATE_DIR": str(agent_dir)}
    env.pop("WARDWATCH_ADMIN_PASSWORD", None)
    if secret is not None:
        done = subprocess.run(
            [*cmd, "agent", "enroll", "--collector", base, "--secret", secret, "--state-dir", str(agent_dir)],
            env=env,
            check=False,
        )
        if done.returncode != 0:
            typer.echo("local agent could not enroll; the collector keeps running", err=True)
            return
    if getattr(server, "should_exit", False):
        return
    out["proc"] = subprocess.Popen([*cmd, "agent", "run", "--state-dir", str(agent_dir)], env=env)
