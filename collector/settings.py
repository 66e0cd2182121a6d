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
    # What one report may hold (docs/architecture.md, "Ingest"): over a bound the report is refused
    # with 422 naming the field and the limit. A commune PC has a few hundred programs (a Linux desktop
    # some thousands), a few NICs, dozens of certificates, and a router configuration of tens of KB.
    report_max_results: int = Field(default=5000, ge=1)
    report_max_software: int = Field(default=10000, ge=1)
    report_max_interfaces: int = Field(default=512, ge=1)
    report_max_certificates: int = Field(default=2000, ge=1)
    report_max_lan_hosts: int = Field(default=4096, ge=1)
    report_max_config_bytes: int = Field(default=1024 * 1024, ge=1024)
    report_max_string_chars: int = Field(default=16384, ge=256)
    # Results with check ids the catalog does not know, kept per device (the rest are dropped).
    report_max_unknown_results: int = Field(default=200, ge=0)
    # Reports ingested at once; the others wait (off the event loop: pages keep answering).
    ingest_concurrency: int = Field(default=2, ge=1, le=64)
    # Request bodies by route class, counted on the wire while they stream in (reports are also
    # held to max_report_bytes after decompression).
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_photo_request_bytes: int = Field(default=11 * 1024 * 1024, ge=1024)
    max_import_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Days a web session or an API token lives.
    session_hours: int = Field(default=12, ge=1)
    token_hours: int = Field(default=12, ge=1)
    # Behind TLS in production; plain http on 127.0.0.1 for ``wardwatch up``.
    secure_cookies: bool = False
    # An agent silent for longer than this is shown as stale.
    stale_agent_minutes: int = Field(default=30, ge=1)
    # Finding due dates by severity, in days.
    due_days: dict[str, int] = Field(
        default_factory=lambda: {"critical": 15, "high": 30, "medium": 90, "low": 180, "info": 365}
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
