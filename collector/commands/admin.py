"""Administration: database migrations, users, sites, enroll secrets."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from collector.cli import DatabaseUrl, app, resolve_database_url

db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the web console and API.", no_args_is_help=True)
site_app = typer.Typer(help="Sites: the communes and wards.", no_args_is_help=True)
secret_app = typer.Typer(help="Enroll secrets that let agents join a site.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(site_app, name="site")
app.add_typer(secret_app, name="enroll-secret")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
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

    from collector.migrate import upgrade

    url = resolve_database_url(database_url)
    try:
        upgrade(url)
    except DBAPIError as exc:
        raise _fail(f"cannot upgrade the database: {str(exc.orig or exc).splitlines()[0]}") from None
    typer.echo("database is up to date")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help="admin, technician, inspector, planner or viewer")],
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Limit the user to this site (repeat)")
    ] = None,
    full_name: Annotated[str | None, typer.Option("--full-name")] = None,
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
                actor="cli",
            )
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"user {username} added with role {role}")


@site_app.command("add")
def site_add(
    code: str,
    name: str,
    district: Annotated[str | None, typer.Option()] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a site (a commune or ward office)."""
    from collector.services.errors import ServiceError
    from collector.services.sites import create_site

    try:
        with _session(resolve_database_url(database_url)) as session:
            create_site(session, code=code, name=name, district=district)
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"site {code} added")


@site_app.command("import")
def site_import(file: Path, database_url: DatabaseUrl = None) -> None:
    """Create or update sites from a CSV file with columns code,name[,district,address]."""
    from collector.services.errors import ServiceError
    from collector.services.sites import import_sites_csv

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {file}: {exc}") from None
    try:
        with _session(resolve_database_url(database_url)) as session:
            result = import_sites_csv(session, text)
    except ServiceError as exc:
        raise _fail(f"{file}: {exc}") from None
    typer.echo(f"{len(result.created)} sites created, {len(result.updated)} updated")


@secret_app.command("create")
def secret_create(
    site: Annotated[str, typer.Option("--site", help="Site code")],
    label: Annotated[str | None, typer.Option("--label")] = None,
    valid_days: Annotated[int | None, typer.Option("--valid-days", min=1)] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an enroll secret; it is printed alone on stdout, once (only its hash is stored)."""
    from collector.services.enrollment import create_enroll_secret
    from collector.services.errors import ServiceError

    try:
        with _session(resolve_database_url(database_url)) as session:
            secret = create_enroll_secret(
                session, site_code=site, label=label, created_by="cli", valid_days=valid_days
            )
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(secret)
