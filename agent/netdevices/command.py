"""``wardwatch agent poll``: a progress bar while devices are polled, then a table or JSON.

When the agent is enrolled, the reports also go to the spool, so ``wardwatch agent run`` (or the
running service) delivers them to the collector with this agent's key.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.i18n import N_, _
from agent.netdevices.config import DeviceEntry, DeviceListError
from agent.netdevices.credentials import CredentialError
from agent.netdevices.poller import NoDeviceList, poll_devices
from inventory.report import CheckStatus, Report


def _status(report: Report) -> str:
    dev = report.facts.device
    if dev is None:
        return _("no data")
    blocking = [e for e in dev.poll_errors if e.stage in ("detect", "connect", "hostkey", "auth", "command")]
    if blocking:
        return "[red]" + _("%(stage)s error", stage=blocking[0].stage) + "[/]"
    if dev.config_hash is None:
        return "[yellow]" + _("no config") + "[/]"
    return "[green]" + _("ok") + "[/]"


def summary_table(reports: list[Report]) -> Table:
    table = Table(title=_("Network devices"))
    columns = (
        N_("Device"),
        N_("Site"),
        N_("Platform"),
        N_("Model"),
        N_("Firmware"),
        N_("Serial"),
        N_("Poll"),
    )
    for col in (*columns, N_("Failing"), N_("Config")):
        table.add_column(_(col), overflow="fold")
    for r in reports:
        dev = r.facts.device
        failing = sum(1 for x in r.results if x.status == CheckStatus.FAIL)
        table.add_row(
            r.subject.device.name if r.subject.device else r.subject.hostname,
            r.subject.site or "",
            (dev.platform if dev else None) or "?",
            (dev.model if dev else None) or "",
            (dev.os_version if dev else None) or "",
            (dev.serial_number if dev else None) or "",
            _status(r),
            str(failing),
            (dev.config_hash or "")[:12] if dev else "",
        )
    return table


def _spool(reports: list[Report], state_dir: Path) -> int:
    from agent.spool import Spool
    from agent.state import AgentState

    state = AgentState.load(state_dir)
    if state is None:
        return 0
    with Spool.in_state_dir(state_dir) as spool:
        for r in reports:
            failing = sum(1 for x in r.results if x.status == CheckStatus.FAIL)
            name = r.subject.device.name if r.subject.device else r.subject.hostname
            spool.enqueue(
                r.model_dump_json().encode(),
                report_id=str(r.report_id),
                agent_id=r.agent_id,
                subject=f"device:{name}",
                kind=r.kind.value,
                failing=failing,
            )
    return len(reports)


def poll_command(
    *, devices_file: Path | None, json_out: bool, state_dir: Path | None, config_path: Path | None
) -> None:
    from agent.config import load_settings

    err = Console(stderr=True)
    try:
        settings = load_settings(config_path, state_dir=state_dir)
    except (FileNotFoundError, ValueError) as exc:
        err.print("[red]" + _("configuration error:") + f"[/] {exc}")
        raise typer.Exit(2) from exc

    progress = Progress(
        TextColumn(_("Polling devices")),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=err,
        transient=json_out,
    )
    task = progress.add_task("poll", total=None, last="")

    def started(entries: list[DeviceEntry]) -> None:
        progress.update(task, total=len(entries))

    def done(entry: DeviceEntry, report: Report) -> None:
        progress.update(task, advance=1, last=entry.name)

    try:
        with progress:
            reports = poll_devices(settings, devices_file=devices_file, on_start=started, on_done=done)
    except (NoDeviceList, DeviceListError, CredentialError) as exc:
        err.print("[red]" + _("cannot poll:") + f"[/] {exc}")
        raise typer.Exit(2) from exc

    if json_out:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in reports], ensure_ascii=False, indent=1))
    else:
        Console().print(summary_table(reports))
    try:
        queued = _spool(reports, settings.state_dir)
    except Exception as exc:  # the poll itself succeeded; say why delivery will not happen
        err.print("[yellow]" + _("reports not queued for the collector:") + f"[/] {exc}")
    else:
        if queued:
            err.print(_("%(n)s report(s) queued for the collector", n=queued))
    unreachable = [r for r in reports if r.facts.device is None or not r.facts.device.reachable]
    if unreachable:
        raise typer.Exit(1)
