"""Sites, users and their sessions, agents and enroll secrets, devices, reports and current state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from collector.models.types import json_field, ts_field


class Role(StrEnum):
    ADMIN = "admin"
    TECHNICIAN = "technician"
    INSPECTOR = "inspector"
    PLANNER = "planner"
    VIEWER = "viewer"


class DeviceKind(StrEnum):
    HOST = "host"
    NETWORK_DEVICE = "network_device"


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=255)
    # A free label for a cluster of communes (since July 2025 there are no districts: the city has
    # two levels, city and commune); used to filter the overview. Empty: no group.
    group_name: str | None = Field(default=None, max_length=255, index=True)
    address: str | None = Field(default=None, max_length=500)
    created_at: datetime = ts_field()


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=150)
    full_name: str | None = Field(default=None, max_length=255)
    # Position (chức vụ), printed with the full name in signature blocks.
    title: str | None = Field(default=None, max_length=255)
    password_hash: str
    role: str = Field(max_length=32)
    disabled: bool = False
    # Site scope: empty means every site.
    created_at: datetime = ts_field()
    language: str | None = Field(default=None, max_length=8)
    # Set by an administrator's password reset: the one-time password must be changed before anything else.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class UserSite(SQLModel, table=True):
    """A user scoped to some sites sees only those; a user with no row here sees every site."""

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", primary_key=True, ondelete="CASCADE")


class AuthSession(SQLModel, table=True):
    """A web session or an API bearer token; only the SHA-256 of the secret is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=8)  # web, api
    csrf_token: str | None = Field(default=None, max_length=64)
    created_at: datetime = ts_field()
    expires_at: datetime = ts_field(default_now=False)
    address: str | None = Field(default=None, max_length=64)


class AuditEvent(SQLModel, table=True):
    """One audited event; the sites it concerns are in ``AuditEventSite`` (none: a city-wide event)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(index=True)
    actor: str = Field(max_length=150)  # username, agent:<id>, system
    action: str = Field(max_length=100, index=True)
    target: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=64, index=True)
    detail: dict[str, Any] | None = json_field()
    # Failed anonymous attempts are counted on one row per (kind, address, minute), named by ``bucket``.
    count: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    bucket: str | None = Field(default=None, max_length=200, unique=True, index=True)


class EnrollSecret(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    secret_hash: str = Field(index=True, unique=True, max_length=64)
    label: str | None = Field(default=None, max_length=255)
    created_at: datetime = ts_field()
    created_by: str | None = Field(default=None, max_length=150)
    expires_at: datetime | None = ts_field(nullable=True)
    revoked_at: datetime | None = ts_field(nullable=True)
    uses: int = 0
    max_uses: int | None = None  # None: any number of agents until it expires


class Agent(SQLModel, table=True):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    key_hash: str = Field(index=True, unique=True, max_length=64)
    hostname: str | None = Field(default=None, max_length=255)
    version: str | None = Field(default=None, max_length=64)
    enrolled_at: datetime = ts_field()
    last_seen_at: datetime | None = ts_field(nullable=True)
    revoked_at: datetime | None = ts_field(nullable=True)
    # A key handed out by ``rotate-key`` and not used yet; its first use retires ``key_hash``.
    pending_key_hash: str | None = Field(default=None, index=True, unique=True, max_length=64)
    key_rotated_at: datetime | None = ts_field(nullable=True)


class Device(SQLModel, table=True):
    __table_args__ = (
        Index("ix_device_identity", "machine_id", "serial", "mac"),
        # The device tables sort by these (keyset pages walk the index: page 2,000 costs what page 1 does).
        Index("ix_device_hostname_id", "hostname", "id"),
        Index("ix_device_last_report_id", "last_report_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    kind: str = Field(default=DeviceKind.HOST, max_length=32)
    hostname: str = Field(max_length=255)
    machine_id: str | None = Field(default=None, max_length=128)
    serial: str | None = Field(default=None, max_length=128)
    mac: str | None = Field(default=None, max_length=32)
    # Network devices: the name and address they are polled by.
    platform: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=255)
    agent_id: str | None = Field(default=None, foreign_key="agent.id", index=True, ondelete="SET NULL")
    # Set when this device shares its machine id with another one (a cloned disk image).
    clone_of_id: int | None = Field(default=None, foreign_key="device.id", ondelete="SET NULL")
    first_seen_at: datetime = ts_field()
    last_report_at: datetime | None = ts_field(nullable=True)
    last_full_report_id: str | None = Field(default=None, max_length=36)


class RawReport(SQLModel, table=True):
    """Every accepted report but heartbeats, as received (the agent's gzip bytes), deduplicated by
    ``report_id``; pruned by ``collector.services.retention``.

    On PostgreSQL the table is partitioned by month of ``collected_at``
    (``collector.services.partitions``): its primary key there is (id, collected_at), and uniqueness is
    (report_id, collected_at), which a resent report (same id, same time) still violates. SQLite holds
    the same unique index.
    """

    __table_args__ = (
        Index("uq_rawreport_report_id_collected_at", "report_id", "collected_at", unique=True),
        Index("ix_rawreport_collected_at", "collected_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: str = Field(max_length=36)
    # No index on agent_id or received_at: no query selects by them (a device's reports are found by
    # device_id), and each index costs every report ~1 KB per device per day (bench/storage.py).
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE")
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    schema_version: int
    collected_at: datetime = ts_field(default_now=False)
    received_at: datetime = ts_field()
    size_bytes: int
    body_gz: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class DeviceSection(SQLModel, table=True):
    """The current value of one fact section of a device; rewritten only when its hash changes."""

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    section: str = Field(primary_key=True, max_length=64)
    hash: str = Field(max_length=64)
    data: Any = json_field(nullable=False)
    updated_at: datetime = ts_field()
    report_id: str = Field(max_length=36)


class DeviceResult(SQLModel, table=True):
    """The latest verdict of one check (and target) on a device."""

    __table_args__ = (UniqueConstraint("device_id", "check_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    check_id: str = Field(max_length=200, index=True)
    target: str = Field(default="", max_length=500)
    status: str = Field(max_length=16)
    evidence: str = ""
    # The evidence as {"id": msgid, "params": {...}} when the agent sent one: rendered in the reader's
    # language (collector.i18n.messages); ``evidence`` stays the English the agent wrote.
    evidence_message: dict[str, Any] | None = json_field()
    observed: dict[str, Any] | None = json_field()
    updated_at: datetime = ts_field()
    report_id: str = Field(max_length=36)
