"""``wardwatch agent certificates TARGET... [--trust PEM] [--json]``: check certificates on the spot.

A TARGET is a certificate file (PEM, DER, PKCS#7, PKCS#12), a folder (its certificates and its signed
documents), a signed document (.pdf, .p7s), ``host:port`` or an ``https://`` URL. Exit status: 0 when
every entry is fine, 1 when any has a problem, 2 for a bad target.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from agent.certificates.collect import Plan, run_certificates
from agent.certificates.config import CertificatesConfig, parse_endpoint
from agent.certificates.documents import DOCUMENT_SUFFIXES
from agent.certificates.summary import GOOD, entries
from agent.i18n import N_, _

_HOSTPORT = re.compile(r"^[\w.\-\[\]:]+:\d{1,5}$")


class TargetError(ValueError):
    pass


def plan_targets(targets: list[str]) -> Plan:
    plan = Plan(system_store=False, personal_stores=False)
    for t in targets:
        p = Path(t)
        if p.is_dir():
            plan.folders.append(p)
            plan.document_folders.append(p)
        elif p.is_file():
            (plan.documents if p.suffix.lower() in DOCUMENT_SUFFIXES else plan.files).append(p)
        elif "://" in t or _HOSTPORT.match(t):
            try:
                parse_endpoint(t)
            except ValueError as exc:
                raise TargetError(str(exc)) from exc
            plan.tls_endpoints.append(t)
        else:
            raise TargetError(f"{t}: not a file, a folder, host:port or an https:// URL")
    return plan


def certs_command(
    targets: list[str],
    *,
    trust: list[Path],
    json_out: bool,
    legacy_sha1: bool = False,
    timeout: float = 10.0,
    expiring_days: int | None = None,
) -> int:
    """``expiring_days``: a good certificate this close to its end is "expiring" (default: the
    ``[certificates] expiring_days`` of the agent's configuration, 30)."""
    try:
        plan = plan_targets(targets)
        cfg = CertificatesConfig(extra_trust_anchors=trust, legacy_sha1=legacy_sha1, connect_timeout=timeout)
        if expiring_days is not None:
            cfg = cfg.model_copy(
                update={"expiring_days": CertificatesConfig(expiring_days=expiring_days).expiring_days}
            )
    except (TargetError, ValueError) as exc:
        print(_("error: %(problem)s", problem=exc), file=sys.stderr)
        return 2
    facts = run_certificates(cfg, plan, crl_cache_dir=None)
    rows = entries(facts, expiring_days=cfg.expiring_days)
    if json_out:
        print(json.dumps({"entries": rows, "errors": facts.errors}, ensure_ascii=False, indent=2))
    else:
        _table(rows, facts.errors)
    return 0 if all(r["verdict"] in GOOD for r in rows) and not facts.errors else 1


def _table(rows: list[dict[str, Any]], errors: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    colours = {"valid": "green", "trust_anchor": "green", "ca_certificate": "green", "expiring": "yellow"}
    table = Table(title=_("Certificates, TLS services and signatures"))
    for col in (N_("Kind"), N_("Target"), N_("Verdict"), N_("Expires"), N_("Reasons")):
        table.add_column(_(col), overflow="fold")
    for r in rows:
        colour = colours.get(r["verdict"], "red" if r["verdict"] != "weak" else "yellow")
        expires = (r.get("not_after") or "")[:10]
        if r.get("days_left") is not None and expires:
            expires += f" ({r['days_left']} d)"
        table.add_row(
            r["kind"], r["target"], f"[{colour}]{r['verdict']}[/{colour}]", expires, "; ".join(r["reasons"])
        )
    console = Console()
    console.print(table)
    for e in errors:
        console.print("[yellow]" + _("warning:") + f"[/yellow] {e}")
