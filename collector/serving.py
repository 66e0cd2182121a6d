"""How ``serve`` and ``up`` run uvicorn: which proxies are trusted, and an access log without secrets.

Proxies: uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise, so anything on the
machine could make a login attempt look as if it came from any address and dodge the per-address
throttle, and the audit log would record a lie. Here no proxy is trusted unless configured with
``--forwarded-allow-ips`` (a list of addresses or networks, as uvicorn takes it).

Access log: share links carry their secret in the path (``/s/<token>``); a log that kept it would
let whoever reads the log open the report. The filter rewrites the token before any handler sees it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

SHARE_TOKEN = re.compile(r"(/s/)[^/?#\s.\"]+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return SHARE_TOKEN.sub(REDACTED, text)


class RedactShareTokens(logging.Filter):
    """Rewrites share-link tokens in uvicorn access log records (its args carry the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with the redacting filter on the access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_share_tokens"] = {"()": "collector.serving.RedactShareTokens"}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_share_tokens"]
    return config


def uvicorn_options(forwarded_allow_ips: str | None) -> dict[str, Any]:
    """The uvicorn options ``serve`` and ``up`` share: trust ``X-Forwarded-*`` only from the configured
    proxies (none by default), and log access without share tokens."""
    ips = (forwarded_allow_ips or "").strip()
    # Passing the list explicitly also keeps uvicorn from reading FORWARDED_ALLOW_IPS by itself.
    proxies = {"proxy_headers": bool(ips), "forwarded_allow_ips": ips}
    return {**proxies, "log_config": log_config()}
