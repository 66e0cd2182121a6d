"""Device passwords at rest: a Fernet-encrypted store (AES-128-CBC + HMAC-SHA256, cryptography).

The key comes from an environment variable (``[netdevices] key_env``, default ``WARDWATCH_DEVICES_KEY``)
or from a key file that must be readable by its owner only (0600). Neither the key nor a password is
ever logged, printed or put in a report; errors name the entry and the file, never a value.

Manage entries with ``python -m agent.netdevices.credentials``::

    python -m agent.netdevices.credentials init-key            # creates the 0600 key file
    python -m agent.netdevices.credentials set xa-a-router      # prompts for the password
    python -m agent.netdevices.credentials list
    python -m agent.netdevices.credentials remove xa-a-router
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from agent.netdevices.capability import NETDEVICES
from agent.netdevices.config import DeviceEntry, NetDevicesConfig


class CredentialError(ValueError):
    """A password cannot be had; the message says which device and where we looked."""


def create_key(path: Path) -> None:
    if path.exists():
        raise CredentialError(f"key file {path} exists already; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key() + b"\n")


def load_key(config: NetDevicesConfig, state_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if env is None else env
    value = env.get(config.key_env)
    if value:
        key = value.strip().encode()
        source = f"environment variable {config.key_env}"
    else:
        path = config.key_path(state_dir)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise CredentialError(
                f"no credential key: set {config.key_env} or create {path} "
                "(python -m agent.netdevices.credentials init-key)"
            ) from None
        if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialError(
                f"key file {path} is readable by others (mode {st.st_mode & 0o777:o}); chmod 600 it"
            )
        key = path.read_bytes().strip()
        source = f"key file {path}"
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise CredentialError(f"{source} does not hold a valid key (32 url-safe base64 bytes)") from None
    return key


class CredentialStore:
    """``{"version": 1, "entries": {name: fernet_token}}``, written atomically, mode 0600."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._fernet = Fernet(key)

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["entries"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CredentialError(f"credential store {self.path} is unreadable or damaged") from exc
        return {str(k): str(v) for k, v in entries.items()}

    def _save(self, entries: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "entries": entries}, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def names(self) -> list[str]:
        return sorted(self._load())

    def get(self, name: str) -> str:
        token = self._load().get(name)
        if token is None:
            raise CredentialError(f"no entry {name!r} in the credential store {self.path}")
        try:
            return self._fernet.decrypt(token.encode()).decode("utf-8")
        except InvalidToken:
            raise CredentialError(
                f"entry {name!r} of {self.path} does not decrypt with this key (wrong key or tampered)"
            ) from None

    def set(self, name: str, password: str) -> None:
        entries = self._load()
        entries[name] = self._fernet.encrypt(password.encode("utf-8")).decode("ascii")
        self._save(entries)

    def remove(self, name: str) -> bool:
        entries = self._load()
        if entries.pop(name, None) is None:
            return False
        self._save(entries)
        return True


def resolve_password(
    entry: DeviceEntry,
    config: NetDevicesConfig,
    state_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    store: CredentialStore | None = None,
) -> str:
    env = os.environ if env is None else env
    if entry.password_env:
        value = env.get(entry.password_env)
        if not value:
            raise CredentialError(
                f"device {entry.name}: environment variable {entry.password_env} is not set"
            )
        return value
    assert entry.credential is not None
    if store is None:
        store = CredentialStore(config.store_path(state_dir), load_key(config, state_dir, env))
    try:
        return store.get(entry.credential)
    except CredentialError as exc:
        raise CredentialError(f"device {entry.name}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    import argparse
    import getpass

    from agent.config import load_settings

    parser = argparse.ArgumentParser(
        prog="python -m agent.netdevices.credentials", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", type=Path, default=None, help="agent configuration file (TOML)")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("init-key", help="create the 0600 key file")
    p_set = sub.add_parser("set", help="store a password (prompted, or read from stdin with --stdin)")
    p_set.add_argument("name")
    p_set.add_argument("--stdin", action="store_true")
    sub.add_parser("list", help="entry names (never passwords)")
    p_rm = sub.add_parser("remove")
    p_rm.add_argument("name")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        cfg, state_dir = NETDEVICES.config_of(settings), settings.state_dir
        if args.action == "init-key":
            create_key(cfg.key_path(state_dir))
            print(
                f"key created: {cfg.key_path(state_dir)} (mode 0600); "
                "back it up: the store is useless without it"
            )
            return 0
        store = CredentialStore(cfg.store_path(state_dir), load_key(cfg, state_dir))
        if args.action == "set":
            password = (
                sys.stdin.readline().rstrip("\n")
                if args.stdin
                else getpass.getpass(f"password for {args.name}: ")
            )
            if not password:
                print("empty password: nothing stored", file=sys.stderr)
                return 2
            store.set(args.name, password)
            print(f"stored {args.name} in {store.path}")
        elif args.action == "list":
            for name in store.names():
                print(name)
        elif args.action == "remove" and not store.remove(args.name):
            print(f"no entry {args.name}", file=sys.stderr)
            return 1
        return 0
    except (CredentialError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
