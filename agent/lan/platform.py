"""The platform is chosen once here; callers use these names and never test ``sys.platform``."""

from __future__ import annotations

import sys

if sys.platform == "win32":
    from agent.lan.windows import default_gateways, has_raw_socket_privilege, neighbours
else:
    from agent.lan.linux import default_gateways, has_raw_socket_privilege, neighbours

__all__ = ["default_gateways", "has_raw_socket_privilege", "neighbours"]
