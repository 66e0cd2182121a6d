"""Agent footprint: steady and peak RSS, CPU and wall time per cycle, report sizes.

    python bench/agent_footprint.py [--runs 3] [--watch 40]

Prints, for this machine:
- a full host cycle (inventory + host checks + spooling: ``python -m agent.worker collect --full``)
  next to ``fusioninventory-agent --local DIR`` (Debian's GLPI-family agent) measured in the same run:
  wall time, CPU seconds (user+sys, children included) and peak RSS, medians of --runs, and the ratios;
- the long-running ``wardwatch agent run`` against a real collector: steady RSS between cycles
  (median of samples while no worker child is alive), its own peak (VmHWM) and the workers' peaks;
- report sizes: full, delta and heartbeat, raw JSON and gzip.
Targets (issue 4): steady RSS <= 40 MB; the cycle no slower and with a lower peak RSS than
fusioninventory-agent; a delta <= 20 KB gzip.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
FUSION = "/usr/bin/fusioninventory-agent"
MB = 1024 * 1024


def measure(
    argv: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Wall time, CPU seconds and peak RSS of one process (its reaped children included)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    extra: dict[str, float] = {}
    if proc.stdout is not None:
        lines = [line for line in proc.stdout.read().splitlines() if line.startswith("{")]
        if lines:
            extra = {k: v for k, v in json.loads(lines[-1]).items() if k.startswith(("peak_", "cpu_"))}
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024, **extra}


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def settings_json(state_dir: Path, **extra: Any) -> str:
    from agent.config import AgentSettings
    from agent.worker import settings_to_json

    return settings_to_json(AgentSettings(state_dir=state_dir, **extra))


# The same worker with the security section left out (its collector answers nothing): isolates
# what its package-manager simulation (apt-get -s dist-upgrade) costs.
NO_SECURITY = (
    "import sys, inventory.host.security as sec; sec.collect_security_facts = lambda **kw: None\n"
    "from agent.worker import main; sys.exit(main(['collect', '--full', '--modules', 'inventory,checks']))"
)


def cycle_vs_fusion(work: Path, runs: int) -> dict[str, Any]:
    state = work / "cycle-state"
    cfg = settings_json(state)
    ours, theirs, lean, certs = [], [], [], []
    hourly = [sys.executable, "-m", "agent.worker", "collect", "--full", "--modules", "inventory,checks"]
    daily = [sys.executable, "-m", "agent.worker", "collect", "--full", "--modules", "inventory,checks,certs"]
    fusion_dir = work / "fusion"
    have_fusion = Path(FUSION).exists()
    for _ in range(runs):
        ours.append(measure(hourly, stdin=cfg))
        certs.append(measure(daily, stdin=cfg))
        lean.append(measure([sys.executable, "-c", NO_SECURITY], stdin=cfg))
        if have_fusion:
            shutil.rmtree(fusion_dir, ignore_errors=True)
            fusion_dir.mkdir()
            theirs.append(measure([FUSION, "--local", str(fusion_dir)]))
    keys = ("wall", "cpu", "peak_mb", "peak_self_mb", "cpu_self", "peak_commands_mb", "cpu_commands")
    out: dict[str, Any] = {
        "wardwatch": {k: median(ours, k) for k in keys if all(k in r for r in ours)},
        "wardwatch_without_security": {k: median(lean, k) for k in keys if all(k in r for r in lean)},
        "wardwatch_with_certs": {k: median(certs, k) for k in keys if all(k in r for r in certs)},
        "runs": runs,
    }
    if have_fusion:
        out["fusioninventory"] = {k: median(theirs, k) for k in ("wall", "cpu", "peak_mb")}
    return out


def report_sizes(work: Path) -> dict[str, Any]:
    from agent.config import AgentSettings
    from agent.cycle import build_report, collect_host
    from agent.protocol import heartbeat_json
    from agent.state import Baseline

    settings = AgentSettings(state_dir=work / "sizes")
    first = collect_host(settings)
    full = build_report(first, agent_id="bench")
    baseline = Baseline(report_id=full.report_id, hashes=full.sections)
    time.sleep(1)
    delta = build_report(collect_host(settings), agent_id="bench", baseline=baseline, full=False)
    _, beat = heartbeat_json(agent_id="bench", hostname=first.hostname, identity=first.identity.model_dump())

    def size(body: bytes) -> dict[str, int]:
        return {"raw": len(body), "gzip": len(gzip.compress(body, 6))}

    return {
        "full": size(full.body),
        "delta": size(delta.body),
        "delta_changed_sections": sorted(delta.sections),
        "heartbeat": size(beat),
        "results": len(first.results),
    }


def start_collector(work: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    from collector.db import make_engine, session_scope
    from collector.migrate import upgrade
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site

    db = work / "collector.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        create_site(session, code="bench", name="Bench")
        secret = create_enroll_secret(session, site_code="bench")
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = (
        "import sys, uvicorn\n"
        "from collector.app import create_app\n"
        "from collector.settings import CollectorSettings\n"
        "uvicorn.run(create_app(CollectorSettings(database_url=sys.argv[1], data_dir=sys.argv[2])),"
        " host='127.0.0.1', port=int(sys.argv[3]), log_level='warning')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, url, str(work / "data"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, base, secret


def watch_agent(work: Path, seconds: float) -> dict[str, Any]:
    collector, base, secret = start_collector(work)
    state = work / "run-state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")}
    env.update(
        {
            "WARDWATCH_AGENT_COLLECTOR_URL": base,
            "WARDWATCH_AGENT_STATE_DIR": str(state),
            "WARDWATCH_AGENT_INTERVALS__HEARTBEAT": "3",
            "WARDWATCH_AGENT_INTERVALS__INVENTORY": "12",
            "WARDWATCH_AGENT_INTERVALS__CHECKS": "12",
            "WARDWATCH_AGENT_INTERVALS__SPLAY": "0",
            "WARDWATCH_AGENT_LOG_LEVEL": "WARNING",
        }
    )
    cli = [sys.executable, "-m", "collector.cli", "agent"]
    subprocess.run(
        [*cli, "enroll", "--collector", base, "--secret", secret], env=env, check=True, capture_output=True
    )
    agent = subprocess.Popen([*cli, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = psutil.Process(agent.pid)
    idle: list[float] = []
    worker_peaks: list[float] = []
    seen: dict[int, float] = {}
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                kids = proc.children()
                rss = proc.memory_info().rss
            except psutil.NoSuchProcess:
                break
            if kids:
                for k in kids:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        seen[k.pid] = max(seen.get(k.pid, 0), k.memory_info().rss)
            elif time.monotonic() > deadline - seconds + 5:  # after the start-up cycle
                idle.append(rss)
            time.sleep(0.05)
        hwm = _vm_hwm(agent.pid)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=30)
    worker_peaks = sorted(seen.values())
    return {
        "steady_rss_mb": statistics.median(idle) / MB if idle else None,
        "agent_peak_rss_mb": hwm / MB if hwm else None,
        "worker_peak_rss_mb": worker_peaks[-1] / MB if worker_peaks else None,
        "workers_seen": len(seen),
        "stopped_cleanly": agent.returncode == 0,
    }


def _vm_hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--watch", type=float, default=40.0, help="seconds to watch `wardwatch agent run`")
    args = parser.parse_args()
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory(prefix="ww-footprint-") as tmp:
        work = Path(tmp)
        cycle = cycle_vs_fusion(work, args.runs)
        sizes = report_sizes(work)
        run = watch_agent(work, args.watch)
    w = cycle["wardwatch"]
    line = "  {:<17} wall {:.2f} s  cpu {:.2f} s  peak RSS {:.1f} MB"
    print(f"full host cycle (inventory + host checks + spool, hourly), median of {cycle['runs']}:")
    print(line.format("wardwatch", w["wall"], w["cpu"], w["peak_mb"]))
    if "peak_self_mb" in w:
        print(
            f"    the agent's own process: cpu {w['cpu_self']:.2f} s, peak RSS {w['peak_self_mb']:.1f} MB;"
            f" the commands it runs: cpu {w['cpu_commands']:.2f} s,"
            f" peak RSS {w['peak_commands_mb']:.1f} MB"
        )
    n = cycle["wardwatch_without_security"]
    print(line.format("  no security", n["wall"], n["cpu"], n["peak_mb"]) + "  (security section left out)")
    c = cycle["wardwatch_with_certs"]
    print(line.format("  + certificates", c["wall"], c["cpu"], c["peak_mb"]) + "  (the daily cycle)")
    if "fusioninventory" in cycle:
        f = cycle["fusioninventory"]
        print(line.format("fusioninventory", f["wall"], f["cpu"], f["peak_mb"]))
        print(
            f"  ratios without the security section: wall {n['wall'] / f['wall']:.2f}  "
            f"cpu {n['cpu'] / f['cpu']:.2f}  peak RSS {n['peak_mb'] / f['peak_mb']:.2f}"
        )
        print(
            f"  ratios (wardwatch / fusioninventory): wall {w['wall'] / f['wall']:.2f}  "
            f"cpu {w['cpu'] / f['cpu']:.2f}  peak RSS {w['peak_mb'] / f['peak_mb']:.2f}"
            + (
                f"  (agent process only: {w['peak_self_mb'] / f['peak_mb']:.2f})"
                if "peak_self_mb" in w
                else ""
            )
        )
    else:
        print(f"  {FUSION} not installed: no comparison")
    print("wardwatch agent run (long-running process, against a real collector):")
    print(f"  steady RSS between cycles {run['steady_rss_mb']:.1f} MB (target <= 40)")
    print(f"  agent process peak RSS    {run['agent_peak_rss_mb']:.1f} MB")
    if run["worker_peak_rss_mb"]:
        peak, n = run["worker_peak_rss_mb"], run["workers_seen"]
        print(f"  worker child peak RSS     {peak:.1f} MB ({n} workers seen)")
    print(f"  stopped cleanly on SIGTERM: {run['stopped_cleanly']}")
    print(f"report sizes ({sizes['results']} check results):")
    for kind in ("full", "delta", "heartbeat"):
        s = sizes[kind]
        print(f"  {kind:<9} raw {s['raw'] / 1024:7.1f} KB   gzip {s['gzip'] / 1024:6.1f} KB")
    changed = ", ".join(sizes["delta_changed_sections"]) or "(nothing)"
    print(f"  delta carried in full: {changed} (target <= 20 KB gzip)")
    print(json.dumps({"cycle": cycle, "run": run, "sizes": sizes}))


if __name__ == "__main__":
    main()
