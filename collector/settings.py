"""Collector settings: pydantic-settings, from ``WARDWATCH_*`` environment variables or arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CollectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARDWATCH_", extra="ignore")

    database_url: str = "sqlite:///wardwatch-data/wardwatch.db"
    data_dir: Path = Path("wardwatch-data")
    # Largest report body accepted, after decompression.
    max_report_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Days a web session or an API token lives.
    session_hours: int = Field(default=12, ge=1)
    token_hours: int = Field(default=12, ge=1)
    # Cookies are Secure whenever a request came over TLS; this forces the flag on plain http too.
    secure_cookies: bool = False
    # Addresses (IPs or CIDRs, comma-separated, or "*") whose X-Forwarded-* and X-Client-Cert headers
    # are believed: the reverse proxy's. None by default.
    forwarded_allow_ips: str = ""
    # Agents must present a valid, unrevoked certificate from the collector's agent CA (mutual TLS),
    # directly or through a trusted proxy that verified it.
    require_client_cert: bool = False
    # Days an agent's client certificate lives; agents renew when a third of it is left.
    agent_cert_days: int = Field(default=90, ge=1, le=825)
    # /docs, /redoc and the OpenAPI document without login.
    public_api_docs: bool = False
    # An agent silent for longer than this is shown as stale.
    stale_agent_minutes: int = Field(default=30, ge=1)
    # Finding due dates by severity, in days.
    due_days: dict[str, int] = Field(
        default_factory=lambda: {"critical": 15, "high": 30, "medium": 90, "low": 180, "info": 365}
    )

    # The issuing body printed on documents (Decree 30/2020/ND-CP): the parent body, the issuing unit,
    # the unit's abbreviation in document symbols ("Số: 12/BB-SKHCN") and the place of the date line.
    org_parent_body: str = Field(default="ỦY BAN NHÂN DÂN THÀNH PHỐ", max_length=200)
    org_unit: str = Field(default="SỞ KHOA HỌC VÀ CÔNG NGHỆ", max_length=200)
    org_unit_code: str = Field(default="SKHCN", max_length=20, pattern=r"^[A-Za-zĐđ0-9.]+$")
    org_place: str = Field(default="", max_length=100)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
