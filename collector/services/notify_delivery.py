"""From the outbox to the subscriber: fan events out to deliveries, send the due ones (retrying with
backoff), and send each subscriber's daily digest.

Several collector processes may run this at once. Work is claimed before it is done: a claim sets a
token and a lease (``claimed_until``) on the rows, with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL and one atomic ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` on SQLite, so no two
processes take the same row; a process that dies leaves rows whose lease runs out, and another
process takes them then. Nothing is kept in memory between rounds: a restart loses nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from collector.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCAL_TZ, format_date, translator
from collector.models.core import User, UserSite
from collector.models.notifications import (
    Channel,
    DeliveryStatus,
    NotifyAttempt,
    NotifyDelivery,
    NotifyEvent,
    NotifySubscription,
)
from collector.services.notify_channels import SendResult, post_webhook, send_email
from collector.services.notify_events import describe
from collector.settings import CollectorSettings

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


# ---- claiming ----------------------------------------------------------------------------------


def claim(engine: Engine, model: Any, conditions: Sequence[Any], *, now: datetime, limit: int) -> list[int]:
    """Lease up to ``limit`` rows of ``model`` matching ``conditions`` to this caller; their ids."""
    token = str(uuid.uuid4())
    free = or_(col(model.claimed_until).is_(None), col(model.claimed_until) < now)
    pick = select(model.id).where(*conditions, free).order_by(col(model.id)).limit(limit)
    lease = {"claim_token": token, "claimed_until": now + LEASE}
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            ids = list(session.exec(pick.with_for_update(skip_locked=True)).all())
            if ids:
                session.exec(update(model).where(col(model.id).in_(ids)).values(**lease))
        else:
            # One statement: SQLite takes its write lock before reading, so the pick is ours alone.
            session.exec(update(model).where(col(model.id).in_(pick.scalar_subquery())).values(**lease))
            ids = list(session.exec(select(model.id).where(model.claim_token == token)).all())
        session.commit()
    return ids


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Wait before retry number ``attempts`` + 1: base, 2 x base, 4 x base ..., at most six hours."""
    return min(timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def next_digest_at(now: datetime, hour: int) -> datetime:
    """The next daily digest time (``hour`` o'clock, Vietnam time) after ``now``."""
    local = now.astimezone(LOCAL_TZ)
    at = datetime.combine(local.date(), time(hour), tzinfo=LOCAL_TZ)
    if at <= local:
        at += timedelta(days=1)
    return at


# ---- fan-out -----------------------------------------------------------------------------------


def _site_ids_of(session: Session, user_id: int) -> set[int] | None:
    ids = set(session.exec(select(UserSite.site_id).where(UserSite.user_id == user_id)).all())
    return ids or None


def may_receive(session: Session, sub: NotifySubscription, site_id: int) -> bool:
    """The subscription is on, its user active, and the user may (still) see the event's site."""
    if not sub.enabled:
        return False
    user = session.get(User, sub.user_id)
    if user is None or user.disabled:
        return False
    scope = _site_ids_of(session, sub.user_id)
    return scope is None or site_id in scope


def _matches(sub: NotifySubscription, event: NotifyEvent) -> bool:
    if sub.site_id is not None and sub.site_id != event.site_id:
        return False
    if sub.params and "days" in sub.params:
        return event.payload.get("days") == sub.params["days"]
    return True


def dispatch_events(engine: Engine, settings: CollectorSettings, *, now: datetime, limit: int = 200) -> int:
    """Turn new outbox events into deliveries for the subscribers allowed to hear of them."""
    ids = claim(engine, NotifyEvent, [col(NotifyEvent.dispatched_at).is_(None)], now=now, limit=limit)
    for event_id in ids:
        with Session(engine) as session:
            event = session.get(NotifyEvent, event_id)
            if event is None:
                continue
            subs = session.exec(
                select(NotifySubscription).where(
                    NotifySubscription.event == event.kind, col(NotifySubscription.enabled).is_(True)
                )
            ).all()
            have = set(
                session.exec(
                    select(NotifyDelivery.subscription_id).where(NotifyDelivery.event_id == event_id)
                ).all()
            )
            for sub in subs:
                if sub.id in have or not _matches(sub, event) or not may_receive(session, sub, event.site_id):
                    continue
                digest = sub.channel == Channel.EMAIL and sub.digest
                session.add(
                    NotifyDelivery(
                        event_id=event_id,
                        subscription_id=sub.id or 0,
                        status=DeliveryStatus.DIGEST if digest else DeliveryStatus.PENDING,
                        next_attempt_at=next_digest_at(now, settings.notify_digest_hour) if digest else now,
                        created_at=now,
                    )
                )
            event.dispatched_at, event.claim_token, event.claimed_until = now, None, None
            session.add(event)
            session.commit()
    return len(ids)


# ---- sending -----------------------------------------------------------------------------------


def _lang(user: User | None) -> str:
    lang = user.language if user else None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def link(settings: CollectorSettings, path: str) -> str:
    return (settings.public_url or "").rstrip("/") + path


def webhook_body(
    event: NotifyEvent, delivery: NotifyDelivery, lang: str, settings: CollectorSettings
) -> bytes:
    message = describe(event.kind, event.payload, lang)
    doc = {
        "delivery_id": delivery.id,
        "event_id": event.id,
        "event": event.kind,
        "occurred_at": event.at.isoformat(),
        "site": {"code": event.payload.get("site_code"), "name": event.payload.get("site_name")},
        "summary": message.subject,
        "url": link(settings, message.path),
        "data": event.payload,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def email_text(event: NotifyEvent, lang: str, settings: CollectorSettings) -> tuple[str, str]:
    _ = translator(lang)
    message = describe(event.kind, event.payload, lang)
    site = f"{event.payload.get('site_name', '')} ({event.payload.get('site_code', '')})"
    lines = [
        message.subject,
        "",
        _("Site") + f": {site}",
        *message.lines,
        "",
        link(settings, message.path),
        "",
    ]
    lines.append(
        _(
            "You receive this because you subscribed to it in wardwatch: %(url)s",
            url=link(settings, "/notifications"),
        )
    )
    return message.subject, "\n".join(lines)


def _record(
    session: Session,
    deliveries: Sequence[NotifyDelivery],
    result: SendResult,
    *,
    now: datetime,
    settings: CollectorSettings,
) -> None:
    for d in deliveries:
        session.add(
            NotifyAttempt(
                delivery_id=d.id or 0,
                at=now,
                ok=result.ok,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
            )
        )
        d.attempts += 1
        d.claim_token, d.claimed_until = None, None
        if result.ok:
            d.status, d.sent_at, d.last_error = DeliveryStatus.SENT, now, None
        else:
            d.last_error = result.error
            if d.attempts >= settings.notify_max_attempts:
                d.status = DeliveryStatus.FAILED
            else:
                d.next_attempt_at = now + backoff(d.attempts, settings.notify_retry_base_seconds)
        session.add(d)


def _prepare(
    event: NotifyEvent, d: NotifyDelivery, sub: NotifySubscription, lang: str, settings: CollectorSettings
) -> Callable[[], SendResult]:
    """The send of one delivery, built while the rows are at hand (the webhook secret decrypted)."""
    if sub.channel == Channel.WEBHOOK:
        from collector.services.notify_subscriptions import secret_of

        body = webhook_body(event, d, lang, settings)
        secret = secret_of(sub, settings.data_dir)
        target, kind, delivery_id = sub.target, event.kind, d.id or 0
        return lambda: post_webhook(
            target,
            secret=secret,
            body=body,
            event=kind,
            delivery_id=delivery_id,
            timeout=settings.webhook_timeout_seconds,
        )
    subject, text = email_text(event, lang, settings)
    to = sub.target
    return lambda: send_email(settings, to=to, subject=subject, text=text)


def deliver_due(engine: Engine, settings: CollectorSettings, *, now: datetime, limit: int = 50) -> int:
    """Send every pending delivery whose time has come; returns how many were tried."""
    due = [NotifyDelivery.status == DeliveryStatus.PENDING, col(NotifyDelivery.next_attempt_at) <= now]
    ids = claim(engine, NotifyDelivery, due, now=now, limit=limit)
    for delivery_id in ids:
        with Session(engine) as session:
            d = session.get(NotifyDelivery, delivery_id)
            sub = session.get(NotifySubscription, d.subscription_id) if d else None
            event = session.get(NotifyEvent, d.event_id) if d else None
            if d is None or sub is None or event is None:
                continue
            if not may_receive(session, sub, event.site_id):
                d.status, d.claim_token, d.claimed_until = DeliveryStatus.DROPPED, None, None
                session.add(d)
                session.commit()
                continue
            lang = _lang(session.get(User, sub.user_id))
            try:
                send = _prepare(event, d, sub, lang, settings)
            except Exception as exc:  # a message that cannot be built is a failed attempt, not a crash
                log.exception("building notification %s failed", delivery_id)
                send = None
                result = SendResult(False, error=f"could not build the message: {type(exc).__name__}")
            session.commit()  # no transaction stays open while the network is slow
            if send is not None:
                result = send()
            if not result.ok:
                log.warning(
                    "notification %s to subscription %s failed: %s", delivery_id, sub.id, result.error
                )
            d = session.get(NotifyDelivery, delivery_id)
            if d is not None:
                _record(session, [d], result, now=now, settings=settings)
                session.commit()
    return len(ids)


# ---- the daily digest --------------------------------------------------------------------------


def digest_text(
    user: User, items: list[NotifyEvent], *, now: datetime, lang: str, settings: CollectorSettings
) -> tuple[str, str]:
    """The digest e-mail of one subscriber: events grouped by site, oldest first."""
    _ = translator(lang)
    day = format_date(now.astimezone(LOCAL_TZ).date(), lang)
    subject = _("wardwatch: daily digest of %(date)s, %(n)s events", date=day, n=len(items))
    lines = [
        _("Hello %(name)s,", name=user.full_name or user.username),
        "",
        _("What happened on your sites since the last digest:"),
        "",
    ]
    by_site: dict[str, list[NotifyEvent]] = {}
    for event in sorted(items, key=lambda e: (e.at, e.id or 0)):
        name = f"{event.payload.get('site_name', '')} ({event.payload.get('site_code', '')})"
        by_site.setdefault(name, []).append(event)
    for site, events in sorted(by_site.items()):
        lines.append(site)
        for event in events:
            message = describe(event.kind, event.payload, lang)
            lines.append(f"  - {format_date(event.at, lang)} {message.subject}")
            lines.append(f"    {link(settings, message.path)}")
        lines.append("")
    lines.append(
        _(
            "You receive this because you subscribed to it in wardwatch: %(url)s",
            url=link(settings, "/notifications"),
        )
    )
    return subject, "\n".join(lines)


def send_digests(engine: Engine, settings: CollectorSettings, *, now: datetime) -> int:
    """One e-mail per subscriber and address with everything their digest subscriptions collected."""
    due = [NotifyDelivery.status == DeliveryStatus.DIGEST, col(NotifyDelivery.next_attempt_at) <= now]
    with Session(engine) as session:
        groups = session.exec(
            select(NotifySubscription.user_id, NotifySubscription.target)
            .join(NotifyDelivery, col(NotifyDelivery.subscription_id) == col(NotifySubscription.id))
            .where(*due)
            .distinct()
        ).all()
    sent = 0
    for user_id, target in groups:
        subs = select(NotifySubscription.id).where(
            NotifySubscription.user_id == user_id, NotifySubscription.target == target
        )
        ids = claim(
            engine,
            NotifyDelivery,
            [*due, col(NotifyDelivery.subscription_id).in_(subs)],
            now=now,
            limit=10_000,
        )
        if not ids:
            continue  # another process took this digest
        with Session(engine) as session:
            user = session.get(User, user_id)
            rows = session.exec(
                select(NotifyDelivery, NotifyEvent, NotifySubscription)
                .join(NotifyEvent, col(NotifyEvent.id) == col(NotifyDelivery.event_id))
                .join(NotifySubscription, col(NotifySubscription.id) == col(NotifyDelivery.subscription_id))
                .where(col(NotifyDelivery.id).in_(ids))
            ).all()
            keep: list[Any] = []
            drop: list[Any] = []
            for d, event, sub in rows:
                (keep if may_receive(session, sub, event.site_id) else drop).append((d, event))
            for d, _event in drop:
                d.status, d.claim_token, d.claimed_until = DeliveryStatus.DROPPED, None, None
                session.add(d)
            if not keep or user is None:
                session.commit()
                continue
            lang = _lang(user)
            subject, text = digest_text(user, [e for _d, e in keep], now=now, lang=lang, settings=settings)
            session.commit()
            result = send_email(settings, to=target, subject=subject, text=text)
            deliveries = [session.get(NotifyDelivery, d.id) for d, _e in keep]
            _record(session, [d for d in deliveries if d is not None], result, now=now, settings=settings)
            session.commit()
            sent += 1
    return sent


def prune(engine: Engine, *, older_than: datetime) -> None:
    """Forget events (and their deliveries) older than the retention period once nothing waits on them."""
    from sqlalchemy import delete, exists

    waiting = exists().where(
        NotifyDelivery.event_id == NotifyEvent.id,
        col(NotifyDelivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.DIGEST]),
    )
    with Session(engine) as session:
        session.exec(
            delete(NotifyEvent).where(
                col(NotifyEvent.at) < older_than, col(NotifyEvent.dispatched_at).is_not(None), ~waiting
            )
        )
        session.commit()
