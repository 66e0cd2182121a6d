"""LAN scanning: interface or CIDR, ports, rate limit, safety caps.

Public entry points (importing this package loads nothing heavy and sends nothing):
``run_scan(config, state_dir, interface=, cidr=)`` scans now in a child process and saves the result;
``latest_scan(state_dir)`` returns the saved result for the next report's ``facts.network_scan``;
``scan_due(config, state_dir)`` tells the agent cycle whether a scheduled scan is due.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "run_scan": "agent.lan.runner",
    "scan_due": "agent.lan.runner",
    "ScanFailed": "agent.lan.runner",
    "ScanRefused": "agent.lan.safety",
    "latest_scan": "agent.lan.store",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Lazy: agent.config imports agent.lan.config, and must not pay for the scanner.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
