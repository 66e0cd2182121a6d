"""``platform = "auto"``: the SSH identification line a device sends first names its vendor."""

from __future__ import annotations

import re
import socket

from inventory.netdevices.contract import ConnectError, DetectError

# (pattern over the identification line, platform). Junos runs OpenSSH: its banner is not
# specific, so "auto" asks the device ``show version`` (see inventory.netdevices.poll).
_BANNERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"cisco", re.I), "cisco_ios"),
    (re.compile(r"huawei|VRP", re.I), "huawei_vrp"),
    (re.compile(r"ROSSSH|mikrotik", re.I), "mikrotik_routeros"),
    (re.compile(r"junos|juniper", re.I), "juniper_junos"),
)
GENERIC_OPENSSH = re.compile(r"^SSH-2\.0-OpenSSH", re.I)


def read_banner(host: str, port: int, timeout: float) -> str:
    """The server's ``SSH-2.0-...`` line (RFC 4253 §4.2), read over a plain TCP connection."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = b""
            while b"\n" not in data and len(data) < 4096:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                data += chunk
                # Servers may send other lines before the identification line.
                lines = data.split(b"\n")
                for line in lines[:-1]:
                    if line.startswith(b"SSH-"):
                        return line.decode("ascii", errors="replace").strip()
                data = lines[-1]
    except TimeoutError as exc:
        raise ConnectError(f"{host}:{port}: no SSH banner within {timeout:g} s") from exc
    except OSError as exc:
        raise ConnectError(f"{host}:{port}: cannot connect: {exc}") from exc
    if data.startswith(b"SSH-"):
        return data.decode("ascii", errors="replace").strip()
    raise DetectError(f"{host}:{port}: not an SSH server (no SSH identification line)")


def platform_from_banner(banner: str) -> str | None:
    for pattern, platform in _BANNERS:
        if pattern.search(banner):
            return platform
    return None
