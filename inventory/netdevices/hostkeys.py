"""Device host keys, trusted on first use and recorded in an OpenSSH-format known-hosts file.

The first key a device presents is recorded; afterwards a different key (same or another type)
is refused before any password is sent, and reported as ``HostKeyChanged``. An operator who replaced
the device deletes its line from the file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inventory.netdevices.contract import HostKeyChanged

if TYPE_CHECKING:  # paramiko loads only when a device is polled
    from paramiko import PKey


def fingerprint(key: PKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def entry_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class KnownHosts:
    """A thread-safe TOFU store backed by a known-hosts file (created 0600 on first record)."""

    def __init__(self, path: Path) -> None:
        import paramiko

        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        if self.path.exists():
            try:
                self._keys.load(str(self.path))
            except (OSError, ValueError) as exc:
                raise ValueError(f"known-hosts file {self.path}: cannot read it: {exc}") from exc

    def lookup(self, host: str, port: int) -> dict[str, PKey]:
        """Recorded keys for a device, by key type (empty: never seen)."""
        with self._lock:
            entry = self._keys.lookup(entry_name(host, port))
            return dict(entry) if entry is not None else {}

    def check(self, host: str, port: int, key: PKey) -> bool:
        """True when the key was recorded now (first use); raises ``HostKeyChanged`` on a mismatch."""
        name = entry_name(host, port)
        with self._lock:
            entry = self._keys.lookup(name)
            known = dict(entry) if entry is not None else {}
            if known:
                same = known.get(key.get_name())
                if same is not None and same.asbytes() == key.asbytes():
                    return False
                recorded = ", ".join(f"{t} {fingerprint(k)}" for t, k in known.items())
                raise HostKeyChanged(
                    f"host key of {name} changed: it presents {key.get_name()} {fingerprint(key)}, "
                    f"recorded {recorded} in {self.path}; refused (remove the line if the device was "
                    "replaced)"
                )
            self._keys.add(name, key.get_name(), key)
            self._append(f"{name} {key.get_name()} {key.get_base64()}\n")
            return True

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="ascii") as fh:
            fh.write(line)

    def policy(self, host: str, port: int) -> Any:
        """A paramiko missing-host-key policy recording (or refusing) through this store."""
        import paramiko

        store = self

        class _Tofu(paramiko.MissingHostKeyPolicy):
            def missing_host_key(self, client: Any, hostname: str, key: PKey) -> None:
                store.check(host, port, key)

        return _Tofu()

    def prepare_client(self, client: Any, host: str, port: int) -> None:
        """Make a paramiko ``SSHClient`` check every host key through this store.

        The client itself is given no keys, so paramiko hands every key to the policy: a mismatch then
        raises our ``HostKeyChanged`` (paramiko's own ``BadHostKeyException`` is an ``SSHException``,
        which netmiko would turn into a vague timeout). The check runs before authentication, so a
        changed device never sees the password.
        """
        client.set_missing_host_key_policy(self.policy(host, port))
