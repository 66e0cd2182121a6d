"""Running the collector: ``wardwatch serve`` and the one-command ``wardwatch up``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from collector.cli import DEFAULT_DATA_DIR, DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.i18n import process_language
from collector.plugins import CommandSpec
from collector.services.errors import ServiceError

Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535)]
TlsCert = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert", envvar="WARDWATCH_TLS_CERT", help="Serve HTTPS with this PEM certificate (chain)."
    ),
]
TlsKey = Annotated[
    Path | None,
    typer.Option("--tls-key", envvar="WARDWATCH_TLS_KEY", help="The PEM private key of --tls-cert."),
]
ForwardedAllowIps = Annotated[
    str,
    typer.Option(
        "--forwarded-allow-ips",
        envvar="WARDWATCH_FORWARDED_ALLOW_IPS",
        help="The reverse proxy's addresses (IPs or CIDRs, comma-separated): only their X-Forwarded-For, "
        "X-Forwarded-Proto and X-Client-Cert headers are believed. Default: none.",
    ),
]
RequireClientCert = Annotated[
    bool,
    typer.Option(
        "--require-client-cert",
        envvar="WARDWATCH_REQUIRE_CLIENT_CERT",
        help="Refuse agent reports without a valid, unrevoked certificate from the collector's agent CA.",
    ),
]


def _fail(message: object) -> typer.Exit:
    """Print the error in the process language: a ServiceError carries a msgid, other errors are data."""
    shown = message.text(process_language()) if isinstance(message, ServiceError) else str(message)
    typer.echo(_("error: %(message)s", message=shown), err=True)
    return typer.Exit(code=2)


def _prepare_data_dir(data_dir: Path, database_url: str) -> None:
    """Everything created from now on is private; what is already there is checked."""
    from collector.files import check_data_dir, make_private_dir, private_umask

    private_umask()
    make_private_dir(data_dir)
    loosened = check_data_dir(data_dir, database_url)
    for problem in loosened:
        typer.echo(_("warning: %(problem)s", problem=problem), err=True)
    secrets = [p for p in loosened if p.secret]
    if secrets:
        raise _fail(
            _(
                "%(n)s key file(s) in %(folder)s can be read by other users; fix their modes (and "
                "rotate the keys if someone else may have read them) before starting",
                n=len(secrets),
                folder=data_dir,
            )
        )


def _tls_config(
    tls_cert: Path | None, tls_key: Path | None, data_dir: Path, *, require_client_cert: bool, proxied: bool
) -> dict[str, Any]:
    """uvicorn's TLS settings: our certificate, and client certificates from the agent CA optional."""
    if (tls_cert is None) != (tls_key is None):
        raise _fail(_("--tls-cert and --tls-key go together"))
    if tls_cert is None or tls_key is None:
        if require_client_cert and not proxied:
            raise _fail(
                _(
                    "--require-client-cert needs TLS: give --tls-cert/--tls-key, or --forwarded-allow-ips "
                    "for a proxy that verifies agent certificates and forwards them"
                )
            )
        return {}
    import ssl

    from collector import agent_ca
    from collector.proxy import PeerCertH11Protocol

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(tls_cert), str(tls_key))
    except FileNotFoundError as exc:
        raise _fail(_("cannot read %(file)s: %(error)s", file=exc.filename, error=exc.strerror)) from None
    except (OSError, ssl.SSLError) as exc:
        raise _fail(
            _(
                "cannot use --tls-cert %(cert)s with --tls-key %(key)s: %(error)s",
                cert=tls_cert,
                key=tls_key,
                error=exc,
            )
        ) from None
    agent_ca.load_or_create(data_dir)
    return {
        "ssl_certfile": str(tls_cert),
        "ssl_keyfile": str(tls_key),
        # Agents present their certificate when they have one; --require-client-cert decides in the app.
        "ssl_ca_certs": str(agent_ca.cert_path(data_dir)),
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "http": PeerCertH11Protocol,
    }


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", envvar="WARDWATCH_DATA_DIR", help="Keys and photos.")
    ] = DEFAULT_DATA_DIR,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    forwarded_allow_ips: ForwardedAllowIps = "",
    require_client_cert: RequireClientCert = False,
) -> None:
    """Run the collector only (migrations are applied first).

    Behind a reverse proxy (TLS termination), name it with --forwarded-allow-ips so that clients'
    real addresses are used; see docs/operations.md.
    """
    import uvicorn

    from collector.serving import uvicorn_options

    data_dir = data_dir.resolve()
    _prepare_data_dir(data_dir, database_url or f"sqlite:///{data_dir / 'wardwatch.db'}")
    url = resolve_database_url(database_url, data_dir)
    tls = _tls_config(
        tls_cert,
        tls_key,
        data_dir,
        require_client_cert=require_client_cert,
        proxied=bool(forwarded_allow_ips),
    )
    _upgrade_or_exit(url)
    # Workers build their app from these (collector.asgi).
    os.environ["WARDWATCH_DATABASE_URL"] = url
    os.environ["WARDWATCH_DATA_DIR"] = str(data_dir)
    os.environ["WARDWATCH_FORWARDED_ALLOW_IPS"] = forwarded_allow_ips
    os.environ["WARDWATCH_REQUIRE_CLIENT_CERT"] = "true" if require_client_cert else "false"
    uvicorn.run(
        "collector.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **uvicorn_options(),
        **tls,
    )


@app.command()
def up(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Database, keys and agent state.")
    ] = DEFAULT_DATA_DIR,
    no_agent: Annotated[bool, typer.Option("--no-agent", help="Start the collector only.")] = False,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    forwarded_allow_ips: ForwardedAllowIps = "",
    require_client_cert: RequireClientCert = False,
) -> None:
    """Collector on SQLite in DATA_DIR plus an enrolled local agent; Ctrl-C stops both."""
    import uvicorn

    from collector.app import create_app
    from collector.db import make_engine, session_scope
    from collector.services.bootstrap import bootstrap
    from collector.services.enrollment import create_enroll_secret
    from collector.serving import uvicorn_options
    from collector.settings import CollectorSettings

    data_dir = data_dir.resolve()
    url = f"sqlite:///{data_dir / 'wardwatch.db'}"
    _prepare_data_dir(data_dir, url)
    tls = _tls_config(
        tls_cert,
        tls_key,
        data_dir,
        require_client_cert=require_client_cert,
        proxied=bool(forwarded_allow_ips),
    )
    _upgrade_or_exit(url)
    settings = CollectorSettings(
        database_url=url,
        data_dir=data_dir,
        forwarded_allow_ips=forwarded_allow_ips,
        require_client_cert=require_client_cert,
    )
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
                max_uses=1,
            )
        )
    base = f"{'https' if tls else 'http'}://{host}:{port}"
    typer.echo(_("wardwatch collector: %(url)s  (data in %(folder)s)", url=base, folder=data_dir))
    if boot.admin_password:
        shown = (
            _("from WARDWATCH_ADMIN_PASSWORD")
            if os.environ.get("WARDWATCH_ADMIN_PASSWORD")
            else boot.admin_password
        )
        typer.echo(
            _(
                "first run: log in as 'admin' with password: %(password)s  (shown once; change it)",
                password=shown,
            )
        )

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine=engine),
            host=host,
            port=port,
            log_level="warning",
            **uvicorn_options(),
            **tls,
        )
    )
    agent: dict[str, subprocess.Popen[bytes]] = {}
    if not no_agent:
        # The local agent trusts exactly this certificate (pinned), whoever issued it.
        pin = _cert_sha256(tls_cert) if tls_cert else None
        threading.Thread(
            target=_start_agent, args=(server, base, secret, agent_dir, agent, pin), daemon=True
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
        typer.echo(_("wardwatch stopped"))


def _upgrade_or_exit(url: str) -> None:
    """Migrations first; a database that cannot be reached is one clear line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from collector.db import database_error_line
    from collector.migrate import upgrade

    try:
        upgrade(url)
    except SQLAlchemyError as exc:
        typer.echo(_("error: %(message)s", message=database_error_line(url, exc)), err=True)
        raise typer.Exit(code=2) from None


def _enrolled(agent_dir: Path) -> bool:
    from agent.state import AgentState

    return AgentState.load(agent_dir) is not None


def _cert_sha256(path: Path) -> str:
    import hashlib
    import ssl

    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    return hashlib.sha256(der).hexdigest()


def _start_agent(
    server: object,
    base: str,
    secret: str | None,
    agent_dir: Path,
    out: dict[str, subprocess.Popen[bytes]],
    pin: str | None = None,
) -> None:
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.1)
    enroll, run = agent_commands(base, agent_dir, secret, pin=pin)
    if enroll is not None:
        done = subprocess.run(enroll[0], env=enroll[1], check=False)
        if done.returncode != 0:
            typer.echo(_("local agent could not enroll; the collector keeps running"), err=True)
            return
    if getattr(server, "should_exit", False):
        return
    out["proc"] = subprocess.Popen(run[0], env=run[1])


Command = tuple[list[str], dict[str, str]]


def agent_commands(
    base: str, agent_dir: Path, secret: str | None, *, pin: str | None = None
) -> tuple[Command | None, Command]:
    """The local agent's enroll (when a secret is given) and run commands, each with its environment.

    The enroll secret travels in the enroll child's environment (``WARDWATCH_ENROLL_SECRET``), which
    only this user and root can read, never in argv, which every user of the PC can list; the
    long-running agent never gets it.
    """
    cmd = [sys.executable, "-m", "collector.cli"]
    env = {**os.environ, "WARDWATCH_AGENT_COLLECTOR_URL": base, "WARDWATCH_AGENT_STATE_DIR": str(agent_dir)}
    for name in ("WARDWATCH_ADMIN_PASSWORD", "WARDWATCH_ENROLL_SECRET", "WARDWATCH_AGENT_ENROLL_SECRET"):
        env.pop(name, None)
    if pin:
        env["WARDWATCH_AGENT_PINNED_CERT_SHA256"] = pin
    enroll = None
    if secret is not None:
        enroll = (
            [*cmd, "agent", "enroll", "--collector", base, "--state-dir", str(agent_dir)],
            {**env, "WARDWATCH_ENROLL_SECRET": secret},
        )
    return enroll, ([*cmd, "agent", "run", "--state-dir", str(agent_dir)], env)


PLUGIN = CommandSpec(commands=("serve", "up"))
