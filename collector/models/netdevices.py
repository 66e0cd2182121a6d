"""Network devices at the collector: configuration versions, and the managed device list.

``NetDeviceConfig``: one row per distinct configuration of a network device, in order; a new row only
when the scrubbed configuration's hash differs from the latest one (a revert to an older text is a new
version too: it is a change). ``ManagedNetDevice``: the device list an administrator keeps at the
collector, with the password encrypted at rest (Fernet; see collector.services.netdevices).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from collector.models.types import ts_field


class NetDeviceConfig(SQLModel, table=True):
    __tablename__ = "netdevice_config"

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    hash: str = Field(max_length=64, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    lines: int = 0
    first_seen_at: datetime = ts_field(index=True)
    last_seen_at: datetime = ts_field()
    report_id: str = Field(max_length=36)
    # False for a device's first backup; True when it differs from the version before it.
    changed: bool = False
    previous_id: int | None = Field(default=None, foreign_key="netdevice_config.id", ondelete="SET NULL")
    os_version: str | None = Field(default=None, max_length=128)


class ManagedNetDevice(SQLModel, table=True):
    __tablename__ = "managed_netdevice"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    host: str = Field(max_length=255)
    port: int = 22
    platform: str = Field(default="auto", max_length=32)
    username: str = Field(max_length=255)
    # Fernet token of the password; never returned by any API or page.
    password_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    created_by: str | None = Field(default=None, max_length=150)
