"""Tables at city size, on SQLite and PostgreSQL: server-side sorting, keyset pages that neither skip
nor repeat a row, filters, and exports of exactly the filtered view as CSV and XLSX (spreadsheet-safe,
scoped to the user's sites)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.collector.console.world import PCS, City

ALL_DEVICES = sorted([*PCS, "xa-a-core"])


def api(city: City, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    # No params argument at all when there are none: the path may carry its own query string.
    answer = city.client.get(path, headers=headers or city.admin, **({"params": params} if params else {}))
    assert answer.status_code == 200, answer.text
    return answer


def walk(city: City, path: str, key: str, **params: Any) -> list[Any]:
    """Every row of an API list, page by page through X-Next-Cursor."""
    out: list[Any] = []
    cursor = None
    seen_cursors = set()
    while True:
        answer = api(city, path, **params, **({"cursor": cursor} if cursor else {}))
        out.extend(row[key] for row in answer.json())
        cursor = answer.headers.get("X-Next-Cursor")
        if not cursor:
            return out
        assert cursor not in seen_cursors
        seen_cursors.add(cursor)
        assert answer.headers["Link"].endswith('rel="next"') and f"cursor={cursor}" in answer.headers["Link"]


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_device_pages_cover_every_device_once_in_order(city: City, limit: int) -> None:
    assert walk(city, "/api/v1/devices", "hostname", limit=limit) == ALL_DEVICES
    assert walk(city, "/api/v1/devices", "hostname", limit=limit, sort="-hostname") == ALL_DEVICES[::-1]
    # "kind" sorts seven devices into two values: the id breaks the ties, nothing lost or doubled.
    by_kind = walk(city, "/api/v1/devices", "hostname", limit=limit, sort="kind")
    assert sorted(by_kind) == ALL_DEVICES and by_kind[:6] == sorted(PCS) and by_kind[-1] == "xa-a-core"


def test_sorts_on_other_keys_and_the_total(city: City) -> None:
    answer = api(city, "/api/v1/devices", sort="site", limit=3)
    assert answer.headers["X-Total-Count"] == "7"
    sites = walk(city, "/api/v1/devices", "site", sort="site", limit=3)
    assert sites == sorted(sites) and sites.count("P01") == 3
    serials = walk(city, "/api/v1/devices", "serial", sort="-serial", limit=2)
    assert serials == sorted(serials, key=lambda s: s or "", reverse=True)
    assert len(walk(city, "/api/v1/devices", "id", sort="-last_report", limit=2)) == 7


def test_device_filters(city: City) -> None:
    def names(**params: Any) -> list[str]:
        return walk(city, "/api/v1/devices", "hostname", **params)

    assert names(site="X02") == ["pc-x02-motcua", "pc-x02-vanthu", "xa-a-core"]
    assert names(group="Cụm trung tâm") == ["laptop-p01-chutich", "pc-p01-ketoan", "pc-p01-motcua"]
    assert names(kind="network_device") == ["xa-a-core"]
    assert names(software="winrar<6.23") == ["laptop-p01-chutich", "pc-p01-motcua"]
    assert names(software="winrar>=7") == ["pc-x02-motcua"]
    assert names(q="192.168.1.2") == []  # an address is matched whole
    assert names(q="192.168.1.20") == ["pc-p01-motcua"]
    assert names(q="44:03") == ["laptop-p01-chutich"]
    assert names(q="SN-X03") == ["pc-x03-motcua"]
    assert names(software="chrome=120.0.6099.130", site="X02") == ["pc-x02-motcua"]


def test_bad_sort_cursor_or_filter_is_a_clear_error(city: City) -> None:
    # A sort that is not one of the table's keys is refused by the schema (its OpenAPI pattern), in words.
    answer = city.client.get("/api/v1/devices", params={"sort": "password"}, headers=city.admin)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == ["query", "sort"], error
    assert error["msg"].startswith("cannot sort by 'password'; sort by one of: hostname, site"), error
    api(city, "/api/v1/devices", sort=" -site ")  # the known keys pass, as before
    for params, message in (
        ({"cursor": "not-a-cursor"}, "cursor is not valid"),
        ({"kind": "toaster"}, "kind: 'toaster' is not one of"),
    ):
        answer = city.client.get("/api/v1/devices", params=params, headers=city.admin)
        assert answer.status_code == 400 and message in answer.json()["detail"], answer.text
    cursor = api(city, "/api/v1/devices", limit=1).headers["X-Next-Cursor"]
    other = city.client.get("/api/v1/devices", params={"cursor": cursor, "sort": "site"}, headers=city.admin)
    assert other.status_code == 400  # a cursor belongs to its sort
    assert city.client.get("/api/v1/devices", params={"site": "NOPE"}, headers=city.admin).status_code == 404


def test_findings_certificates_and_software_lists(city: City) -> None:
    severities = walk(city, "/api/v1/findings", "severity", limit=2, status="open", check="host.")
    rank = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=rank.index) and severities[0] == "critical"
    assert len(severities) == sum(len(pc["fail"]) for pc in PCS.values())
    assert walk(city, "/api/v1/findings", "hostname", check="netdev.") == ["xa-a-core", "xa-a-core"]
    due = walk(city, "/api/v1/findings", "due_at", limit=3, sort="due", status="open")
    assert due == sorted(due)
    assert walk(city, "/api/v1/findings", "hostname", site="X03") == ["pc-x03-motcua"]
    certs = walk(city, "/api/v1/certificates", "subject_cn", limit=1)
    assert certs == ["Nguyễn Văn An", "Trần Thị Bình"]  # soonest expiry first
    assert walk(city, "/api/v1/certificates", "subject_cn", expiring_within_days=30) == ["Nguyễn Văn An"]
    assert walk(city, "/api/v1/certificates", "subject_cn", sort="-holder") == [
        "Trần Thị Bình",
        "Nguyễn Văn An",
    ]
    programs = api(city, "/api/v1/software", q="winrar").json()
    assert [p["version"] for p in programs] == ["5.91.0", "6.02.0", "6.23.0", "6.24b1", "7.00.0"]
    assert all(p["devices"] == 1 for p in programs)
    scoped = api(city, "/api/v1/software", city.viewer_p01, q="chrome").json()
    assert {p["version"]: p["devices"] for p in scoped} == {"120.0.6099.130": 1, "121.0.6167.85": 1}


def test_a_scoped_user_pages_only_through_their_sites(city: City) -> None:
    answer = city.client.get("/api/v1/devices", params={"limit": 1}, headers=city.viewer_p01)
    assert answer.headers["X-Total-Count"] == "3"
    names = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        answer = city.client.get("/api/v1/devices", params=params, headers=city.viewer_p01)
        names += [d["hostname"] for d in answer.json()]
        cursor = answer.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert names == ["laptop-p01-chutich", "pc-p01-ketoan", "pc-p01-motcua"]
    refused = city.client.get("/api/v1/devices", params={"site": "X02"}, headers=city.viewer_p01)
    assert refused.status_code == 404


# ---- console tables and their exports -------------------------------------------------------------


def page_rows(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr[^>]*data-id="(\d+)"', body)


def test_console_table_sorts_and_pages_with_links(city: City) -> None:
    first = api(city, "/devices", limit=25).text
    assert len(page_rows(first, "devices")) == 7 and 'data-total="7"' in first
    # Sorting is a link on the header; the second click reverses it (aria-sort says which).
    link = re.search(r'<a href="(/devices\?[^"]*sort=last_report[^"]*)" class="sort">', first)
    assert link
    by_last = api(city, link.group(1).replace("&amp;", "&")).text
    assert 'aria-sort="ascending"' in by_last
    back = re.search(r'<a href="(/devices\?[^"]*sort=-last_report[^"]*)" class="sort">', by_last)
    assert back and 'aria-sort="descending"' in api(city, back.group(1).replace("&amp;", "&")).text
    # Pages follow the cursor links: 25 rows a page at most; with 7 devices, 3 pages of 25 is 1.
    seen: list[str] = []
    html = city.client.get("/devices?limit=25&sort=hostname", headers=city.admin).text
    seen += page_rows(html, "devices")
    assert 'rel="next"' not in html
    assert len(seen) == 7 and len(set(seen)) == 7


def test_findings_page_keeps_an_emptied_status_filter_on_the_next_page(city: City) -> None:
    def total(html: str) -> int:
        return int(re.search(r'data-total="(\d+)"', html).group(1))  # type: ignore[union-attr]

    # Accept one risk: "open" (the default filter) and "every status" now differ by one.
    from datetime import date, timedelta

    finding = api(city, "/api/v1/findings", check="host.firewall", site="X03").json()[0]
    accepted = city.client.post(
        f"/api/v1/findings/{finding['id']}/accept",
        json={"reason": "Máy chờ thay thế", "until": (date.today() + timedelta(days=60)).isoformat()},
        headers=city.admin,
    )
    assert accepted.status_code == 200, accepted.text
    every = api(city, "/findings", status="", limit=25, sort="-first_seen").text
    assert total(every) == total(api(city, "/findings").text) + 1
    # The page's links (sorting, export) keep "every status" rather than falling back to "open".
    export = re.search(r'href="(/export/findings\.csv\?[^"]*)"', every)
    assert export and re.search(r"[?&]status=(&|$)", export.group(1).replace("&amp;", "&"))
    sort = re.search(r'<a href="(/findings\?[^"]*sort=severity[^"]*)" class="sort">', every)
    assert sort and total(api(city, sort.group(1).replace("&amp;", "&")).text) == total(every)


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # Excel reads Vietnamese letters with the BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_is_the_filtered_view_in_its_order(city: City) -> None:
    answer = api(city, "/export/devices.csv", software="winrar<6.23", sort="-hostname")
    assert answer.headers["content-type"].startswith("text/csv")
    assert re.match(r'attachment; filename="thiet-bi-\d{8}\.csv"', answer.headers["content-disposition"])
    rows = read_csv(answer.content)
    assert rows[0][:3] == ["Tên máy", "Đơn vị", "Loại"]
    assert [r[0] for r in rows[1:]] == ["pc-p01-motcua", "laptop-p01-chutich"]
    english = read_csv(api(city, "/export/devices.csv", software="winrar<6.23", lang="en").content)
    assert english[0][:3] == ["Hostname", "Site", "Type"] and english[1][2] == "Computer"
    findings = read_csv(api(city, "/export/findings.csv", site="X02", severity="critical").content)
    assert len(findings) == 2 and findings[1][1] == "Nghiêm trọng" and findings[1][3] == "pc-x02-motcua"


def test_exports_are_spreadsheet_safe(city: City) -> None:
    from openpyxl import load_workbook

    rows = read_csv(api(city, "/export/software.csv", q="hyperlink").content)
    assert rows[1][0] == '\'=HYPERLINK("http://evil/","x")'
    book = load_workbook(io.BytesIO(api(city, "/export/software.xlsx", q="hyperlink").content))
    sheet = book.active
    assert sheet["A2"].value.startswith("'=") and sheet["A2"].data_type == "s"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row if c.value is not None)
    assert sheet["D2"].value == 1 and sheet["D2"].data_type == "n"  # counts stay numbers


def test_xlsx_export_of_findings_has_typed_cells(city: City) -> None:
    from datetime import datetime

    from openpyxl import load_workbook

    answer = api(city, "/export/findings.xlsx", site="P01")
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Tồn tại, hạn chế", "Mức độ", "Trạng thái"]
    assert isinstance(sheet.cell(row=2, column=header.index("Hạn khắc phục") + 1).value, datetime)
    assert sheet.max_row == 1 + sum(len(pc["fail"]) for pc in PCS.values() if pc["site"] == "P01")


def test_exports_keep_the_users_scope_and_the_tables_roles(city: City) -> None:
    mine = read_csv(api(city, "/export/devices.csv", city.viewer_p01).content)
    assert sorted(r[0] for r in mine[1:]) == ["laptop-p01-chutich", "pc-p01-ketoan", "pc-p01-motcua"]
    assert (
        city.client.get("/export/devices.csv", params={"site": "X02"}, headers=city.viewer_p01).status_code
        == 404
    )
    assert city.client.get("/export/assets.csv", headers=city.viewer_p01).status_code == 403
    assert city.client.get("/export/audit.xlsx", headers=city.viewer_p01).status_code == 403
    assert city.client.get("/export/devices.pdf", headers=city.admin).status_code == 404
    register = read_csv(api(city, "/export/assets.csv", q="TS-2019").content)
    assert [r[1] for r in register[1:]] == ["pc-p01-motcua"] and register[1][3] == "TS-2019-0042"
    audit = read_csv(api(city, "/export/audit.csv", action="user.").content)
    assert {r[2] for r in audit[1:]} == {"user.create"}
    device = city.devices["pc-p01-motcua"]
    programs = read_csv(api(city, f"/export/devices/{device}/software.csv").content)
    assert sorted(r[0] for r in programs[1:]) == ["Google Chrome", "UniKey", "WinRAR 6.02 (64-bit)"]
    other = city.devices["pc-x02-motcua"]
    assert (
        city.client.get(f"/export/devices/{other}/software.csv", headers=city.viewer_p01).status_code == 404
    )
