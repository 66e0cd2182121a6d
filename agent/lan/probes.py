"""Probes that need no raw sockets: TCP connect, SNMP over a UDP socket, HTTP titles, reverse DNS.

Every probe goes through a ``Pacer`` so the configured packets-per-second limit holds.
"""

from __future__ import annotations

import errno
import html
import random
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable

from agent.lan import snmp

Progress = Callable[[int, int], None]

OPEN, CLOSED, FILTERED = "open", "closed", "filtered"
# A connect to an on-link address nobody holds fails with one of these once ARP gives up.
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
_MAX_SOCKETS = 256


class Pacer:
    """Spaces sends so that no more than ``pps`` leave per second (small bursts of at most 5 ms).

    One pacer is shared by every part of a scan that runs at the same time, so the limit holds
    for the scan as a whole.
    """

    def __init__(self, pps: int) -> None:
        self.interval = 1.0 / pps
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            self.next = max(self.next, now - 0.005) + self.interval
            delay = self.next - self.interval - now
        if delay > 0.001:
            time.sleep(delay)


def connect_probe(
    pairs: Iterable[tuple[str, int]],
    *,
    pacer: Pacer,
    timeout: float,
    progress: Progress | None = None,
) -> dict[tuple[str, int], str]:
    """TCP connect to each (ip, port): open (accepted), closed (refused), filtered (no answer)."""
    todo = list(pairs)
    total = len(todo)
    result: dict[tuple[str, int], str] = {}
    sel = selectors.DefaultSelector()
    pending: dict[socket.socket, tuple[tuple[str, int], float]] = {}
    i = 0

    def finish(sock: socket.socket, state: str) -> None:
        key, _ = pending.pop(sock)
        result[key] = state
        sel.unregister(sock)
        sock.close()
        if progress:
            progress(len(result), total)

    while i < len(todo) or pending:
        launched = 0
        while i < len(todo) and len(pending) < _MAX_SOCKETS and launched < 16:
            launched += 1
            pacer.wait()
            key = todo[i]
            i += 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            # RST on close: no TIME_WAIT pile-up and no half-open connections left on the target.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            err = s.connect_ex(key)
            if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                result[key] = CLOSED if err == errno.ECONNREFUSED else FILTERED
                s.close()
                continue
            pending[s] = (key, time.monotonic() + timeout)
            sel.register(s, selectors.EVENT_WRITE)
        for skey, _ in sel.select(timeout=0.005 if i < len(todo) else 0.05):
            sock = skey.fileobj
            assert isinstance(sock, socket.socket)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                finish(sock, OPEN)
            elif err == errno.ECONNREFUSED:
                finish(sock, CLOSED)
            else:
                finish(sock, FILTERED)
        now = time.monotonic()
        for sock in [s for s, (_, dl) in pending.items() if dl < now]:
            finish(sock, FILTERED)
    sel.close()
    return result


def snmp_probe(
    hosts: Iterable[str],
    communities: Iterable[str],
    *,
    pacer: Pacer,
    timeout: float,
) -> dict[str, list[tuple[str, str | None]]]:
    """SNMP v2c get sysDescr.0 with each community; ip -> [(community, sysDescr)] for answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    asked: dict[int, tuple[str, str]] = {}
    answers: dict[str, list[tuple[str, str | None]]] = {}
    base = random.randint(1, 2**30)
    try:
        for ip in hosts:
            for community in communities:
                rid = base + len(asked)
                asked[rid] = (ip, community)
                pacer.wait()
                try:
                    sock.sendto(snmp.get_request(community, rid), (ip, 161))
                except OSError:
                    continue
                _drain(sock, asked, answers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sel = selectors.DefaultSelector()
            sel.register(sock, selectors.EVENT_READ)
            sel.select(timeout=max(0.0, deadline - time.monotonic()))
            sel.close()
            _drain(sock, asked, answers)
    finally:
        sock.close()
    return answers


def _drain(
    sock: socket.socket,
    asked: dict[int, tuple[str, str]],
    answers: dict[str, list[tuple[str, str | None]]],
) -> None:
    while True:
        try:
            data, (src, _port) = sock.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # ICMP port unreachable surfaces as ECONNREFUSED on some stacks
            continue
        try:
            resp = snmp.parse_response(data)
        except snmp.BerError:
            continue
        want = asked.get(resp.request_id)
        # Only an answer from the host we asked, echoing our community, counts.
        if not want or want[0] != src or want[1] != resp.community or resp.error_status:
            continue
        got = answers.setdefault(src, [])
        if all(c != resp.community for c, _ in got):
            got.append((resp.community, resp.value[:200] if resp.value else None))


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def http_title(ip: str, port: int, timeout: float) -> str | None:
    """The <title> (or Server header) of ``GET /`` on plain HTTP; None when nothing useful answers."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\nUser-Agent: wardwatch-lan-scan\r\n\r\n".encode())
            data = b""
            deadline = time.monotonic() + timeout
            while len(data) < 16384 and time.monotonic() < deadline:
                try:
                    chunk = s.recv(4096)
                except TimeoutError:
                    break  # a slow server: judge by what arrived
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    m = _TITLE.search(data)
    if m:
        title = html.unescape(" ".join(m.group(1).decode("utf-8", errors="replace").split()))
        return title[:120] or None
    for line in data.split(b"\r\n")[1:20]:
        if line.lower().startswith(b"server:"):
            return "Server: " + line[7:].decode("latin-1").strip()[:100]
    return None


class ReverseDns:
    """PTR names looked up in parallel from construction on; ``collect`` takes what has answered.

    Daemon threads: a resolver stuck on an unreachable server never holds the scan up.
    """

    def __init__(self, ips: Iterable[str]) -> None:
        self.names: dict[str, str] = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._one, args=(ip,), daemon=True) for ip in ips]
        for th in self.threads:
            th.start()

    def _one(self, ip: str) -> None:
        try:
            name = socket.gethostbyaddr(ip)[0]
        except (OSError, UnicodeError):
            return
        with self.lock:
            self.names[ip] = name

    def collect(self, deadline: float) -> dict[str, str]:
        for th in self.threads:
            th.join(max(0.0, deadline - time.monotonic()))
        with self.lock:
            return dict(self.names)
