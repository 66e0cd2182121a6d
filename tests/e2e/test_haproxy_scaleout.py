"""Scale-out as an operator runs it: three `wardwatch serve` processes behind Debian's HAProxy, using
deploy/haproxy.cfg, on one fresh PostgreSQL database.

50 agents (the agent's own spool and delivery code) send 2,000 reports through HAProxy while one
collector is killed with SIGKILL mid-burst. Every report a collector acknowledged must be stored
exactly once, and every spool must drain: nothing lost, nothing twice, nothing set aside.
The three processes also start at the same moment on an empty database, so they migrate it together.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from agent.delivery import Deliverer, enroll
from agent.spool import Spool
from collector.db import make_engine
from tests.agent.support import agent_settings, small_report
from tests.helpers import free_port, seed_site

HAPROXY = Path("/usr/sbin/haproxy")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
AGENTS = 50
REPORTS_PER_AGENT = 40  # 2,000 in all
KILL_AFTER = 500  # stored reports before one collector is killed
PROXY_ADDRESS = "127.0.0.2"

pytestmark = pytest.mark.skipif(
    not HAPROXY.exists(), reason="HAProxy is not installed (apt install haproxy; .ci/run installs it)"
)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    base = os.environ.get("WARDWATCH_TEST_DATABASE_URL")
    if not base:
        pytest.skip("WARDWATCH_TEST_DATABASE_URL is not set: several collectors need PostgreSQL")
    url = make_url(base)
    name = f"ww_scaleout_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_shipped_recipe_is_valid_for_haproxy(tmp_path: Path) -> None:
    """deploy/haproxy.cfg as an operator installs it, TLS line included, only the certificate path set."""
    from tests.e2e.deploy.support import make_server_pki

    pki = make_server_pki(tmp_path / "pki")
    pem = tmp_path / "wardwatch.pem"
    pem.write_bytes(pki.cert.read_bytes() + pki.key.read_bytes())
    cfg = (DEPLOY / "haproxy.cfg").read_text()
    assert "/etc/haproxy/wardwatch.pem" in cfg
    path = tmp_path / "haproxy.cfg"
    path.write_text(cfg.replace("/etc/haproxy/wardwatch.pem", str(pem)))
    checked = subprocess.run(
        [str(HAPROXY), "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def haproxy_conf(root: Path, *, front: int, backends: list[int]) -> Path:
    """deploy/haproxy.cfg with this test's ports: plain HTTP in front (the TLS line is the operator's
    certificate), a stats socket to ask HAProxy what it thinks of each collector, logs off."""
    cfg = (DEPLOY / "haproxy.cfg").read_text()
    for old, new in {
        "    log /dev/log local0\n": f"    stats socket {root}/admin.sock mode 600 level admin\n",
        "    log global\n": "",
        "    option httplog\n": "",
        "bind :443 ssl crt /etc/haproxy/wardwatch.pem alpn h2,http/1.1": f"bind 127.0.0.1:{front}",
        # HAProxy connects to the collectors from another address than the clients use, so the test
        # can tell whose address a collector believed.
        "    balance leastconn\n": f"    balance leastconn\n    source {PROXY_ADDRESS}\n",
        "server collector1 127.0.0.1:8001": f"server collector1 127.0.0.1:{backends[0]}",
        "server collector2 127.0.0.1:8002": f"server collector2 127.0.0.1:{backends[1]}",
        "server collector3 127.0.0.1:8003": f"server collector3 127.0.0.1:{backends[2]}",
    }.items():
        assert old in cfg, f"the recipe no longer has {old!r}"
        cfg = cfg.replace(old, new)
    path = root / "haproxy.cfg"
    path.write_text(cfg)
    return path


def server_stats(root: Path) -> dict[str, dict[str, str]]:
    """HAProxy's figures for each collector (status, current sessions, retries...), from its stats socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(root / "admin.sock"))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
    return {
        r["svname"]: r for r in rows if r["pxname"] == "collectors" and r["svname"].startswith("collector")
    }


def server_status(root: Path) -> dict[str, str]:
    """HAProxy's view of each collector: UP, DOWN..."""
    return {name: row["status"] for name, row in server_stats(root).items()}


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_three_collectors_behind_haproxy_lose_and_double_no_report_when_one_is_killed(
    fresh_database: str, tmp_path: Path
) -> None:
    url = fresh_database
    data_dir = tmp_path / "data"
    ports = [free_port() for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if k != "WARDWATCH_DATABASE_URL"}
    procs: list[subprocess.Popen[bytes]] = []
    haproxy: subprocess.Popen[bytes] | None = None
    try:
        # All three at once on an empty database: they migrate it one at a time (advisory lock).
        for i, port in enumerate(ports):
            log = (tmp_path / f"collector{i + 1}.log").open("wb")
            cmd = [sys.executable, "-m", "collector.cli", "serve", "--database-url", url, "--port", str(port)]
            cmd += ["--data-dir", str(data_dir), "--forwarded-allow-ips", PROXY_ADDRESS]
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        for i, port in enumerate(ports):
            wait_until(
                lambda port=port, i=i: procs[i].poll() is None and answers(f"http://127.0.0.1:{port}"),
                90,
                f"collector {i + 1} to answer",
            )
        front = free_port()
        conf = haproxy_conf(tmp_path, front=front, backends=ports)
        haproxy = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "haproxy.log").open("wb"),
        )
        base = f"http://127.0.0.1:{front}"
        wait_until(lambda: answers(base), 30, "HAProxy to answer")
        wait_until(lambda: set(server_status(tmp_path).values()) == {"UP"}, 30, "every collector UP")

        engine = make_engine(url)
        secret = seed_site(engine, "HN01", "Phường Hoàn Kiếm")
        acked: list[tuple[str, str]] = []
        enqueued: list[str] = []
        lock = threading.Lock()
        errors: list[BaseException] = []
        leftover: dict[int, tuple[int, int]] = {}
        start = threading.Barrier(AGENTS + 1)

        def agent(n: int) -> None:
            state = tmp_path / "agents" / f"a{n:02d}"
            state.mkdir(parents=True)
            try:
                # The agent's default read timeout: a report may wait in HAProxy's queue a while.
                settings = agent_settings(
                    state,
                    collector_url=base,
                    delivery={
                        "connect_timeout": 5,
                        "read_timeout": 60,
                        "backoff_base": 0.05,
                        "backoff_cap": 0.2,
                    },
                )
                ident = enroll(settings, collector_url=base, secret=secret, hostname=f"pc-{n:02d}")
                ident.save(state)
                with Spool.in_state_dir(state) as spool:
                    ids = []
                    for _ in range(REPORTS_PER_AGENT):
                        rid, body = small_report(ident.agent_id, hostname=f"pc-{n:02d}", kind="full")
                        spool.enqueue(body, report_id=rid, agent_id=ident.agent_id, kind="full")
                        ids.append(rid)
                    with lock:
                        enqueued.extend(ids)

                    def on_ack(item: Any, status: str) -> None:
                        with lock:
                            acked.append((item.report_id, status))

                    deliverer = Deliverer(settings, spool, state_dir=state, on_ack=on_ack)
                    start.wait(60)
                    deadline = time.monotonic() + 100
                    while spool.stats().count and time.monotonic() < deadline:
                        if deliverer.flush().error is not None:
                            time.sleep(0.2)  # the agent backs off; the next flush goes on
                    stats = spool.stats()
                    leftover[n] = (stats.count, stats.quarantined)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                start.abort()

        threads = [threading.Thread(target=agent, args=(n,)) for n in range(AGENTS)]
        for t in threads:
            t.start()
        try:
            start.wait(120)
        except threading.BrokenBarrierError:
            for t in threads:
                t.join(30)
            raise AssertionError(f"an agent failed before the burst: {errors!r}") from None
        burst = time.monotonic()

        def stored() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM rawreport")).scalar_one())

        # Killed while requests are in its hands (HAProxy counts them): they must be neither lost
        # nor stored twice.
        wait_until(
            lambda: stored() >= KILL_AFTER and int(server_stats(tmp_path)["collector2"]["scur"] or 0) > 0,
            90,
            f"{KILL_AFTER} reports stored and collector 2 busy",
        )
        procs[1].send_signal(signal.SIGKILL)
        at_kill = stored()
        procs[1].wait(10)
        wait_until(lambda: server_status(tmp_path).get("collector2") == "DOWN", 30, "HAProxy to mark it DOWN")
        for t in threads:
            t.join(150)
        elapsed = time.monotonic() - burst
        assert not errors, errors

        total = AGENTS * REPORTS_PER_AGENT
        assert at_kill < total, "the burst was over before the kill: nothing was tested"
        # Every spool drained, nothing set aside as refused.
        assert leftover == {n: (0, 0) for n in range(AGENTS)}
        assert len(enqueued) == len(set(enqueued)) == total
        # Each report acknowledged exactly once to its agent (the spool forgets it then)...
        assert Counter(rid for rid, _ in acked) == Counter(enqueued)
        # ...and stored exactly once.
        with engine.connect() as conn:
            per_id = dict(
                conn.execute(text("SELECT report_id, count(*) FROM rawreport GROUP BY report_id")).all()
            )
            devices = conn.execute(text("SELECT count(*) FROM device")).scalar_one()
        assert set(per_id) == set(enqueued) and set(per_id.values()) == {1}
        assert devices == AGENTS
        # The survivors still serve; HAProxy keeps sending to them only.
        assert answers(base) and server_status(tmp_path) == {
            "collector1": "UP",
            "collector2": "DOWN",
            "collector3": "UP",
        }
        # The collectors see the client's address, not HAProxy's nor one the client made up.
        guess = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "nobody", "password": "a-wrong-guess-1"},
            headers={"X-Forwarded-For": "192.0.2.77"},
        )
        assert guess.status_code == 401
        with engine.connect() as conn:
            seen = conn.execute(text("SELECT DISTINCT address FROM auditevent WHERE action = 'login.failed'"))
            assert [row[0] for row in seen] == ["127.0.0.1"]
        duplicates = sum(1 for _, status in acked if status == "duplicate")
        killed = server_stats(tmp_path)["collector2"]
        print(
            f"\nHAProxy on the killed collector: {killed['wretr']} retries, {killed['wredis']} redispatched"
        )
        print(
            f"\n{total} reports in {elapsed:.1f} s via 3 collectors, one killed at {at_kill} stored; "
            f"{duplicates} acknowledged as duplicates"
        )
        engine.dispose()
    finally:
        if haproxy is not None:
            haproxy.terminate()
            haproxy.wait(10)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
