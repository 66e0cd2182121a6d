"""The certificates capability: stores, files, TLS endpoints and signed documents ([certificates])."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.capability import Capability
from agent.cli_options import ConfigFile

if TYPE_CHECKING:
    from agent.certificates.config import CertificatesConfig
    from agent.config import AgentSettings
    from inventory.facts import Facts


def _config() -> type[CertificatesConfig]:
    from agent.certificates.config import CertificatesConfig

    return CertificatesConfig


def _interval(settings: AgentSettings) -> float:
    # Expiry and revocation move in days, and the scan loads the PKI libraries: [intervals] certs, daily.
    return settings.intervals.certs


def _enabled(settings: AgentSettings) -> bool:
    return CERTIFICATES.config_of(settings).enabled


def _host_facts(settings: AgentSettings, facts: Facts, run_now: bool, problems: list[str]) -> bool:
    """Only when due: between runs the section is left out and the collector keeps the one it has."""
    if not run_now or not _enabled(settings):
        return False
    from agent.certificates.collect import collect_certificates

    facts.certificates = collect_certificates(settings)
    return facts.certificates is not None


def certificates(
    targets: Annotated[
        list[str], typer.Argument(help="Certificate file, folder, signed document, host:port or https URL.")
    ],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="Extra trust anchor (PEM); may be repeated.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON entry per certificate or signature.")
    ] = False,
    legacy_sha1: Annotated[
        bool, typer.Option("--legacy-sha1", help="Accept SHA-1 signatures (still reported).")
    ] = False,
    expiring_days: Annotated[
        int | None,
        typer.Option(
            "--expiring-days",
            min=0,
            max=3650,
            help="'expiring' this many days before the end (default: [certificates] expiring_days, 30).",
        ),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Check certificates, TLS services and signed documents: verdict and reasons for each."""
    from agent.certificates.command import certs_command

    if expiring_days is None:
        expiring_days = _configured_expiring_days(config)
    raise typer.Exit(
        certs_command(
            targets,
            trust=trust or [],
            json_out=json_out,
            legacy_sha1=legacy_sha1,
            expiring_days=expiring_days,
        )
    )


def _configured_expiring_days(config: Path | None) -> int | None:
    """``[certificates] expiring_days`` of the agent's configuration, when there is one and it is readable."""
    from agent.config import ConfigError, load_settings

    try:
        return CERTIFICATES.config_of(load_settings(config)).expiring_days
    except (ConfigError, FileNotFoundError, OSError):
        return None


CERTIFICATES: Capability[CertificatesConfig] = Capability(
    # The module name travels in reports ("modules") and names the checks' module, the schedule and
    # [intervals] certs: it stays "certs". The table and the command were renamed; the old names work.
    name="certs",
    section="certificates",
    section_aliases=("certs",),
    config=_config,
    interval=_interval,
    enabled=_enabled,
    command_name="certificates",
    command_aliases=("certs",),
    command=certificates,
    host_facts=_host_facts,
)
