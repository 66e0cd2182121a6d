"""Ingest benchmark: N realistic reports from many simulated hosts posted to a running collector.

Starts a real collector (uvicorn, one worker) on a fresh SQLite file, or on PostgreSQL when
``--database-url`` is given, enrolls ``--hosts`` agents and posts ``--reports`` gzip reports with
``--concurrency`` clients. Prints reports/s and p50/p95 latency.

    python bench/ingest.py --reports 2000 --hosts 200
    python bench/ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from inventory.report import CheckResult, CheckStatus, HostIdentity, Report, Subject


def realistic_report(agent_id: str, host: int, seq: int) -> bytes:
    """About the size of a real commune PC report: 1,500 packages, 40 check results."""
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
        software=[
            SoftwareFacts(name=f"Package {i}", version=f"{i % 7}.{i % 11}.{i % 13}", source="registry")
            for i in range(1500)
        ],
    )
    results = [
        CheckResult(
            check_id=f"host.check_{i:02d}",
            status=CheckStatus.PASS if (i + seq) % 5 else CheckStatus.FAIL,
            evidence=f"observed value {i}",
        )
        for i in range(40)
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
    return gzip.compress(report.model_dump_json().encode(), compresslevel=6)


def start_collector(url: str, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn; from collector.app import create_app;"
        "from collector.settings import CollectorSettings;"
        f"uvicorn.run(create_app(CollectorSettings(database_url={url!r})), host='127.0.0.1', port={port},"
        " log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("collector did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from sqlalchemy import text

    from collector.db import make_engine, session_scope
    from collector.migrate import upgrade
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site

    tmp = tempfile.mkdtemp()
    created_db = None
    if args.database_url:
        admin = make_engine(args.database_url, isolation_level="AUTOCOMMIT")
        created_db = f"ww_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{created_db}"'))
        from sqlalchemy.engine import make_url

        url = make_url(args.database_url).set(database=created_db).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        create_site(s, code="BENCH", name="Benchmark")
        secret = create_enroll_secret(s, site_code="BENCH")
    engine.dispose()

    from tests.helpers import free_port

    port = free_port()
    proc = start_collector(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as c:
            agents = [
                c.post("/api/v1/agents/enroll", json={"secret": secret, "hostname": f"h{i}"}).json()
                for i in range(args.hosts)
            ]
        bodies = [
            (agents[i % args.hosts], realistic_report(agents[i % args.hosts]["agent_id"], i % args.hosts, i))
            for i in range(args.reports)
        ]
        size = statistics.mean(len(b) for _, b in bodies)

        def send(item: tuple[dict[str, str], bytes], client: httpx.Client) -> float:
            agent, body = item
            t0 = time.perf_counter()
            r = client.post(
                "/api/v1/reports",
                content=body,
                headers={
                    "Authorization": f"Bearer {agent['agent_key']}",
                    "Content-Encoding": "gzip",
                    "Content-Type": "application/json",
                },
            )
            if r.status_code != 202:
                raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:200]}")
            return time.perf_counter() - t0

        clients = [httpx.Client(base_url=base, timeout=60) for _ in range(args.concurrency)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            latencies = list(
                pool.map(lambda ib: send(ib[1], clients[ib[0] % args.concurrency]), enumerate(bodies))
            )
        wall = time.perf_counter() - t0
        for c in clients:
            c.close()
    finally:
        proc.terminate()
        proc.wait(10)
        if created_db:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)'))
    latencies.sort()
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"backend={backend} reports={args.reports} hosts={args.hosts} concurrency={args.concurrency} "
        f"mean_gzip_body={size / 1024:.1f}KiB"
    )
    print(
        f"throughput={args.reports / wall:.1f} reports/s wall={wall:.1f}s "
        f"p50={statistics.median(latencies) * 1000:.1f}ms "
        f"p95={latencies[int(len(latencies) * 0.95) - 1] * 1000:.1f}ms"
    )
    os.environ.pop("WARDWATCH_DATABASE_URL", None)


if __name__ == "__main__":
    main()
