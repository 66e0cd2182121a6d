"""Notification subscriptions over the API: a user's own (admins: ``?all=true`` for all within their
scope), the delivery log of each, a test message, and the event types one can subscribe to."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from collector.api.schemas.notifications import (
    AttemptPublic,
    DeliveryPublic,
    EventTypePublic,
    SecretAnswer,
    SubscriptionCreated,
    SubscriptionPublic,
    TestQueued,
)
from collector.http.deps import AnyUser, DbSession, Settings
from collector.http.params import Id
from collector.models.notifications import NotifySubscription
from collector.plugins import RouterSpec
from collector.services import notify_subscriptions as svc
from collector.services.errors import ServiceError
from collector.services.notify_events import subscribable

router = APIRouter(tags=["notifications"])
PREFIX = "/notifications/subscriptions"


class SubscriptionCreate(BaseModel):
    event: str = Field(max_length=48, description="finding.opened, certificate.expiring, disk.failing ...")
    channel: Literal["email", "webhook"]
    target: str = Field(max_length=500, description="an e-mail address or an http(s) URL")
    site: str | None = Field(default=None, max_length=64, description="a site code; none: all your sites")
    digest: bool = Field(default=False, description="e-mail only: once a day (07:00) instead of at once")
    days: int | None = Field(default=None, description="agent.silent: after how many days (default 3)")


class SubscriptionUpdate(BaseModel):
    enabled: bool


def _public(session: Any, sub: NotifySubscription, **extra: Any) -> dict[str, Any]:
    from collector.models.core import Site, User

    owner = session.get(User, sub.user_id)
    site = session.get(Site, sub.site_id) if sub.site_id else None
    return {
        **sub.model_dump(
            include={"id", "event", "channel", "target", "digest", "params", "enabled", "created_at"}
        ),
        "username": owner.username if owner else "",
        "site": site.code if site else None,
        **extra,
    }


def _fail(exc: ServiceError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))


@router.get("/notifications/event-types", response_model=list[EventTypePublic])
def event_types(user: AnyUser) -> list[EventTypePublic]:
    return [EventTypePublic(key=t.key, label=t.label, takes_days=t.takes_days) for t in subscribable()]


@router.get(PREFIX, response_model=list[SubscriptionPublic])
def list_subscriptions(
    user: AnyUser, session: DbSession, all: bool = Query(False, description="admins: everyone's in scope")
) -> list[dict[str, Any]]:
    rows = svc.list_subscriptions(session, owner=svc.owner_of(user), everyone=all)
    return [
        {
            **_public(session, r.sub),
            "username": r.username,
            "site": r.site_code,
            "last_status": r.last_status,
            "last_at": r.last_at,
        }
        for r in rows
    ]


@router.post(PREFIX, response_model=SubscriptionCreated, status_code=201)
def create_subscription(
    body: SubscriptionCreate, user: AnyUser, session: DbSession, settings: Settings
) -> dict[str, Any]:
    try:
        sub, secret = svc.create_subscription(
            session,
            owner=svc.owner_of(user),
            event=body.event,
            channel=body.channel,
            target=body.target,
            site_code=body.site,
            digest=body.digest,
            days=body.days,
            data_dir=settings.data_dir,
        )
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return _public(session, sub, secret=secret)


@router.patch(PREFIX + "/{subscription_id}", response_model=SubscriptionPublic)
def update_subscription(
    subscription_id: Id, body: SubscriptionUpdate, user: AnyUser, session: DbSession
) -> dict[str, Any]:
    try:
        sub = svc.set_enabled(
            session, subscription_id=subscription_id, owner=svc.owner_of(user), enabled=body.enabled
        )
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return _public(session, sub)


@router.delete(PREFIX + "/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: Id, user: AnyUser, session: DbSession) -> Response:
    try:
        svc.delete_subscription(session, subscription_id=subscription_id, owner=svc.owner_of(user))
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return Response(status_code=204)


@router.post(PREFIX + "/{subscription_id}/secret", response_model=SecretAnswer)
def rotate_secret(subscription_id: Id, user: AnyUser, session: DbSession, settings: Settings) -> SecretAnswer:
    try:
        secret = svc.rotate_secret(
            session, subscription_id=subscription_id, owner=svc.owner_of(user), data_dir=settings.data_dir
        )
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return SecretAnswer(secret=secret)


@router.post(PREFIX + "/{subscription_id}/test", status_code=202, response_model=TestQueued)
def send_test(subscription_id: Id, user: AnyUser, session: DbSession) -> dict[str, Any]:
    try:
        delivery = svc.send_test(session, subscription_id=subscription_id, owner=svc.owner_of(user))
    except ServiceError as exc:
        raise _fail(exc) from None
    session.commit()
    return {"delivery_id": delivery.id, "status": delivery.status}


@router.get(PREFIX + "/{subscription_id}/deliveries", response_model=list[DeliveryPublic])
def deliveries(
    subscription_id: Id, user: AnyUser, session: DbSession, limit: int = Query(50, ge=1, le=500)
) -> list[DeliveryPublic]:
    try:
        owner = svc.owner_of(user)
        rows = svc.delivery_log(session, subscription_id=subscription_id, owner=owner, limit=limit)
    except ServiceError as exc:
        raise _fail(exc) from None
    return [
        DeliveryPublic(
            id=r.delivery.id or 0,
            event_id=r.event.id or 0,
            event=r.event.kind,
            occurred_at=r.event.at,
            status=r.delivery.status,
            attempts=r.delivery.attempts,
            next_attempt_at=r.delivery.next_attempt_at,
            sent_at=r.delivery.sent_at,
            last_error=r.delivery.last_error,
            log=[
                AttemptPublic(
                    at=a.at, ok=a.ok, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
                )
                for a in r.attempts
            ],
        )
        for r in rows
    ]


PLUGIN = RouterSpec(router)
