"""Each platform's configuration audit is a list of small rules, and the Linux password policy
reader is small functions: no function of them above McCabe complexity 10 (they were 10 to 26)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.netdevices.facts import PLATFORMS
from inventory.netdevices.platforms import platform_module

ROOT = Path(__file__).resolve().parents[3]
MAX_COMPLEXITY = 10


def _too_complex(*paths: Path) -> list[str]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    done = subprocess.run(
        [ruff, "check", "--isolated", "--select", "C901", "--output-format", "json",
         "--config", f"lint.mccabe.max-complexity={MAX_COMPLEXITY}", *map(str, paths)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return [f"{Path(d['filename']).name}: {d['message']}" for d in json.loads(done.stdout)]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_audit_is_a_list_of_small_rules(platform: str) -> None:
    module = platform_module(platform)
    assert len(module.AUDIT_RULES) >= 5
    assert _too_complex(Path(module.__file__)) == []


def test_the_password_policy_reader_is_small_functions() -> None:
    linux = ROOT / "inventory" / "host" / "security" / "linux.py"
    names = ("password_policy", "_apply_", "_login_defs", "_first_arg")
    assert [p for p in _too_complex(linux) if any(f"`{n}" in p for n in names)] == []
