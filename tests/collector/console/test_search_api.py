"""GET /api/v1/search on SQLite and PostgreSQL: every kind of identifier finds its device, software
versions compare as versions, results come grouped by kind and never from another user's sites."""

from __future__ import annotations

from typing import Any

import pytest

from tests.collector.console.world import City


def search(city: City, q: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    answer = city.client.get("/api/v1/search", params={"q": q, **params}, headers=headers or city.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()


def titles(body: dict[str, Any], kind: str) -> list[str]:
    return [h["title"] for h in body["groups"].get(kind, [])]


@pytest.mark.parametrize(
    ("q", "hostname", "matched"),
    [
        ("pc-p01-ketoan", "pc-p01-ketoan", "hostname"),
        ("KETOAN", "pc-p01-ketoan", "hostname"),  # any case
        ("SN-X02-0002", "pc-x02-vanthu", "serial"),
        ("sn-x02-0002", "pc-x02-vanthu", "serial"),
        ("00:11:22:33:55:01", "pc-x02-motcua", "mac"),
        ("00-11-22-33-55-01", "pc-x02-motcua", "mac"),  # as Windows writes it
        ("0011.2233.5501", "pc-x02-motcua", "mac"),  # as Cisco writes it
        ("001122335501", "pc-x02-motcua", "mac"),
        ("10.3.0.11", "pc-x03-motcua", "ip"),
        ("TS-2019-0042", "pc-p01-motcua", "asset_tag"),
        ("ts-2019", "pc-p01-motcua", "asset_tag"),
    ],
)
def test_one_box_finds_a_device_by_any_identifier(city: City, q: str, hostname: str, matched: str) -> None:
    body = search(city, q)
    hits = body["groups"]["device"]
    assert [h["title"] for h in hits] == [hostname], hits
    assert hits[0]["matched"] == matched and hits[0]["href"] == f"/devices/{city.devices[hostname]}"
    assert hits[0]["site"] and hits[0]["site_name"]


def test_an_ip_prefix_lists_the_subnet_and_the_loopback_is_not_an_address(city: City) -> None:
    body = search(city, "192.168.1.")
    assert sorted(titles(body, "device")) == ["laptop-p01-chutich", "pc-p01-ketoan", "pc-p01-motcua"]
    assert "device" not in search(city, "127.0.0.1")["groups"]


def test_software_versions_compare_as_versions(city: City) -> None:
    older = search(city, "winrar<6.23")
    assert older["version_query"] == {"name": "winrar", "op": "<", "version": "6.23"}
    assert [(h["title"], h["value"]) for h in older["groups"]["software"]] == [
        ("WinRAR 5.91 (32-bit)", "5.91.0"),
        ("WinRAR 6.02 (64-bit)", "6.02.0"),
    ]
    newer = search(city, "WinRAR >= 6.23")
    assert [h["value"] for h in newer["groups"]["software"]] == ["6.23.0", "6.24b1", "7.00.0"]
    assert [h["value"] for h in search(city, "winrar==6.23")["groups"]["software"]] == ["6.23.0"]
    assert "software" not in search(city, "winrar<5")["groups"]
    chrome = {h["value"]: h["devices"] for h in search(city, "chrome")["groups"]["software"]}
    assert chrome == {"119.0.6045.199": 1, "120.0.6099.130": 2, "121.0.6167.85": 1}
    # Each program leads to the devices that have it.
    hit = search(city, "chrome=120.0.6099.130")["groups"]["software"][0]
    page = city.client.get(hit["href"], headers=city.admin)
    assert "pc-p01-motcua" in page.text and "pc-x02-motcua" in page.text and "pc-p01-ketoan" not in page.text


def test_certificates_by_holder_or_serial_and_network_devices_by_name(city: City) -> None:
    by_name = search(city, "Nguyễn Văn")
    assert titles(by_name, "certificate") == ["Nguyễn Văn An"]
    assert (
        by_name["groups"]["certificate"][0]["href"]
        == f"/devices/{city.devices['pc-x02-motcua']}/certificates"
    )
    by_serial = search(city, "54:01:ab:9c")
    assert titles(by_serial, "certificate") == ["Nguyễn Văn An"]
    assert by_serial["groups"]["certificate"][0]["matched"] == "serial"
    router = search(city, "xa-a-core")
    assert titles(router, "network_device") == ["xa-a-core"] and "device" not in router["groups"]
    assert titles(search(city, "192.168.10.1"), "network_device") == ["xa-a-core"]


def test_results_are_grouped_by_kind(city: City) -> None:
    body = search(city, "motcua")
    assert set(body["groups"]) == {"device"}
    assert titles(body, "device") == ["pc-p01-motcua", "pc-x02-motcua", "pc-x03-motcua"]
    limited = search(city, "motcua", limit=2)
    assert len(limited["groups"]["device"]) == 2 and limited["more"]["device"] is True
    only = search(city, "chrome", kind=["device"])
    assert only["groups"] == {}


def test_a_scoped_user_finds_nothing_of_other_sites(city: City) -> None:
    mine = search(city, "motcua", city.viewer_p01)
    assert titles(mine, "device") == ["pc-p01-motcua"]
    assert search(city, "SN-X02-0001", city.viewer_p01)["groups"] == {}
    assert search(city, "Nguyễn Văn", city.viewer_p01)["groups"] == {}
    assert search(city, "xa-a-core", city.viewer_p01)["groups"] == {}
    # Programs installed elsewhere do not show, and counts cover only the user's devices.
    versions = {
        h["value"]: h["devices"] for h in search(city, "chrome", city.viewer_p01)["groups"]["software"]
    }
    assert versions == {"120.0.6099.130": 1, "121.0.6167.85": 1}
    assert [h["value"] for h in search(city, "winrar>6", city.viewer_p01)["groups"]["software"]] == [
        "6.02.0",
        "6.23.0",
    ]


def test_bad_queries_are_clear_errors(city: City) -> None:
    # Refused by the schema (the OpenAPI document says q has two characters besides spaces), in words.
    for q in ("x", "  x  "):
        short = city.client.get("/api/v1/search", params={"q": q}, headers=city.admin)
        assert short.status_code == 422, short.text
        [error] = short.json()["detail"]
        assert error["loc"] == ["query", "q"] and "type at least 2 characters" in error["msg"], error
    long = city.client.get("/api/v1/search", params={"q": "x" * 201}, headers=city.admin)
    assert long.status_code == 422
    assert city.client.get("/api/v1/search", params={"q": "pc"}).status_code == 401
    # Wildcards are text, not patterns.
    assert search(city, "%%")["groups"] == {} and search(city, "__")["groups"] == {}
