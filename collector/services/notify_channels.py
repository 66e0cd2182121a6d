"""Sending one message: e-mail through the configured SMTP server (stdlib smtplib, STARTTLS or TLS,
optional login) and webhooks (JSON over HTTP POST, signed with HMAC-SHA256). No retries here: the
sender decides what to do with a failure. Errors are reported without secrets."""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from collector.i18n import N_
from collector.settings import CollectorSettings

SIGNATURE_HEADER = "X-Wardwatch-Signature"
TIMESTAMP_HEADER = "X-Wardwatch-Timestamp"
USER_AGENT = "wardwatch-collector"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None  # HTTP status, or the SMTP reply code of a refusal
    error: str | None = None
    duration_ms: int = 0


def _elapsed(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def send_email(settings: CollectorSettings, *, to: str, subject: str, text: str) -> SendResult:
    start = time.monotonic()
    if not settings.smtp_host:
        # Stored as the English msgid, shown through the catalogs; exception texts stay data.
        return SendResult(False, error=N_("SMTP is not configured (WARDWATCH_SMTP_HOST)"))
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    msg.set_content(text, charset="utf-8")
    context = ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    timeout = settings.smtp_timeout_seconds
    try:
        if settings.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return SendResult(
            False, exc.smtp_code, f"SMTP server refused: {exc.smtp_code} {reply}"[:500], _elapsed(start)
        )
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:500], duration_ms=_elapsed(start))
    return SendResult(True, 250, duration_ms=_elapsed(start))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret, as sent in the header."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post_webhook(
    url: str, *, secret: str, body: bytes, event: str, delivery_id: int, timeout: float
) -> SendResult:
    start = time.monotonic()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Wardwatch-Event": event,
        "X-Wardwatch-Delivery": str(delivery_id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    try:
        # No redirects: a signed message goes only where the subscriber said.
        answer = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:500], duration_ms=_elapsed(start))
    if 200 <= answer.status_code < 300:
        return SendResult(True, answer.status_code, duration_ms=_elapsed(start))
    return SendResult(
        False, answer.status_code, f"the receiver answered HTTP {answer.status_code}", _elapsed(start)
    )
