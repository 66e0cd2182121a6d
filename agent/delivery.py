"""Talking to the collector: enroll, and deliver the spool in order, at least once.

- One httpx client per flush: keep-alive, connect and read timeouts, gzip bodies (the spool
  stores them compressed), proxies from the environment, TLS verified by default (a CA bundle or
  a pinned certificate for a private CA, see ``agent.tls``).
- A report leaves the spool only on a 202 from the collector that names it (``accepted`` or
  ``duplicate``); anything else — a 200 from a captive portal included — keeps it. The collector
  deduplicates by ``report_id``, so a resend after a lost answer counts once.
- 409 ``needs_full``: the delta is dropped and a full report is asked for.
- Refused for good, quarantined at once so it never blocks the reports behind it (the spool keeps
  it with the reason; the next heartbeat tells the collector): 400, 403 and 422 with the
  collector's JSON error (this report's content), and 413 from anyone (too large for the
  collector or for a proxy before it; the same bytes will never fit until someone raises a limit).
- 500, or a 409 that is not ``needs_full``: the report's own fault or the collector's? The agent
  sets the report aside for this flush and sends the next one. When the collector accepts that
  one, the failure was this report's own (a strike); at ``QUARANTINE_AFTER`` strikes (3) the report
  is quarantined. A second failure before an acceptance means the collector is unwell: the flush
  stops, nothing is counted, nothing is quarantined. So a collector answering 500 to everything
  never makes the agent drop a report, and one poisonous report costs three flushes at most.
- 401: re-enroll once with the configured enroll secret, rewrite waiting reports to the new agent
  id, go on. 404, 405 and other answers that are the same for every report (a wrong URL, a
  proxy), 429/503/other 5xx, network trouble: stop and let the caller back off (``Backoff``: full
  jitter, ``Retry-After`` honoured).
"""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from agent import __version__, client_cert
from agent.errors import (
    AgentRevoked,
    AuthError,
    CertificateRefused,
    Conflict,
    DeliveryError,
    DeliveryTimeout,
    EnrollRefused,
    NeedsFull,
    NetworkError,
    NotEnrolled,
    ProtocolError,
    RateLimited,
    Rejected,
    ServerError,
    SpoolError,
    TlsError,
    TransientError,
)
from agent.flush import FlushResult
from agent.schedule import Backoff
from agent.spool import Spool, SpoolItem
from agent.state import AgentState
from agent.tls import PinnedTransport, env_proxy_for, ssl_context

if TYPE_CHECKING:  # the running agent passes its own settings (agent.protocol): no pydantic there
    from agent.config import AgentSettings
    from agent.protocol import SupervisorSettings

    DeliverySettings = AgentSettings | SupervisorSettings

log = logging.getLogger(__name__)

__all__ = [
    "Backoff",
    "Deliverer",
    "FlushResult",
    "build_client",
    "enroll",
    "retry_after_seconds",
    "send_report",
]

USER_AGENT = f"wardwatch-agent/{__version__}"
ENROLL_PATH = "/api/v1/agents/enroll"
# The collector marks a 401 for a key an administrator revoked (as opposed to one it lost).
REVOKED_HEADER = "X-Wardwatch-Agent"
REPORTS_PATH = "/api/v1/reports"
CERTIFICATE_PATH = "/api/v1/agents/certificate"
# Failures that were a report's own (a 500 or a conflict while the collector accepted the next
# report) before it is quarantined.
QUARANTINE_AFTER = 3


def build_client(
    settings: DeliverySettings, *, base_url: str | None = None, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    d = settings.delivery
    timeout = httpx.Timeout(connect=d.connect_timeout, read=d.read_timeout, write=d.read_timeout, pool=5.0)
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=1, keepalive_expiry=30)
    common: dict[str, Any] = {
        "timeout": timeout,
        "headers": {"User-Agent": USER_AGENT},
        "follow_redirects": False,  # a redirect is a misconfiguration to report, not to follow with the key
    }
    if base_url:
        common["base_url"] = base_url
    if transport is not None:
        return httpx.Client(transport=transport, trust_env=False, **common)
    verify = ssl_context(
        ca_bundle=settings.ca_bundle,
        pinned=settings.pinned_cert_sha256 is not None,
        client_cert=_usable_client_cert(Path(settings.state_dir)),
    )
    if settings.pinned_cert_sha256:
        assert isinstance(verify, ssl.SSLContext)
        proxy = env_proxy_for(base_url) if base_url else None
        pinned = PinnedTransport(pin=settings.pinned_cert_sha256, verify=verify, proxy=proxy, limits=limits)
        return httpx.Client(transport=pinned, trust_env=False, **common)
    return httpx.Client(verify=verify, trust_env=True, limits=limits, **common)


def _usable_client_cert(state_dir: Path) -> Path | None:
    """The client certificate to present, unless missing or expired (an expired one fails the handshake)."""
    current = client_cert.load(state_dir)
    return current.path if current is not None and current.usable() else None


def _request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, with httpx's errors mapped onto the agent's tree."""
    try:
        return client.request(method, url, **kwargs)
    except TlsError:
        raise
    except httpx.TimeoutException as exc:
        raise DeliveryTimeout(f"{url}: timed out ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        if _caused_by(exc, ssl.SSLCertVerificationError):
            raise TlsError(f"{url}: the collector's certificate did not verify: {exc}") from exc
        raise NetworkError(f"{url}: cannot connect: {exc}") from exc
    except (httpx.RemoteProtocolError, httpx.DecodingError, httpx.ProxyError) as exc:
        raise ProtocolError(f"{url}: unintelligible answer: {exc}") from exc
    except httpx.TransportError as exc:
        raise NetworkError(f"{url}: {type(exc).__name__}: {exc}") from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(resp: httpx.Response) -> tuple[dict[str, Any] | None, str]:
    """The collector's JSON error body (None when the answer is not the collector's JSON) and its text."""
    try:
        data = resp.json()
    except (ValueError, UnicodeDecodeError):
        return None, resp.text[:200].strip()
    if not isinstance(data, dict):
        return None, str(data)[:200]
    detail = data.get("detail", data)
    return data, (detail if isinstance(detail, str) else json.dumps(detail)[:500])


def _raise_for(resp: httpx.Response, what: str) -> None:
    """Map a non-success answer to the error tree (never returns)."""
    code = resp.status_code
    data, detail = _detail(resp)
    wait = retry_after_seconds(resp.headers.get("Retry-After"))
    if code in (429, 503):
        raise RateLimited(f"{what}: collector busy ({code}): {detail}", status_code=code, retry_after=wait)
    if code >= 500:
        raise ServerError(f"{what}: collector error {code}: {detail}", status_code=code, retry_after=wait)
    if 300 <= code < 400:
        raise ProtocolError(
            f"{what}: redirected ({code}) to {resp.headers.get('Location')}; set collector_url to it",
            status_code=code,
        )
    if code == 413:
        # Whoever answered (the collector, or a proxy's HTML page), these bytes will not fit.
        raise Rejected(
            f"{what}: too large for the collector or a proxy before it (413): {detail}", status_code=code
        )
    if code == 401:
        if resp.headers.get(REVOKED_HEADER, "").lower() == "certificate":
            raise CertificateRefused(f"{what}: {detail}", status_code=code)
        if resp.headers.get(REVOKED_HEADER, "").lower() == "revoked":
            raise AgentRevoked(
                f"{what}: {detail or 'revoked'}; an administrator must enroll this PC again",
                status_code=code,
            )
        raise AuthError(f"{what}: {detail or 'unauthorized'}", status_code=code)
    if data is None:
        # Not the collector's JSON: a proxy or a portal answered. Keep the report and retry later.
        raise ProtocolError(
            f"{what}: answer {code} is not from a wardwatch collector: {detail!r}", status_code=code
        )
    if code == 409 and data.get("needs_full"):
        raise NeedsFull(f"{what}: {detail}", status_code=code)
    if code == 409:
        raise Conflict(f"{what}: conflict (409): {detail}", status_code=code)
    if code in (400, 403, 422):
        raise Rejected(f"{what}: collector refused it ({code}): {detail}", status_code=code)
    raise ProtocolError(f"{what}: unexpected answer {code}: {detail}", status_code=code)


def enroll(
    settings: DeliverySettings,
    *,
    collector_url: str,
    secret: str,
    hostname: str,
    transport: httpx.BaseTransport | None = None,
    state_dir: Path | None = None,
) -> AgentState:
    """Enroll with ``secret``; returns the identity (the caller saves it). Raises a DeliveryError.

    With ``state_dir`` and an https collector, a certificate request goes along and the client
    certificate the collector issues is kept there (``client.pem``) for mutual TLS.
    """
    url = collector_url.rstrip("/")
    # A client certificate only means something over TLS.
    tls = url.startswith("https://")
    pending = client_cert.new_key(hostname) if state_dir is not None and tls else None
    body: dict[str, Any] = {"secret": secret, "hostname": hostname, "agent_version": __version__}
    if pending is not None:
        body["csr"] = pending.csr_pem
    with build_client(settings, base_url=url, transport=transport) as client:
        resp = _request(client, "POST", ENROLL_PATH, json=body)
    if resp.status_code == 401 or resp.status_code == 403:
        _, detail = _detail(resp)
        raise EnrollRefused(f"enrollment refused by {url}: {detail}", status_code=resp.status_code)
    if resp.status_code not in (200, 201):
        _raise_for(resp, f"enroll at {url}")
    data, _ = _detail(resp)
    if not data or not data.get("agent_id") or not data.get("agent_key"):
        raise ProtocolError(f"enroll at {url}: the answer lacks agent_id/agent_key")
    if pending is not None and state_dir is not None and data.get("client_cert"):
        _keep_client_cert(state_dir, pending, data)
    return AgentState(
        agent_id=str(data["agent_id"]),
        agent_key=str(data["agent_key"]),
        collector_url=url,
        site=data.get("site"),
    )


def _keep_client_cert(state_dir: Path, pending: client_cert.PendingKey, data: dict[str, Any]) -> None:
    try:
        client_cert.save(state_dir, pending, str(data["client_cert"]), data.get("ca_cert"))
    except ValueError as exc:
        raise ProtocolError(f"the collector's client certificate cannot be used: {exc}") from None


def renew_client_cert(
    settings: DeliverySettings,
    *,
    collector_url: str,
    ident: AgentState,
    state_dir: Path,
    hostname: str,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """Ask for a new client certificate with the agent key (and the current certificate, if usable).

    Returns whether one was issued; a collector without the endpoint (older) is not an error.
    """
    pending = client_cert.new_key(hostname)
    client_cert.note_attempt(state_dir)
    with build_client(settings, base_url=collector_url.rstrip("/"), transport=transport) as client:
        resp = _request(
            client,
            "POST",
            CERTIFICATE_PATH,
            json={"csr": pending.csr_pem},
            headers={"Authorization": f"Bearer {ident.agent_key}"},
        )
    if resp.status_code in (404, 405):
        return False
    if resp.status_code != 201:
        _raise_for(resp, "client certificate renewal")
    data, _ = _detail(resp)
    if not data or not data.get("client_cert"):
        raise ProtocolError("client certificate renewal: the answer lacks client_cert")
    _keep_client_cert(state_dir, pending, data)
    return True


def send_report(client: httpx.Client, *, key: str, body_gz: bytes, report_id: str) -> str:
    """POST one gzip-compressed report; returns ``accepted`` or ``duplicate``."""
    resp = _request(
        client,
        "POST",
        REPORTS_PATH,
        content=body_gz,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    what = f"report {report_id}"
    if resp.status_code != 202:
        _raise_for(resp, what)
    data, text = _detail(resp)
    status = (data or {}).get("status")
    if status not in ("accepted", "duplicate"):
        raise ProtocolError(f"{what}: 202 without an acknowledgement: {text!r}")
    named = (data or {}).get("report_id")
    if named is not None and str(named) != report_id:
        raise ProtocolError(f"{what}: the collector acknowledged another report ({named})")
    return str(status)


class Deliverer:
    """Delivers the spool in order over one keep-alive connection per flush."""

    def __init__(
        self,
        settings: DeliverySettings,
        spool: Spool,
        *,
        state_dir: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        on_ack: Callable[[SpoolItem, str], None] | None = None,
        hostname: Callable[[], str] = socket.gethostname,
    ) -> None:
        self.settings = settings
        self.spool = spool
        self.state_dir = Path(state_dir or settings.state_dir)
        self.transport = transport
        self.on_ack = on_ack
        self.hostname = hostname
        self._reenrolled = False
        # A report that failed in a way that may be its own, waiting for the next one to tell.
        self._suspect: tuple[SpoolItem, DeliveryError] | None = None
        self._left_waiting: DeliveryError | None = None  # why a struck report still waits

    def identity(self) -> AgentState:
        """The saved identity; a first enrollment when none is saved and a secret is configured."""
        ident = AgentState.load(self.state_dir)
        if ident is not None:
            return ident
        s = self.settings
        if s.collector_url and s.enroll_secret:
            return self._enroll(s.collector_url)
        raise NotEnrolled(
            f"no agent key in {self.state_dir}: run `wardwatch agent enroll --collector URL --secret SECRET`"
        )

    def _enroll(self, url: str) -> AgentState:
        assert self.settings.enroll_secret
        ident = enroll(
            self.settings,
            collector_url=url,
            secret=self.settings.enroll_secret,
            hostname=self.hostname(),
            transport=self.transport,
            state_dir=self.state_dir,
        )
        ident.save(self.state_dir)
        log.info("enrolled with %s as agent %s (site %s)", url, ident.agent_id, ident.site)
        return ident

    def flush(self, *, stop: Callable[[], bool] = lambda: False, max_items: int | None = None) -> FlushResult:
        """Send waiting reports oldest first until the spool is empty, an error, or ``stop()``."""
        result = FlushResult()
        try:
            ident = self.identity()
        except DeliveryError as exc:
            result.error = exc
            return result
        url = self.settings.collector_url or ident.collector_url
        batch = self.settings.delivery.batch_size
        self._renew_client_cert(url, ident)
        try:
            client = build_client(self.settings, base_url=url, transport=self.transport)
        except DeliveryError as exc:
            result.error = exc
            return result
        self._suspect = self._left_waiting = None
        with client:
            try:
                self._flush_items(client, ident, result, stop, max_items, batch)
            except SpoolError as exc:
                result.error = TransientError(f"spool: {exc}")
        if result.error is None:
            # A report failed and still waits: back off before trying it again.
            result.error = self._suspect[1] if self._suspect is not None else self._left_waiting
        return result

    def _renew_client_cert(self, url: str, ident: AgentState) -> None:
        """Before the certificate expires, a new one; a failure is logged and delivery goes on."""
        if not url.startswith("https://") or not client_cert.should_ask(
            self.state_dir, client_cert.load(self.state_dir)
        ):
            return
        try:
            if renew_client_cert(
                self.settings,
                collector_url=url,
                ident=ident,
                state_dir=self.state_dir,
                hostname=self.hostname(),
                transport=self.transport,
            ):
                log.info("new client certificate from %s", url)
        except DeliveryError as exc:
            log.warning("client certificate not renewed: %s", exc)

    def _flush_items(
        self,
        client: httpx.Client,
        ident: AgentState,
        result: FlushResult,
        stop: Callable[[], bool],
        max_items: int | None,
        batch: int,
    ) -> None:
        after = 0  # reports set aside in this flush stay behind the cursor
        while not stop():
            items = self.spool.peek(batch, after_seq=after)
            if not items:
                return
            for item in items:
                if stop() or (max_items is not None and result.delivered >= max_items):
                    return
                after = item.seq
                try:
                    ident = self._deliver(client, ident, item, result)
                except SpoolError:
                    raise
                except Exception as exc:  # a bug here must not stop the agent; the report stays
                    log.exception("unexpected error delivering report %s", item.report_id)
                    result.error = TransientError(f"unexpected {type(exc).__name__}: {exc}")
                if result.error is not None:
                    return

    def _deliver(
        self, client: httpx.Client, ident: AgentState, item: SpoolItem, result: FlushResult
    ) -> AgentState:
        body = item.body
        if item.agent_id != ident.agent_id:
            body = self._readdress(item, ident.agent_id)
        try:
            status = send_report(client, key=ident.agent_key, body_gz=body, report_id=item.report_id)
        except AuthError as exc:
            saved = AgentState.load(self.state_dir)
            if saved is not None and saved.agent_key != ident.agent_key and not isinstance(exc, AgentRevoked):
                # `agent rotate-key` replaced the key while this flush held the old one.
                return self._deliver(client, saved, item, result)
            if self._reenrolled or not self.settings.enroll_secret or isinstance(exc, AgentRevoked):
                result.error = exc
                return ident
            log.warning("collector no longer knows this agent's key (%s); enrolling again", exc)
            self._reenrolled = result.reenrolled = True
            try:
                ident = self._enroll(self.settings.collector_url or ident.collector_url)
            except DeliveryError as enroll_exc:
                result.error = enroll_exc
                return ident
            return self._deliver(client, ident, item, result)
        except NeedsFull as exc:
            log.warning("%s; dropping it and sending a full report", exc)
            self.spool.ack(item.seq)
            result.needs_full = True
            return ident
        except Rejected as exc:
            size = f" ({len(body)} bytes compressed)" if exc.status_code == 413 else ""
            self.spool.quarantine(item.seq, f"{exc}{size}")
            result.quarantined += 1
            return ident
        except DeliveryError as exc:
            self.spool.note_failure(item.seq, str(exc))
            if _maybe_its_own(exc) and self._suspect is None:
                log.warning("%s; trying the next report to tell whose fault it is", exc)
                self._suspect = (item, exc)
            else:
                result.error = exc
            return ident
        self.spool.ack(item.seq)
        self._strike_suspect(result)
        if status == "duplicate":
            result.duplicates += 1
        else:
            result.sent += 1
        if self.on_ack is not None:
            self.on_ack(item, status)
        return ident

    def _strike_suspect(self, result: FlushResult) -> None:
        """The collector accepted a report after failing on the suspect: the failure was the suspect's own."""
        if self._suspect is None:
            return
        item, exc = self._suspect
        self._suspect = None
        strikes = self.spool.strike(item.seq)
        if strikes >= QUARANTINE_AFTER:
            self.spool.quarantine(
                item.seq,
                f"the collector failed on this report {strikes} times while it accepted others; last: {exc}",
            )
            result.quarantined += 1
        else:
            self._left_waiting = exc

    def _readdress(self, item: SpoolItem, agent_id: str) -> bytes:
        """A report spooled under another agent id (before enrolling, or before a re-enroll)."""
        data = item.report()
        data["agent_id"] = agent_id
        return self.spool.replace_body(item.seq, json.dumps(data, separators=(",", ":")).encode(), agent_id)


def _maybe_its_own(exc: DeliveryError) -> bool:
    """A failure that may be caused by the report itself rather than by the collector or the link."""
    if isinstance(exc, Conflict):
        return True
    return isinstance(exc, ServerError) and not isinstance(exc, RateLimited) and exc.status_code == 500
