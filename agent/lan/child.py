"""The scan's child process: ``python -m agent.lan.child`` reads one request (JSON) on stdin.

It writes JSON lines on stdout: ``{"type": "part"|"progress", ...}`` while it works, then
``{"type": "result", "facts": {...}}`` or ``{"type": "error", "message": "..."}``. scapy is loaded
here, so the agent process that started the child never holds it.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main() -> int:
    from agent.lan.config import LanConfig
    from agent.lan.engine import run_scan
    from agent.lan.safety import ScanRefused, ScanTarget

    out = sys.stdout

    def emit(event: dict[str, Any]) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    try:
        request = json.loads(sys.stdin.read())
        config = LanConfig.model_validate(request["config"])
        targets = [ScanTarget(**t) for t in request["targets"]]
        facts = run_scan(
            config,
            targets,
            previous_gateway_macs=request.get("previous_gateway_macs") or {},
            emit=emit,
        )
    except ScanRefused as exc:
        emit({"type": "error", "kind": "refused", "message": str(exc)})
        return 2
    except Exception as exc:  # reported to the parent, which shows it; the child just ends
        emit({"type": "error", "kind": type(exc).__name__, "message": f"{type(exc).__name__}: {exc}"})
        return 1
    emit({"type": "result", "facts": facts.model_dump(mode="json")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
