"""Ingest benchmark: realistic reports from many simulated hosts posted to a real ``wardwatch serve``.

    python bench/ingest.py --kind delta|full --reports N --hosts H --workers W \
        [--database-url URL] [--concurrency 32] --json

Runs ``wardwatch serve --workers W`` on a fresh SQLite file, or on a fresh database created on the
PostgreSQL server of ``--database-url`` (dropped afterwards). Every host first sends one full report
(not timed: the machine as the collector knows it), then ``--reports`` are timed, round-robin over the
hosts, from ``--concurrency`` clients:

- ``full``: the daily full report (1,500 packages, 40 results of catalog checks, ~10 KiB gzip): the
  software list is unchanged, memory and disk use changed, a fifth of the checks fail and two change
  status each report (about four stored results and findings change).
- ``delta``: the hourly report: only the changed memory and filesystem sections, the others named by
  hash, no results.

The *floor* is the same rows written by a bare DB-API ``executemany`` script into the same database
(its own tables, same columns and sizes, one transaction per report, same number of client threads):
what the database itself costs. ``--json`` prints one object with ``reports_per_s``, ``p50_ms``,
``p95_ms``, ``floor_reports_per_s`` and ``ratio_to_floor``.

The *HTTP ceiling* is the same bodies posted by the same client to a bare FastAPI app under uvicorn
with the same workers (``bench/noop_app.py``: reads the body, answers 202): what this machine allows
through HTTP at all, the client sharing its cores. ``--kind noop`` measures only that (delta bodies,
no collector, no database); ``--http-ceiling`` adds it after a delta or full run as
``http_ceiling_reports_per_s`` and ``ratio_to_http_ceiling``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from inventory.facts import (
    CpuFacts,
    DiskFacts,
    Facts,
    FilesystemFacts,
    MemoryFacts,
    NetworkInterfaceFacts,
    OsFacts,
    SoftwareFacts,
    SystemFacts,
)
from inventory.report import CheckResult, CheckStatus, HostIdentity, Report, ReportKind, Subject, section_hash


def _host_checks() -> list[str]:
    from checks.catalog import load_catalog

    ids = [c.id for c in load_catalog().values() if "host" in c.applies_to][:40]
    return ids + [f"host.local_check_{i:02d}" for i in range(40 - len(ids))]


HOST_CHECKS = _host_checks()


def realistic_report(agent_id: str, host: int, seq: int) -> bytes:
    """About the size of a real commune PC report: 1,500 packages, 40 check results."""
    return gzip.compress(realistic(agent_id, host, seq).model_dump_json().encode(), compresslevel=6)


def delta_report(agent_id: str, host: int, seq: int, base: Report) -> bytes:
    """The hourly report of the same PC: the sections changed since its previous report in full, the
    others by hash (the collector holds them), no results; ``base`` is the last full report."""
    now = realistic(agent_id, host, seq)
    sections, before = now.present_sections(), realistic(agent_id, host, seq - 1).present_sections()
    changed = {n for n in sections if sections[n] != before.get(n)}
    facts = now.facts.model_copy(update={n: None for n in sections if n not in changed})
    report = now.model_copy(
        update={
            "kind": ReportKind.DELTA,
            "base_report_id": base.report_id,
            "partial": {n: section_hash(sections[n]) for n in sections if n not in changed},
            "facts": facts,
            "results": [],
            "modules": [],
        }
    )
    return gzip.compress(report.model_dump_json().encode(), compresslevel=6)


# The same 1,500 packages on every PC and in every report: built once (building them for each of the
# four reports an item needs was most of the bench's preparation).
SOFTWARE = tuple(
    SoftwareFacts(name=f"Package {i}", version=f"{i % 7}.{i % 11}.{i % 13}", source="registry")
    for i in range(1500)
)


def realistic(agent_id: str, host: int, seq: int) -> Report:
    facts = Facts(
        system=SystemFacts(
            hostname=f"ubnd-pc-{host:04d}",
            vendor="Dell Inc.",
            model="OptiPlex 3020",
            serial=f"SN{host:06d}",
            chassis="desktop",
            bios_version="A18",
        ),
        os=OsFacts(family="windows", name="Windows 10 Pro", version="10.0.19045", build="19045"),
        cpu=CpuFacts(model="Intel(R) Core(TM) i3-4160 CPU @ 3.60GHz", physical_cores=2, threads=4),
        memory=MemoryFacts(total_bytes=4 * 2**30, available_bytes=(seq % 3 + 1) * 2**29),
        disks=[
            DiskFacts(
                name="disk0",
                model="ST500DM002",
                serial=f"Z{host:07d}",
                size_bytes=500 * 10**9,
                rotational=True,
                bus="sata",
                system_disk=True,
            )
        ],
        filesystems=[
            FilesystemFacts(
                mountpoint="C:\\",
                total_bytes=500 * 10**9,
                used_bytes=(300 + seq % 50) * 10**9,
                free_bytes=(200 - seq % 50) * 10**9,
            )
        ],
        network_interfaces=[
            NetworkInterfaceFacts(
                name="Ethernet",
                mac=f"00:1a:2b:{host >> 8 & 255:02x}:{host & 255:02x}:01",
                ipv4=[f"10.1.{host % 250}.10/24"],
            )
        ],
        software=list(SOFTWARE),
    )
    results = [
        CheckResult(
            check_id=check_id,
            # A PC fails the same few checks report after report; two change status each time.
            status=CheckStatus.FAIL
            if ((i * 7 + host) % 5 == 0) != ((i + seq) % 20 == 0)
            else CheckStatus.PASS,
            evidence=f"observed value {i}",
        )
        for i, check_id in enumerate(HOST_CHECKS)
    ]
    report = Report(
        agent_id=agent_id,
        report_id=uuid.uuid4(),
        collected_at=datetime.now(UTC),
        subject=Subject(
            hostname=f"ubnd-pc-{host:04d}",
            host=HostIdentity(machine_id=f"machine-{host}", serial=f"SN{host:06d}"),
        ),
        facts=facts,
        results=results,
    )
    return report


LOG = [""]


def start_collector(url: str, port: int, workers: int, data_dir: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "collector.cli", "serve", "--database-url", url, "--port", str(port),
        "--workers", str(workers), "--data-dir", data_dir,
    ]  # fmt: skip
    return start_server(cmd, {"WARDWATCH_DATABASE_URL": url}, port, f"{data_dir}.log")


def start_noop(port: int, workers: int, log_path: str) -> subprocess.Popen[bytes]:
    """The bare app of ``bench/noop_app.py`` under uvicorn, as ``serve`` runs the collector."""
    cmd = [sys.executable, "-m", "bench.noop_app", "--port", str(port), "--workers", str(workers)]
    return start_server(cmd, {}, port, log_path)


def start_server(cmd: list[str], env: dict[str, str], port: int, log_path: str) -> subprocess.Popen[bytes]:
    LOG[0] = log_path
    log = open(log_path, "wb")  # noqa: SIM115 - the server's lifetime, read on failure
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start (log: {log_path})")


def cpu_seconds(pid: int, database: str | None) -> dict[str, float]:
    """CPU seconds (user + system) used so far by ``serve``'s processes (``collector``: all of them;
    ``serving``: the uvicorn workers; ``ingest_process``: their ingest processes, which run the derived
    jobs' worker) and, on PostgreSQL, by the server's backends connected to
    the bench's database (``postgres``; a backend that exited meanwhile is not counted). Linux /proc.
    What a report costs in CPU, whatever else the shared machine runs (wall time does not tell)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(p: int, system_only: bool = False) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[12]) + (0 if system_only else int(fields[11]))) / tick  # stime, utime

    def children(p: int) -> list[int]:
        found: list[int] = []
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
        return found

    # serve -> its uvicorn workers (the serving processes) -> their ingest processes (and
    # multiprocessing's resource tracker, idle, wherever it hangs).
    serving = children(pid)
    ingest = [q for p in serving for q in children(p)]
    out = {
        "collector": sum(used(p) for p in [pid, *serving, *ingest]),
        "serving": sum(used(p) for p in serving),
        # Of which in the kernel: sockets, and the futex waits of threads handing the GIL around.
        "serving_system": sum(used(p, system_only=True) for p in serving),
        "ingest_process": sum(used(p) for p in ingest),
    }
    if database:
        backends = [
            int(d.name)
            for d in Path("/proc").iterdir()
            if d.name.isdigit() and _cmdline(d).startswith("postgres:") and f" {database} " in _cmdline(d)
        ]
        out["postgres"] = sum(used(p) for p in backends)
    return out


def _cmdline(d: Path) -> str:
    try:
        return (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_py_spy(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy over ``serve`` and its children (uvicorn's workers, their ingest processes)."""
    spy = Path(sys.executable).with_name("py-spy")
    cmd = [str(spy), "record", "--pid", str(pid), "--subprocesses", "--rate", "100", "--format", "raw",
           "--output", out, "--nonblocking", "--gil"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2)  # py-spy finds the processes before the timed reports start
    return proc


def stop_py_spy(proc: subprocess.Popen[bytes]) -> None:
    import signal

    proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    _out, err = proc.communicate(timeout=120)
    if proc.returncode not in (0, -signal.SIGINT):
        print(err.decode(errors="replace"), file=sys.stderr)


def http_ceiling(
    items: list[tuple[str, bytes]], workers: int, concurrency: int, tmp: str
) -> tuple[float, list[float]]:
    """Wall seconds and latencies of ``items`` posted to the bare app (after a warm-up pass)."""
    port = free_port()
    proc = start_noop(port, workers, f"{tmp}/noop.log")
    try:
        base = f"http://127.0.0.1:{port}"
        post_all(base, items[: min(len(items), 200)], concurrency)
        return post_all(base, items, concurrency)
    finally:
        proc.terminate()
        proc.wait(30)


def free_port() -> int:
    from tests.helpers import free_port as free

    return free()


def post_all(base: str, items: list[tuple[str, bytes]], concurrency: int) -> tuple[float, list[float]]:
    """Post every (agent key, gzip body) from ``concurrency`` clients; wall seconds and latencies."""
    local = threading.local()

    def send(item: tuple[str, bytes]) -> float:
        key, body = item
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, timeout=120)
        t0 = time.perf_counter()
        r = client.post(
            "/api/v1/reports",
            content=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
            },
        )
        if r.status_code != 202:
            raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]} (server log: {LOG[0]})")
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(send, items))
    return time.perf_counter() - t0, latencies


# ---- the floor: the same rows through the bare DB-API ------------------------------------------


def floor_rows(kind: str, body: bytes, report: Report, prev: Report) -> dict[str, object]:
    """What the collector writes for one report: the raw row, the changed sections, the results
    whose status or evidence changed, the device's and the agent's last-seen times."""
    sections, before = report.present_sections(), prev.present_sections()
    changed = {n: json.dumps(d) for n, d in sections.items() if d != before.get(n)}
    old = {(r.check_id, r.target): (r.status, r.evidence) for r in prev.results}
    results = [
        (r.status.value, r.evidence, r.check_id)
        for r in report.results
        if old.get((r.check_id, r.target)) != (r.status, r.evidence)
    ]
    return {"body": body, "sections": changed, "results": results}


class Floor:
    def __init__(self, url: str, hosts: int) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.pg = parsed.get_backend_name() == "postgresql"
        self.url = url
        if self.pg:
            self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        else:
            self.path = parsed.database
        conn = self.connect()
        cur = conn.cursor()
        blob = "bytea" if self.pg else "blob"
        ts = "timestamptz" if self.pg else "text"
        for stmt in (
            f"CREATE TABLE floor_raw (report_id text PRIMARY KEY, device_id int, body {blob},"
            f" received_at {ts})",
            f"CREATE TABLE floor_section (device_id int, section text, hash text, data text, updated_at {ts},"
            " PRIMARY KEY (device_id, section))",
            "CREATE TABLE floor_result (device_id int, check_id text, status text, evidence text,"
            f" updated_at {ts},"
            " PRIMARY KEY (device_id, check_id))",
            f"CREATE TABLE floor_device (id int PRIMARY KEY, last_report_at {ts})",
        ):
            cur.execute(stmt)
        p = self.mark
        cur.executemany(f"INSERT INTO floor_device VALUES ({p}, {p})", [(h, _now()) for h in range(hosts)])
        cur.executemany(
            f"INSERT INTO floor_section VALUES ({p}, {p}, '', '', {p})",
            [(h, name, _now()) for h in range(hosts) for name in ("memory", "filesystems", "disks")],
        )
        cur.executemany(
            f"INSERT INTO floor_result VALUES ({p}, {p}, 'pass', '', {p})",
            [(h, c, _now()) for h in range(hosts) for c in HOST_CHECKS],
        )
        conn.commit()
        conn.close()

    @property
    def mark(self) -> str:
        return "%s" if self.pg else "?"

    def connect(self):  # type: ignore[no-untyped-def]
        if self.pg:
            import psycopg

            return psycopg.connect(self.dsn)
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=60000")
        return conn

    def run(self, rows: list[tuple[int, dict[str, object]]], concurrency: int) -> float:
        local = threading.local()
        p = self.mark

        def write(item: tuple[int, dict[str, object]]) -> None:
            host, row = item
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = self.connect()
            cur = conn.cursor()
            now = _now()
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE")  # the collector's SQLite writes are serialised too
            cur.execute(
                f"INSERT INTO floor_raw VALUES ({p}, {p}, {p}, {p})",
                (uuid.uuid4().hex, host, row["body"], now),
            )
            sections = row["sections"]
            if sections:
                cur.executemany(
                    f"UPDATE floor_section SET hash = {p}, data = {p}, updated_at = {p}"
                    f" WHERE device_id = {p} AND section = {p}",
                    [("x" * 64, data, now, host, name) for name, data in sections.items()],  # type: ignore[attr-defined]
                )
            results = row["results"]
            if results:
                cur.executemany(
                    f"UPDATE floor_result SET status = {p}, evidence = {p}, updated_at = {p}"
                    f" WHERE device_id = {p} AND check_id = {p}",
                    [(st, ev, now, host, c) for st, ev, c in results],  # type: ignore[attr-defined]
                )
            cur.execute(f"UPDATE floor_device SET last_report_at = {p} WHERE id = {p}", (now, host))
            conn.commit()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(write, rows))
        return time.perf_counter() - t0


def _now() -> object:
    return datetime.now(UTC).isoformat()


def build_items(
    kind: str, agents: list[dict[str, str]], first: list[Report], reports: int
) -> tuple[list[tuple[str, bytes]], list[tuple[int, dict[str, object]]]]:
    """The timed (agent key, gzip body) items, round-robin over the hosts, and the floor's rows."""
    hosts = len(agents)
    items, floor_items = [], []
    for i in range(reports):
        h, seq = i % hosts, 1 + i // hosts
        agent = agents[h]
        now = realistic(agent["agent_id"], h, seq)
        if kind == "full":
            body = gzip.compress(now.model_dump_json().encode(), compresslevel=6)
            prev = realistic(agent["agent_id"], h, seq - 1)
        else:
            body = delta_report(agent["agent_id"], h, seq, first[h])
            now = now.model_copy(update={"results": []})
            prev = realistic(agent["agent_id"], h, seq - 1).model_copy(update={"results": []})
        items.append((agent["agent_key"], body))
        floor_items.append((h, floor_rows(kind, body, now, prev)))
    return items, floor_items


def latency_figures(reports: int, wall: float, latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "reports_per_s": round(reports / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[max(int(len(latencies) * 0.95) - 1, 0)] * 1000, 1),
    }


def run_noop(args: argparse.Namespace) -> dict[str, object]:
    """Delta bodies of made-up agents to the bare app only: the HTTP ceiling, nothing else."""
    tmp = tempfile.mkdtemp()
    agents = [
        {"agent_id": str(uuid.uuid4()), "agent_key": f"wwa_{uuid.uuid4().hex}"} for _ in range(args.hosts)
    ]
    first = [realistic(agents[h]["agent_id"], h, 0) for h in range(args.hosts)]
    items, _floor = build_items("delta", agents, first, args.reports)
    wall, latencies = http_ceiling(items, args.workers, args.concurrency, tmp)
    figures = latency_figures(args.reports, wall, latencies)
    return {
        "backend": "none",
        "kind": "noop",
        "reports": args.reports,
        "hosts": args.hosts,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "mean_gzip_body_bytes": round(statistics.mean(len(b) for _, b in items)),
        **figures,
        "http_ceiling_reports_per_s": figures["reports_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("delta", "full", "noop"), default="full")
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--http-ceiling",
        action="store_true",
        help="also post the same bodies to the bare app of bench/noop_app.py",
    )
    parser.add_argument(
        "--py-spy",
        metavar="OUT",
        help="record the serving and ingest processes with py-spy during the timed reports "
        "(samples holding the GIL: Python CPU; collapsed stacks to OUT, the root frame names the process)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = run_noop(args) if args.kind == "noop" else run_collector(args)
    if args.json:
        print(json.dumps(out))
    else:
        print(" ".join(f"{k}={v}" for k, v in out.items()))


def run_collector(args: argparse.Namespace) -> dict[str, object]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from collector.db import make_engine, session_scope
    from collector.migrate import upgrade
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site

    tmp = tempfile.mkdtemp()
    admin = created_db = None
    if args.database_url:
        admin = make_engine(args.database_url, isolation_level="AUTOCOMMIT")
        created_db = f"ww_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{created_db}"'))
        url = make_url(args.database_url).set(database=created_db).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp}/bench.db"
    proc = None
    try:
        upgrade(url)
        engine = make_engine(url)
        with session_scope(engine) as s:
            create_site(s, code="BENCH", name="Benchmark")
            secret = create_enroll_secret(s, site_code="BENCH")
        engine.dispose()

        port = free_port()
        proc = start_collector(url, port, args.workers, f"{tmp}/data")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as c:
            agents = [
                c.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": f"h{i}"}).json()
                for i in range(args.hosts)
            ]
        # Each machine as the collector knows it (not timed).
        first = [realistic(agents[h]["agent_id"], h, 0) for h in range(args.hosts)]
        post_all(
            base,
            [
                (agents[h]["agent_key"], gzip.compress(r.model_dump_json().encode()))
                for h, r in enumerate(first)
            ],
            args.concurrency,
        )
        items, floor_items = build_items(args.kind, agents, first, args.reports)
        size = statistics.mean(len(b) for _, b in items)
        spy = start_py_spy(proc.pid, args.py_spy) if args.py_spy else None
        cpu_before = cpu_seconds(proc.pid, created_db)
        wall, latencies = post_all(base, items, args.concurrency)
        cpu_after = cpu_seconds(proc.pid, created_db)
        if spy is not None:
            stop_py_spy(spy)
        proc.terminate()
        proc.wait(30)
        proc = None
        floor = Floor(url, args.hosts)
        floor_wall = floor.run(floor_items, args.concurrency)
        ceiling = http_ceiling(items, args.workers, args.concurrency, tmp) if args.http_ceiling else None
    finally:
        if proc is not None:
            proc.kill()
        if created_db and admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)'))
    figures = latency_figures(args.reports, wall, latencies)
    rate, floor_rate = args.reports / wall, args.reports / floor_wall
    out: dict[str, object] = {
        "backend": "postgresql" if args.database_url else "sqlite",
        "kind": args.kind,
        "reports": args.reports,
        "hosts": args.hosts,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "mean_gzip_body_bytes": round(size),
        **figures,
        "floor_reports_per_s": round(floor_rate, 1),
        "ratio_to_floor": round(rate / floor_rate, 3),
    }
    for name in cpu_after:
        spent = cpu_after[name] - cpu_before.get(name, 0.0)
        out[f"{name}_cpu_ms_per_report"] = round(spent * 1000 / args.reports, 2)
    if ceiling is not None:
        ceiling_rate = args.reports / ceiling[0]
        out["http_ceiling_reports_per_s"] = round(ceiling_rate, 1)
        out["ratio_to_http_ceiling"] = round(rate / ceiling_rate, 3)
    return out


if __name__ == "__main__":
    main()
