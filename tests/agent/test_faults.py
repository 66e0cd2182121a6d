"""Delivery under faults: real collector processes, real spool files, misbehaving HTTP servers."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from agent.delivery import Deliverer
from agent.errors import DeliveryTimeout, ProtocolError, RateLimited, ServerError
from agent.runner import AgentRunner
from agent.spool import Spool
from agent.state import AgentState
from tests.agent.support import (
    LiveCollector,
    agent_env,
    agent_settings,
    fill_disk,
    small_report,
    wardwatch,
)


def _enroll(live: LiveCollector, state: Path) -> AgentState:
    from agent.delivery import enroll

    ident = enroll(agent_settings(state), collector_url=live.url, secret=live.secret, hostname="pc-01")
    ident.save(state)
    return ident


def _fill(spool: Spool, agent_id: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        # Full reports, each stored as a raw row (a heartbeat is not: it moves last-seen times).
        rid, body = small_report(agent_id, hostname=f"pc-{i % 3}", kind="full")
        spool.enqueue(body, report_id=rid, agent_id=agent_id, kind="full")
        ids.append(rid)
    return ids


def test_collector_down_for_the_whole_run_then_up_every_report_lands_once(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = agent_env(state, WARDWATCH_AGENT_DELIVERY__ONCE_ATTEMPTS="1")
    args = ["--collector", live_collector.url, "--secret", live_collector.secret]
    assert wardwatch("agent", "enroll", *args, env=env).returncode == 0
    live_collector.stop()
    for _ in range(3):  # three real agent runs, each spools a full inventory and fails to deliver
        assert wardwatch("agent", "run", "--once", env=env).returncode == 1
    ident = AgentState.load(state)
    assert ident is not None
    with Spool.in_state_dir(state) as spool:
        extra = _fill(spool, ident.agent_id, 40)
        waiting = [i.report_id for i in spool.peek(1000)]
    assert len(waiting) == 43 and waiting[-40:] == extra

    live_collector.start()
    done = wardwatch("agent", "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    landed = live_collector.report_ids()
    assert len(landed) == 44 and len(set(landed)) == 44  # the 43 waiting + this run's own report
    assert landed[:43] == waiting  # in order
    with Spool.in_state_dir(state) as spool:
        assert spool.stats().count == 0


def test_collector_sigkilled_mid_batch_loses_nothing_and_doubles_nothing(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    ident = _enroll(live_collector, state)
    spool = Spool.in_state_dir(state)
    ids = _fill(spool, ident.agent_id, 300)
    settings = agent_settings(state)
    outcome: dict[str, object] = {}

    # The flusher opens its own connection to the spool file (a connection stays in its thread).
    def flush_in_thread() -> None:
        local = Spool.in_state_dir(state)
        outcome["r"] = Deliverer(settings, local).flush()
        local.close()

    flusher = threading.Thread(target=flush_in_thread)
    flusher.start()
    deadline = time.monotonic() + 60
    while live_collector.report_count() < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    live_collector.kill()
    flusher.join(timeout=60)
    first = outcome["r"]
    assert first.error is not None  # type: ignore[attr-defined]
    mid = live_collector.report_count()
    assert 60 <= mid < 300

    live_collector.start()
    second = Deliverer(settings, spool).flush()
    assert second.error is None
    landed = live_collector.report_ids()
    assert sorted(landed) == sorted(ids)  # nothing lost, nothing twice
    assert landed == ids  # and in order
    assert spool.stats().count == 0


# -- misbehaving collectors ----------------------------------------------------------------------


def _raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        t.join(timeout=2)
        for c in conns:
            c.close()
        sock.close()


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(rest) < length:
        rest += conn.recv(65536)


def _answer(status: str, headers: str = "", body: bytes = b"") -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        try:
            _read_request(conn)
            head = f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            conn.sendall(head.encode() + body)
        except OSError:
            pass
        finally:
            conn.close()

    return handle


def _garbage(conn: socket.socket) -> None:
    try:
        _read_request(conn)
        conn.sendall(b"\x00\xffSSH-2.0-not-http\r\n\x13\x37" * 10)
    except OSError:
        pass
    finally:
        conn.close()


def _hang(conn: socket.socket) -> None:
    try:
        _read_request(conn)
        time.sleep(30)  # never answers
    except OSError:
        pass


@pytest.mark.parametrize(
    ("handler", "error", "retry_after"),
    [
        (
            _answer("500 Internal Server Error", "Content-Type: application/json\r\n", b'{"detail":"boom"}'),
            ServerError,
            None,
        ),
        (_answer("429 Too Many Requests", "Retry-After: 7\r\n", b""), RateLimited, 7.0),
        (_answer("503 Service Unavailable", "Retry-After: 3\r\n", b"down"), RateLimited, 3.0),
        (_garbage, ProtocolError, None),
        (_hang, DeliveryTimeout, None),
    ],
    ids=["500", "429", "503", "garbage", "hang"],
)
def test_a_misbehaving_collector_keeps_the_reports_and_backs_off(
    tmp_path: Path, handler: Callable[[socket.socket], None], error: type, retry_after: float | None
) -> None:
    for url in _raw_server(handler):
        state = tmp_path / "state"
        AgentState(agent_id="a1", agent_key="wwa_k", collector_url=url).save(state)
        settings = agent_settings(state)
        settings.delivery.read_timeout = 1.0
        spool = Spool.in_state_dir(state)
        ids = _fill(spool, "a1", 3)
        started = time.monotonic()
        result = Deliverer(settings, spool).flush()
        assert time.monotonic() - started < 10
        assert isinstance(result.error, error), result.error
        assert result.error.retry_after == retry_after
        assert [i.report_id for i in spool.peek(10)] == ids  # nothing lost, order kept
        runner = AgentRunner(settings)
        delay = runner.backoff.next_delay(result.error.retry_after)
        assert (
            delay == retry_after if retry_after is not None else 0 <= delay <= settings.delivery.backoff_base
        )
        runner.close()


def test_a_collector_that_never_completes_the_connection_hits_the_connect_timeout(tmp_path: Path) -> None:
    # A listening socket whose accept queue is full (backlog 0, never accepted): the kernel drops
    # further SYNs, so a connect hangs as it does behind a dead link or a dropping firewall.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(server.getsockname())  # in progress: the handshake may never finish
        fillers.append(s)
    try:
        state = tmp_path / "state"
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        AgentState(agent_id="a1", agent_key="wwa_k", collector_url=url).save(state)
        settings = agent_settings(state)
        settings.delivery.connect_timeout = 1.0
        settings.delivery.read_timeout = 30.0  # the connect timeout, not the read timeout, must fire
        spool = Spool.in_state_dir(state)
        ids = _fill(spool, "a1", 2)
        started = time.monotonic()
        result = Deliverer(settings, spool).flush()
        elapsed = time.monotonic() - started
        assert isinstance(result.error, DeliveryTimeout), result.error
        assert "ConnectTimeout" in str(result.error)
        assert elapsed < 10
        assert [i.report_id for i in spool.peek(10)] == ids  # nothing lost
        spool.close()
    finally:
        for s in fillers:
            s.close()
        server.close()


def test_corrupt_spool_file_under_a_running_agent(live_collector: LiveCollector, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = agent_env(state)
    args = ["--collector", live_collector.url, "--secret", live_collector.secret]
    assert wardwatch("agent", "enroll", *args, env=env).returncode == 0
    (state / "spool.db").write_bytes(b"this is not SQLite" * 500)
    done = wardwatch("agent", "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert "is corrupt" in done.stderr
    assert live_collector.kinds() == ["full"]
    assert list(state.glob("spool.db.corrupt-*"))


def test_full_disk_keeps_the_agent_running(tiny_fs: Path) -> None:
    runner = AgentRunner(agent_settings(tiny_fs))
    filler = fill_disk(tiny_fs)
    assert runner.collect_once(["inventory", "checks"], time.time()) == 0  # logged, not raised
    assert "disk full" in (runner.status.last_error or "")
    filler.unlink()
    assert runner.collect_once(["heartbeat"], time.time()) == 1
    runner.close()


RECORDER = """
import gzip, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

out = open(sys.argv[1], "w")

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every answer waits 40 ms for a delayed ACK
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        rid = json.loads(gzip.decompress(body))["report_id"]
        out.write(rid + "\\n"); out.flush()
        data = json.dumps({"status": "accepted", "duplicate": False, "report_id": rid}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def test_ten_thousand_reports_flush_in_order_with_bounded_memory(tmp_path: Path) -> None:
    state = tmp_path / "state"
    record = tmp_path / "received.txt"
    server = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(record)], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        AgentState(agent_id="a1", agent_key="k", collector_url=f"http://127.0.0.1:{port}").save(state)
        spool = Spool.in_state_dir(state)
        rid, body = small_report("a1")
        template = json.loads(body)
        ids = []
        spool.db.execute("BEGIN")  # bulk load in one transaction (the agent itself enqueues one by one)
        for n in range(10_000):
            template["report_id"] = rid = f"00000000-0000-4000-8000-{n:012d}"
            template["facts"] = {"system": {"hostname": "pc", "note": os.urandom(1200).hex()}}
            gz = gzip.compress(json.dumps(template).encode())
            spool.db.execute(
                "INSERT INTO outbox (report_id, agent_id, subject, kind, failing, created_at, size, body) "
                "VALUES (?, 'a1', 'host', 'heartbeat', 0, ?, ?, ?)",
                (rid, time.time(), len(gz), gz),
            )
            ids.append(rid)
        spool.db.execute("COMMIT")
        backlog = spool.stats().bytes
        assert backlog > 15 * 1024 * 1024
        proc = psutil.Process()
        before = peak = proc.memory_info().rss
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, proc.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            result = Deliverer(agent_settings(state), spool).flush()
        finally:
            done.set()
            sampler.join()
        assert result.error is None and result.sent == 10_000
        assert record.read_text().split() == ids
        assert spool.stats().count == 0
        # The flush reads the spool a batch at a time: memory grows by far less than the backlog.
        growth = peak - before
        assert growth < 10 * 1024 * 1024, f"RSS grew {growth} bytes flushing a {backlog}-byte backlog"
    finally:
        server.kill()
        server.wait()


def test_a_revoked_agent_does_not_enroll_itself_again(live_collector: LiveCollector, tmp_path: Path) -> None:
    """Revocation must stick: with an enroll secret configured, a lost key re-enrolls, a revoked one not."""
    state = tmp_path / "state"
    env = agent_env(
        state,
        WARDWATCH_AGENT_ENROLL_SECRET=live_collector.secret,
        WARDWATCH_AGENT_COLLECTOR_URL=live_collector.url,
    )
    assert (
        wardwatch(
            "agent", "enroll", "--collector", live_collector.url, "--secret", live_collector.secret, env=env
        ).returncode
        == 0
    )
    ident = AgentState.load(state)
    assert ident is not None
    from collector.db import make_engine, session_scope
    from collector.services.enrollment import revoke_agent

    engine = make_engine(live_collector.database_url)
    with session_scope(engine) as session:
        revoke_agent(session, ident.agent_id, actor="admin")
    engine.dispose()
    done = wardwatch("agent", "run", "--once", env=env)
    assert done.returncode != 0
    assert "revoked" in done.stdout + done.stderr
    assert live_collector._query("SELECT count(*) FROM agent")[0][0] == 1  # no new agent appeared
    assert AgentState.load(state).agent_id == ident.agent_id  # type: ignore[union-attr]
    assert live_collector.report_count() == 0


# -- reports refused for good ----------------------------------------------------------------------

FAILING_PROXY = """
import gzip, json, sys, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# In front of a real collector: forwards everything, except that the reports named on the command
# line get the 500 an unhandled error in the collector gives (Starlette's plain-text page).
upstream, poisoned = sys.argv[1], set(sys.argv[2].split(","))
PASS = ("content-type", "retry-after", "www-authenticate", "x-wardwatch-agent")

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/api/v1/reports" and json.loads(gzip.decompress(body))["report_id"] in poisoned:
            return self.answer(500, {"Content-Type": "text/plain; charset=utf-8"}, b"Internal Server Error")
        skip = ("host", "content-length", "connection")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        req = urllib.request.Request(
            upstream + self.path, data=body or None, method=self.command, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, got, data = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            status, got, data = exc.code, exc.headers, exc.read()
        self.answer(status, {k: v for k, v in got.items() if k.lower() in PASS}, data)
    do_GET = do_POST = forward
    def answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


@contextlib.contextmanager
def _agent_running(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[str]]:
    """``wardwatch agent run`` in its own process, logging to ``log_path``; killed if still running."""
    with open(log_path, "w") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "agent", "run"],
            env=env,
            stdout=log,
            stderr=log,
            text=True,
        )
        try:
            yield agent
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()


def _stop(agent: subprocess.Popen[str]) -> None:
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=60) == 0


def _technician(live: LiveCollector) -> tuple[str, str]:
    """An API token and a web session token for a technician of the test site."""
    from collector.db import make_engine, session_scope
    from collector.services.users import create_auth_session, create_user

    engine = make_engine(live.database_url)
    try:
        with session_scope(engine) as session:
            user = create_user(
                session,
                username="tech",
                password="correct horse battery",
                role="technician",
                site_codes=["t1"],
            )
            api, _ = create_auth_session(session, user, kind="api", hours=1)
            web, _ = create_auth_session(session, user, kind="web", hours=1)
    finally:
        engine.dispose()
    return api, web


def test_reports_refused_for_good_are_quarantined_shown_everywhere_and_never_block_the_queue(
    live_collector: LiveCollector, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    rid_500, poison = small_report("", hostname="pc-poison")
    proxy = subprocess.Popen(
        [sys.executable, "-c", FAILING_PROXY, live_collector.url, rid_500], stdout=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{int(proxy.stdout.readline())}"  # type: ignore[union-attr]
        env = agent_env(state, WARDWATCH_AGENT_INTERVALS__HEARTBEAT="1")
        enrolled = wardwatch(
            "agent", "enroll", "--collector", url, "--secret", live_collector.secret, env=env
        )
        assert enrolled.returncode == 0, enrolled.stderr
        ident = AgentState.load(state)
        assert ident is not None
        # Waiting before the agent starts: a report the collector's contract refuses (422), and one
        # the collector fails on every time (500).
        rid_422, good = small_report(ident.agent_id, hostname="pc-bad")
        bad = json.loads(good)
        bad["collected_at"] = "yesterday"
        with Spool.in_state_dir(state) as spool:
            spool.enqueue(
                json.dumps(bad).encode(), report_id=rid_422, agent_id=ident.agent_id, kind="heartbeat"
            )
            spool.enqueue(poison, report_id=rid_500, agent_id=ident.agent_id, kind="heartbeat")

        with _agent_running(env, tmp_path / "agent.log") as agent:
            deadline = time.monotonic() + 240
            told: list[tuple[object, ...]] = []
            while time.monotonic() < deadline and agent.poll() is None:
                told = live_collector._query("SELECT device_id, count FROM device_quarantine")
                if told and told[0][1] == 2:
                    break
                time.sleep(0.5)
            assert told and told[0][1] == 2, (tmp_path / "agent.log").read_text()[-3000:]
            _stop(agent)

        # The reports behind the two bad ones were delivered: the inventory and the heartbeats.
        kinds = live_collector.kinds()
        assert kinds[0] == "full" and live_collector.heard_after_last_report()
        landed = set(live_collector.report_ids())
        assert rid_422 not in landed and rid_500 not in landed
        device_id = told[0][0]
        hostname = live_collector._query(f"SELECT hostname FROM device WHERE id = {device_id}")[0][0]
        assert hostname == socket.gethostname()

        # `agent status` lists both, with their reasons.
        status = wardwatch("agent", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "quarantined:   2 report(s)" in status.stdout
        assert f"heartbeat {rid_422}: " in status.stdout and "(422)" in status.stdout
        assert f"heartbeat {rid_500}: the collector failed on this report 3 times" in status.stdout
        data = json.loads(wardwatch("agent", "status", "--json", env=env).stdout)
        assert {q["report_id"] for q in data["spool"]["quarantine"]} == {rid_422, rid_500}

        # The collector shows them on the device, in the API and on the page (vi and en).
        api, web = _technician(live_collector)
        detail = httpx.get(
            f"{live_collector.url}/api/v1/devices/{device_id}", headers={"Authorization": f"Bearer {api}"}
        )
        held = detail.json()["quarantine"]
        assert held["count"] == 2 and {q["report_id"] for q in held["recent"]} == {rid_422, rid_500}
        assert any("422" in q["reason"] for q in held["recent"])
        for lang, title in (("vi", "Báo cáo bị cách ly"), ("en", "Quarantined reports")):
            page = httpx.get(
                f"{live_collector.url}/devices/{device_id}",
                params={"lang": lang},
                cookies={"ww_session": web},
            )
            assert page.status_code == 200 and title in page.text and rid_500 in page.text
    finally:
        proxy.kill()
        proxy.wait()


def test_a_full_disk_at_start_keeps_the_agent_running_and_it_delivers_once_space_returns(
    live_collector: LiveCollector, tiny_fs: Path, tmp_path: Path
) -> None:
    state = tiny_fs / "state"
    env = agent_env(state, WARDWATCH_AGENT_INTERVALS__HEARTBEAT="1")
    args = ["--collector", live_collector.url, "--secret", live_collector.secret]
    assert wardwatch("agent", "enroll", *args, env=env).returncode == 0
    filler = fill_disk(tiny_fs)
    with _agent_running(env, tmp_path / "agent.log") as agent:
        deadline = time.monotonic() + 120
        while "heartbeat(s) kept in memory" not in (tmp_path / "agent.log").read_text():
            assert agent.poll() is None, (tmp_path / "agent.log").read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(2)
        assert agent.poll() is None  # still running, several heartbeats held
        assert live_collector.report_count() == 0 and live_collector.agent_seen() is None

        status = wardwatch("agent", "status", env=env)  # works on the full disk
        assert status.returncode == 0, status.stderr
        assert "disk:          full" in status.stdout and "spool:         0 report(s)" in status.stdout

        filler.unlink()  # space returns
        deadline = time.monotonic() + 60
        # The held heartbeats leave no raw report: they move the agent's last-seen time.
        while live_collector.agent_seen() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        log = (tmp_path / "agent.log").read_text()
        assert live_collector.agent_seen() is not None, log[-3000:]
        _stop(agent)
    text = (tmp_path / "agent.log").read_text()
    assert "disk full" in text and "Traceback" not in text
