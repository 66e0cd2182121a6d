"""Host checks and findings figures: security fact collection, one checks run, findings ingest.

Run: python bench/host_checks.py [N]   (N runs / reports, default 200). Prints figures; asserts nothing.
- security facts: collect_security_facts() on this machine (real commands), and on recorded Windows text;
- checks: run_checks() over the recorded legacy Windows 10 facts (all 36 host checks);
- findings: apply_results() for N reports of 36 results on one device (SQLite file), with churn.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from checks.runner import run_checks
from inventory.facts import Facts, OsFacts
from inventory.host.security import collect_security_facts
from inventory.host.security.probe import Probe
from inventory.security import Listener

WIN = Path(__file__).parents[1] / "tests" / "fixtures" / "security" / "windows" / "win10-legacy"
FILES = {
    "security_ps": "security_ps.json",
    "net_accounts": "net_accounts.txt",
    "w32tm_status": "w32tm_status.txt",
}


def recorded_probe() -> Probe:
    def run(name: str, argv: Sequence[str], timeout: float) -> str | None:
        path = WIN / FILES.get(name, f"{name}.txt")
        return path.read_text(encoding="utf-8") if path.is_file() else None

    listeners = [Listener(**x) for x in json.loads((WIN / "listeners.json").read_text())]
    return Probe(run=run, listeners=lambda: listeners)


def ms(samples: list[float]) -> str:
    qs = statistics.quantiles(samples, n=20) if len(samples) > 1 else samples * 19
    return f"p50 {1000 * statistics.median(samples):.2f} ms, p95 {1000 * qs[18]:.2f} ms"


def main(n: int) -> None:
    t = time.perf_counter()
    real = collect_security_facts()
    took = 1000 * (time.perf_counter() - t)
    print(f"security facts on this machine: {took:.0f} ms, unreadable parts: {sorted(real.errors)}")

    samples = []
    for _ in range(n):
        t = time.perf_counter()
        sec = collect_security_facts(recorded_probe(), platform="win32")
        samples.append(time.perf_counter() - t)
    print(f"security facts parsed from recorded Windows output: {ms(samples)}")

    facts = Facts(
        os=OsFacts(family="windows", name="Microsoft Windows 10 Pro", version="10.0.19045"), security=sec
    )
    now = datetime(2026, 11, 26, tzinfo=UTC)
    run_checks(facts, now=now)  # warm: catalog load and evaluator import
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        results = run_checks(facts, now=now, modules=["checks"])
        samples.append(time.perf_counter() - t)
    print(f"run_checks, {len(results)} host checks: {ms(samples)}")

    bench_findings(n, results)


def bench_findings(n: int, results: list) -> None:  # type: ignore[type-arg]
    from sqlmodel import Session

    from collector.db import make_engine
    from collector.migrate import upgrade
    from collector.models.core import Device, Site
    from collector.services.findings import apply_results, site_compliance
    from inventory.report import CheckResult, CheckStatus

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as s:
            site = Site(code="B01", name="Bench")
            s.add(site)
            s.commit()
            device = Device(site_id=site.id or 0, hostname="bench-pc")
            s.add(device)
            s.commit()
            s.refresh(device)
            site_id = site.id or 0
        due = {"critical": 15, "high": 30, "medium": 90, "low": 180}
        samples = []
        for i in range(n):
            # Every 10th report flips a third of the results: resolves and reopens cost events.
            flip = i % 10 == 5
            batch = [
                CheckResult(
                    check_id=r.check_id,
                    target=r.target,
                    status=(CheckStatus.PASS if r.status == CheckStatus.FAIL else CheckStatus.FAIL)
                    if flip and k % 3 == 0
                    else r.status,
                    evidence=r.evidence,
                )
                for k, r in enumerate(results)
            ]
            t = time.perf_counter()
            with Session(engine) as s:
                apply_results(s, device=device, results=batch, due_days=due, report_id=None)
                s.commit()
            samples.append(time.perf_counter() - t)
        print(f"findings for one report of {len(results)} results (SQLite): {ms(samples)}")
        with Session(engine) as s:
            t = time.perf_counter()
            site_compliance(s, site_id=site_id)
            print(f"site compliance query: {1000 * (time.perf_counter() - t):.2f} ms")
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
