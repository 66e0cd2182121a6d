"""The agent's commands speak the process language, like the collector's (WARDWATCH_LANG, else a vi locale).

A technician of a commune office ran `wardwatch agent status` on a Vietnamese PC and read "enrolled: no"
and "last error" in English. The agent cannot import collector.i18n (layering) and its long-running part
holds only the standard library, so agent/i18n.py reads agent/locales/vi/agent.po itself. Machine output
(JSON) is never translated.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from agent.i18n import catalog, parse_po, process_language
from tests.agent.support import agent_env, small_report, wardwatch

AGENT = Path(__file__).resolve().parents[2] / "agent"
NO_LOCALE = {"WARDWATCH_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}


def _status(state: Path, **env: str) -> str:
    done = wardwatch("agent", "status", env=agent_env(state, **{**NO_LOCALE, **env}))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_agent_status_prints_vietnamese_under_wardwatch_lang_vi_and_english_otherwise(tmp_path: Path) -> None:
    from agent.spool import Spool

    state = tmp_path / "state"
    with Spool.in_state_dir(state) as spool:
        rid, body = small_report("a1")
        spool.enqueue(body, report_id=rid, agent_id="a1")

    vi = _status(state, WARDWATCH_LANG="vi")
    assert "đã đăng ký:   chưa (hãy chạy `wardwatch agent enroll --collector URL --secret SECRET`)" in vi
    assert "hàng đợi:     1 báo cáo" in vi and "lỗi gần nhất: không có" in vi
    assert "thành công gần nhất: chưa bao giờ" in vi
    assert "enrolled" not in vi and "never" not in vi
    assert str(state) in vi  # data as it is

    en = _status(state, WARDWATCH_LANG="en", LANG="vi_VN.UTF-8")  # WARDWATCH_LANG wins over the locale
    assert "enrolled:      no (run `wardwatch agent enroll" in en and "last error:    none" in en
    assert "spool:         1 report(s)" in en
    # No choice made: the locale decides (a Vietnamese PC), else English (a server's C locale).
    assert "đã đăng ký:   chưa" in _status(state, LANG="vi_VN.UTF-8")
    assert "enrolled:      no" in _status(state, LANG="C.UTF-8")

    # Machine output is the same in every language.
    env = agent_env(state, **{**NO_LOCALE, "WARDWATCH_LANG": "vi"})
    data = json.loads(wardwatch("agent", "status", "--json", env=env).stdout)
    assert data["enrolled"] is False and data["spool"]["depth"] == 1


def test_an_agent_error_reads_in_vietnamese(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text("this is not = = toml\n", encoding="utf-8")
    env = agent_env(tmp_path / "state", **{**NO_LOCALE, "WARDWATCH_LANG": "vi"})
    done = wardwatch("agent", "status", "--config", str(bad), env=env)
    assert done.returncode == 2 and done.stderr.startswith("lỗi: ") and "Traceback" not in done.stderr


def test_the_agent_chooses_its_language_as_the_collectors_commands_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from collector.i18n import process_language as collector_language

    cases = [
        {},
        {"LANG": "vi_VN.UTF-8"},
        {"LANG": "vi_VN.UTF-8", "LC_ALL": "C.UTF-8"},
        {"LC_MESSAGES": "vi_VN"},
        {"LANG": "C", "WARDWATCH_LANG": "vi"},
        {"LANG": "vi_VN.UTF-8", "WARDWATCH_LANG": "en"},
        {"WARDWATCH_LANG": "fr", "LANG": "vi_VN"},
    ]
    for env in cases:
        for var in ("WARDWATCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
            monkeypatch.delenv(var, raising=False)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        assert process_language() == collector_language(), env


def _msgids() -> dict[str, str]:
    """Every msgid the agent's code passes to _() or N_() (literal strings), with where."""
    found: dict[str, str] = {}
    for path in sorted(AGENT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_"):
                first = node.args[0] if node.args else None
                where = f"{path.relative_to(AGENT.parent)}:{node.lineno}"
                if isinstance(first, ast.Name):
                    continue  # a msgid from a table marked with N_() (the table's columns)
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{where}: _() takes a literal msgid (mark a table of them with N_())"
                )
                found.setdefault(first.value, where)
    return found


def test_every_agent_msgid_has_vietnamese_with_the_same_placeholders() -> None:
    msgids = _msgids()
    assert len(msgids) >= 40
    vi = catalog("vi")
    missing = [f"{where}: {msgid!r}" for msgid, where in msgids.items() if not vi.get(msgid)]
    assert not missing, "no Vietnamese in agent/locales/vi/agent.po for:\n" + "\n".join(missing)
    placeholder = re.compile(r"%\(\w+\)[.\d]*[sdf]")
    for msgid in msgids:
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(vi[msgid])), msgid
    unused = sorted(set(vi) - set(msgids))
    assert not unused, f"entries no code uses: {unused}"


def test_the_catalog_reader_agrees_with_babel() -> None:
    """The agent's few lines of .po parsing read the file as Babel (the collector's reader) does."""
    from babel.messages.pofile import read_po

    path = AGENT / "locales" / "vi" / "agent.po"
    with path.open("rb") as fh:
        babel = {str(m.id): str(m.string) for m in read_po(fh, locale="vi") if m.id and m.string}
    assert parse_po(path.read_text(encoding="utf-8")) == babel
    sample = '#, fuzzy\nmsgid "a"\nmsgstr "b"\n\nmsgid ""\n"two "\n"lines \\"q\\""\nmsgstr "hai dòng"\n'
    assert parse_po(sample) == {'two lines "q"': "hai dòng"}
