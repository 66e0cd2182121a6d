"""Notification subscriptions: a user's own, managed by them; admins see (and may switch off or
delete) those within their scope. Keyword-only functions, no HTTP.

A webhook subscription gets a random secret for HMAC signatures, shown once (at creation or when
rotated) and stored encrypted with the collector's credential key.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from collector.models.core import Role, Site, User
from collector.models.notifications import (
    Channel,
    DeliveryStatus,
    NotifyAttempt,
    NotifyDelivery,
    NotifyEvent,
    NotifySubscription,
)
from collector.models.types import utcnow
from collector.services.devices import site_in_scope
from collector.services.errors import Conflict, NotFound, ServiceError
from collector.services.notify_events import EVENT_TYPES

Scope = Collection[int] | None
MAX_PER_USER = 50
DEFAULT_SILENT_DAYS = 3
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
# Webhooks make the collector send requests where a user says: only staff may point it somewhere.
WEBHOOK_ROLES = (Role.ADMIN, Role.TECHNICIAN)


@dataclass(frozen=True)
class Owner:
    """Who acts: the caller's user id, name, role and site scope."""

    user_id: int
    username: str
    role: str
    scope: Scope


def owner_of(principal: Any) -> Owner:
    """The caller of an API route or page (a ``collector.http.deps.Principal``) as an owner."""
    return Owner(
        user_id=principal.user_id,
        username=principal.username,
        role=str(principal.role),
        scope=principal.site_ids,
    )


def _key(data_dir: Path) -> Fernet:
    from collector.services.netdevices import load_key

    return Fernet(load_key(data_dir))


def secret_of(sub: NotifySubscription, data_dir: Path) -> str:
    if not sub.secret_enc:
        raise ServiceError("this subscription has no signing secret")
    return _key(data_dir).decrypt(sub.secret_enc.encode()).decode()


def _validate_target(channel: str, target: str) -> str:
    target = target.strip()
    if channel == Channel.EMAIL:
        if len(target) > 254 or not EMAIL.match(target):
            raise ServiceError("not an e-mail address")
        return target
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(target) > 500:
        raise ServiceError("the webhook address must be an http:// or https:// URL (at most 500 characters)")
    if parts.username or parts.password:
        raise ServiceError("put no password in the webhook URL: the messages are signed instead")
    return target


def create_subscription(
    session: Session,
    *,
    owner: Owner,
    event: str,
    channel: str,
    target: str,
    site_code: str | None = None,
    digest: bool = False,
    days: int | None = None,
    data_dir: Path,
) -> tuple[NotifySubscription, str | None]:
    """A new subscription of ``owner``; returns it and, for a webhook, its secret (shown once)."""
    kind = EVENT_TYPES.get(event)
    if kind is None or not kind.subscribable:
        known = ", ".join(k for k, t in EVENT_TYPES.items() if t.subscribable)
        raise ServiceError("unknown event %(event)s; one of %(known)s", event=repr(event), known=known)
    if channel not in Channel.ALL:
        raise ServiceError(
            "unknown channel %(channel)s; one of %(choices)s",
            channel=repr(channel),
            choices=", ".join(Channel.ALL),
        )
    if channel == Channel.WEBHOOK and owner.role not in WEBHOOK_ROLES:
        raise ServiceError("only administrators and technicians may add webhooks")
    if digest and channel != Channel.EMAIL:
        raise ServiceError("only e-mail can be sent as a daily digest")
    target = _validate_target(channel, target)
    site_id = None
    if site_code:
        site_id = site_in_scope(session, site_code, scope=owner.scope).id
    params: dict[str, Any] | None = None
    if kind.takes_days:
        days = DEFAULT_SILENT_DAYS if days is None else days
        if not 1 <= days <= 365:
            raise ServiceError("the number of days must be between 1 and 365")
        params = {"days": days}
    count = session.exec(
        select(func.count())
        .select_from(NotifySubscription)
        .where(NotifySubscription.user_id == owner.user_id)
    ).one()
    if count >= MAX_PER_USER:
        raise Conflict("at most %(max_per_user)s subscriptions per user", max_per_user=MAX_PER_USER)
    secret = secrets.token_urlsafe(32) if channel == Channel.WEBHOOK else None
    sub = NotifySubscription(
        user_id=owner.user_id,
        site_id=site_id,
        event=event,
        channel=channel,
        target=target,
        digest=digest,
        params=params,
        secret_enc=_key(data_dir).encrypt(secret.encode()).decode() if secret else None,
        created_by=owner.username,
    )
    session.add(sub)
    session.flush()
    return sub, secret


@dataclass
class SubscriptionRow:
    sub: NotifySubscription
    username: str
    site_code: str | None
    mine: bool
    last_status: str | None = None
    last_at: datetime | None = None


def _visible(owner: Owner, *, everyone: bool) -> Any:
    if not everyone or owner.role != Role.ADMIN:
        return NotifySubscription.user_id == owner.user_id
    if owner.scope is None:
        return col(NotifySubscription.id).is_not(None)
    # A scoped admin sees the subscriptions about its sites, and its own.
    return or_(col(NotifySubscription.site_id).in_(owner.scope), NotifySubscription.user_id == owner.user_id)


def list_subscriptions(session: Session, *, owner: Owner, everyone: bool = False) -> list[SubscriptionRow]:
    q = (
        select(NotifySubscription, User.username, Site.code)
        .join(User, col(User.id) == col(NotifySubscription.user_id))
        .join(Site, col(Site.id) == col(NotifySubscription.site_id), isouter=True)
        .where(_visible(owner, everyone=everyone))
        .order_by(col(User.username), col(NotifySubscription.id))
    )
    rows = [
        SubscriptionRow(sub, username, code, sub.user_id == owner.user_id)
        for sub, username, code in session.exec(q)
    ]
    for row in rows:
        last = session.exec(
            select(NotifyDelivery)
            .where(NotifyDelivery.subscription_id == row.sub.id)
            .order_by(col(NotifyDelivery.id).desc())
        ).first()
        if last is not None:
            row.last_status, row.last_at = last.status, last.sent_at or last.next_attempt_at
    return rows


def get_subscription(
    session: Session, subscription_id: int, *, owner: Owner, manage: bool = False
) -> NotifySubscription:
    """One subscription its owner (or an admin whose scope covers it) may see; others get NotFound."""
    sub = session.get(NotifySubscription, subscription_id)
    if sub is None:
        raise NotFound("no subscription %(subscription_id)s", subscription_id=subscription_id)
    visible = session.exec(
        select(NotifySubscription.id).where(
            NotifySubscription.id == subscription_id, _visible(owner, everyone=True)
        )
    ).first()
    if visible is None:
        raise NotFound("no subscription %(subscription_id)s", subscription_id=subscription_id)
    return sub


def set_enabled(session: Session, *, subscription_id: int, owner: Owner, enabled: bool) -> NotifySubscription:
    sub = get_subscription(session, subscription_id, owner=owner)
    sub.enabled = enabled
    session.add(sub)
    return sub


def delete_subscription(session: Session, *, subscription_id: int, owner: Owner) -> None:
    sub = get_subscription(session, subscription_id, owner=owner)
    session.delete(sub)


def rotate_secret(session: Session, *, subscription_id: int, owner: Owner, data_dir: Path) -> str:
    """A new webhook secret (only the owner may see one)."""
    sub = get_subscription(session, subscription_id, owner=owner)
    if sub.user_id != owner.user_id:
        raise NotFound("no subscription %(subscription_id)s", subscription_id=subscription_id)
    if sub.channel != Channel.WEBHOOK:
        raise ServiceError("only a webhook has a signing secret")
    secret = secrets.token_urlsafe(32)
    sub.secret_enc = _key(data_dir).encrypt(secret.encode()).decode()
    session.add(sub)
    return secret


def send_test(session: Session, *, subscription_id: int, owner: Owner) -> NotifyDelivery:
    """Queue a test message to this subscription only (it leaves with the sender's next round)."""
    sub = get_subscription(session, subscription_id, owner=owner)
    if sub.user_id != owner.user_id:
        raise NotFound("no subscription %(subscription_id)s", subscription_id=subscription_id)
    site_id = sub.site_id or session.exec(select(Site.id).order_by(col(Site.id))).first()
    if site_id is None:
        raise Conflict("there is no site yet to send a test about")
    now = utcnow()
    site = session.get(Site, site_id)
    event = NotifyEvent(
        kind="test",
        site_id=site_id,
        at=now,
        payload={"site_code": site.code if site else "", "site_name": site.name if site else ""},
        dispatched_at=now,  # addressed to this subscription only, never fanned out
    )
    session.add(event)
    session.flush()
    delivery = NotifyDelivery(
        event_id=event.id or 0,
        subscription_id=sub.id or 0,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


@dataclass
class DeliveryRow:
    delivery: NotifyDelivery
    event: NotifyEvent
    attempts: list[NotifyAttempt]


def delivery_log(
    session: Session, *, subscription_id: int, owner: Owner, limit: int = 50
) -> list[DeliveryRow]:
    get_subscription(session, subscription_id, owner=owner)
    q = (
        select(NotifyDelivery, NotifyEvent)
        .join(NotifyEvent, col(NotifyEvent.id) == col(NotifyDelivery.event_id))
        .where(NotifyDelivery.subscription_id == subscription_id)
        .order_by(col(NotifyDelivery.id).desc())
        .limit(limit)
    )
    rows = [DeliveryRow(d, e, []) for d, e in session.exec(q).all()]
    ids = [r.delivery.id for r in rows]
    if ids:
        attempts = session.exec(
            select(NotifyAttempt)
            .where(col(NotifyAttempt.delivery_id).in_(ids))
            .order_by(col(NotifyAttempt.id))
        ).all()
        by_delivery: dict[int, list[NotifyAttempt]] = {}
        for a in attempts:
            by_delivery.setdefault(a.delivery_id, []).append(a)
        for r in rows:
            r.attempts = by_delivery.get(r.delivery.id or 0, [])
    return rows
