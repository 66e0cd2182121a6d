"""The periodic scan for time-based events: certificates crossing 60, 30 or 7 days before expiry,
agents silent for the number of days someone subscribed to. Each threshold fires once: the event's
dedupe key names the certificate (or the agent's silence) and the threshold, so a second scan, or a
second collector process scanning at the same time, records nothing new."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from collector.models.certificates import CertificateRole, DeviceCertificate, TlsEndpointRow
from collector.models.core import Agent, Device
from collector.models.notifications import NotifySubscription
from collector.services.notify_events import emit

CERT_THRESHOLDS = (60, 30, 7)


def threshold_for(days_left: int) -> int | None:
    """The smallest threshold a certificate with ``days_left`` has crossed, if any."""
    crossed = [t for t in CERT_THRESHOLDS if days_left <= t]
    return min(crossed) if crossed else None


def scan_certificates(session: Session, *, now: datetime) -> int:
    """One event per site, certificate and threshold; an already expired one is not "expiring"."""
    horizon = now + timedelta(days=max(CERT_THRESHOLDS))
    found: dict[tuple[int, str], dict] = {}
    signing = session.exec(
        select(DeviceCertificate, Device.hostname)
        .join(Device, col(Device.id) == col(DeviceCertificate.device_id))
        .where(
            DeviceCertificate.role == CertificateRole.SIGNING,
            col(DeviceCertificate.not_after) > now,
            col(DeviceCertificate.not_after) <= horizon,
        )
    ).all()
    for cert, hostname in signing:
        item = found.setdefault(
            (cert.site_id, cert.sha256),
            {
                "sha256": cert.sha256,
                "name": cert.subject_cn or cert.serial,
                "subject": cert.subject,
                "kind": "signing",
                "not_after": cert.not_after,
                "hosts": set(),
                "device_id": cert.device_id,
            },
        )
        item["hosts"].add(hostname)
    tls = session.exec(
        select(TlsEndpointRow, Device.hostname)
        .join(Device, col(Device.id) == col(TlsEndpointRow.device_id))
        .where(
            col(TlsEndpointRow.not_after).is_not(None),
            col(TlsEndpointRow.not_after) > now,
            col(TlsEndpointRow.not_after) <= horizon,
            col(TlsEndpointRow.leaf_sha256).is_not(None),
        )
    ).all()
    for row, hostname in tls:
        item = found.setdefault(
            (row.site_id, row.leaf_sha256 or ""),
            {
                "sha256": row.leaf_sha256,
                "name": row.target,
                "subject": row.leaf_subject,
                "kind": "tls",
                "not_after": row.not_after,
                "hosts": set(),
                "device_id": row.device_id,
            },
        )
        item["hosts"].add(hostname)
    recorded = 0
    for (site_id, sha256), item in found.items():
        days_left = (item["not_after"] - now).days
        threshold = threshold_for(days_left)
        if threshold is None:
            continue
        payload = {
            **item,
            "not_after": item["not_after"].isoformat(),
            "hosts": sorted(item["hosts"])[:20],
            "days_left": days_left,
            "threshold": threshold,
        }
        key = f"certificate.expiring:{site_id}:{sha256}:{threshold}"
        recorded += emit(
            session, kind="certificate.expiring", site_id=site_id, payload=payload, dedupe_key=key, at=now
        )
    return recorded


def scan_silent_agents(session: Session, *, now: datetime) -> int:
    """For every N someone subscribed to, one event per agent silent N days (per silence)."""
    day_values: set[int] = set()
    for params in session.exec(
        select(NotifySubscription.params).where(
            NotifySubscription.event == "agent.silent", col(NotifySubscription.enabled).is_(True)
        )
    ).all():
        if params and isinstance(params.get("days"), int):
            day_values.add(params["days"])
    if not day_values:
        return 0
    recorded = 0
    agents = session.exec(
        select(Agent).where(
            col(Agent.revoked_at).is_(None), col(Agent.enrolled_at) <= now - timedelta(days=min(day_values))
        )
    ).all()
    for agent in agents:
        last = agent.last_seen_at or agent.enrolled_at
        for days in sorted(day_values):
            if last > now - timedelta(days=days):
                continue
            # The silence is named by its start: an agent that reports again and falls silent later
            # is news again.
            key = f"agent.silent:{agent.id}:{days}:{last.isoformat()}"
            payload = {
                "agent_id": agent.id,
                "hostname": agent.hostname,
                "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
                "days": days,
            }
            recorded += emit(
                session, kind="agent.silent", site_id=agent.site_id, payload=payload, dedupe_key=key, at=now
            )
    return recorded
