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
    # Behind TLS in production; plain http on 127.0.0.1 for ``wardwatch up``.
    secure_cookies: bool = False
    # The address agents reach the collector at (e.g. https://wardwatch.hanoi.gov.vn), shown in the
    # enroll command; unset: the address the administrator's browser used.
    public_url: str | None = None
    # An agent silent for longer than this is shown as stale.
    stale_agent_minutes: int = Field(default=30, ge=1)
    # Finding due dates by severity, in days.
    due_days: dict[str, int] = Field(
        default_factory=lambda: {"critical": 15, "high": 30, "medium": 90, "low": 180, "info": 365}
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
