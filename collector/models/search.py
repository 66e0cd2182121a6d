"""What the global search and the software table read: every device's programs and addresses.

Kept in step with the ``software`` and ``network_interfaces`` sections by an ingest hook (only when a
section changes). ``SoftwarePackage`` holds each distinct (name, version) once, with its folded name
for substring search and its ``version_key`` for comparisons (``winrar<6.23``) in SQL; the city's
devices share a few tens of thousands of packages, so a search scans those, not millions of rows.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class SoftwarePackage(SQLModel, table=True):
    __tablename__ = "software_package"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_software_package"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    version: str = Field(default="", max_length=128)  # "" when the program reports none
    name_fold: str = Field(max_length=255, index=True)  # lower-case, for case-insensitive search
    version_key: str | None = Field(default=None, max_length=200, index=True)
    vendor: str | None = Field(default=None, max_length=255)


class DeviceSoftware(SQLModel, table=True):
    __tablename__ = "device_software"
    __table_args__ = (Index("ix_device_software_package_site", "package_id", "site_id"),)

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    package_id: int = Field(foreign_key="software_package.id", primary_key=True, ondelete="CASCADE")
    # The device's site, kept here so that scoping a search needs no join.
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    install_date: date | None = None


class DeviceAddress(SQLModel, table=True):
    """An IP (without prefix) or a MAC (lower-case, colons) one of the device's interfaces has."""

    __tablename__ = "device_address"
    __table_args__ = (Index("ix_device_address_value", "value"),)

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=4)  # ip, mac
    value: str = Field(primary_key=True, max_length=64)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    interface: str | None = Field(default=None, max_length=255)
