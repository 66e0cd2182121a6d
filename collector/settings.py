"""Collector settings: pydantic-settings, from ``WARDWATCH_*`` environment variables or arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    # Processes that parse and store reports beside each serving process (collector.services.ingest_pool),
    # so that the serving process's GIL only serves HTTP; they also run the job worker. 0: ingest in a
    # worker thread of the serving process and the job worker there too (the tests' default).
    ingest_processes: int = Field(default=1, ge=0, le=16)
    # A report whose inflated body is at most this many bytes (an hourly delta is ~1.5 KB, a heartbeat
    # less) is stored in a worker thread of the serving process even when there are ingest processes:
    # its parse is tens of microseconds, and its cost is the database round trips, which one ingest
    # process did one report at a time (issue 15: 8 statements, ~90% of a delta's time was waiting in
    # line). At most ``ingest_inline_concurrency`` of them at once per serving process (on SQLite,
    # which writes one transaction at a time, at most ``ingest_concurrency``). 0: every report goes to
    # an ingest process.
    ingest_inline_max_bytes: int = Field(default=16384, ge=0, le=1024 * 1024)
    ingest_inline_concurrency: int = Field(default=8, ge=1, le=64)
    # Background jobs (``collector.services.jobs``): each process runs a worker thread unless off
    # (another process or ``wardwatch jobs run-pending`` then does the work). Seconds between polls
    # when nothing woke it; a claimed job whose worker vanished is retried after the lease.
    job_worker: bool = True
    job_poll_seconds: float = Field(default=1.0, gt=0, le=300)
    # Seconds a worker woken by a report waits before claiming, so the jobs of the reports arriving
    # meanwhile are claimed and done as one batch (0: at once, one claim per report).
    job_gather_seconds: float = Field(default=0.25, ge=0, le=60)
    job_lease_seconds: int = Field(default=300, ge=5)
    job_max_attempts: int = Field(default=8, ge=1, le=100)
    # Ready jobs of a batchable kind (device.score, device.vulns) a worker claims and does in one
    # transaction: a claim, a commit and the batched reads per batch instead of per job.
    job_batch_size: int = Field(default=50, ge=1, le=1000)
    # Seconds a site's snapshot job waits after the first report that asks for it, so the reports of
    # a busy site meanwhile share one count of the whole site (0: run at the next worker pass).
    job_snapshot_delay_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Request bodies by route class, counted on the wire while they stream in (reports are also
    # held to max_report_bytes after decompression).
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_photo_request_bytes: int = Field(default=11 * 1024 * 1024, ge=1024)
    max_import_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
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

    # The console's address as users and agents reach it (https://wardwatch.example.gov.vn), for links
    # in e-mails and webhooks and the enroll command; unset: messages carry paths only and the enroll
    # command shows the address the administrator's browser used.
    public_url: str | None = None
    # Change history is kept this many days.
    history_retention_days: int = Field(default=730, ge=30)
    # Retention of raw reports (docs/architecture.md, "Bounded storage"), applied by the daily job and
    # ``wardwatch db prune``: every raw report body is kept this many days, then only each device's
    # daily snapshot (its day's last full report) until ``snapshot_retention_days``; a report a finding,
    # a publication or a device's current state refers to is never pruned.
    raw_report_retention_days: int = Field(default=90, ge=1)
    snapshot_retention_days: int = Field(default=730, ge=90)
    # Rows deleted per statement (and per transaction) when pruning, so that ingest never waits long.
    prune_batch_size: int = Field(default=5000, ge=1)
    # The retention job runs this often in each collector process (0: never in this process; one
    # process at a time prunes, see collector.services.retention).
    retention_interval_hours: float = Field(default=24, ge=0)
    # The overview's stored figures (collector.services.overview.daily_job): every site's snapshot of
    # today and the city's finished days of the 90-day chart, this often (0: never in this process).
    # The overview's GET only reads them, counting a day not stored yet live.
    overview_interval_minutes: float = Field(default=60, ge=0)

    # This process runs the periodic jobs (collector.scheduler: notifications, housekeeping). Each job
    # runs once per interval across all processes sharing the database whatever this says; false keeps
    # a process to serving requests only (docs/operations.md, "Several collector processes").
    scheduler_enabled: bool = True

    # --- notifications (docs/notifications.md) ---
    # E-mail goes through this SMTP server; without smtp_host e-mail deliveries fail and are retried.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # starttls: plain connection upgraded with STARTTLS (port 587); ssl: TLS from the start (465);
    # none: no TLS (only to a relay on the same host).
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "wardwatch@localhost"
    # A CA bundle to verify the SMTP server with (a city's own CA); default: the system's.
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    # The background sender wakes up this often (0: this process sends nothing; another one may).
    notify_interval_seconds: float = Field(default=30, ge=0)
    # Time-based events (certificates expiring, agents silent) are looked for this often.
    notify_scan_minutes: int = Field(default=60, ge=1)
    # The daily digest leaves at this hour, Vietnam time.
    notify_digest_hour: int = Field(default=7, ge=0, le=23)
    # A failed delivery is retried after base, 2 x base, 4 x base ... (at most 6 h apart), then given up.
    notify_retry_base_seconds: float = Field(default=60, gt=0)
    notify_max_attempts: int = Field(default=8, ge=1, le=30)
    # Delivered and failed notifications are kept this many days.
    notify_retention_days: int = Field(default=90, ge=7)

    # The issuing body printed on documents (Decree 30/2020/ND-CP): the parent body, the issuing unit,
    # the unit's abbreviation in document symbols ("Số: 12/BB-SKHCN") and the place of the date line.
    org_parent_body: str = Field(default="ỦY BAN NHÂN DÂN THÀNH PHỐ", max_length=200)
    org_unit: str = Field(default="SỞ KHOA HỌC VÀ CÔNG NGHỆ", max_length=200)
    org_unit_code: str = Field(default="SKHCN", max_length=20, pattern=r"^[A-Za-zĐđ0-9.]+$")
    org_place: str = Field(default="", max_length=100)
