"""The platform-neutral shape of an OS neighbour-table entry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str
    interface: str  # Linux: device name; Windows: the interface's IPv4 address
