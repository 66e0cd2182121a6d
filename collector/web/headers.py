"""Headers on every answer, errors and published pages included.

- A Content-Security-Policy without ``unsafe-inline``: scripts and styles come from ``/static`` only, so
  an injected ``<script>`` or ``onerror=`` cannot run. Pages keep no inline script, handler or style.
- ``Permissions-Policy``: the console needs no sensor, camera (photos go through a file input),
  microphone, payment or USB access.
- HSTS, and ``Secure`` on every cookie, whenever the request came over TLS (directly, or through a
  trusted proxy that said so; see ``collector.proxy``).

Violations the browser reports arrive at ``CSP_REPORT_PATH`` and are logged.
"""

from __future__ import annotations

from typing import Any

CSP_REPORT_PATH = "/csp-report"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # data: for the icons Swagger UI inlines in its stylesheet; blob: for photo previews.
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        f"report-uri {CSP_REPORT_PATH}",
    ]
)

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

HSTS = b"max-age=31536000"


class SecurityHeaders:
    """Pure ASGI middleware. It wraps the whole app (outside Starlette's error middleware, see
    ``collector.app``), so a 500 page carries the same headers as any other answer."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy", CSP.encode()),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if tls:
                    headers = [(k, _secure(v) if k.lower() == b"set-cookie" else v) for k, v in headers]
                present = {k.lower() for k, _v in headers}
                extra = [(k, v) for k, v in self.HEADERS if k not in present]
                if tls and b"strict-transport-security" not in present:
                    extra.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(cookie: bytes) -> bytes:
    attrs = [a.strip().lower() for a in cookie.split(b";")[1:]]
    return cookie if b"secure" in attrs else cookie + b"; Secure"
