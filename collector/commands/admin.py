"""Administration: database migrations, users, sites, enroll secrets."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer

from collector.cli import DEFAULT_DATA_DIR, DatabaseUrl, app, resolve_database_url
from collector.i18n import cli_gettext as _
from collector.i18n import process_language
from collector.plugins import CommandSpec
from collector.services.errors import ServiceError

db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the web console and API.", no_args_is_help=True)
site_app = typer.Typer(help="Sites: the communes and wards.", no_args_is_help=True)
secret_app = typer.Typer(help="Enroll secrets that let agents join a site.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(site_app, name="site")
app.add_typer(secret_app, name="enroll-secret")


def _fail(message: object) -> typer.Exit:
    """Print the error in the process language: a ServiceError carries a msgid, other errors are data."""
    shown = message.text(process_language()) if isinstance(message, ServiceError) else str(message)
    typer.echo(_("error: %(message)s", message=shown), err=True)
    return typer.Exit(code=2)


@contextmanager
def _session(url: str) -> Iterator[Any]:
    """A committing session; an unreachable or unmigrated database becomes a clear ServiceError."""
    from sqlalchemy.exc import DBAPIError

    from collector.db import database_error_line, make_engine, session_scope
    from collector.services.errors import ServiceError

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            yield session
    except DBAPIError as exc:
        raise ServiceError(database_error_line(url, exc)) from None
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply every pending migration."""
    from sqlalchemy.exc import DBAPIError

    from collector.db import error_reason
    from collector.migrate import upgrade

    url = resolve_database_url(database_url)
    try:
        upgrade(url)
    except DBAPIError as exc:
        raise _fail(_("cannot upgrade the database: %(error)s", error=error_reason(exc))) from None
    typer.echo(_("database is up to date"))


@db_app.command("prune")
def db_prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what the retention policy would delete; delete nothing.")
    ] = False,
    database_url: DatabaseUrl = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="WARDWATCH_DATA_DIR",
            help="Where the SQLite database is, without --database-url.",
        ),
    ] = DEFAULT_DATA_DIR,
) -> None:
    """Apply the retention policy now (the daily job does it too): old raw reports and history.

    Prints, per table, the rows deleted (or, with --dry-run, that would be). The policy's days are
    the collector's settings (WARDWATCH_RAW_REPORT_RETENTION_DAYS, WARDWATCH_SNAPSHOT_RETENTION_DAYS,
    WARDWATCH_HISTORY_RETENTION_DAYS).
    """
    from sqlalchemy.exc import DBAPIError

    from collector.db import error_reason, make_engine
    from collector.services.retention import prune
    from collector.settings import CollectorSettings

    url = resolve_database_url(database_url, data_dir)
    settings = CollectorSettings(database_url=url, data_dir=data_dir)
    engine = make_engine(url)
    try:
        result = prune(engine, settings, dry_run=dry_run)
    except DBAPIError as exc:
        raise _fail(_("cannot prune the database: %(error)s", error=error_reason(exc))) from None
    finally:
        engine.dispose()
    for line in result.lines():
        typer.echo(line)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help="admin, technician, inspector, planner or viewer")],
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Limit the user to this site (repeat)")
    ] = None,
    full_name: Annotated[str | None, typer.Option("--full-name")] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Position (chức vụ), printed in signature blocks")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user; the password is read from WARDWATCH_NEW_PASSWORD or asked for."""
    from collector.services.errors import ServiceError
    from collector.services.users import create_user

    password = os.environ.get("WARDWATCH_NEW_PASSWORD") or getpass.getpass("Password: ")
    try:
        with _session(resolve_database_url(database_url)) as session:
            create_user(
                session,
                username=username,
                password=password,
                role=role,
                site_codes=site or [],
                full_name=full_name,
                title=title,
                actor="cli",
            )
    except ServiceError as exc:
        raise _fail(exc) from None
    typer.echo(_("user %(username)s added with role %(role)s", username=username, role=role))


class _UserLine(TypedDict):
    """One user as ``user list --json`` prints it."""

    username: str
    full_name: str | None
    role: str
    sites: list[str]
    disabled: bool


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per user.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List the users: name, role, sites, and whether each is disabled (failed logins only slow an
    address and name down: nobody is locked out)."""
    import json

    from collector.services.errors import ServiceError
    from collector.services.users import list_users

    try:
        with _session(resolve_database_url(database_url)) as session:
            rows: list[_UserLine] = [
                {
                    "username": r.user.username,
                    "full_name": r.user.full_name,
                    "role": r.user.role,
                    "sites": r.site_codes,
                    "disabled": r.user.disabled,
                }
                for r in list_users(session)
            ]
    except ServiceError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max([len(r["username"]) for r in rows] + [8])
    typer.echo(f"{'USERNAME'.ljust(width)}  {'ROLE':10}  {'STATE':8}  SITES")
    for r in rows:
        state = "disabled" if r["disabled"] else "active"
        sites = ",".join(r["sites"]) or "all"
        typer.echo(f"{r['username'].ljust(width)}  {r['role']:10}  {state:8}  {sites}")
    typer.echo(_("%(n)s users", n=len(rows)))


def _new_password(stdin: bool) -> str:
    """The new password: a line on stdin (scripts), else asked twice without echo."""
    import sys

    if stdin:
        line = sys.stdin.readline()
        if not line:
            raise _fail(_("no password on standard input"))
        return line.rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat the new password: ") != first:
        raise _fail(_("the two passwords differ; nothing was changed"))
    return first


@user_app.command("passwd")
def user_passwd(
    username: str,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the new password from the first line of standard input.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a user's password (asked for, or read from stdin); lifts a lockout, ends their sessions."""
    from sqlmodel import select

    from collector.models.core import User
    from collector.services.errors import ServiceError
    from collector.services.users import reset_password

    password = _new_password(stdin)
    if not password:
        raise _fail(_("the new password is empty; nothing was changed"))
    try:
        with _session(resolve_database_url(database_url)) as session:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                raise ServiceError(
                    "no user %(username)s; `wardwatch user list` shows them", username=repr(username)
                )
            reset_password(session, user_id=user.id or 0, actor="cli", password=password)
    except ServiceError as exc:
        raise _fail(exc) from None
    typer.echo(
        _("password of %(username)s changed; their sessions and API tokens were ended", username=username)
    )


@site_app.command("add")
def site_add(
    code: str,
    name: str,
    group: Annotated[
        str | None, typer.Option("--group", help="A free label for a cluster of communes (optional).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a site (a commune or ward office)."""
    from collector.services.errors import ServiceError
    from collector.services.sites import create_site

    try:
        with _session(resolve_database_url(database_url)) as session:
            create_site(session, code=code, name=name, group=group)
    except ServiceError as exc:
        raise _fail(exc) from None
    typer.echo(_("site %(code)s added", code=code))


@site_app.command("import")
def site_import(file: Path, database_url: DatabaseUrl = None) -> None:
    """Create or update sites from a CSV file with columns code,name[,group,address] (, or ; separated)."""
    from collector.services.errors import ServiceError
    from collector.services.sites import import_sites_csv

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(_("cannot read %(file)s: %(error)s", file=file, error=exc)) from None
    try:
        with _session(resolve_database_url(database_url)) as session:
            result = import_sites_csv(session, text)
    except ServiceError as exc:
        raise _fail(f"{file}: {exc}") from None
    typer.echo(
        _(
            "%(created)s sites created, %(updated)s updated",
            created=len(result.created),
            updated=len(result.updated),
        )
    )


@secret_app.command("create")
def secret_create(
    site: Annotated[str, typer.Option("--site", help="Site code")],
    label: Annotated[str | None, typer.Option("--label")] = None,
    valid_days: Annotated[
        int, typer.Option("--valid-days", min=1, max=3650, help="Days before it expires")
    ] = 7,
    max_uses: Annotated[
        int | None,
        typer.Option("--max-uses", min=1, help="How many agents may enroll with it (default: any)"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an enroll secret; it is printed alone on stdout, once (only its hash is stored)."""
    from collector.services.enrollment import create_enroll_secret
    from collector.services.errors import ServiceError

    try:
        with _session(resolve_database_url(database_url)) as session:
            secret = create_enroll_secret(
                session,
                site_code=site,
                label=label,
                created_by="cli",
                valid_days=valid_days,
                max_uses=max_uses,
            )
    except ServiceError as exc:
        raise _fail(exc) from None
    typer.echo(secret)


PLUGIN = CommandSpec(commands=("db", "user", "site", "enroll-secret"))
