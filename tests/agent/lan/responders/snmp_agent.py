"""A minimal SNMP v2c agent on UDP 161 that answers sysDescr.0 for ONE community (scapy's SNMP layer).

Usage: python snmp_agent.py COMMUNITY "sysDescr text"; prints "ready". Other communities get no
answer, as a real agent does.
"""

from __future__ import annotations

import socket
import sys

from scapy.asn1.asn1 import ASN1_OID, ASN1_STRING
from scapy.layers.snmp import SNMP, SNMPget, SNMPresponse, SNMPvarbind


def main() -> None:
    community, descr = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 161))
    print("ready", flush=True)
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            req = SNMP(data)
        except Exception:
            continue
        if req.community.val.decode() != community or not isinstance(req.PDU, SNMPget):
            continue
        resp = SNMP(
            version=req.version,
            community=req.community,
            PDU=SNMPresponse(
                id=req.PDU.id,
                varbindlist=[
                    SNMPvarbind(oid=ASN1_OID("1.3.6.1.2.1.1.1.0"), value=ASN1_STRING(descr.encode()))
                ],
            ),
        )
        sock.sendto(bytes(resp), peer)


if __name__ == "__main__":
    main()
