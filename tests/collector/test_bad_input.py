"""Bad reports get a clear 4xx naming the problem, and leave the database unchanged."""

from __future__ import annotations

import functools
import gzip
import io

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from collector.models.core import Device, RawReport
from collector.services.enrollment import revoke_agent
from tests.helpers import enroll, host_report, post_report, seed_site


def rows(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(RawReport)).one(),
            s.exec(select(func.count()).select_from(Device)).one(),
        )


@pytest.fixture
def agent(client, app):  # type: ignore[no-untyped-def]
    return enroll(client, seed_site(app.state.engine))


def send(client, agent, body: bytes, **headers):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/reports", content=body, headers={**agent.headers, **headers})


def test_malformed_json_names_line_and_column(client, app, agent):
    r = send(client, agent, b'{"schema_version": 1,\n "agent_id": }')
    assert r.status_code == 400 and "line 2 column" in r.json()["detail"]
    assert rows(app.state.engine) == (0, 0)


def test_unknown_schema_version_is_a_clear_422(client, app, agent):
    report = host_report(agent.agent_id).model_dump(mode="json")
    report["schema_version"] = 99
    r = client.post("/api/v1/reports", json=report, headers=agent.headers)
    assert r.status_code == 422 and "unsupported schema_version 99" in r.json()["detail"]
    assert rows(app.state.engine) == (0, 0)


def test_invalid_field_says_where(client, app, agent):
    report = host_report(agent.agent_id).model_dump(mode="json")
    report["collected_at"] = "yesterday"
    r = client.post("/api/v1/reports", json=report, headers=agent.headers)
    assert r.status_code == 422
    assert any(e["loc"] == ["collected_at"] for e in r.json()["detail"])


def test_oversized_body_is_refused(client, app, agent, settings):
    r = send(client, agent, b" " * (settings.max_report_bytes + 1))
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert rows(app.state.engine) == (0, 0)


@functools.cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros, about 1 MB compressed; made once per process (3-4 s of CPU), not per database."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        chunk = b"\0" * (1024 * 1024)
        for _ in range(1024):
            gz.write(chunk)
    return buf.getvalue()


def test_gzip_bomb_is_refused_without_inflating_it(client, app, agent):
    r = send(client, agent, gzip_bomb(), **{"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert rows(app.state.engine) == (0, 0)


def test_corrupt_gzip_is_a_400(client, agent):
    r = send(client, agent, b"\x1f\x8b\x08\x00garbage", **{"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "gzip" in r.json()["detail"]


def test_unknown_agent_key_is_refused(client, app, agent):
    report = host_report(agent.agent_id)
    r = client.post(
        "/api/v1/reports", content=report.model_dump_json(), headers={"Authorization": "Bearer wwa_not-a-key"}
    )
    assert r.status_code == 401 and "unknown agent key" in r.json()["detail"]
    assert rows(app.state.engine) == (0, 0)


def test_revoked_agent_key_is_refused(client, app, agent):
    from collector.db import session_scope

    with session_scope(app.state.engine) as s:
        revoke_agent(s, agent.agent_id, actor="test")
    r = post_report(client, agent, host_report(agent.agent_id))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert rows(app.state.engine) == (0, 0)


def test_report_for_another_agent_is_refused(client, app, agent):
    other = enroll(client, seed_site(app.state.engine), "pc-2")
    r = post_report(client, agent, host_report(other.agent_id))
    assert r.status_code == 403 and "does not match" in r.json()["detail"]


def test_over_long_identity_strings_never_cost_a_500(client, app, agent):
    # The wire contract leaves identity strings unbounded (junk DMI data must not silence a PC);
    # PostgreSQL's bounded columns once answered such a report with a 500. Now it lands, and the
    # same PC sending it again is recognised as one device, not as a clone of itself.
    kwargs = {"machine_id": "m" * 300, "serial": "S" * 200, "mac": "aa:" * 40}
    first = host_report(agent.agent_id, **kwargs)
    first.agent_version = "1.0+" + "x" * 100
    r1 = post_report(client, agent, first)
    assert r1.status_code == 202, r1.text
    r2 = post_report(client, agent, host_report(agent.agent_id, **kwargs))
    assert r2.status_code == 202 and r2.json()["device_id"] == r1.json()["device_id"]
    with Session(app.state.engine) as s:
        device = s.exec(select(Device)).one()
        assert device.serial == "S" * 128 and device.clone_of_id is None
    assert rows(app.state.engine) == (2, 1)
