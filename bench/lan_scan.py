"""LAN scan benchmark (needs root): a /24 with 50 live hosts in network namespaces.

Prints:
  * ARP sweep of the /24: wall time and hosts found, for the scan's child process end to end
    (interpreter start, scapy import, sweep) and for the sweep alone; and `nmap -sn` in the same run;
    the ratio ours / nmap (target: <= 1.0, every live host found);
  * SYN probes of 10 ports on those 50 hosts (and `nmap -sS` on the same hosts and ports);
  * the agent process's RSS before and after a full scan (scapy lives only in the child) and the
    child's peak RSS.

Run: sudo python bench/lan_scan.py [--hosts 50] [--pps 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.agent.lan.netlab import Lab, netns_available  # noqa: E402

CIDR = "198.18.0.0/24"
SCANNER_IP = "198.18.0.254"
PORTS = [21, 23, 80, 443, 445, 3389, 5900, 8080, 8291, 8728]

SWEEP_AND_SYN = r"""
import json, sys, time
from agent.lan import rawscan
from agent.lan.probes import Pacer
from agent.lan.safety import local_addresses
pps, ports = int(sys.argv[1]), json.loads(sys.argv[2])
me = next(a for a in local_addresses() if a.interface == "eth0")
ips = [str(ip) for ip in me.ip.network.hosts() if str(ip) != str(me.ip.ip)]
pacer = Pacer(pps)
sender = rawscan.Sender("eth0", pacer)
watch = rawscan.ArpWatch("eth0", me.mac, str(me.ip.ip))
watch.start()
t = time.perf_counter()
found = rawscan.arp_sweep(watch, sender, me.mac, str(me.ip.ip), ips, reply_wait=0.4)
sweep = time.perf_counter() - t
targets = [(ip, macs[0]) for ip, macs in sorted(found.items())]
t = time.perf_counter()
states = rawscan.syn_probe("eth0", sender, me.mac, str(me.ip.ip), targets, ports, reply_wait=0.4)
syn = time.perf_counter() - t
watch.stop()
print(json.dumps({"sweep": sweep, "found": len(found), "syn": syn, "probes": len(states),
                  "open": sum(1 for s in states.values() if s == "open"),
                  "answered": sum(1 for s in states.values() if s != "filtered")}))
"""

AGENT_RSS = r"""
import json, resource, sys
from pathlib import Path
import psutil
import agent.cli, agent.config, agent.lan  # what a running agent has loaded
from agent.lan.runner import run_scan
from agent.lan.config import LanConfig
me = psutil.Process()
before = me.memory_info().rss
cfg = LanConfig(cidrs=[sys.argv[1]], packets_per_second=int(sys.argv[2]), reverse_dns=False,
                dhcp_window=1.0, passive_window=1.0)
facts = run_scan(cfg, Path(sys.argv[3]))
after = me.memory_info().rss
child_peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scapy = any(m.startswith("scapy") for m in sys.modules)
print(json.dumps({"before": before, "after": after, "child_peak": child_peak_kb * 1024,
                  "hosts": len(facts.hosts), "scapy_in_agent": scapy}))
"""


def ns_run(lab: Lab, node: str, *argv: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t = time.perf_counter()
    r = subprocess.run(["ip", "netns", "exec", lab[node].ns, *argv], capture_output=True, text=True, env=env)
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {r.stderr[-2000:]}")
    return took, r


def child_discovery(lab: Lab, pps: int) -> tuple[float, int]:
    """The product's scan child, discovery only (no ports, SNMP, DHCP, passive window)."""
    request = {
        "config": {
            "ports": [],
            "snmp": False,
            "reverse_dns": False,
            "dhcp_window": 0,
            "passive_window": 0,
            "packets_per_second": pps,
        },
        "targets": [
            {
                "cidr": CIDR,
                "interface": "eth0",
                "source_ip": SCANNER_IP,
                "source_mac": lab["scan"].mac,
                "gateway_ip": None,
            }
        ],
    }
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t = time.perf_counter()
    r = subprocess.run(
        ["ip", "netns", "exec", lab["scan"].ns, sys.executable, "-m", "agent.lan.child"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
    )
    took = time.perf_counter() - t
    result = next(json.loads(line) for line in r.stdout.splitlines() if '"result"' in line)
    return took, len(result["facts"]["hosts"])


def nmap_sn(lab: Lab) -> tuple[float, int]:
    took, r = ns_run(lab, "scan", "nmap", "-sn", "-n", CIDR)
    up = [ip for ip in re.findall(r"Nmap scan report for (\S+)", r.stdout) if ip != SCANNER_IP]
    return took, len(up)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--pps", type=int, default=1000, help="packets per second (the agent's default)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    reason = netns_available()
    if reason:
        sys.exit(f"cannot run: {reason}")
    has_nmap = shutil.which("nmap") is not None

    with Lab() as lab:
        t = time.perf_counter()
        # Live hosts spread over the /24, so the sweep must cover the whole range.
        live = [f"198.18.0.{2 + (i * 97) % 250}" for i in range(args.hosts)]
        for i, ip in enumerate(live):
            lab.add(f"h{i}", ip, mac=f"00:1b:21:00:{i // 256:02x}:{i % 256:02x}")
        lab.add("scan", SCANNER_IP)
        # A few hosts with open risky ports, so the SYN probe sees SYN-ACKs as well as RSTs.
        for i in range(0, args.hosts, 10):
            lab[f"h{i}"].start(
                sys.executable,
                "-c",
                "import socket,time\nss=[]\nfor p in (23,445,3389):\n s=socket.socket();"
                "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('',p));s.listen();ss.append(s)\n"
                "time.sleep(3600)",
            )
        print(f"lab: {args.hosts} live hosts in {CIDR}, built in {time.perf_counter() - t:.1f} s")
        time.sleep(1.0)

        ours_child, ours_sweep, nmap_runs, syn_runs = [], [], [], []
        for _ in range(args.repeat):
            lab["scan"].exec("ip", "neigh", "flush", "all")
            ours_child.append(child_discovery(lab, args.pps))
            lab["scan"].exec("ip", "neigh", "flush", "all")
            _, r = ns_run(lab, "scan", sys.executable, "-c", SWEEP_AND_SYN, str(args.pps), json.dumps(PORTS))
            data = json.loads(r.stdout)
            ours_sweep.append((data["sweep"], data["found"]))
            syn_runs.append(data)
            if has_nmap:
                lab["scan"].exec("ip", "neigh", "flush", "all")
                nmap_runs.append(nmap_sn(lab))

        def med(xs: list[float]) -> float:
            return statistics.median(xs)

        child_t = med([t for t, _ in ours_child])
        sweep_t = med([t for t, _ in ours_sweep])
        print(f"\nARP sweep of {CIDR} ({args.hosts} live, {args.pps} pps, median of {args.repeat}):")
        print(
            f"  wardwatch scan child, end to end : {child_t:6.2f} s, hosts found {[n for _, n in ours_child]}"
        )
        print(
            f"  wardwatch sweep alone            : {sweep_t:6.2f} s, hosts found {[n for _, n in ours_sweep]}"
        )
        if nmap_runs:
            nmap_t = med([t for t, _ in nmap_runs])
            print(
                f"  nmap -sn                         : {nmap_t:6.2f} s, "
                f"hosts found {[n for _, n in nmap_runs]}"
            )
            print(
                f"  ratio wardwatch/nmap (end to end): {child_t / nmap_t:.2f}   "
                f"(sweep alone: {sweep_t / nmap_t:.2f})"
            )
        all_found = all(n == args.hosts for _, n in ours_child + ours_sweep)
        print(f"  every live host found: {'yes' if all_found else 'NO'}")

        syn_t = med([d["syn"] for d in syn_runs])
        last = syn_runs[-1]
        print(f"\nSYN probes, {len(PORTS)} ports x {last['found']} hosts = {last['probes']} probes:")
        print(
            f"  wardwatch: {syn_t:.2f} s, answered {last['answered']}/{last['probes']}, open {last['open']}"
        )
        if has_nmap:
            targets = sorted(set(live))
            t, r = ns_run(lab, "scan", "nmap", "-sS", "-n", "-Pn", "-p", ",".join(map(str, PORTS)), *targets)
            opened = len(re.findall(r"^\d+/tcp\s+open", r.stdout, re.M))
            print(f"  nmap -sS : {t:.2f} s, open {opened}")

        state = Path(f"/tmp/ww-bench-lan-{os.getpid()}")
        _, r = ns_run(lab, "scan", sys.executable, "-c", AGENT_RSS, CIDR, str(args.pps), str(state))
        mem = json.loads(r.stdout)
        shutil.rmtree(state, ignore_errors=True)
        mb = 1024 * 1024
        print("\nFootprint (full scan run from an agent process):")
        print(f"  agent RSS before scan: {mem['before'] / mb:6.1f} MB")
        print(
            f"  agent RSS after scan : {mem['after'] / mb:6.1f} MB  "
            f"(delta {(mem['after'] - mem['before']) / mb:+.1f} MB)"
        )
        print(f"  scan child peak RSS  : {mem['child_peak'] / mb:6.1f} MB  (freed when the child exits)")
        print(f"  scapy loaded in the agent: {mem['scapy_in_agent']}; hosts found {mem['hosts']}")


if __name__ == "__main__":
    main()
