"""Known vulnerabilities: the NVD and KEV data as imported, the CPE match criteria indexed by
vendor:product, and what matched on each device (the findings themselves live in ``finding``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class VulnSource(SQLModel, table=True):
    """One data source (``nvd``, ``kev``): how fresh it is and where an online fetch stands."""

    __tablename__ = "vuln_source"

    name: str = Field(primary_key=True, max_length=16)
    # The data's own date: KEV's dateReleased, the newest NVD lastModified imported.
    data_date: datetime | None = ts_field(nullable=True)
    version: str | None = Field(default=None, max_length=64)  # KEV catalogVersion
    imported_at: datetime | None = ts_field(nullable=True)
    records: int = 0
    # Online fetching: the end of the last completed lastModified window (the next fetch starts
    # there), and the window and page in progress so an interrupted fetch resumes.
    fetched_until: datetime | None = ts_field(nullable=True)
    cursor: dict[str, Any] | None = json_field()


class VulnState(SQLModel, table=True):
    """A single row: the data generation, bumped by every import that changed something, so the
    matcher's in-memory index and each device's last evaluation know when they are stale."""

    __tablename__ = "vuln_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = 0
    changed_at: datetime | None = ts_field(nullable=True)


class Cve(SQLModel, table=True):
    __tablename__ = "vuln_cve"

    id: str = Field(primary_key=True, max_length=32)
    published: datetime | None = ts_field(nullable=True)
    last_modified: datetime = ts_field(default_now=False)
    status: str = Field(default="", max_length=40)
    description: str = ""
    cvss_score: float | None = None
    severity: str | None = Field(default=None, max_length=16)
    cvss_version: str | None = Field(default=None, max_length=8)
    cvss_vector: str | None = Field(default=None, max_length=200)
    references: list[str] | None = json_field()
    # The configurations' operators: [[op, negate, [[node op, node negate], ...]], ...]; the criteria
    # are the ``vuln_cpe_match`` rows (cfg, node) of this CVE.
    config_ops: list[Any] | None = json_field()


class CpeMatchRow(SQLModel, table=True):
    """One cpeMatch of an NVD configuration."""

    __tablename__ = "vuln_cpe_match"
    __table_args__ = (Index("ix_vuln_cpe_match_product", "vendor", "product"),)

    id: int | None = Field(default=None, primary_key=True)
    cve_id: str = Field(foreign_key="vuln_cve.id", index=True, max_length=32, ondelete="CASCADE")
    cfg: int
    node: int
    vulnerable: bool
    part: str = Field(max_length=1)
    vendor: str = Field(max_length=200)
    product: str = Field(max_length=200)
    version: str = Field(default="*", max_length=100)
    update: str = Field(default="*", max_length=100)
    edition: str = Field(default="*", max_length=100)
    language: str = Field(default="*", max_length=50)
    sw_edition: str = Field(default="*", max_length=100)
    target_sw: str = Field(default="*", max_length=100)
    target_hw: str = Field(default="*", max_length=100)
    other: str = Field(default="*", max_length=100)
    start_incl: str | None = Field(default=None, max_length=100)
    start_excl: str | None = Field(default=None, max_length=100)
    end_incl: str | None = Field(default=None, max_length=100)
    end_excl: str | None = Field(default=None, max_length=100)


class KevEntry(SQLModel, table=True):
    __tablename__ = "vuln_kev"

    cve_id: str = Field(primary_key=True, max_length=32)
    vendor: str = Field(default="", max_length=200)
    product: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=500)
    date_added: date
    due_date: date | None = None
    ransomware: str = Field(default="Unknown", max_length=16)
    required_action: str = ""


class VulnHit(SQLModel, table=True):
    """A CVE that applies to a program on a device, as of the device's last evaluation."""

    __tablename__ = "vuln_hit"
    __table_args__ = (Index("ix_vuln_hit_site_kev", "site_id", "kev"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    cve_id: str = Field(max_length=32, index=True)
    product: str = Field(max_length=401, index=True)  # vendor:product
    label: str = Field(max_length=200)
    installed_version: str | None = Field(default=None, max_length=200)
    fixed_version: str | None = Field(default=None, max_length=100)
    kev: bool = False
    severity: str | None = Field(default=None, max_length=16)


class VulnDeviceState(SQLModel, table=True):
    """What a device's last evaluation read, so an unchanged device is not evaluated again."""

    __tablename__ = "vuln_device_state"

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    inputs_hash: str = Field(max_length=64)
    generation: int = 0
    evaluated_at: datetime = ts_field()
    mapped: int = 0
    unmapped: int = 0
    # The unmapped names stored last: {"site": id, "items": [[source, name, vendor, version], ...]}.
    unmapped_list: dict[str, Any] | None = json_field()


class VulnUnmapped(SQLModel, table=True):
    """A program on a device that no mapping rule names (no finding can be made for it)."""

    __tablename__ = "vuln_unmapped"

    device_id: int = Field(foreign_key="device.id", primary_key=True, ondelete="CASCADE")
    source: str = Field(primary_key=True, max_length=16)
    name: str = Field(primary_key=True, max_length=300)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    vendor: str | None = Field(default=None, max_length=300)
    version: str | None = Field(default=None, max_length=200)


class VulnLocalMapping(SQLModel, table=True):
    """An administrator's mapping of one exact program name to a product of the map, or ``ignore``."""

    __tablename__ = "vuln_local_mapping"

    source: str = Field(primary_key=True, max_length=16)
    name: str = Field(primary_key=True, max_length=300)  # lowercased
    product_id: str = Field(max_length=64)  # a rule id of software_cpe.yaml, or "ignore"
    created_by: str = Field(max_length=150)
    created_at: datetime = ts_field()
