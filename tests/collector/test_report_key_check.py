"""A report's agent key, once found valid by this serving process, is checked again inside the report's
ingest transaction instead of before its body (``collector.http.deps.VerifiedKeys``): a key revoked,
retired by its rotated successor, or whose agent was deleted meanwhile is still refused by the very
next report, with the answer it got when it was checked before the body, and nothing is stored."""

from __future__ import annotations

import gzip

from sqlalchemy import func
from sqlmodel import Session, select

from collector.models.core import Agent, AuditEvent, RawReport
from collector.security import token_hash
from collector.services.enrollment import revoke_agent
from collector.services.throttle import UNKNOWN_AGENT_KEY
from tests.helpers import EnrolledAgent, enroll, host_report, post_report, seed_site


def _raw_reports(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(RawReport)).one()


def _verified(app, agent: EnrolledAgent) -> bool:  # type: ignore[no-untyped-def]
    keys = getattr(app.state, "verified_agent_keys", None)
    return keys is not None and token_hash(agent.key) in keys


def test_a_key_revoked_after_its_reports_were_accepted_is_refused_by_the_next_report(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    assert _verified(app, agent)  # the next report's key is checked in its ingest transaction
    with Session(app.state.engine) as s:  # as another collector process would: only the database
        revoke_agent(s, agent.agent_id, actor="test")
        s.commit()
    r = post_report(client, agent, host_report(agent.agent_id))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert r.headers["X-Wardwatch-Agent"] == "revoked"
    assert _raw_reports(app.state.engine) == 1
    # Refused: no longer verified, the next one is checked before its body again (same answer).
    assert not _verified(app, agent)
    again = post_report(client, agent, host_report(agent.agent_id))
    assert again.status_code == 401 and again.headers["X-Wardwatch-Agent"] == "revoked"
    assert _raw_reports(app.state.engine) == 1


def test_a_revoked_verified_key_gets_its_401_before_a_bad_body_is_judged(client, app):
    """The answer a refused key got when keys were checked before the body: 401, not the body's 400/413."""
    agent = enroll(client, seed_site(app.state.engine))
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    with Session(app.state.engine) as s:
        revoke_agent(s, agent.agent_id, actor="test")
        s.commit()
    headers = {**agent.headers, "Content-Encoding": "gzip"}
    bad_gzip = client.post("/api/v1/reports", content=b"not gzip at all", headers=headers)
    assert bad_gzip.status_code == 401 and bad_gzip.headers["X-Wardwatch-Agent"] == "revoked"
    # A key still valid gets the body's own answer, as before.
    other = enroll(client, seed_site(app.state.engine), hostname="pc-2")
    assert post_report(client, other, host_report(other.agent_id, hostname="pc-2")).status_code == 202
    bad = client.post(
        "/api/v1/reports", content=b"not gzip at all", headers={**other.headers, "Content-Encoding": "gzip"}
    )
    assert bad.status_code == 400 and "gzip" in bad.json()["detail"]
    bomb = gzip.compress(b"{" + b" " * (app.state.settings.max_report_bytes + 10))
    too_large = client.post(
        "/api/v1/reports", content=bomb, headers={**other.headers, "Content-Encoding": "gzip"}
    )
    assert too_large.status_code == 413


def test_a_verified_key_retired_by_its_rotated_successor_is_refused_at_once(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    new_key = client.post("/api/v1/agents/rotate-key", headers=agent.headers).json()["agent_key"]
    renewed = EnrolledAgent(agent.agent_id, new_key, agent.site)
    # The old key still delivers until the new one is used (and is verified meanwhile).
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    assert _verified(app, agent)
    assert post_report(client, renewed, host_report(agent.agent_id)).status_code == 202
    retired = post_report(client, agent, host_report(agent.agent_id))
    assert retired.status_code == 401 and "unknown agent key" in retired.json()["detail"]
    assert not _verified(app, agent)
    assert post_report(client, renewed, host_report(agent.agent_id)).status_code == 202
    assert _raw_reports(app.state.engine) == 4


def test_a_verified_key_of_a_deleted_agent_is_refused_and_counted_as_an_unknown_key(client, app):
    agent = enroll(client, seed_site(app.state.engine))
    assert post_report(client, agent, host_report(agent.agent_id)).status_code == 202
    with Session(app.state.engine) as s:
        s.delete(s.get(Agent, agent.agent_id))
        s.commit()
    r = post_report(client, agent, host_report(agent.agent_id))
    assert r.status_code == 401 and "unknown agent key" in r.json()["detail"]
    with Session(app.state.engine) as s:
        failures = s.exec(select(AuditEvent).where(AuditEvent.action == UNKNOWN_AGENT_KEY)).all()
    assert [f.count for f in failures] == [1]
