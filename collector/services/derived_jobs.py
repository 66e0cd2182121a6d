"""Derived work a report queues instead of doing on its request path (``collector.services.jobs``).

``device.vulns``: match the device's programs and OS against the vulnerability data (its findings,
then the site's daily snapshot, which counts them). ``device.score``: the replacement score. Both are
deduplicated per device, so a device reporting often is evaluated once per worker pass, and both read
the device's state when they run, so the newest report's data is what they see. ``site.snapshot``:
today's figures of a site, counted over all its devices, at most once per
``job_snapshot_delay_seconds`` per site however many of its devices reported meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from collector.models.core import Device
from collector.models.types import utcnow
from collector.services.jobs import enqueue, queues, register, register_batch
from collector.settings import CollectorSettings

VULNS, SCORE, SNAPSHOT = "device.vulns", "device.score", "site.snapshot"
# A device's new findings are counted by its site's snapshot, which its vulns job queues.
queues(VULNS, SNAPSHOT)


def queue_vulns(session: Session, *, device_id: int, report_id: str, at: datetime) -> None:
    enqueue(
        session,
        VULNS,
        {"device_id": device_id, "report_id": report_id, "at": at.isoformat()},
        dedupe_key=f"{VULNS}:{device_id}",
    )


def queue_score(session: Session, *, device_id: int) -> None:
    # The payload names the device only: a pending job already says all a newer one would.
    enqueue(
        session, SCORE, {"device_id": device_id}, dedupe_key=f"{SCORE}:{device_id}", replace_payload=False
    )


def queue_site_snapshot(session: Session, *, site_id: int, delay_s: float = 0.0) -> None:
    # Every report of the site asks for it: a pending one is enough, and no report waits on another.
    # ``delay_s``: the pending job runs that much later, so the reports of a busy site meanwhile
    # share one count of the whole site instead of one each (``job_snapshot_delay_seconds``).
    enqueue(
        session,
        SNAPSHOT,
        {"site_id": site_id},
        dedupe_key=f"{SNAPSHOT}:{site_id}",
        replace_payload=False,
        run_after=utcnow() + timedelta(seconds=delay_s) if delay_s > 0 else None,
    )


@register(SNAPSHOT)
def run_site_snapshot(session: Session, payload: dict[str, Any], settings: CollectorSettings) -> None:
    from collector.services.snapshots import record_site

    record_site(session, site_id=int(payload["site_id"]))


@register(VULNS)
def run_vulns(session: Session, payload: dict[str, Any], settings: CollectorSettings) -> None:
    run_vulns_batch(session, [payload], settings)


@register_batch(VULNS)
def run_vulns_batch(session: Session, payloads: list[dict[str, Any]], settings: CollectorSettings) -> None:
    from collector.services.vulns import evaluate_device

    sites: set[int] = set()
    for payload in sorted(payloads, key=lambda p: int(p["device_id"])):
        device = session.get(Device, int(payload["device_id"]))
        if device is None:
            continue  # removed since: nothing to evaluate
        evaluation = evaluate_device(
            session,
            device=device,
            due_days=settings.due_days,
            report_id=payload.get("report_id"),
            now=datetime.fromisoformat(payload["at"]) if payload.get("at") else None,
        )
        if evaluation.evaluated:
            sites.add(device.site_id)
    for site_id in sorted(sites):
        # The site's snapshot counts these findings: queued (not written here, where locking the
        # site after the findings deadlocked with another worker's snapshot on PostgreSQL).
        queue_site_snapshot(session, site_id=site_id, delay_s=settings.job_snapshot_delay_seconds)


@register(SCORE)
def run_score(session: Session, payload: dict[str, Any], settings: CollectorSettings) -> None:
    run_score_batch(session, [payload], settings)


@register_batch(SCORE)
def run_score_batch(session: Session, payloads: list[dict[str, Any]], settings: CollectorSettings) -> None:
    from collector.services.scoring import load_config, recompute_scores

    ids = sorted({int(p["device_id"]) for p in payloads})
    recompute_scores(session, device_ids=ids, config=load_config(settings))
