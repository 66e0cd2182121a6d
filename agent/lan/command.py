"""``wardwatch agent scan``: a progress bar while the child works, then a summary or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.i18n import _
from agent.lan.capability import LAN
from agent.lan.runner import ScanFailed, run_scan
from agent.lan.safety import ScanRefused
from inventory.lan import LanScanFacts

PART_LABELS = {
    "discovery": "Discovering hosts",
    "services": "Probing services",
    "snmp": "SNMP communities",
    "http": "Web admin pages",
    "dns": "Reverse DNS",
    "dhcp": "Listening for DHCP offers",
    "passive": "Listening for ARP claims",
}


def scan_command(
    *,
    interface: str | None,
    cidr: str | None,
    json_out: bool,
    state_dir: Path | None,
    config_path: Path | None,
) -> None:
    from agent.config import load_settings

    try:
        settings = load_settings(config_path, state_dir=state_dir)
    except (FileNotFoundError, ValueError) as exc:
        Console(stderr=True).print("[red]" + _("configuration error:") + f"[/] {exc}")
        raise typer.Exit(2) from exc
    err = Console(stderr=True)
    # With --json the bar goes to stderr so stdout stays machine-readable.
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=json_out,
        disable=not err.is_terminal and json_out,
    )
    tasks: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> None:
        part = str(event.get("part", ""))
        if event.get("type") == "part":
            if part not in tasks:
                tasks[part] = progress.add_task(
                    PART_LABELS.get(part, part), total=max(1, event.get("total") or 1)
                )
        elif event.get("type") == "progress" and part in tasks:
            progress.update(
                tasks[part], completed=event.get("done", 0), total=max(1, event.get("total") or 1)
            )

    try:
        with progress:
            facts = run_scan(
                LAN.config_of(settings), settings.state_dir, interface=interface, cidr=cidr, on_event=on_event
            )
    except ScanRefused as exc:
        err.print("[red]" + _("scan refused:") + f"[/] {exc}")
        raise typer.Exit(2) from exc
    except ScanFailed as exc:
        err.print("[red]" + _("scan failed:") + f"[/] {exc}")
        raise typer.Exit(1) from exc
    if json_out:
        sys.stdout.write(facts.model_dump_json(indent=2) + "\n")
        return
    print_summary(facts, Console())


def print_summary(facts: LanScanFacts, console: Console) -> None:
    from checks.runner import run_checks
    from inventory.facts import Facts

    took = ""
    if facts.started_at and facts.finished_at:
        took = f" in {(facts.finished_at - facts.started_at).total_seconds():.1f} s"
    mode = "full (CAP_NET_RAW)" if facts.privileged else "unprivileged (TCP connect, neighbour table)"
    console.print(
        f"[bold]LAN scan of {facts.cidr}[/] on {facts.interface or 'routed path'}{took}; mode: {mode}"
    )
    table = Table("IP", "MAC", "Vendor", "Name", "Known", "Open ports", "SNMP")
    for h in facts.hosts:
        known = {True: "yes", False: "[red]NO[/]", None: "-"}[h.known]
        ip = h.ip + (" (gateway)" if h.is_gateway else "")
        table.add_row(
            ip,
            h.mac or "-",
            h.vendor or ("(private MAC)" if h.mac_locally_administered else "-"),
            h.name or "-",
            known,
            ", ".join(str(p) for p in h.open_ports) or "-",
            ", ".join(a.community for a in h.snmp) or "-",
        )
    console.print(table)
    for d in facts.dhcp_servers:
        state = {True: "allowed", False: "[red]NOT in allow-list[/]", None: "no allow-list"}[d.allowed]
        console.print(f"DHCP server {d.server_ip} ({d.mac}): {state}")
    for c in facts.arp_conflicts:
        console.print(
            f"[red]ARP conflict[/] {c.ip}{' (gateway)' if c.is_gateway else ''}: {', '.join(c.macs)}"
        )
    if facts.gateway_mac_changed:
        console.print(
            "[red]" + _("Gateway MAC changed") + f"[/]: {facts.previous_gateway_mac} -> {facts.gateway_mac}"
        )
    for s in facts.skipped:
        console.print("[yellow]" + _("skipped") + f"[/] {s.part}: {s.reason}")
    results = run_checks(Facts(network_scan=facts), modules=["lan"])
    failed = [r for r in results if r.status == "fail"]
    console.print(
        _("%(hosts)s hosts; %(n)s problem(s) found by the LAN checks", hosts=len(facts.hosts), n=len(failed))
    )
    for r in failed:
        console.print(f"  [red]FAIL[/] {r.check_id} {r.target}: {r.evidence}")
    console.print(_("The result is saved and goes into the next report."))
