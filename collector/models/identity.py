"""Identity conflicts and move requests: a report claimed the identity of a device bound to another agent.

The claim never changes that device. Its reports go to a device of the claiming agent's own site,
flagged by this row, until an administrator decides: *merge* (the claiming agent takes the device
over; for a move request, the device moves to the claiming agent's site), *keep apart* (two devices),
or *revoke* the claiming agent. ``kind`` is ``move`` when a complete identity (machine id, serial
and MAC, all equal) is claimed from another site, which is what re-enrolling a PC into another
commune looks like; everything else is a ``conflict``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from collector.models.types import ts_field


class ClaimKind(StrEnum):
    CONFLICT = "conflict"
    MOVE = "move"


class ClaimStatus(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    KEPT_APART = "kept_apart"
    REVOKED = "revoked"


class IdentityConflict(SQLModel, table=True):
    __tablename__ = "identity_conflict"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=ClaimKind.CONFLICT, max_length=16)
    status: str = Field(default=ClaimStatus.OPEN, max_length=16, index=True)
    # The device that already had the identity, its agent and its site when the claim was made.
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True, ondelete="SET NULL")
    owner_agent_id: str | None = Field(
        default=None, foreign_key="agent.id", max_length=36, ondelete="SET NULL"
    )
    device_site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    # Who claimed it, from which site, and the flagged device its reports went to meanwhile.
    claimant_agent_id: str | None = Field(
        default=None, foreign_key="agent.id", max_length=36, index=True, ondelete="SET NULL"
    )
    claimant_site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    claimant_device_id: int | None = Field(
        default=None, foreign_key="device.id", index=True, ondelete="SET NULL"
    )
    # The identity as claimed (cut to the Device columns' sizes).
    hostname: str = Field(max_length=255)
    machine_id: str | None = Field(default=None, max_length=128)
    serial: str | None = Field(default=None, max_length=128)
    mac: str | None = Field(default=None, max_length=32)
    detected_at: datetime = ts_field()
    resolved_at: datetime | None = ts_field(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=150)
    note: str | None = Field(default=None, max_length=2000)
