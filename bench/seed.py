"""Fill a migrated database with a fleet: N devices across S sites, for the read-side benchmarks.

    python bench/seed.py --devices 100000 --sites 3321 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/i15d_bench

Realistic rows, written straight into the tables (the ingest path has its own bench, bench/ingest.py):
per device its fact sections (system, os, cpu, memory, disks, filesystems), an IP and a MAC, 25 programs
out of a catalogue of 3,000, 20 check results with findings for the failures (about one in five), an
asset record for most, a replacement score and its ranking row; one certificate per three devices
(some expiring within 30 days); each site's snapshot of today. The facts come from a few dozen PC
profiles (vendor, OS, RAM, disk, age) scored once each by the real scoring (``score_device``), so a
device's score agrees with its facts. An administrator ``admin`` gets the password in
``WARDWATCH_ADMIN_PASSWORD``.

PostgreSQL gets COPY (one stream per table and batch), SQLite executemany. The database is upgraded
first; seed an empty one (the ids start at 1).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

PROGRAMS_PER_DEVICE = 25
CHECKS = [f"host.check_{i:02d}" for i in range(20)]
SEVERITIES = ("critical", "high", "medium", "low")
BATCH = 5000  # devices per transaction


# The tables a batch of devices fills, in the order their rows are written (parents first).
TABLES = (
    "device",
    "devicesection",
    "device_address",
    "device_software",
    "deviceresult",
    "finding",
    "device_certificate",
    "asset",
    "devicescore",
    "device_score_current",
)


def _profiles() -> list[dict[str, Any]]:
    """PC profiles: their facts, as stored sections; scored by ``_score``."""
    from inventory.facts import CpuFacts, DiskFacts, Facts, FilesystemFacts, MemoryFacts, OsFacts, SystemFacts

    oses = [
        OsFacts(family="windows", name="Windows 10 Pro", version="10.0.19045", build="19045"),
        OsFacts(family="windows", name="Windows 11 Pro", version="10.0.22631", build="22631"),
        OsFacts(family="windows", name="Windows 7 Professional", version="6.1.7601", build="7601"),
        OsFacts(family="linux", name="Ubuntu 22.04.4 LTS", version="22.04"),
    ]
    models = [
        ("Dell Inc.", "OptiPlex 3020", "desktop", 2014),
        ("HP", "ProDesk 400 G5", "desktop", 2018),
        ("Lenovo", "ThinkCentre M720", "desktop", 2019),
        ("ASUS", "VivoBook 15", "laptop", 2021),
    ]
    out = []
    for i, (os_facts, (vendor, model, chassis, year), ram, ssd) in enumerate(
        (o, m, r, s) for o in oses for m in models for r in (2, 4, 8) for s in (False, True)
    ):
        facts = Facts(
            system=SystemFacts(
                hostname="pc",
                vendor=vendor,
                model=model,
                chassis=chassis,
                bios_date=date(year, 3, 1),
            ),
            os=os_facts,
            cpu=CpuFacts(model="Intel(R) Core(TM) i3 CPU", physical_cores=2, threads=4),
            memory=MemoryFacts(total_bytes=ram * 2**30, available_bytes=2**29),
            disks=[
                DiskFacts(
                    name="disk0",
                    model="SSD 240GB" if ssd else "ST500DM002",
                    size_bytes=500 * 10**9,
                    rotational=not ssd,
                    bus="sata",
                    system_disk=True,
                )
            ],
            filesystems=[
                FilesystemFacts(
                    mountpoint="C:\\",
                    total_bytes=500 * 10**9,
                    used_bytes=(300 + i * 7 % 180) * 10**9,
                    free_bytes=(200 - i * 7 % 180) * 10**9,
                )
            ],
        )
        sections = {
            name: json.loads(getattr(facts, name).model_dump_json(exclude_none=True))
            if not isinstance(getattr(facts, name), list)
            else [json.loads(x.model_dump_json(exclude_none=True)) for x in getattr(facts, name)]
            for name in ("system", "os", "cpu", "memory", "disks", "filesystems")
        }
        out.append({"sections": sections, "platform": os_facts.name, "facts": facts, "scores": {}})
    return out


def _score(profile: dict[str, Any], purchase: date | None, today: date) -> dict[str, Any]:
    """The real score of a profile bought on ``purchase`` (the only asset field a score reads)."""
    from collector.services.scoring import AssetView, load_config, score_device

    if purchase not in profile["scores"]:
        asset = AssetView(purchase_date=purchase) if purchase else None
        result = score_device(profile["facts"], config=load_config(), today=today, asset=asset)
        profile["scores"][purchase] = {
            "score": result.score,
            "category": result.category.value,
            "device_class": result.device_class,
            "factors": [f.as_dict() for f in result.factors],
            "category_reason": result.category_reason,
            "virtual": result.virtual,
            "storage_failed": any(f.critical for f in result.factors if f.name == "storage"),
        }
    return profile["scores"][purchase]


class Writer:
    """Rows into a table: COPY on PostgreSQL, executemany elsewhere; JSON columns serialised here."""

    def __init__(self, conn: Connection) -> None:
        from collector.models import metadata

        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.metadata = metadata

    def write(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        t = self.metadata.tables[table]
        if not self.pg:
            for start in range(0, len(rows), BATCH):
                self.conn.execute(t.insert(), rows[start : start + BATCH])
            return
        json_cols = {c for c in cols if t.c[c].type.__class__.__name__ == "JSON"}
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(
                    [json.dumps(r[c], ensure_ascii=False) if c in json_cols else r[c] for c in cols]
                )


def _sites(n: int, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": s + 1,
            "code": f"X{s:04d}",
            "name": f"Xã số {s}",
            "group_name": f"Cụm {s % 30}",
            "created_at": now,
        }
        for s in range(n)
    ]


def _packages() -> list[dict[str, Any]]:
    from collector.services.search_index import fold
    from collector.services.versions import version_key

    names = [f"Program {i:04d}" for i in range(600)] + ["WinRAR (64-bit)", "Google Chrome", "UniKey"]
    out = []
    for pid in range(3000):
        name = names[pid % len(names)]
        version = f"{pid % 9 + 1}.{pid % 37}"
        out.append(
            {
                "id": pid + 1,
                "name": name,
                "version": version,
                "name_fold": fold(name),
                "version_key": version_key(version),
                "vendor": "Vendor",
            }
        )
    return out


def _device_rows(
    start: int, stop: int, *, sites: int, rnd: random.Random, now: datetime, profiles: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    from collector.localtime import local_date
    from collector.services.ranking import rank_values
    from collector.services.scoring import load_config

    digest = load_config().digest()
    unit_costs = load_config().unit_costs
    today = local_date(now)
    t: dict[str, list[dict[str, Any]]] = {k: [] for k in TABLES}
    for i in range(start, stop):
        did = i + 1
        site = i % sites + 1  # every site gets its share (about 30 PCs a commune at 100,000)
        seen = now - timedelta(minutes=rnd.randrange(60 * 24 * 3))
        profile = profiles[rnd.randrange(len(profiles))]
        mac = f"00:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
        t["device"].append(
            {
                "id": did,
                "site_id": site,
                "kind": "host",
                "hostname": f"pc-{i:06d}",
                "machine_id": f"m-{i:08d}",
                "serial": f"SN{i:08d}",
                "mac": mac,
                "platform": profile["platform"],
                "first_seen_at": seen - timedelta(days=200),
                "last_report_at": seen,
            }
        )
        for name, data in profile["sections"].items():
            if name == "system":
                data = {**data, "hostname": f"pc-{i:06d}", "serial": f"SN{i:08d}"}
            t["devicesection"].append(
                {
                    "device_id": did,
                    "section": name,
                    "hash": f"{name}-{did}",
                    "data": data,
                    "updated_at": seen,
                    "report_id": "seed",
                }
            )
        ip = f"10.{site >> 8 & 255}.{site & 255}.{i % 250 + 1}"
        t["device_address"].append({"device_id": did, "kind": "ip", "value": ip, "site_id": site})
        t["device_address"].append({"device_id": did, "kind": "mac", "value": mac, "site_id": site})
        for pid in rnd.sample(range(1, 3001), PROGRAMS_PER_DEVICE):
            t["device_software"].append({"device_id": did, "package_id": pid, "site_id": site})
        for c, check in enumerate(CHECKS):
            failed = rnd.random() < 0.2
            t["deviceresult"].append(
                {
                    "device_id": did,
                    "check_id": check,
                    "target": "",
                    "status": "fail" if failed else "pass",
                    "evidence": "",
                    "updated_at": seen,
                    "report_id": "seed",
                }
            )
            if failed:
                t["finding"].append(
                    {
                        "device_id": did,
                        "site_id": site,
                        "check_id": check,
                        "target": "",
                        "known": False,
                        "severity": SEVERITIES[c % 4],
                        "status": "open",
                        "evidence": "observed value",
                        "first_seen_at": seen - timedelta(days=c),
                        "last_seen_at": seen,
                        "opened_at": seen - timedelta(days=c),
                        "due_at": seen + timedelta(days=30 - c),
                        "reopen_count": 0,
                    }
                )
        if i % 3 == 0:
            not_after = now + timedelta(days=rnd.randrange(-30, 720))
            t["device_certificate"].append(
                {
                    "device_id": did,
                    "site_id": site,
                    "role": "signing",
                    "sha256": f"{did:064x}",
                    "subject": f"CN=Nguyen Van {i}, O=UBND Xa {site}",
                    "subject_cn": f"Nguyen Van {i}",
                    "issuer": "CN=Viettel-CA, O=Viettel Group, C=VN",
                    "issuer_cn": "Viettel-CA",
                    "serial": f"{i:032x}",
                    "not_before": not_after - timedelta(days=1095),
                    "not_after": not_after,
                    "key_type": "rsa",
                    "key_size": 2048,
                    "signature_algorithm": "sha256WithRSAEncryption",
                    "key_usage": ["digital_signature"],
                    "location_kind": "store",
                    "location_path": "CurrentUser\\My",
                    "location_label": "",
                    "reasons": [],
                    "first_seen_at": seen,
                    "last_seen_at": seen,
                }
            )
        status = "in_service"
        purchase = None
        if rnd.random() < 0.7:
            status = rnd.choices(("in_service", "to_replace", "spare", "retired"), (90, 5, 3, 2))[0]
            purchase = date(2012 + i % 12, 1 + i % 12, 1)
            t["asset"].append(
                {
                    "device_id": did,
                    "asset_tag": f"TS-{site:04d}-{i:06d}",
                    "purchase_date": purchase,
                    "status": status,
                    "updated_at": now,
                }
            )
        p = _score(profile, purchase, today)
        t["devicescore"].append(
            {
                "device_id": did,
                "score": p["score"],
                "category": p["category"],
                "device_class": p["device_class"],
                "factors": p["factors"],
                "category_reason": p["category_reason"],
                "virtual": p["virtual"],
                # Not the real digest of the inputs: the first refresh of a device rescores it.
                "inputs_hash": "seed",
                "computed_at": now,
                "computed_on": today,
            }
        )
        t["device_score_current"].append(
            {
                "device_id": did,
                "site_id": site,
                "score": p["score"],
                "category": p["category"],
                "device_class": p["device_class"],
                "virtual": p["virtual"],
                "status": status,
                "storage_failed": p["storage_failed"],
                "config_digest": digest,
                "computed_on": today,
                **rank_values(p["score"], unit_costs.get(p["device_class"]), status, p["virtual"]),
            }
        )
    return t


def _rows_in_order(t: dict[str, list[dict[str, Any]]]) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    for name in TABLES:
        yield name, t[name]


def seed(
    engine: Engine, *, devices: int, sites: int, admin_password: str | None, quiet: bool = False
) -> None:
    """Fill ``engine``'s (migrated, empty) database with ``devices`` devices across ``sites`` sites."""
    from sqlmodel import Session

    from collector.services import snapshots
    from collector.services.users import create_user

    rnd = random.Random(20261205)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    profiles = _profiles()
    with engine.begin() as conn:
        w = Writer(conn)
        w.write("site", _sites(sites, now))
        w.write("software_package", _packages())
    for start in range(0, devices, BATCH):
        rows = _device_rows(
            start, min(devices, start + BATCH), sites=sites, rnd=rnd, now=now, profiles=profiles
        )
        with engine.begin() as conn:
            w = Writer(conn)
            for name, batch in _rows_in_order(rows):
                w.write(name, batch)
        if not quiet:
            done = min(devices, start + BATCH)
            print(f"  {done:>7} devices  {time.perf_counter() - t0:6.0f} s", flush=True)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The ids were given explicitly: move the sequences past them.
            for table in (
                "site",
                "software_package",
                "device",
                "deviceresult",
                "finding",
                "device_certificate",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )
    with Session(engine) as session:
        snapshots.record_all(session)
        if admin_password:
            create_user(session, username="admin", password=admin_password, role="admin", actor="seed")
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    if not quiet:
        print(f"seeded {devices} devices across {sites} sites in {time.perf_counter() - t0:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=3_321)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args(argv)
    from collector.db import make_engine
    from collector.migrate import upgrade

    password = os.environ.get("WARDWATCH_ADMIN_PASSWORD")
    if not password:
        print("WARDWATCH_ADMIN_PASSWORD is not set: no admin user is created", file=sys.stderr)
    else:  # refused before minutes of seeding, not after them
        from collector.services.passwords import PasswordRejected, check_password

        try:
            check_password(password, username="admin")
        except PasswordRejected as exc:
            sys.exit(f"WARDWATCH_ADMIN_PASSWORD: {exc}")
    upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        seed(engine, devices=args.devices, sites=args.sites, admin_password=password)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
