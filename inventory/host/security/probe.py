"""The system edge of security fact collection: files under a root, commands, listening sockets.

Readers never touch the system directly: they ask a :class:`Probe`. Tests build a Probe over a
directory of recorded files and a runner that replays recorded command output, so the same parsing
runs here on recorded Linux and Windows text.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory.security import Listener

# (name, argv, timeout seconds) -> stdout, or None when the command could not run at all (absent,
# timed out, not permitted). ``name`` is a stable key for the command: recorded output is stored
# under it.
CommandRunner = Callable[[str, Sequence[str], float], str | None]
# The listening sockets; raises OSError (such as ListenersUnavailable) when the system refuses to list
# them: an empty list would say "nothing listens", which is a verdict, not a blind spot.
ListenerSource = Callable[[], list[Listener]]


class ListenersUnavailable(OSError):
    """The listening sockets could not be listed (no privilege, /proc unreadable); says why."""


def run_command(name: str, argv: Sequence[str], timeout: float) -> str | None:
    """Run a command with the C locale; its stdout whatever the exit status (many tools report state
    through it, e.g. ``systemctl is-active`` exits 3 for "inactive"), None if it cannot run."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 and not proc.stdout.strip():
        return None
    return proc.stdout


def psutil_listeners() -> list[Listener]:
    """TCP sockets in LISTEN state, with the owning process name where the OS lets us see it;
    ``ListenersUnavailable`` when the OS refuses to list them."""
    import psutil

    out: dict[tuple[str, int], Listener] = {}
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError) as exc:
        # Not "nothing listens": that would pass every "no telnet/FTP/VNC listening" check unseen.
        why = str(exc) or ("access denied" if isinstance(exc, psutil.AccessDenied) else type(exc).__name__)
        raise ListenersUnavailable(f"could not list listening sockets: {why}") from exc
    names: dict[int, str | None] = {}
    for c in conns:
        if c.status != psutil.CONN_LISTEN or not c.laddr:
            continue
        proc = None
        if c.pid:
            if c.pid not in names:
                try:
                    names[c.pid] = psutil.Process(c.pid).name()
                except (psutil.Error, OSError):
                    names[c.pid] = None
            proc = names[c.pid]
        key = (c.laddr.ip, c.laddr.port)
        out[key] = Listener(protocol="tcp", address=c.laddr.ip, port=c.laddr.port, process=proc)
    return sorted(out.values(), key=lambda lis: (lis.port, lis.address))


@dataclass
class Probe:
    root: Path = Path("/")
    run: CommandRunner = run_command
    listeners: ListenerSource = psutil_listeners
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    cache_dir: Path | None = None
    _cache: dict[str, str | None] = field(default_factory=dict, repr=False)
    _listening: list[Listener] | None = field(default=None, repr=False)
    _listening_error: str | None = field(default=None, repr=False)
    # "part.field" -> why a reader left that field unset while the rest of its part was read
    # (collect_security_facts moves these into SecurityFacts.errors).
    unseen: dict[str, str] = field(default_factory=dict, repr=False)
    # Windows: the one PowerShell answer every part of a collection reads (security/windows.py).
    ps_sections: dict[str, Any] | None = field(default=None, repr=False)

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/\\")

    def exists(self, p: str) -> bool:
        return self.path(p).exists()

    def read(self, p: str) -> str | None:
        try:
            return self.path(p).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def read_bytes(self, p: str, size: int = -1) -> bytes | None:
        try:
            with self.path(p).open("rb") as fh:
                return fh.read(size)
        except OSError:
            return None

    def has_tool(self, *names: str) -> bool:
        """Is any of these programs installed (in the system's program folders under the root)?"""
        folders = ("/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin")
        return any(self.exists(f"{d}/{n}") for d in folders for n in names)

    def glob(self, pattern: str) -> list[Path]:
        return sorted(self.root.glob(pattern.lstrip("/")))

    def cmd(self, name: str, *argv: str, timeout: float = 30.0) -> str | None:
        """A command's output, run once per probe (several readers share e.g. ``ufw status``)."""
        if name not in self._cache:
            self._cache[name] = self.run(name, argv, timeout)
        return self._cache[name]

    def cmd_cached(self, name: str, *argv: str, inputs: Sequence[str], timeout: float = 30.0) -> str | None:
        """Like :meth:`cmd`, but reuses the last output kept in ``cache_dir`` while none of the
        ``inputs`` paths has changed (size and modification time), across agent runs."""
        if self.cache_dir is None:
            return self.cmd(name, *argv, timeout=timeout)
        key = []
        for p in inputs:
            try:
                st = self.path(p).stat()
                key.append([p, st.st_mtime_ns, st.st_size])
            except OSError:
                key.append([p, None, None])
        store = self.cache_dir / f"probe-{name}.json"
        try:
            saved = json.loads(store.read_text(encoding="utf-8"))
            if saved.get("key") == key and isinstance(saved.get("output"), str):
                cached: str = saved["output"]
                return cached
        except (OSError, ValueError):
            pass
        output = self.cmd(name, *argv, timeout=timeout)
        if output is not None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = store.with_suffix(".tmp")
                tmp.write_text(json.dumps({"key": key, "output": output}), encoding="utf-8")
                os.replace(tmp, store)
            except OSError:
                pass  # a cache that cannot be written only costs time
        return output

    def read_config(self, p: str) -> str | None:
        """A configuration file's text; None when it does not exist. A file that exists but cannot
        be read (mode 0600 and the agent is not root) raises ``OSError`` naming ``p``: unlike an
        absent file, it may hold settings that matter."""
        try:
            return self.path(p).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise OSError(f"cannot read {p}: {exc.strerror or exc}") from exc

    def config_dir(self, d: str, suffix: str) -> list[str]:
        """The files named ``*suffix`` in folder ``d`` (paths as on the system, sorted); [] when the
        folder does not exist. A folder that cannot be listed raises ``OSError`` naming it (a glob
        would silently find nothing)."""
        try:
            names = sorted(e.name for e in os.scandir(self.path(d)) if e.name.endswith(suffix))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise OSError(f"cannot list {d}: {exc.strerror or exc}") from exc
        return [f"{d.rstrip('/')}/{n}" for n in names]

    def not_observed(self, field_path: str, reason: str) -> None:
        """Record why a reader leaves ``field_path`` ("remote_access.ssh.root_login") unset."""
        self.unseen[field_path] = reason

    def listening(self) -> list[Listener] | None:
        """The listening sockets, or None when they could not be listed (``listening_error`` says why)."""
        if self._listening is None and self._listening_error is None:
            try:
                self._listening = self.listeners()
            except OSError as exc:
                self._listening_error = str(exc) or type(exc).__name__
        return self._listening

    @property
    def listening_error(self) -> str | None:
        return self._listening_error
