"""`wardwatch checks list [--json]`: prints the catalog, and stays agent-light (no web/database imports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def _app():  # type: ignore[no-untyped-def]
    import collector.commands.checks  # noqa: F401  (registers `checks` on the root app)
    from collector.cli import app

    return app


def test_list_prints_every_check_with_severity_and_title() -> None:
    out = CliRunner().invoke(_app(), ["checks", "list", "--module", "checks"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split()[:4] == ["ID", "SEVERITY", "MODULE", "PLATFORMS"]
    row = next(ln for ln in lines if ln.startswith("host.os.supported "))
    assert "critical" in row and "Hệ điều hành còn được hỗ trợ" in row
    assert lines[-1] == "36 checks"
    en = CliRunner().invoke(_app(), ["checks", "list", "--lang", "en"]).output
    assert "Operating system still supported" in en


def test_list_json_has_the_full_definitions() -> None:
    out = CliRunner().invoke(_app(), ["checks", "list", "--json"])
    assert out.exit_code == 0
    data = {c["id"]: c for c in json.loads(out.stdout)}
    check = data["host.updates.recent"]
    assert check["params"] == {"max_days": 35} and check["severity"] == "high"
    assert check["remediation"]["vi"] and check["references"]


def test_the_command_imports_no_web_or_database_framework() -> None:
    path = str(ROOT / "collector" / "commands" / "checks.py")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('ww_checks_cmd', {path!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "from typer.testing import CliRunner\n"
        "from collector.cli import app\n"
        "res = CliRunner().invoke(app, ['checks', 'list', '--json'])\n"
        "assert res.exit_code == 0, res.output\n"
        "names = ('fastapi', 'sqlalchemy', 'sqlmodel', 'starlette', 'alembic')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


def test_an_unknown_module_is_an_error_that_names_the_modules() -> None:
    out = CliRunner().invoke(_app(), ["checks", "list", "--module", "nosuch"])
    assert out.exit_code == 2
    assert "no module 'nosuch'" in out.output and "certs" in out.output and "checks" in out.output
    assert "0 checks" not in out.output
