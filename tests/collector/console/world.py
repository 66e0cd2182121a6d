"""A small city for the console tests: three communes, PCs with programs, addresses, certificates
and failing checks, a router, asset tags; every device arrives as a real report from an enrolled agent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from inventory.certificates.facts import (
    CertificateFacts,
    CertificateValidation,
    CertLocation,
    FoundCertificate,
    LocationKind,
    RevocationState,
    ValidationStatus,
)
from inventory.facts import NetworkInterfaceFacts, SoftwareFacts, SystemFacts
from inventory.report import CheckResult, CheckStatus
from tests.helpers import enroll, host_report, post_report, user_token

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "correct horse battery"

SITES = [
    ("P01", "Phường Phúc Xá", "Cụm trung tâm"),
    ("X02", "Xã Đông Anh", "Cụm phía Bắc"),
    ("X03", "Xã Sóc Sơn", None),
]

# hostname -> (site, serial, mac, ip, software [(name, version)], failing checks)
PCS: dict[str, dict[str, Any]] = {
    "pc-p01-motcua": {
        "site": "P01",
        "serial": "SN-P01-0001",
        "mac": "00:11:22:33:44:01",
        "ip": "192.168.1.20",
        "software": [
            ("WinRAR 6.02 (64-bit)", "6.02.0"),
            ("Google Chrome", "120.0.6099.130"),
            ("UniKey", "4.3"),
        ],
        "fail": ["host.firewall.enabled", "host.antivirus.present"],
    },
    "pc-p01-ketoan": {
        "site": "P01",
        "serial": "SN-P01-0002",
        "mac": "00:11:22:33:44:02",
        "ip": "192.168.1.21",
        "software": [("WinRAR 6.23 (64-bit)", "6.23.0"), ("Google Chrome", "121.0.6167.85")],
        "fail": ["host.firewall.enabled"],
    },
    "laptop-p01-chutich": {
        "site": "P01",
        "serial": "SN-P01-0003",
        "mac": "00:11:22:33:44:03",
        "ip": "192.168.1.35",
        "software": [("WinRAR 5.91 (32-bit)", "5.91.0"), ('=HYPERLINK("http://evil/","x")', "1.0")],
        "fail": [],
    },
    "pc-x02-motcua": {
        "site": "X02",
        "serial": "SN-X02-0001",
        "mac": "00:11:22:33:55:01",
        "ip": "10.2.0.11",
        "software": [("WinRAR 7.00 (64-bit)", "7.00.0"), ("Google Chrome", "120.0.6099.130")],
        "fail": [
            "host.firewall.enabled",
            "host.antivirus.present",
            "host.updates.recent",
            "host.os.supported",
        ],
        "cert": ("Nguyễn Văn An", "5401AB9C", 12),
    },
    "pc-x02-vanthu": {
        "site": "X02",
        "serial": "SN-X02-0002",
        "mac": "00:11:22:33:55:02",
        "ip": "10.2.0.12",
        "software": [("Google Chrome", "119.0.6045.199")],
        "fail": [],
        "cert": ("Trần Thị Bình", "7788AA01", 200),
    },
    "pc-x03-motcua": {
        "site": "X03",
        "serial": "SN-X03-0001",
        "mac": "00:11:22:33:66:01",
        "ip": "10.3.0.11",
        "software": [("WinRAR 6.24 beta 1", "6.24b1")],
        "fail": ["host.firewall.enabled"],
    },
}


def certificate(cn: str, serial: str, days: int, sha: str) -> FoundCertificate:
    return FoundCertificate(
        sha256=hashlib.sha256(sha.encode()).hexdigest(),
        subject=f"CN={cn},O=UBND,C=VN",
        subject_cn=cn,
        issuer="CN=VNPT-CA SHA2,O=VNPT Group,C=VN",
        issuer_cn="VNPT-CA SHA2",
        serial=serial,
        not_before=NOW - timedelta(days=300),
        not_after=NOW + timedelta(days=days, hours=2),
        key_type="rsa",
        key_size=2048,
        signature_algorithm="sha256WithRSAEncryption",
        signature_hash="sha256",
        key_usage=["digitalSignature", "nonRepudiation"],
        location=CertLocation(kind=LocationKind.WINDOWS, path="MY"),
        key_on_token=True,
        validation=CertificateValidation(
            status=ValidationStatus.VALID, trusted=True, revocation=RevocationState.GOOD, reasons=[]
        ),
    )


CHECKS = ("host.firewall.enabled", "host.antivirus.present", "host.updates.recent", "host.os.supported")


@dataclass
class City:
    client: Any
    engine: Any
    devices: dict[str, int] = field(default_factory=dict)  # hostname -> id
    agents: dict[str, Any] = field(default_factory=dict)  # hostname -> its enrolled agent
    admin: dict[str, str] = field(default_factory=dict)  # bearer headers
    viewer_p01: dict[str, str] = field(default_factory=dict)
    router_id: int = 0


def build(client: Any, engine: Any) -> City:
    from collector.db import session_scope
    from collector.services.assets import AssetChanges, update_asset
    from collector.services.enrollment import create_enroll_secret
    from collector.services.sites import create_site

    city = City(client=client, engine=engine)
    secrets: dict[str, str] = {}
    with session_scope(engine) as s:
        for code, name, group in SITES:
            create_site(s, code=code, name=name, group=group)
            secrets[code] = create_enroll_secret(s, site_code=code)
    for i, (hostname, pc) in enumerate(PCS.items()):
        agent = enroll(client, secrets[pc["site"]], hostname)
        results = [
            CheckResult(
                check_id=c,
                status=CheckStatus.FAIL if c in pc["fail"] else CheckStatus.PASS,
                evidence="off" if c in pc["fail"] else "ok",
            )
            for c in CHECKS
        ]
        extra: dict[str, Any] = {}
        if "cert" in pc:
            cn, serial, days = pc["cert"]
            extra["certificates"] = CertificateFacts(certificates=[certificate(cn, serial, days, hostname)])
        report = host_report(
            agent.agent_id,
            hostname=hostname,
            machine_id=f"mid-{i}",
            serial=pc["serial"],
            mac=pc["mac"],
            results=results,
            system=SystemFacts(
                hostname=hostname,
                vendor="Dell Inc.",
                model="OptiPlex 3050",
                serial=pc["serial"],
                chassis="desktop",
            ),
            software=[SoftwareFacts(name=n, version=v, vendor="Vendor") for n, v in pc["software"]],
            network_interfaces=[
                NetworkInterfaceFacts(name="Ethernet", mac=pc["mac"], ipv4=[f"{pc['ip']}/24"], up=True),
                NetworkInterfaceFacts(name="lo", ipv4=["127.0.0.1/8"], kind="loopback"),
            ],
            **extra,
        )
        answer = post_report(client, agent, report)
        assert answer.status_code == 202, answer.text
        city.devices[hostname] = answer.json()["device_id"]
        city.agents[hostname] = agent
    # Enrolled, never reported: a silent agent in X03.
    enroll(client, secrets["X03"], "pc-x03-silent")
    # A router polled by the commune's PC (a network device report).
    from tests.collector.support import BASE_CONFIG, netdev_report

    poller = enroll(client, secrets["X02"], "poller-x02")
    report = netdev_report(poller.agent_id, BASE_CONFIG)
    report.subject.site = "X02"
    answer = post_report(client, poller, report)
    assert answer.status_code == 202, answer.text
    city.router_id = answer.json()["device_id"]
    with session_scope(engine) as s:
        update_asset(
            s,
            city.devices["pc-p01-motcua"],
            AssetChanges(asset_tag="TS-2019-0042", fields=frozenset({"asset_tag"})),
            scope=None,
            actor="planner",
        )
    city.admin = user_token(client, engine, username="admin", role="admin", password=PASSWORD)
    city.viewer_p01 = user_token(
        client, engine, username="viewer-p01", role="viewer", sites=["P01"], password=PASSWORD
    )
    return city
