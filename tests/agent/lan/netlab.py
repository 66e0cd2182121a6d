"""A LAN in network namespaces: one namespace holds a Linux bridge, every node is a namespace joined
to it by a veth pair. Only 198.18.0.0/15 addresses (RFC 2544 benchmarking range) are used.

Nothing is created in the root namespace: veth pairs are made inside the bridge namespace with
their node end placed straight into the node's namespace. ``Lab.close()`` kills every process
started in the lab's namespaces and deletes them; names are unique per lab (``ww<pid>x<n>-...``).
Used by tests/agent/lan and bench/lan_scan.py.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_COUNTER = itertools.count(1)
REPO = Path(__file__).resolve().parents[3]


def netns_available() -> str | None:
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "netns tests need root (network namespaces)"
    if not shutil.which("ip"):
        return "the `ip` command (iproute2) is not installed"
    probe = f"ww{os.getpid()}probe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns add` fails here: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


@dataclass
class Node:
    lab: Lab
    name: str
    ns: str
    ip: str
    mac: str
    port: str

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns, *argv, check=check)

    def start(self, *argv: str, **kw: object) -> subprocess.Popen[str]:
        """A process inside this node's namespace, killed by ``Lab.close``."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], text=True, **kw)  # type: ignore[call-overload]
        self.lab.procs.append(proc)
        return proc

    def python(self, code: str, **kw: object) -> subprocess.Popen[str]:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return self.start(sys.executable, "-c", code, env=env, **kw)

    def set_mac(self, mac: str) -> None:
        self.exec("ip", "link", "set", "eth0", "address", mac)
        self.mac = mac


@dataclass
class Lab:
    # Process id and a counter, with separators: "ww12x3-" never begins "ww123-" or "ww12x34-" (pytest-xdist
    # workers, other runs), so a lab's namespaces and the leftover check are its own.
    prefix: str = field(default_factory=lambda: f"ww{os.getpid()}x{next(_COUNTER)}-")
    nodes: dict[str, Node] = field(default_factory=dict)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bridge_ns = f"{self.prefix}br"
        self._add_ns(self.bridge_ns)
        sh(
            "ip",
            "-n",
            self.bridge_ns,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        )
        sh("ip", "-n", self.bridge_ns, "link", "set", "br0", "up")

    def _add_ns(self, ns: str) -> None:
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # No IPv6 chatter (router solicitations, DAD) in captures.
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", check=False)

    def add(
        self, name: str, ip: str, *, mac: str | None = None, gateway: str | None = None, prefix: int = 24
    ) -> Node:
        ns = f"{self.prefix}{name}"
        self._add_ns(ns)
        port = f"p{len(self.nodes) + 1}"
        mac = mac or "02:00:{:02x}:{:02x}:{:02x}:{:02x}".format(*tuple(int(x) for x in ip.split(".")))
        sh(
            "ip",
            "-n",
            self.bridge_ns,
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        )
        sh("ip", "-n", self.bridge_ns, "link", "set", port, "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "address", mac)
        sh("ip", "-n", ns, "addr", "add", f"{ip}/{prefix}", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        if gateway:
            sh("ip", "-n", ns, "route", "add", "default", "via", gateway)
        node = Node(self, name, ns, ip, mac, port)
        self.nodes[name] = node
        return node

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 3
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # Anything else still running in our namespaces (e.g. a daemon a test started) goes too.
        for ns in self.namespaces:
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def leftover_namespaces(prefix: str) -> list[str]:
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]
