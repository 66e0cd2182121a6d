"""Command-line messages for people speak the process language (WARDWATCH_LANG, else the locale).

An administrator of a commune office whose server runs a Vietnamese locale read "database is up to date"
and "error: site P01 already exists" in English. Sentences now go through the catalogs; machine output
(JSON, secrets, key ids, table columns) stays as it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

from collector.i18n import process_language
from tests.collector.support import ww_process as ww

COMMANDS = Path(__file__).resolve().parents[2] / "collector" / "commands"
NO_LOCALE = {"WARDWATCH_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}


def test_the_process_language_comes_from_wardwatch_lang_then_the_locale(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for var in ("WARDWATCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert process_language() == "en"
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    assert process_language() == "vi"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL wins over LANG, as in gettext
    assert process_language() == "en"
    monkeypatch.setenv("WARDWATCH_LANG", "vi")
    assert process_language() == "vi"


def test_a_command_prints_vietnamese_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ww.db'}"
    vi = ww("db", "upgrade", "--database-url", url, env={**NO_LOCALE, "WARDWATCH_LANG": "vi"})
    assert vi.returncode == 0, vi.stderr
    assert vi.stdout.strip() == "cơ sở dữ liệu đã ở phiên bản mới nhất"
    en = ww("db", "upgrade", "--database-url", url, env=NO_LOCALE)
    assert en.stdout.strip() == "database is up to date"
    by_locale = ww(
        "site",
        "add",
        "P01",
        "Phường Bến Nghé",
        "--database-url",
        url,
        env={**NO_LOCALE, "LANG": "vi_VN.UTF-8"},
    )
    assert by_locale.stdout.strip() == "đã thêm đơn vị P01"
    # An error a service raised reads in the same language, its data (the code) untouched.
    again = ww(
        "site",
        "add",
        "P01",
        "Phường Bến Nghé",
        "--database-url",
        url,
        env={**NO_LOCALE, "WARDWATCH_LANG": "vi"},
    )
    assert again.returncode == 2
    assert again.stderr.strip() == "lỗi: đơn vị P01 đã tồn tại"
    # Machine output stays as it is: the secret alone on stdout, whatever the language.
    secret = ww(
        "enroll-secret", "create", "--site", "P01", "--database-url", url, env={"WARDWATCH_LANG": "vi"}
    )
    assert secret.stdout.strip().startswith("wwe_")


def _english_sentence(node: ast.expr) -> str | None:
    """The literal text of an echo argument when it reads as a sentence (two words or more)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    else:
        return None
    words = [w for w in text.replace(":", " ").split() if w.isalpha() and w.islower()]
    return text if len(words) >= 2 else None


def test_commands_print_no_sentence_outside_the_catalog() -> None:
    found = []
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "echo"
                and node.args
            ):
                text = _english_sentence(node.args[0])
                if text:
                    found.append(f"{path.name}:{node.lineno}: {text!r}")
    assert not found, "typer.echo of English not through _():\n" + "\n".join(found)
