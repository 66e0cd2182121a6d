"""An in-process SSH server (paramiko's server side) that replays recorded device output.

Each ``SimDevice`` listens on its own 127.0.0.1 port and behaves like its platform:

- Cisco IOS: an interactive shell with a ``R1#`` prompt, echo, ``terminal length 0`` /
  ``terminal width``, and ``--More--`` paging (24 lines) until paging is turned off.
- Huawei VRP: ``<R1>`` prompt, ``screen-length 0 temporary``, ``---- More ----`` paging erased with
  ANSI cursor-left codes, and the " ESC[1D" quirk in front of output lines.
- MikroTik RouterOS: exec channels; the login name carries terminal flags (``admin+ct511w``); without
  the ``c`` flag the output is coloured with ANSI codes; CRLF line ends.
- Junos: exec channels; a generic ``SSH-2.0-OpenSSH`` banner (so ``auto`` must ask the device).

Behaviours for failure tests: ``slow`` (every command's answer is late), ``banner_delay`` (the SSH
banner is late), ``garbage`` (commands answer noise), ``drop_on`` (the connection is cut halfway
through one command's output). ``replace_key`` gives the device a new host key.
Used by tests/inventory/netdevices, tests/agent/netdevices and bench/device_poll.py; the output is recorded
text from tests/fixtures/devices.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

# A client that hangs up (banner probe, refused host key) is routine here, not worth a traceback.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "devices"
ROS = "mikrotik_routeros/"

BANNERS = {
    "cisco_ios": "SSH-2.0-Cisco-1.25",
    "huawei_vrp": "SSH-2.0-HUAWEI-1.5",
    "mikrotik_routeros": "SSH-2.0-ROSSSH",
    "juniper_junos": "SSH-2.0-OpenSSH_7.5",
}

# Recorded output per simulated device model: command -> fixture file (relative to FIXTURES).
PROFILES: dict[str, tuple[str, dict[str, str]]] = {
    "ios_c9200": (
        "cisco_ios",
        {
            "show version": "cisco_ios/oxidized-C9200L-24P-4G_17.09.04a/show_version.txt",
            "show inventory": "cisco_ios/oxidized-C9200L-24P-4G_17.09.04a/show_inventory.txt",
            "show ip interface brief": "cisco_ios/ntc-show_ip_interface_brief/show_ip_interface_brief.txt",
            "show running-config": "cisco_ios/oxidized-C9200L-24P-4G_17.09.04a/show_running-config.txt",
        },
    ),
    "ios_weak": (
        "cisco_ios",
        {
            "show version": "cisco_ios/ntc-show_version/show_version.txt",
            "show inventory": "cisco_ios/ntc-show_inventory/show_inventory.txt",
            "show ip interface brief": "cisco_ios/ntc-show_ip_interface_brief/show_ip_interface_brief.txt",
            "show running-config": "cisco_ios/napalm-test_get_config-normal/show_running-config.txt",
        },
    ),
    "vrp_ar6280": (
        "huawei_vrp",
        {
            "display version": "huawei_vrp/ntc-display_version3/display_version.txt",
            "display esn": "authored/huawei_vrp/ar6280/display_esn.txt",
            "display interface brief": "huawei_vrp/ntc-display_interface_brief/display_interface_brief.txt",
            "display current-configuration": "authored/huawei_vrp/ar6280/display_current-configuration.txt",
        },
    ),
    "routeros_l009": (
        "mikrotik_routeros",
        {
            "/system resource print": "mikrotik_routeros/oxidized-L009UiGS_7.15.2/system_resource_print.txt",
            "/system routerboard print": ROS + "ntc-system_routerboard_print2/system_routerboard_print.txt",
            "/system identity print": "mikrotik_routeros/ntc-system_identity_print/system_identity_print.txt",
            "/interface print terse without-paging": (
                "mikrotik_routeros/ntc-interface_print_terse_without-paging/interface_print_terse_without-paging.txt"
            ),
            "/user print terse": "authored/mikrotik_routeros/common/user_print_terse.txt",
            "/export show-sensitive": "mikrotik_routeros/oxidized-L009UiGS_7.15.2/export_show-sensitive.txt",
        },
    ),
    "routeros_hex_v6": (
        "mikrotik_routeros",
        {
            "/system resource print": ROS + "ntc-system_resource_print_1/system_resource_print.txt",
            "/system routerboard print": ROS + "ntc-system_routerboard_print/system_routerboard_print.txt",
            "/system identity print": "mikrotik_routeros/ntc-system_identity_print/system_identity_print.txt",
            "/interface print terse without-paging": (
                "mikrotik_routeros/ntc-interface_print_terse_without-paging/interface_print_terse_without-paging.txt"
            ),
            "/user print terse": "authored/mikrotik_routeros/common/user_print_terse.txt",
            "/export": "authored/mikrotik_routeros/hex-6.48/export.txt",
        },
    ),
    "junos_srx300": (
        "juniper_junos",
        {
            "show version": "juniper_junos/oxidized-srx300_22.4/show_version.txt",
            "show chassis hardware": "juniper_junos/oxidized-srx300_22.4/show_chassis_hardware.txt",
            "show system uptime": "juniper_junos/ntc-show_system_uptime/show_system_uptime.txt",
            "show interfaces terse": "authored/juniper_junos/srx300/show_interfaces_terse.txt",
            "show configuration | display omit": (
                "juniper_junos/oxidized-srx300_22.4/show_configuration_display_omit.txt"
            ),
        },
    ),
}

_HOST_KEYS: list[paramiko.PKey] = []


def host_key(index: int = 0) -> paramiko.PKey:
    """RSA keys shared by the simulated devices (generating one costs ~0.1 s)."""
    while len(_HOST_KEYS) <= index:
        _HOST_KEYS.append(paramiko.RSAKey.generate(2048))
    return _HOST_KEYS[index]


def load_outputs(profile: str) -> tuple[str, dict[str, str]]:
    platform, files = PROFILES[profile]
    return platform, {cmd: (FIXTURES / rel).read_text(encoding="utf-8") for cmd, rel in files.items()}


@dataclass
class SimDevice:
    platform: str
    outputs: dict[str, str]
    username: str = "admin"
    password: str = "Corr3ct-Horse"
    hostname: str = "R1"
    key: paramiko.PKey = field(default_factory=host_key)
    slow: float = 0.0  # seconds before each command's answer
    banner_delay: float = 0.0  # seconds before the SSH identification line
    garbage: bool = False
    drop_on: str | None = None  # a command whose output is cut halfway by closing the connection
    banner: str | None = None
    # What clients did, for assertions:
    commands: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port: int = self._sock.getsockname()[1]
        self._closed = False
        self._transports: list[paramiko.Transport] = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @classmethod
    def from_profile(cls, profile: str, **kwargs: object) -> SimDevice:
        platform, outputs = load_outputs(profile)
        return cls(platform=platform, outputs=outputs, **kwargs)  # type: ignore[arg-type]

    # -- lifecycle ---------------------------------------------------------------------------------

    def replace_key(self, key: paramiko.PKey) -> None:
        self.key = key

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()
        for t in list(self._transports):
            t.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.banner_delay:
            time.sleep(self.banner_delay)
        t = paramiko.Transport(conn)
        self._transports.append(t)
        t.local_version = self.banner or BANNERS[self.platform]
        t.add_server_key(self.key)
        iface = _Server(self)
        try:
            t.start_server(server=iface)
        except (paramiko.SSHException, EOFError, OSError):
            t.close()
            return
        try:
            while t.is_active() and not self._closed:
                chan = t.accept(timeout=1.0)
                if chan is None:
                    continue
                request = iface.wait_request(chan.get_id())
                if request is None:
                    chan.close()
                    continue
                kind, command = request
                if kind == "exec":
                    self._exec(t, chan, command)
                else:
                    self._shell(t, chan)
        except Exception:  # a client that went away mid-answer is normal here
            pass
        finally:
            t.close()
            if t in self._transports:
                self._transports.remove(t)

    # -- answers -----------------------------------------------------------------------------------

    def answer(self, command: str) -> str | None:
        """The recorded output of a command, None when the device does not know it."""
        if self.garbage:
            rng = random.Random(command)
            return "".join(rng.choice("xq#>%$@!|\t 0123456789abcdefZ\x07\x1b") for _ in range(600)) + "\n"
        return self.outputs.get(command)

    def _late(self) -> None:
        if self.slow:
            time.sleep(self.slow)

    def _exec(self, t: paramiko.Transport, chan: paramiko.Channel, command: str) -> None:
        self.commands.append(command)
        self._late()
        out = self.answer(command)
        if out is None:
            out = (
                f"bad command name {command.split()[0].lstrip('/')} (line 1 column 2)\n"
                if self.platform == "mikrotik_routeros"
                else f"error: syntax error, expecting <command>: {command.split()[0]}\n"
            )
        if self.platform == "mikrotik_routeros":
            flags = self.logins[-1].partition("+")[2] if self.logins else ""
            if "c" not in flags:  # RouterOS colours its output unless told not to
                out = "\n".join(f"\x1b[m\x1b[32m{line}\x1b[m" if line else line for line in out.split("\n"))
            out = out.replace("\n", "\r\n")
        data = out.encode()
        if command == self.drop_on:
            chan.sendall(data[: len(data) // 2])
            time.sleep(0.05)
            t.close()
            return
        chan.sendall(data)
        chan.send_exit_status(0)
        chan.shutdown_write()
        chan.close()

    def _prompt(self) -> str:
        return f"<{self.hostname}>" if self.platform == "huawei_vrp" else f"{self.hostname}#"

    def _shell(self, t: paramiko.Transport, chan: paramiko.Channel) -> None:
        vrp = self.platform == "huawei_vrp"
        paging = True
        if vrp:
            chan.sendall(
                b"\r\nInfo: The max number of VTY users is 10, and the number\r\n"
                b"      of current VTY users on line is 1.\r\n"
            )
        chan.sendall(f"\r\n{self._prompt()}".encode())
        buf = ""
        while True:
            data = chan.recv(1024)
            if not data:
                return
            text = data.decode(errors="replace")
            for ch in text:
                if ch in "\r\n":
                    if ch == "\n" and buf == "" and getattr(self, "_last_cr", False):
                        self._last_cr = False
                        continue
                    self._last_cr = ch == "\r"
                    chan.sendall(b"\r\n")
                    line, buf = buf.strip(), ""
                    paging = self._line(t, chan, line, paging, vrp)
                    if paging is None:
                        return
                else:
                    buf += ch
                    chan.sendall(ch.encode())  # the terminal echoes what is typed

    def _line(
        self, t: paramiko.Transport, chan: paramiko.Channel, line: str, paging: bool, vrp: bool
    ) -> bool | None:
        if not line:
            chan.sendall(self._prompt().encode())
            return paging
        self.commands.append(line)
        if line in ("terminal length 0", "screen-length 0 temporary"):
            if vrp:
                chan.sendall(
                    b"Info: The configuration takes effect on the current user terminal interface only.\r\n"
                )
            chan.sendall(self._prompt().encode())
            return False
        if line.startswith("terminal width"):
            chan.sendall(self._prompt().encode())
            return paging
        if line in ("exit", "quit", "logout"):
            chan.close()
            return None
        self._late()
        out = self.answer(line)
        if out is None:
            out = (
                "              ^\nError: Unrecognized command found at '^' position.\n"
                if vrp
                else "                ^\n% Invalid input detected at '^' marker.\n"
            )
        lines = out.rstrip("\n").split("\n")
        if vrp:
            lines = [" \x1b[1D" + ln for ln in lines]  # VRP's space + cursor-left quirk
        if line == self.drop_on:
            half = "\r\n".join(lines[: max(1, len(lines) // 2)])
            chan.sendall(half.encode())
            time.sleep(0.05)
            t.close()
            return None
        page = 24
        for i, ln in enumerate(lines):
            chan.sendall((ln + "\r\n").encode())
            if paging and (i + 1) % page == 0 and i + 1 < len(lines):
                more = b"  ---- More ----" if vrp else b" --More-- "
                chan.sendall(more)
                key = chan.recv(1)
                if not key:
                    return None
                erase = (
                    b"\x1b[16D                \x1b[16D" if vrp else b"\x08" * 10 + b" " * 10 + b"\x08" * 10
                )
                chan.sendall(erase)
                if key in (b"q", b"Q"):
                    break
        chan.sendall(self._prompt().encode())
        return paging


class _Server(paramiko.ServerInterface):
    def __init__(self, device: SimDevice) -> None:
        self.device = device
        self._requests: dict[int, tuple[str, str]] = {}
        self._cond = threading.Condition()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        self.device.logins.append(username)
        name = username
        if self.device.platform == "mikrotik_routeros":
            name = username.partition("+")[0]
        if name == self.device.username and password == self.device.password:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return (
            paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        )

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        if self.device.platform not in ("cisco_ios", "huawei_vrp"):
            return False
        with self._cond:
            self._requests[channel.get_id()] = ("shell", "")
            self._cond.notify_all()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        if self.device.platform not in ("mikrotik_routeros", "juniper_junos"):
            return False
        with self._cond:
            self._requests[channel.get_id()] = ("exec", command.decode(errors="replace"))
            self._cond.notify_all()
        return True

    def wait_request(self, chanid: int, timeout: float = 5.0) -> tuple[str, str] | None:
        with self._cond:
            self._cond.wait_for(lambda: chanid in self._requests, timeout=timeout)
            return self._requests.pop(chanid, None)
