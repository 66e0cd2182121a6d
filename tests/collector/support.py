"""What several collector test modules share: network device and LAN reports, certificate sections, the
administration command, the routes' access declarations."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.netdevices.config import DeviceEntry
from agent.netdevices.poller import device_report
from collector.http.access import access_of
from collector.models.core import Role
from inventory.certificates.facts import (
    CertificateFacts,
    CertificateValidation,
    CertLocation,
    DocumentStatus,
    FoundCertificate,
    LocationKind,
    RevocationState,
    SignedDocumentResult,
    TlsEndpointResult,
    ValidationStatus,
)
from inventory.lan import LanHost as ScanHost
from inventory.lan import LanScanFacts, ServiceProbe, SnmpAnswer
from inventory.netdevices.facts import ConfigAudit, DeviceInterface, NetworkDeviceFacts

SERVER = ScanHost(
    ip="192.168.10.30",
    mac="00:15:5d:01:02:03",
    vendor="Microsoft",
    services=[ServiceProbe(port=23), ServiceProbe(port=445)],
)


PRINTER = ScanHost(
    ip="192.168.10.40",
    mac="00:80:77:12:34:56",
    vendor="Brother Industries",
    snmp=[SnmpAnswer(community="public", sys_descr="Brother NC-8300w")],
)


def scan(hosts: list[ScanHost], at: datetime, **extra) -> LanScanFacts:  # type: ignore[no-untyped-def]
    return LanScanFacts(
        cidr="192.168.10.0/24",
        interface="eth0",
        source_ip="192.168.10.20",
        privileged=True,
        started_at=at,
        finished_at=at + timedelta(seconds=9),
        ports=[21, 23, 80, 443, 445, 3389, 5900, 8080, 8291, 8728],
        parts_run=["arp_conflicts", "dhcp", "discovery", "passive", "services", "snmp"],
        hosts=hosts,
        gateway_ip="192.168.10.1",
        gateway_mac="00:0c:42:11:22:33",
        **extra,
    )


@dataclass
class CommandRun:
    """What a ``wardwatch`` command left: its exit status and what it wrote (``CompletedProcess``'s names)."""

    returncode: int
    stdout: str
    stderr: str


def ww(*args: str, env: dict[str, str | None] | None = None, input: str | None = None) -> CommandRun:
    """``wardwatch ARGS`` through the command's own entry point, in this process.

    The same Typer app, options, environment variables, standard input, exit codes and output as the
    installed command; an exception the command lets escape comes back as exit status 1 with its
    traceback on stderr, as Python prints it. A process per command cost ~1.3 s of CPU (the imports),
    36 commands in this folder's tests; ``ww_process`` runs one as a real process, for what only a
    process shows (its language from its environment, the ``python -m`` entry). ``env`` is laid over
    this process's environment for the command; a ``None`` value unsets a variable (``no_wardwatch_env``).
    """
    from typer.testing import CliRunner

    from collector import commands  # noqa: F401  (registers the collector's commands on the root)
    from collector.cli import app as root

    # A command may set what belongs to its process (`serve` and `backup` make the umask private); a
    # real process takes that with it when it ends, so this one puts it back.
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        result = CliRunner().invoke(root, list(args), input=input, env=env, catch_exceptions=True)
    finally:
        os.umask(umask)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return CommandRun(result.exit_code, result.stdout, stderr)


def no_wardwatch_env() -> dict[str, str | None]:
    """``env`` for ``ww`` that unsets this process's ``WARDWATCH_*`` variables, as a command started with
    an environment filtered of them would see it."""
    return {k: None for k in os.environ if k.startswith("WARDWATCH_")}


def ww_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``wardwatch ARGS`` as a process of its own (``python -m collector.cli``)."""

    return subprocess.run(
        [sys.executable, "-m", "collector.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def declarations(dependant: Any) -> list[tuple[str, tuple[Role, ...]]]:
    """The distinct access declarations in a route's dependency tree."""
    found: dict[int, tuple[str, tuple[Role, ...]]] = {}
    stack = [dependant]
    while stack:
        dep = stack.pop()
        call = getattr(dep, "call", None)
        mark = access_of(call) if call is not None else None
        if mark is not None:
            found[id(call)] = mark
        stack.extend(getattr(dep, "dependencies", []))
    return list(found.values())


BASE_CONFIG = """\
hostname xa-a-core
!
enable secret 9 <removed>
username ktv secret 9 <removed>
!
interface GigabitEthernet0/1
 ip address 192.168.10.1 255.255.255.0
!
line vty 0 4
 transport input ssh
!
end
"""


ENTRY = DeviceEntry(
    name="xa-a-core", host="192.168.10.1", platform="cisco_ios", site="P01", username="ww", password_env="X"
)


def netdev_report(agent_id: str, config: str, *, uptime: int = 86400):  # type: ignore[no-untyped-def]
    facts = NetworkDeviceFacts(
        name=ENTRY.name,
        platform="cisco_ios",
        hostname="xa-a-core",
        vendor="Cisco",
        model="C9200L-24P-4G",
        os_version="17.9.4a",
        serial_number="JAE24FFFFFF",
        uptime=uptime,
        interface_list=["GigabitEthernet0/1"],
        interfaces=[DeviceInterface(name="GigabitEthernet0/1", enabled=True, up=True, ipv4=["192.168.10.1"])],
        config=config,
        config_hash=hashlib.sha256(config.encode()).hexdigest(),
        audit=ConfigAudit(telnet_enabled=False, ntp_servers=[], syslog_hosts=[]),
    )
    return device_report(ENTRY, facts, agent_id=agent_id)


NOW = datetime.now(UTC).replace(microsecond=0)


def cert(
    cn: str,
    days: int,
    *,
    sha: str,
    kind: LocationKind = LocationKind.WINDOWS,
    status: str | None = "valid",
    ca: bool = False,
) -> FoundCertificate:
    return FoundCertificate(
        sha256=sha * 64,
        subject=f"CN={cn},O=UBND,C=VN",
        subject_cn=cn,
        issuer="CN=VNPT-CA SHA2,O=VNPT Group,C=VN",
        issuer_cn="VNPT-CA SHA2",
        serial="5401AB",
        not_before=NOW - timedelta(days=300),
        not_after=NOW + timedelta(days=days, hours=2),
        key_type="rsa",
        key_size=2048,
        signature_algorithm="sha256WithRSAEncryption",
        signature_hash="sha256",
        key_usage=["digitalSignature", "nonRepudiation"],
        is_ca=ca,
        location=CertLocation(
            kind=kind, path="MY" if kind is LocationKind.WINDOWS else "/etc/ssl/certs/ca-certificates.crt"
        ),
        key_on_token=kind is LocationKind.WINDOWS and not ca,
        key_provider="VNPT-CA CSP" if kind is LocationKind.WINDOWS and not ca else None,
        validation=None
        if status is None
        else CertificateValidation(
            status=ValidationStatus(status),
            trusted=status != "untrusted",
            revocation=RevocationState.GOOD,
            reasons=[] if status == "valid" else [f"{status} reason"],
        ),
    )


def section(*, with_expired: bool = True) -> CertificateFacts:
    certs = [
        cert("Nguyễn Văn An", 20, sha="a"),
        cert("VGCA Root", 4000, sha="c", kind=LocationKind.SYSTEM, status=None, ca=True),
    ]
    if with_expired:
        certs.append(cert("Trần Thị Bình", -5, sha="b", status="expired"))
    return CertificateFacts(
        certificates=certs,
        tls_endpoints=[
            TlsEndpointResult(
                target="https://dichvucong.hanoi.gov.vn",
                host="dichvucong.hanoi.gov.vn",
                port=443,
                scheme="https",
                reachable=True,
                verified=True,
                hostname_matches=True,
                chain_complete=True,
                tls10_accepted=True,
                hsts=False,
                leaf=cert("dichvucong.hanoi.gov.vn", 10, sha="d", status=None).model_copy(
                    update={
                        "location": CertLocation(kind=LocationKind.TLS, path="dichvucong.hanoi.gov.vn:443")
                    }
                ),
            )
        ],
        documents=[
            SignedDocumentResult(
                path=r"D:\VanBan\QD-12.pdf",
                kind="pdf",
                signature="ChuKy1",
                status=DocumentStatus.REVOKED,
                signer_subject="CN=Lê Văn Cường",
                revoked=True,
                reasons=["signer certificate revoked on 2026-10-01 (before signing)"],
            )
        ],
    )
