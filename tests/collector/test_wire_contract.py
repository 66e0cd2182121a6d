"""The wire contract refuses, identically on SQLite and PostgreSQL, what cannot be stored or shown, with a
422 naming the JSON path; a refused report stores nothing and the next good one is accepted. Per-report
bounds refuse what is too much for one ingest, naming the field and the limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from collector.models.core import RawReport
from inventory.report import CheckResult, CheckStatus
from tests.helpers import enroll, host_report, post_report, seed_site, user_token


@pytest.fixture
def agent(client, app):  # type: ignore[no-untyped-def]
    return enroll(client, seed_site(app.state.engine))


def base(agent: Any, **kw: Any) -> dict[str, Any]:
    result = CheckResult(check_id="host.firewall.enabled", status=CheckStatus.FAIL, observed={"a": 1})
    return host_report(agent.agent_id, results=[result], **kw).model_dump(mode="json")


def send_json(client: Any, agent: Any, text: str) -> Any:
    headers = {**agent.headers, "Content-Type": "application/json"}
    return client.post("/api/v1/reports", content=text.encode(), headers=headers)


def stored(app: Any) -> int:
    with Session(app.state.engine) as s:
        return s.exec(select(func.count()).select_from(RawReport)).one()


def refused_at(r: Any, loc: list[Any], words: str) -> None:
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]
    assert any(p["loc"] == loc and words in p["msg"] for p in problems), problems


def deep(levels: int) -> str:
    return '{"x":' * levels + "1" + "}" * levels


CASES: dict[str, tuple[Any, list[Any], str]] = {
    # name: (how to spoil the report dict -> JSON text, the path named, words in the message)
    "NUL in a serial": (
        lambda d: d["subject"]["host"].update(serial="SN\x001"),
        ["subject", "host", "serial"],
        "NUL character",
    ),
    "NUL in a hostname": (lambda d: d["subject"].update(hostname="pc\x00"), ["subject", "hostname"], "NUL"),
    "NUL in a key of observed": (
        lambda d: d["results"][0]["observed"].update({"k\x00": 1}),
        ["results", 0, "observed", "k\x00"],
        "NUL",
    ),
    "NaN in a float fact": (
        lambda d: d["facts"].update(cpu={"max_mhz": float("nan")}),
        ["facts", "cpu", "max_mhz"],
        "NaN",
    ),
    "Infinity in observed": (
        lambda d: d["results"][0]["observed"].update(ratio=float("inf")),
        ["results", 0, "observed", "ratio"],
        "infinity",
    ),
    "an integer over int64": (
        lambda d: d["facts"]["memory"].update(total_bytes=2**64),
        ["facts", "memory", "total_bytes"],
        "64-bit",
    ),
    "an unpaired surrogate": (
        lambda d: d["facts"]["os"].update(name="\ud800"),
        ["facts", "os", "name"],
        "surrogate",
    ),
    "collected_at in year 9999": (
        lambda d: d.update(collected_at="9999-12-31T00:00:00Z"),
        ["collected_at"],
        "outside 2000-01-01",
    ),
    "collected_at before 2000": (
        lambda d: d.update(collected_at="1999-12-31T23:00:00Z"),
        ["collected_at"],
        "outside 2000-01-01",
    ),
    "collected_at two days ahead": (
        lambda d: d.update(collected_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()),
        ["collected_at"],
        "outside",
    ),
    "a boot time in year 9999": (
        lambda d: d["facts"]["os"].update(boot_time="9999-12-31T00:00:00Z"),
        ["facts", "os", "boot_time"],
        "outside 1970-01-01",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_that_cannot_be_stored_or_shown_are_a_422_with_their_path(client, app, agent, case):
    spoil, loc, words = CASES[case]
    data = base(agent)
    spoil(data)
    # json.dumps writes NaN/Infinity tokens and escapes NUL and surrogates, as a careless agent would.
    r = send_json(client, agent, json.dumps(data))
    refused_at(r, loc, words)
    assert stored(app) == 0
    # Nothing is poisoned: the next good report goes in and the device page answers.
    good = post_report(client, agent, host_report(agent.agent_id))
    assert good.status_code == 202, good.text
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    assert client.get(f"/api/v1/devices/{good.json()['device_id']}", headers=admin).status_code == 200


def test_deep_nesting_and_giant_integers_are_refused_not_a_500(client, app, agent):
    text = json.dumps(base(agent))
    for levels, loc in ((900, ["results", 0, "observed", "deep"]), (5000, [])):
        spoiled = text.replace('"observed": {"a": 1}', f'"observed": {{"deep": {deep(levels)}}}')
        r = send_json(client, agent, spoiled)
        assert r.status_code == 422, r.text[:300]
        assert "nested deeper" in r.text or "nesting deeper" in r.text
        if loc:
            assert r.json()["detail"][0]["loc"][:4] == loc
    huge = text.replace('"observed": {"a": 1}', '"observed": {"n": ' + "9" * 5000 + "}")
    refused_at(send_json(client, agent, huge), ["results", 0, "observed", "n"], "5000 digits")
    assert stored(app) == 0


def test_shallow_observed_and_far_certificate_expiry_are_accepted(client, app, agent):
    data = base(agent)
    data["results"][0]["observed"] = {"a": {"b": {"c": {"d": {"e": [1, 2.5, "x", None, True]}}}}}
    data["facts"]["certificates"] = {
        "certificates": [
            {
                "sha256": "a" * 64,
                "subject": "CN=Root",
                "issuer": "CN=Root",
                "serial": "01",
                # X.509 allows "no well-defined expiry" (RFC 5280: 99991231235959Z) and old roots.
                "not_before": "1996-01-01T00:00:00Z",
                "not_after": "9999-12-31T23:59:59Z",
                "key_type": "rsa",
                "signature_algorithm": "sha256WithRSAEncryption",
                "location": {"kind": "system", "path": "/etc/ssl/certs"},
            }
        ]
    }
    r = send_json(client, agent, json.dumps(data))
    assert r.status_code == 202, r.text
    admin = user_token(client, app.state.engine, username="boss", role="admin")
    device = client.get(f"/api/v1/devices/{r.json()['device_id']}", headers=admin)
    assert device.status_code == 200 and device.json()["results"][0]["observed"]["a"]["b"]["c"]


def test_per_report_bounds_name_the_field_and_the_limit(client, app, agent):
    s = app.state.settings
    s.report_max_results, s.report_max_software, s.report_max_string_chars = 10, 20, 300
    data = base(agent)
    data["results"] = [
        {"check_id": f"host.x{i}", "status": "pass", "evidence": "", "observed": {}, "target": ""}
        for i in range(11)
    ]
    data["facts"]["software"] = [{"name": f"pkg{i}"} for i in range(21)]
    data["facts"]["os"]["name"] = "Ubuntu " + "x" * 400
    r = send_json(client, agent, json.dumps(data))
    refused_at(r, ["facts", "os", "name"], "at most 300")
    data["facts"]["os"]["name"] = "Ubuntu"
    r = send_json(client, agent, json.dumps(data))
    refused_at(r, ["results"], "11 entries; at most 10")
    refused_at(r, ["facts", "software"], "21 entries; at most 20")
    s.report_max_config_bytes = 1024
    data = base(agent)
    data["facts"]["device"] = {"config": "hostname r1\n" + "!\n" * 1000}
    refused_at(send_json(client, agent, json.dumps(data)), ["facts", "device", "config"], "at most 1024")
    assert stored(app) == 0
