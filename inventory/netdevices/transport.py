"""The two ways a driver talks to a device: paramiko exec channels and netmiko interactive sessions.

Both map every library error onto ``inventory.netdevices.contract``'s tree, enforce connect and
command timeouts, and check the host key through ``KnownHosts`` before authenticating.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from inventory.netdevices.contract import (
    AuthError,
    CommandError,
    CommandTimeout,
    ConnectError,
    ConnectionDropped,
    DeviceError,
    DeviceTarget,
    HostKeyChanged,
    Timeouts,
)
from inventory.netdevices.hostkeys import KnownHosts, fingerprint
from inventory.netdevices.text import clean


class Transport:
    def __init__(
        self, target: DeviceTarget, password: str, timeouts: Timeouts, known_hosts: KnownHosts, username: str
    ) -> None:
        self.target = target
        self._password = password
        self.timeouts = timeouts
        self.known_hosts = known_hosts
        self.username = username
        self.banner: str | None = None
        self.fingerprint: str | None = None

    def where(self) -> str:
        return f"{self.target.host}:{self.target.port}"

    def open(self) -> None:
        raise NotImplementedError

    def run(self, command: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ExecTransport(Transport):
    """One SSH connection; each command on its own exec channel (RouterOS, Junos)."""

    _client: Any = None

    def open(self) -> None:
        import paramiko

        client = paramiko.SSHClient()
        self.known_hosts.prepare_client(client, self.target.host, self.target.port)
        t = self.timeouts.connect
        try:
            client.connect(
                self.target.host,
                port=self.target.port,
                username=self.username,
                password=self._password,
                timeout=t,
                banner_timeout=t,
                auth_timeout=t,
                channel_timeout=t,
                look_for_keys=False,
                allow_agent=False,
            )
        except DeviceError:
            client.close()
            raise
        except paramiko.AuthenticationException as exc:
            client.close()
            raise AuthError(
                f"{self.where()}: authentication failed for user {self.target.username!r}"
            ) from exc
        except TimeoutError as exc:
            client.close()
            raise ConnectError(f"{self.where()}: timed out after {t:g} s while connecting") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise ConnectError(f"{self.where()}: cannot connect: {exc or type(exc).__name__}") from exc
        transport = client.get_transport()
        assert transport is not None
        self.banner = transport.remote_version
        self.fingerprint = fingerprint(transport.get_remote_server_key())
        self._client = client

    def run(self, command: str) -> str:
        import paramiko

        transport = self._client.get_transport() if self._client else None
        if transport is None or not transport.is_active():
            raise ConnectionDropped(f"{self.where()}: the connection is closed", command=command)
        deadline = time.monotonic() + self.timeouts.command
        try:
            chan = transport.open_session(timeout=self.timeouts.connect)
            chan.settimeout(0.2)
            chan.exec_command(command)
            chunks: list[bytes] = []
            while True:
                if time.monotonic() > deadline:
                    chan.close()
                    raise CommandTimeout(
                        f"{self.where()}: no complete answer within {self.timeouts.command:g} s",
                        command=command,
                    )
                try:
                    data = chan.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                chunks.append(data)
            # EOF: a finished command also sends its exit status; a cut connection closes the channel
            # without one (paramiko then reports -1). A live transport without a status is a device
            # that simply sends none.
            chan.status_event.wait(1.0)
            if chan.exit_status == -1 and not transport.is_active():
                raise ConnectionDropped(
                    f"{self.where()}: connection dropped during the command", command=command
                )
            chan.close()
        except DeviceError:
            raise
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectionDropped(f"{self.where()}: {exc or type(exc).__name__}", command=command) from exc
        return clean(b"".join(chunks).decode("utf-8", errors="replace"))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class NetmikoTransport(Transport):
    """An interactive CLI session driven by netmiko (IOS, VRP): prompt, paging, echo handled there."""

    device_type = ""
    _conn: Any = None

    def __init__(self, *args: Any, device_type: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device_type = device_type

    def _connection_class(self) -> type:
        from netmiko.ssh_dispatcher import CLASS_MAPPER

        base = CLASS_MAPPER[self.device_type]
        known_hosts, host, port = self.known_hosts, self.target.host, self.target.port

        class _TofuConnection(base):  # type: ignore[misc, valid-type]
            def _build_ssh_client(self) -> Any:
                client = self._get_ssh_client_instance()
                known_hosts.prepare_client(client, host, port)
                return client

        return _TofuConnection

    def open(self) -> None:
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

        t = self.timeouts.connect
        cls = self._connection_class()
        try:
            conn = cls(
                device_type=self.device_type,
                host=self.target.host,
                port=self.target.port,
                username=self.username,
                password=self._password,
                conn_timeout=t,
                auth_timeout=t,
                banner_timeout=t,
                read_timeout_override=self.timeouts.command,
                session_timeout=self.timeouts.command,
                use_keys=False,
                allow_agent=False,
                fast_cli=True,
            )
        except DeviceError:
            raise
        except NetmikoAuthenticationException as exc:
            raise AuthError(
                f"{self.where()}: authentication failed for user {self.target.username!r}"
            ) from exc
        except NetmikoTimeoutException as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "timed out"
            raise ConnectError(f"{self.where()}: {first_line}") from exc
        except (OSError, EOFError, ValueError) as exc:
            # netmiko raises OSError/ValueError when no prompt appears within the timeout
            raise ConnectError(f"{self.where()}: no usable CLI session: {exc}") from exc
        except Exception as exc:  # netmiko's ReadTimeout during session preparation, and its kin
            raise ConnectError(f"{self.where()}: no usable CLI session: {type(exc).__name__}: {exc}") from exc
        transport = conn.remote_conn.get_transport() if conn.remote_conn is not None else None
        if transport is not None:
            self.banner = transport.remote_version
            self.fingerprint = fingerprint(transport.get_remote_server_key())
        self._conn = conn

    def run(self, command: str) -> str:
        from netmiko.exceptions import ReadTimeout

        if self._conn is None:
            raise ConnectionDropped(f"{self.where()}: the session is closed", command=command)
        try:
            out = self._conn.send_command(command, read_timeout=self.timeouts.command)
        except ReadTimeout as exc:
            # netmiko keeps reading a closed channel until its timeout: tell a cut line from a slow device.
            if not self._alive():
                raise ConnectionDropped(
                    f"{self.where()}: connection dropped during the command", command=command
                ) from exc
            raise CommandTimeout(
                f"{self.where()}: no prompt within {self.timeouts.command:g} s", command=command
            ) from exc
        except (OSError, EOFError) as exc:
            raise ConnectionDropped(
                f"{self.where()}: connection dropped during the command", command=command
            ) from exc
        except Exception as exc:
            if not self._alive():
                raise ConnectionDropped(
                    f"{self.where()}: connection dropped: {exc}", command=command
                ) from exc
            raise CommandError(f"{self.where()}: {type(exc).__name__}: {exc}", command=command) from exc
        return clean(out)

    def _alive(self) -> bool:
        chan = self._conn.remote_conn if self._conn is not None else None
        if chan is None:
            return False
        transport = chan.get_transport()
        return bool(transport is not None and transport.is_active() and not chan.closed)

    def close(self) -> None:
        if self._conn is not None:
            # closing a dead session must not hide the poll's real error
            with contextlib.suppress(Exception):
                self._conn.disconnect()
            self._conn = None


__all__ = ["ExecTransport", "HostKeyChanged", "NetmikoTransport", "Transport"]
