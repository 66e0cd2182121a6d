"""The two CSV imports (sites, the asset register) follow one set of rules (services/csv_import.py).

Before, the asset import accepted a surplus field and an unterminated quote silently, counted lines
without the quoted line breaks, and the site import took no tab-separated file: the same spreadsheet
was read two ways.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session

from collector.db import make_engine
from collector.services.assets import preview_import
from collector.services.errors import ServiceError
from collector.services.sites import import_sites_csv

# (site CSV, asset CSV, the refusal both must give); the second data row is the faulty one.
REFUSED = [
    (
        "code,name\nP01,Phường 1\nP02,Phường 2,Cụm 1\n",
        "serial,supplier\nS1,FPT\nS2,FPT,extra\n",
        "line 3: more fields",
    ),
    (
        'code,name\nP01,Phường 1\nP02,"Phường 2\n',
        'serial,supplier\nS1,FPT\nS2,"FPT\n',
        "line 3: not valid CSV",
    ),
    ("", "", "the CSV file is empty"),
]


@pytest.mark.parametrize(("sites_csv", "assets_csv", "message"), REFUSED)
def test_both_imports_refuse_the_same_faults_the_same_way(
    sqlite_url: str, sites_csv: str, assets_csv: str, message: str
) -> None:
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        with pytest.raises(ServiceError, match=message):
            import_sites_csv(session, sites_csv)
        with pytest.raises(ServiceError, match=message):
            preview_import(session, assets_csv, scope=None)
    engine.dispose()


def test_both_imports_read_the_same_spreadsheet_exports(sqlite_url: str) -> None:
    # Excel on a Vietnamese Windows: a byte order mark, ";" or tab separators, trailing empty fields,
    # a quoted field over two lines (the next row's line numbers count it).
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        for sep in (";", "\t"):
            sites = (
                f'\ufeffcode{sep}name{sep}address\nP0{ord(sep) % 7}{sep}Phường{sep}"Số 1\nHà Nội"{sep}{sep}\n'
            )
            assert len(import_sites_csv(session, sites).created) == 1
            assets = f'\ufeffserial{sep}supplier\n"S1"{sep}"FPT\nHà Nội"{sep}\nS2{sep}X\n'
            preview = preview_import(session, assets, scope=None)
            assert [r.line for r in preview.rows] == [2, 4]
            assert [r.serial for r in preview.rows] == ["S1", "S2"]
    engine.dispose()
