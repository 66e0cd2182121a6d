"""Running the few external commands the host inventory needs.

One helper so every command gets a timeout, a clean environment for parsing (C locale) and a clear
error naming the command when it is missing, times out or fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass


class CommandError(RuntimeError):
    """A command the inventory needs is missing, timed out or failed."""


@dataclass(frozen=True)
class CommandOutput:
    returncode: int
    stdout: str
    stderr: str


def which(name: str) -> str | None:
    return shutil.which(name)


def run(
    argv: list[str], *, timeout: float = 20.0, ok_codes: frozenset[int] | None = frozenset({0})
) -> CommandOutput:
    """Run ``argv`` and return its output.

    ``ok_codes=None`` accepts any exit status (for tools such as smartctl whose exit status is a
    bit mask and not a failure signal by itself).
    """
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise CommandError(f"{argv[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(f"{argv[0]}: no answer within {timeout:g} s") from exc
    except OSError as exc:
        raise CommandError(f"{argv[0]}: cannot run: {exc}") from exc
    if ok_codes is not None and proc.returncode not in ok_codes:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        tail = detail[-1] if detail else "no output"
        raise CommandError(f"{argv[0]} exited with status {proc.returncode}: {tail[:300]}")
    return CommandOutput(proc.returncode, proc.stdout, proc.stderr)
