"""How ``serve`` and ``up`` run uvicorn: which proxies are trusted, and an access log without secrets.

Proxies: uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise, so anything on the
machine could make a login attempt look as if it came from any address and dodge the per-address
throttle, and the audit log would record a lie. uvicorn's own handling is therefore off; the app
believes forwarded headers only from ``--forwarded-allow-ips`` (``collector.proxy``), which also needs
the real peer to decide whether a forwarded client certificate counts.

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


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn options ``serve`` and ``up`` share: no proxy handling of uvicorn's own (the app
    decides, see ``collector.proxy``), and an access log without share tokens."""
    return {"proxy_headers": False, "forwarded_allow_ips": "", "log_config": log_config()}
