"""Poll every device of the list with bounded concurrency; each device becomes one Report.

A device that cannot be polled still gets a Report: its ``facts.device.poll_errors`` say why, and the
``netdev.poll_ok`` check fails with that reason, so the collector shows it (a changed host key, a wrong
password) instead of silently losing the device.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from agent.netdevices.capability import NETDEVICES
from agent.netdevices.config import DeviceEntry, load_device_list
from agent.netdevices.credentials import CredentialError, CredentialStore, load_key, resolve_password
from checks.runner import run_checks
from inventory.facts import Facts
from inventory.netdevices.facts import NetworkDeviceFacts, PollError
from inventory.report import NetworkDeviceIdentity, Report, Subject, utcnow

if TYPE_CHECKING:
    from agent.config import AgentSettings

log = logging.getLogger(__name__)

MODULE = "devices"
UNENROLLED_AGENT_ID = "unenrolled"


class NoDeviceList(ValueError):
    pass


def device_report(entry: DeviceEntry, facts: NetworkDeviceFacts, *, agent_id: str) -> Report:
    platform = facts.platform or (entry.platform if entry.platform != "auto" else None)
    all_facts = Facts(device=facts)
    return Report(
        agent_id=agent_id,
        agent_version=_version(),
        collected_at=utcnow(),
        subject=Subject(
            kind="network_device",
            hostname=facts.hostname or entry.name,
            device=NetworkDeviceIdentity(
                name=entry.name, host=entry.host, platform=platform or "unknown", serial=facts.serial_number
            ),
            site=entry.site,
        ),
        facts=all_facts,
        results=run_checks(all_facts, subject="network_device", platform=platform, modules=[MODULE]),
        modules=[MODULE],
    )


def _version() -> str | None:
    try:
        from agent import __version__

        return __version__
    except ImportError:
        return None


def _enrolled(state_dir: Path) -> tuple[str, str | None]:
    """This agent's id and site (``unenrolled`` and None before it enrolls)."""
    try:
        from agent.state import AgentState

        state = AgentState.load(state_dir)
    except Exception:  # an unreadable state file is reported by `agent status`, not here
        return UNENROLLED_AGENT_ID, None
    return (state.agent_id, state.site) if state else (UNENROLLED_AGENT_ID, None)


def own_site_entries(entries: list[DeviceEntry], site: str | None) -> list[DeviceEntry]:
    """The entries this agent may report: a network device belongs to its poller's site, and the
    collector refuses a report naming another one, so such an entry is skipped here, said once."""
    if site is None:
        return entries
    kept = []
    for entry in entries:
        if entry.site and entry.site != site:
            log.warning(
                "device %s names site %s but this agent is enrolled in site %s: not polled "
                "(an agent reports only its own site's devices)",
                entry.name,
                entry.site,
                site,
            )
            continue
        kept.append(entry)
    return kept


def poll_devices(
    settings: AgentSettings,
    *,
    devices_file: Path | None = None,
    agent_id: str | None = None,
    on_start: Callable[[list[DeviceEntry]], None] | None = None,
    on_done: Callable[[DeviceEntry, Report], None] | None = None,
    env: dict[str, str] | None = None,
) -> list[Report]:
    """One Report per device of the list, in list order."""
    from inventory.netdevices.contract import DeviceTarget, Timeouts
    from inventory.netdevices.hostkeys import KnownHosts
    from inventory.netdevices.poll import poll_device

    cfg = NETDEVICES.config_of(settings)
    path = devices_file or cfg.devices_file
    if path is None:
        raise NoDeviceList(
            "no device list: give --devices FILE or set [netdevices] devices_file in the agent config"
        )
    state_dir = settings.state_dir
    enrolled_id, site = _enrolled(state_dir)
    entries = own_site_entries(load_device_list(Path(path)), site)
    if on_start:
        on_start(entries)
    agent_id = agent_id or enrolled_id
    known_hosts = KnownHosts(cfg.known_hosts_path(state_dir))
    timeouts = Timeouts(connect=cfg.connect_timeout, command=cfg.command_timeout)

    store: CredentialStore | None = None
    store_error: str | None = None
    if any(e.credential for e in entries):
        try:
            store = CredentialStore(cfg.store_path(state_dir), load_key(cfg, state_dir, env))
        except CredentialError as exc:
            store_error = str(exc)
    lock = threading.Lock()

    def one(entry: DeviceEntry) -> Report:
        try:
            if entry.credential and store is None:
                raise CredentialError(f"device {entry.name}: {store_error}")
            password = resolve_password(entry, cfg, state_dir, env, store=store)
        except CredentialError as exc:
            facts = NetworkDeviceFacts(
                name=entry.name, platform=None if entry.platform == "auto" else entry.platform
            )
            facts.poll_errors.append(PollError(stage="auth", message=str(exc)))
        else:
            target = DeviceTarget(
                name=entry.name,
                host=entry.host,
                port=entry.port,
                platform=entry.platform,
                username=entry.username,
                site=entry.site,
            )
            facts = poll_device(target, password, known_hosts=known_hosts, timeouts=timeouts)
        report = device_report(entry, facts, agent_id=agent_id)
        if on_done:
            with lock:
                on_done(entry, report)
        return report

    if not entries:
        return []
    with ThreadPoolExecutor(
        max_workers=min(cfg.concurrency, len(entries)), thread_name_prefix="poll"
    ) as pool:
        return list(pool.map(one, entries))
