"""The administration commands, through the command's own entry point on a real SQLite file (``ww``)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from collector.db import make_engine
from collector.models.core import EnrollSecret, Site, User
from collector.security import token_hash
from tests.collector.support import ww
from tests.helpers import PASSWORD


def test_site_user_and_enroll_secret_round_trip(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ww.db'}"
    assert ww("db", "upgrade", "--database-url", url).returncode == 0
    assert ww("site", "add", "P01", "Phường Bến Nghé", "--database-url", url).returncode == 0
    done = ww(
        "user",
        "add",
        "lan",
        "--role",
        "technician",
        "--site",
        "P01",
        "--database-url",
        url,
        env={"WARDWATCH_NEW_PASSWORD": "mật khẩu dài"},
    )
    assert done.returncode == 0, done.stderr
    secret = ww("enroll-secret", "create", "--site", "P01", "--database-url", url)
    assert secret.returncode == 0
    value = secret.stdout.strip()
    assert value.startswith("wwe_") and "\n" not in value  # alone on stdout, for scripts
    engine = make_engine(url)
    with Session(engine) as s:
        assert s.exec(select(Site.name)).one() == "Phường Bến Nghé"
        assert s.exec(select(User.role)).one() == "technician"
        assert s.exec(select(EnrollSecret.secret_hash)).one() == token_hash(value)
    engine.dispose()


def test_site_import_checks_every_row_before_writing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ww.db'}"
    ww("db", "upgrade", "--database-url", url)
    good = tmp_path / "sites.csv"
    good.write_text("code,name,group\nP01,Phường Bến Nghé,Cụm 1\nX02,Xã Bình Chánh,\n", encoding="utf-8")
    done = ww("site", "import", str(good), "--database-url", url)
    assert done.returncode == 0 and "2 sites created" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\nP03,Phường 3\nbad code!,Phường 4\n", encoding="utf-8")
    refused = ww("site", "import", str(bad), "--database-url", url)
    assert refused.returncode == 2 and "line 3" in refused.stderr
    engine = make_engine(url)
    with Session(engine) as s:
        assert sorted(s.exec(select(Site.code)).all()) == ["P01", "X02"]  # P03 was not written
    engine.dispose()


def test_malformed_csv_and_over_long_names_are_refused_clearly(database_url: str, tmp_path: Path):
    # What spreadsheets and hand edits produce: a surplus column, a quote never closed, a name pasted
    # with a whole paragraph. Each is refused with its line, no traceback, and nothing is written.
    cases = {
        "surplus.csv": ("code,name\nP01,Phường 1\nP02,Phường 2,Cụm 1\n", "line 3: more fields"),
        "quote.csv": ('code,name\nP01,Phường 1\nP02,"Phường 2\n', "line 3: not valid CSV"),
        "long.csv": (f"code,name\nP01,Phường 1\nP02,{'x' * 300}\n", "line 3: site P02: name is 300"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        done = ww("site", "import", str(path), "--database-url", database_url)
        assert done.returncode == 2 and message in done.stderr, (name, done.stderr[-500:])
        assert "Traceback" not in done.stderr
    long_add = ww("site", "add", "P09", "y" * 256, "--database-url", database_url)
    assert long_add.returncode == 2 and "name is 256 characters; at most 255" in long_add.stderr
    long_user = ww(
        "user",
        "add",
        "u1",
        "--role",
        "viewer",
        "--full-name",
        "z" * 300,
        "--database-url",
        database_url,
        env={"WARDWATCH_NEW_PASSWORD": PASSWORD},
    )
    assert long_user.returncode == 2 and "full name is 300 characters" in long_user.stderr
    engine = make_engine(database_url)
    with Session(engine) as s:
        assert s.exec(select(Site.code)).all() == []
    engine.dispose()


def test_errors_are_clear(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ww.db'}"
    ww("db", "upgrade", "--database-url", url)
    missing = ww("enroll-secret", "create", "--site", "NOPE", "--database-url", url)
    assert missing.returncode == 2 and "no site with code 'NOPE'" in missing.stderr
    weak = ww(
        "user", "add", "x", "--role", "admin", "--database-url", url, env={"WARDWATCH_NEW_PASSWORD": "short"}
    )
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr
    common = ww(
        "user",
        "add",
        "x",
        "--role",
        "admin",
        "--database-url",
        url,
        env={"WARDWATCH_NEW_PASSWORD": "password-123"},
    )
    assert common.returncode == 2 and "common passwords" in common.stderr
    role = ww(
        "user",
        "add",
        "x",
        "--role",
        "boss",
        "--database-url",
        url,
        env={"WARDWATCH_NEW_PASSWORD": PASSWORD},
    )
    assert role.returncode == 2 and "unknown role" in role.stderr


def test_schema_prints_the_report_json_schema():
    import json

    done = ww("schema")
    schema = json.loads(done.stdout)
    assert schema["title"] == "Report" and "report_id" in schema["properties"]


def test_an_unusable_database_is_a_clear_error(tmp_path: Path):
    unmigrated = f"sqlite:///{tmp_path / 'empty.db'}"
    done = ww("site", "add", "P01", "Phường 1", "--database-url", unmigrated)
    assert done.returncode == 2 and "wardwatch db upgrade" in done.stderr and "Traceback" not in done.stderr
    down = "postgresql+psycopg://ww:secret-pw@127.0.0.1:1/nope"
    done = ww("enroll-secret", "create", "--site", "P01", "--database-url", down)
    assert done.returncode == 2 and "cannot use the database" in done.stderr
    assert "secret-pw" not in done.stderr and "Traceback" not in done.stderr
    done = ww("db", "upgrade", "--database-url", down)
    assert (
        done.returncode == 2
        and "cannot upgrade the database" in done.stderr
        and "secret-pw" not in done.stderr
    )


def test_site_import_reads_semicolons_as_excel_on_vietnamese_windows_writes(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ww.db'}"
    ww("db", "upgrade", "--database-url", url)
    sheet = tmp_path / "excel.csv"
    # Excel with Vietnamese regional settings: a BOM, semicolons, CRLF, a comma inside a name.
    sheet.write_bytes(
        "\ufeffcode;name;group;address\r\nP01;Phường Bến Nghé;Cụm trung tâm;12 Lê Lợi, P. Bến Nghé\r\n"
        "X02;Xã Bình Chánh;;\r\n".encode()
    )
    done = ww("site", "import", str(sheet), "--database-url", url)
    assert done.returncode == 0, done.stderr
    assert "2 sites created" in done.stdout
    engine = make_engine(url)
    with Session(engine) as s:
        rows = {site.code: site for site in s.exec(select(Site)).all()}
    engine.dispose()
    assert rows["P01"].name == "Phường Bến Nghé" and rows["P01"].group_name == "Cụm trung tâm"
    assert rows["P01"].address == "12 Lê Lợi, P. Bến Nghé" and rows["X02"].group_name is None


def test_districts_are_gone_from_the_commands(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ww.db'}"
    ww("db", "upgrade", "--database-url", url)
    old = ww("site", "add", "P01", "Phường 1", "--district", "Quận 1", "--database-url", url)
    assert old.returncode != 0 and "--district" in old.stderr
    assert "district" not in ww("site", "add", "--help").stdout.lower()
    added = ww("site", "add", "P01", "Phường 1", "--group", "Cụm phía Bắc", "--database-url", url)
    assert added.returncode == 0, added.stderr
    sheet = tmp_path / "old.csv"
    sheet.write_text("code,name,district\nP02,Phường 2,Quận 1\n", encoding="utf-8")
    refused = ww("site", "import", str(sheet), "--database-url", url)
    assert refused.returncode == 2 and "'district' is no longer used" in refused.stderr
    assert "rename it to 'group'" in refused.stderr
    engine = make_engine(url)
    with Session(engine) as s:
        assert [(x.code, x.group_name) for x in s.exec(select(Site)).all()] == [("P01", "Cụm phía Bắc")]
    engine.dispose()


def test_user_list_and_passwd(tmp_path: Path):
    from collector.security import verify_password

    url = f"sqlite:///{tmp_path / 'ww.db'}"
    ww("db", "upgrade", "--database-url", url)
    ww("site", "add", "P01", "Phường 1", "--database-url", url)
    env = {"WARDWATCH_NEW_PASSWORD": "first password"}
    ww("user", "add", "lan", "--role", "technician", "--site", "P01", "--database-url", url, env=env)
    ww("user", "add", "an", "--role", "admin", "--database-url", url, env=env)
    listed = ww("user", "list", "--database-url", url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "STATE", "SITES"]
    assert lines[1].split() == ["an", "admin", "active", "all"]
    assert lines[2].split() == ["lan", "technician", "active", "P01"]
    assert lines[-1] == "2 users"

    # From a script: the password on stdin, never on the command line.
    changed = ww("user", "passwd", "lan", "--stdin", "--database-url", url, input="a new long password\n")
    assert changed.returncode == 0, changed.stderr
    assert "password of lan changed" in changed.stdout
    engine = make_engine(url)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "lan")).one()
        assert verify_password(user.password_hash, "a new long password")
        assert not verify_password(user.password_hash, "first password")
    engine.dispose()

    for args, stdin, message in (
        (["nobody"], "long enough pw\n", "no user 'nobody'"),
        (["lan"], "short\n", "at least 12 characters"),
        (["lan"], "", "no password on standard input"),
        (["lan"], "\n", "the new password is empty"),
    ):
        refused = ww("user", "passwd", *args, "--stdin", "--database-url", url, input=stdin)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    as_json = ww("user", "list", "--json", "--database-url", url)
    import json

    assert {u["username"]: u["sites"] for u in json.loads(as_json.stdout)} == {"an": [], "lan": ["P01"]}


def test_serve_with_an_unreachable_database_says_so_in_one_line(tmp_path: Path):
    down = "postgresql+psycopg://ww:secret-pw@127.0.0.1:1/nope"
    done = ww("serve", "--database-url", down, "--port", "1")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("error: cannot use the database") and "127.0.0.1:1/nope" in lines[0]
    assert "secret-pw" not in done.stderr and "Traceback" not in done.stderr
