"""Catalog-wide invariants: every check is well-formed data that the runner can execute."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from babel.messages.pofile import read_po

from checks.catalog import catalog_files, catalog_problems, load_catalog, load_catalog_file
from checks.data import os_eol_table


def test_every_yaml_file_loads_and_ids_are_unique() -> None:
    files = catalog_files()
    assert files, "no catalog files"
    ids: list[str] = []
    for f in files:
        ids += [c.id for c in load_catalog_file(f)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate check ids: {dupes}"
    assert len(load_catalog()) == len(ids)


def test_evaluators_are_known_and_params_validate() -> None:
    assert catalog_problems() == []


def vietnamese_catalog() -> dict[str, str]:
    """checks/locales/vi/*.po: the Vietnamese of every check text, keyed by the YAML's English."""
    out: dict[str, str] = {}
    for path in sorted((Path(__file__).resolve().parents[2] / "checks" / "locales" / "vi").glob("*.po")):
        with path.open("rb") as fh:
            out.update({str(m.id): str(m.string) for m in read_po(fh, locale="vi") if m.id and not m.fuzzy})
    return out


def test_both_languages_and_a_reference_everywhere() -> None:
    vi = vietnamese_catalog()
    for check in load_catalog().values():
        for field in ("title", "rationale", "remediation"):
            text = getattr(check, field)
            assert isinstance(text, str) and text.strip(), f"{check.id}: {field} needs its English"
            assert vi.get(text, "").strip(), f"{check.id}: {field} has no Vietnamese in checks/locales/vi"
            assert vi[text] != text, f"{check.id}: {field} is not translated"
        assert check.references and all(r.strip() for r in check.references), f"{check.id}: no reference"


def test_at_least_30_host_checks_cover_the_issue() -> None:
    host = {c.id for c in load_catalog().values() if "host" in c.applies_to and c.module == "checks"}
    assert len(host) >= 30, len(host)
    required = {
        "host.os.supported",
        "host.os.windows11_ready",
        "host.firewall.enabled",
        "host.antivirus.enabled",
        "host.antivirus.signatures_fresh",
        "host.updates.recent",
        "host.accounts.admins_limited",
        "host.accounts.guest_disabled",
        "host.password.min_length",
        "host.password.lockout",
        "host.screenlock.timeout",
        "host.services.no_telnet",
        "host.services.no_ftp",
        "host.services.no_smb1",
        "host.remote.rdp_lan_only",
        "host.disk.free_space",
        "host.time.synchronized",
    }
    assert required <= host, required - host


def test_a_broken_catalog_file_is_reported_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump([{"id": "x.y", "title": {"vi": "a"}}]), encoding="utf-8")
    try:
        load_catalog_file(bad)
    except ValueError as exc:
        assert "bad.yaml[0] x.y" in str(exc)
    else:
        raise AssertionError("a check without en title loaded")


# ---- the shipped end-of-servicing table -----------------------------------------------------------


def test_every_windows_end_date_falls_on_a_tuesday() -> None:
    table = os_eol_table()
    checked = 0
    for product in ("windows", "windows-server"):
        for row in table["products"][product]:
            for field in ("eol", "eoes"):
                if row[field]:
                    d = date.fromisoformat(row[field])
                    assert d.weekday() == 1, f"{product} {row['cycle']} {field} {d} is a {d:%A}"
                    checked += 1
    assert checked > 60
    # The one Saturday in the source (Windows Server 2016 ESU end) is left out, not shipped.
    assert [(e["product"], e["cycle"], e["field"]) for e in table["excluded"]] == [
        ("windows-server", "2016", "eoes")
    ]


def test_table_carries_its_source_and_snapshot_date() -> None:
    src = os_eol_table()["source"]
    assert src["snapshot_date"] == "2026-08-22"
    assert src["license"] == "MIT" and "endoflife.date" in src["copyright"]
    here = Path(__file__).resolve().parents[2] / "checks" / "data"
    assert (here / "LICENSE-MIT-endoflife.date.txt").is_file()
    assert "endoflife.date" in (here / "NOTICE.txt").read_text(encoding="utf-8")


def test_table_matches_key_dates_of_the_snapshot() -> None:
    rows = {(p, r["cycle"]): r for p, v in os_eol_table()["products"].items() for r in v}
    assert rows[("windows", "10-22h2")]["eol"] == "2025-10-14"
    assert rows[("windows", "11-23h2-w")]["eol"] == "2025-11-11"
    assert rows[("windows", "11-24h2-w")]["eol"] == "2026-10-13"
    assert rows[("windows", "10-21h2-e-lts")]["eol"] == "2027-01-12"
