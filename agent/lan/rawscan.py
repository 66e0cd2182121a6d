"""Raw-packet parts of a scan (needs CAP_NET_RAW): ARP sweep, ARP watch, SYN probes, DHCP DISCOVER.

Imported only inside the scan's child process (``agent.lan.child``): scapy costs ~70 MB when fully
loaded, so only the layers used here are imported, and never in the agent itself.
Frames are built and parsed with scapy; they leave through one AF_PACKET socket, paced by the
configured packets-per-second limit, and replies arrive on a BPF-filtered listening socket.
"""

from __future__ import annotations

import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scapy.config import conf
from scapy.layers.l2 import ARP, Ether

from agent.lan.probes import CLOSED, FILTERED, OPEN, Pacer, Progress

conf.verb = 0
BROADCAST = "ff:ff:ff:ff:ff:ff"
# Waiting for replies: at least FLOOR after the last probe of a round (LAST_FLOOR after the final
# round), longer when replies are slow (4x the slowest round trip seen), never more than reply_wait.
FLOOR = 0.15
LAST_FLOOR = 0.3


def settle(last_send: float, rtts: Callable[[], list[float]], *, floor: float, ceiling: float) -> None:
    """Sleep until replies to a round have had time to arrive, adapting to the measured round trips."""
    while True:
        slowest = max((r for r in rtts() if r > 0), default=0.0)
        wait = min(ceiling, max(floor, 4 * slowest + 0.05))
        remaining = last_send + wait - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, 0.02))


def probe_rounds(
    keys: list[Any],
    send: Callable[[Any], None],
    answered: Callable[[Any], bool],
    rtts: Callable[[], list[float]],
    *,
    rounds: int,
    reply_wait: float,
    progress: Progress | None = None,
) -> None:
    """Probe every key; re-probe the silent ones ``rounds - 1`` times, each once its wait is over.

    Retries are interleaved with first probes (the pacer keeps the total rate), so a sweep costs
    the time to send its probes plus one final wait, not one wait per round.
    """
    first = deque(keys)
    retries: deque[tuple[float, Any, int]] = deque()
    total = max(1, len(keys) * rounds)
    done = 0

    def wait_for() -> float:
        slowest = max((r for r in rtts() if r > 0), default=0.0)
        return min(reply_wait, max(FLOOR, 4 * slowest + 0.05))

    while first or retries:
        now = time.monotonic()
        if retries and retries[0][0] <= now:
            _, key, n = retries.popleft()
            if answered(key):
                done += rounds - n
                continue
        elif first:
            key, n = first.popleft(), 0
        else:
            time.sleep(min(max(0.0, retries[0][0] - now), 0.02))
            continue
        send(key)
        done += 1
        if n + 1 < rounds:
            retries.append((time.monotonic() + wait_for(), key, n + 1))
        if progress and done % 16 == 0:
            progress(min(done, total), total)
    settle(time.monotonic(), rtts, floor=LAST_FLOOR, ceiling=reply_wait)
    if progress:
        progress(total, total)


class Listener:
    """Frames matching ``bpf`` on ``iface`` handed to ``handle`` from a background thread."""

    def __init__(self, iface: str, bpf: str, handle: Callable[[Any], None]) -> None:
        try:
            self.sock = conf.L2listen(iface=iface, filter=bpf, promisc=False)
        except Exception:  # no libpcap to compile the filter: take every frame, handlers check
            self.sock = conf.L2listen(iface=iface, promisc=False)
        self.handle = handle
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            try:
                pkt = self.sock.recv()
            except Exception:
                continue
            if pkt is not None:
                try:
                    self.handle(pkt)
                except Exception:  # one odd frame must not end the listener
                    continue

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(1)
        self.sock.close()


class Sender:
    def __init__(self, iface: str, pacer: Pacer) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((iface, 0))
        self.pacer = pacer
        self.sent = 0

    def send(self, frame: bytes) -> None:
        self.pacer.wait()
        try:
            self.sock.send(frame)
            self.sent += 1
        except OSError:  # e.g. ENOBUFS on a saturated link: the retry round covers it
            pass

    def close(self) -> None:
        self.sock.close()


@dataclass
class ArpWatch:
    """Every ARP claim ("IP is at MAC") seen on the link, from our probes and passively.

    Runs for the whole privileged scan; ``replies`` are the answers to our requests,
    ``claims`` every (ip, mac) with the sources that showed it: ``probe`` or ``passive``.
    """

    iface: str
    own_mac: str
    own_ip: str | None
    replies: dict[str, list[str]] = field(default_factory=dict)
    claims: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    first_reply_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.listener = Listener(self.iface, "arp", self._on_frame)

    def stop(self) -> None:
        self.listener.stop()

    def _on_frame(self, pkt: Any) -> None:
        if ARP not in pkt:
            return
        arp = pkt[ARP]
        mac = str(arp.hwsrc).lower()
        ip = str(arp.psrc)
        if mac == self.own_mac or ip == "0.0.0.0" or arp.op not in (1, 2):
            return
        to_us = arp.op == 2 and str(arp.pdst) == self.own_ip and str(arp.hwdst).lower() == self.own_mac
        with self.lock:
            if to_us:
                macs = self.replies.setdefault(ip, [])
                if mac not in macs:
                    macs.append(mac)
                self.first_reply_at.setdefault(ip, time.monotonic())
            self.claims.setdefault(ip, {}).setdefault(mac, set()).add("probe" if to_us else "passive")

    def answered(self) -> set[str]:
        with self.lock:
            return set(self.replies)


def arp_sweep(
    watch: ArpWatch,
    sender: Sender,
    src_mac: str,
    src_ip: str,
    ips: list[str],
    *,
    reply_wait: float,
    rounds: int = 2,
    progress: Progress | None = None,
) -> dict[str, list[str]]:
    """ARP who-has for every address, again for the silent ones; ip -> MACs that replied."""
    sent_at: dict[str, float] = {}

    def rtts() -> list[float]:
        with watch.lock:
            return [watch.first_reply_at[ip] - t for ip, t in sent_at.items() if ip in watch.first_reply_at]

    def send(ip: str) -> None:
        frame = Ether(src=src_mac, dst=BROADCAST) / ARP(
            op=1, hwsrc=src_mac, psrc=src_ip, hwdst="00:00:00:00:00:00", pdst=ip
        )
        sender.send(bytes(frame))
        sent_at.setdefault(ip, time.monotonic())

    def answered(ip: str) -> bool:
        with watch.lock:
            return ip in watch.replies

    probe_rounds(ips, send, answered, rtts, rounds=rounds, reply_wait=reply_wait, progress=progress)
    wanted = set(ips)
    with watch.lock:
        return {ip: list(macs) for ip, macs in watch.replies.items() if ip in wanted}


def syn_probe(
    iface: str,
    sender: Sender,
    src_mac: str,
    src_ip: str,
    targets: list[tuple[str, str]],
    ports: list[int],
    *,
    reply_wait: float,
    rounds: int = 2,
    progress: Progress | None = None,
) -> dict[tuple[str, int], str]:
    """Half-open SYN to each (ip via next-hop MAC, port): SYN-ACK open, RST closed, silence filtered.

    Our kernel answers each SYN-ACK with a RST (no socket owns the source port), so no
    connection is left open on the target.
    """
    from scapy.layers.inet import IP, TCP  # loaded when first needed: the sweep starts sooner

    sport = random.randint(40000, 59999)
    seq = random.randint(1, 2**31)
    states: dict[tuple[str, int], str] = {}
    answered_at: dict[tuple[str, int], float] = {}
    sent_at: dict[tuple[str, int], float] = {}
    lock = threading.Lock()

    def rtts() -> list[float]:
        with lock:
            return [t - sent_at[k] for k, t in answered_at.items() if k in sent_at]

    def on_frame(pkt: Any) -> None:
        if TCP not in pkt or IP not in pkt:
            return
        tcp = pkt[TCP]
        if tcp.dport != sport or str(pkt[IP].dst) != src_ip:
            return
        flags = int(tcp.flags)
        key = (str(pkt[IP].src), int(tcp.sport))
        with lock:
            answered_at.setdefault(key, time.monotonic())
            if flags & 0x12 == 0x12:
                states[key] = OPEN
            elif flags & 0x04:
                states.setdefault(key, CLOSED)

    macs = dict(targets)

    def send(key: tuple[str, int]) -> None:
        ip, port = key
        frame = (
            Ether(src=src_mac, dst=macs[ip])
            / IP(src=src_ip, dst=ip)
            / TCP(sport=sport, dport=port, flags="S", seq=seq, window=1024)
        )
        sender.send(bytes(frame))
        with lock:
            sent_at.setdefault(key, time.monotonic())

    def answered(key: tuple[str, int]) -> bool:
        with lock:
            return key in states

    listener = Listener(iface, f"tcp and dst host {src_ip} and dst port {sport}", on_frame)
    try:
        keys = [(ip, p) for ip, _mac in targets for p in ports]
        probe_rounds(keys, send, answered, rtts, rounds=rounds, reply_wait=reply_wait, progress=progress)
    finally:
        listener.stop()
    out = {(ip, p): FILTERED for ip, _mac in targets for p in ports}
    out.update(states)
    return out


@dataclass
class Offer:
    server_ip: str
    mac: str
    offered_ip: str | None
    router: str | None
    dns: list[str]
    count: int = 1


def dhcp_discover(iface: str, sender: Sender, src_mac: str, window: float) -> list[Offer]:
    """Broadcast a DHCP DISCOVER (twice, for loss) and collect every OFFER during ``window`` seconds."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP

    xid = random.randint(1, 2**32 - 1)
    offers: dict[str, Offer] = {}
    lock = threading.Lock()

    def on_frame(pkt: Any) -> None:
        if BOOTP not in pkt or DHCP not in pkt:
            return
        bootp = pkt[BOOTP]
        if bootp.op != 2 or bootp.xid != xid:
            return
        opts: dict[str, Any] = {}
        for o in pkt[DHCP].options:
            if isinstance(o, tuple) and len(o) >= 2:
                opts[o[0]] = o[1] if len(o) == 2 else list(o[1:])
        if opts.get("message-type") != 2:  # OFFER
            return
        server = str(opts.get("server_id") or (pkt[IP].src if IP in pkt else bootp.siaddr))
        router = opts.get("router")
        dns = opts.get("name_server") or []
        with lock:
            if server in offers:
                offers[server].count += 1
                return
            offers[server] = Offer(
                server_ip=server,
                mac=str(pkt[Ether].src).lower(),
                offered_ip=str(bootp.yiaddr) if str(bootp.yiaddr) != "0.0.0.0" else None,
                router=str(router[0] if isinstance(router, list) else router) if router else None,
                dns=[str(d) for d in (dns if isinstance(dns, list) else [dns])],
            )

    listener = Listener(iface, "udp and (dst port 68 or dst port 67)", on_frame)
    try:
        chaddr = bytes.fromhex(src_mac.replace(":", "")) + b"\x00" * 10
        frame = bytes(
            Ether(src=src_mac, dst=BROADCAST)
            / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67)
            / BOOTP(op=1, chaddr=chaddr, xid=xid, flags=0x8000)
            / DHCP(options=[("message-type", "discover"), ("param_req_list", [1, 3, 6, 54]), "end"])
        )
        sender.send(frame)
        end = time.monotonic() + window
        time.sleep(min(1.0, window / 2))
        sender.send(frame)
        time.sleep(max(0.0, end - time.monotonic()))
    finally:
        listener.stop()
    return sorted(offers.values(), key=lambda o: o.server_ip)
