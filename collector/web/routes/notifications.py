"""The notifications page: a user's subscriptions (admins may list everyone's within their scope),
adding one, switching it off, deleting it, a test message, a webhook's secret, the delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from collector.http.deps import AnyUser, DbSession, Settings
from collector.http.params import Id
from collector.models.notifications import Channel
from collector.plugins import Link, PageSpec
from collector.services import notify_subscriptions as svc
from collector.services.devices import list_sites
from collector.services.errors import NotFound, ServiceError
from collector.services.notify_events import EVENT_TYPES, subscribable
from collector.web.setup import error_text, flash, redirect, render, request_language, translator_for

router = APIRouter(include_in_schema=False)

# Event labels as the page shows them; each is in locales/vi/notifications.po.
EVENT_LABELS = {t.key: t.label for t in EVENT_TYPES.values()}


def _page(
    request: Request,
    session: Any,
    user: Any,
    *,
    everyone: bool = False,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    secret: tuple[int, str] | None = None,
    status: int = 200,
) -> Response:
    owner = svc.owner_of(user)
    response = render(
        request,
        "notifications.html",
        {
            "rows": svc.list_subscriptions(session, owner=owner, everyone=everyone),
            "everyone": everyone and user.role == "admin",
            "event_types": subscribable(),
            "event_labels": EVENT_LABELS,
            "sites": [r.site for r in list_sites(session, scope=user.site_ids)],
            "can_webhook": user.role in svc.WEBHOOK_ROLES,
            "form": form or {"channel": Channel.EMAIL, "days": svc.DEFAULT_SILENT_DAYS},
            "error": error,
            "secret": secret,
        },
        status_code=status,
    )
    if secret:
        response.headers["Cache-Control"] = "no-store"  # a secret shown once is not kept
    return response


@router.get("/notifications")
def notifications_page(
    request: Request, user: AnyUser, session: DbSession, all: str | None = None
) -> Response:
    return _page(request, session, user, everyone=all == "1")


@router.post("/notifications")
def add_subscription(
    request: Request,
    user: AnyUser,
    session: DbSession,
    settings: Settings,
    event: str = Form("", max_length=48),
    channel: str = Form("", max_length=16),
    target: str = Form("", max_length=500),
    site: str = Form("", max_length=64),
    digest: str = Form(""),
    days: str = Form("", max_length=4),
) -> Response:
    _ = translator_for(request)
    form = {
        "event": event,
        "channel": channel,
        "target": target,
        "site": site,
        "digest": bool(digest),
        "days": days,
    }
    kind = EVENT_TYPES.get(event)
    try:
        number = int(days) if days.strip() and kind and kind.takes_days else None
    except ValueError:
        return _page(
            request,
            session,
            user,
            form=form,
            error=_("The number of days must be a whole number."),
            status=422,
        )
    try:
        sub, secret = svc.create_subscription(
            session,
            owner=svc.owner_of(user),
            event=event,
            channel=channel,
            target=target,
            site_code=site or None,
            digest=bool(digest) and channel == Channel.EMAIL,
            days=number,
            data_dir=settings.data_dir,
        )
    except NotFound:
        return _page(request, session, user, form=form, error=_("Choose one of your sites."), status=422)
    except ServiceError as exc:
        return _page(
            request, session, user, form=form, error=error_text(exc, request_language(request)), status=422
        )
    session.commit()
    if secret:
        return _page(request, session, user, secret=(sub.id or 0, secret))
    return flash(redirect("/notifications"), _("Subscription added."), "ok")


def _act(request: Request, session: Any, user: Any, subscription_id: int, action: str) -> Response:
    _ = translator_for(request)
    owner = svc.owner_of(user)
    back = "/notifications" + ("?all=1" if request.query_params.get("all") == "1" else "")
    try:
        if action == "delete":
            svc.delete_subscription(session, subscription_id=subscription_id, owner=owner)
            message = _("Subscription deleted.")
        elif action == "test":
            svc.send_test(session, subscription_id=subscription_id, owner=owner)
            message = _("A test message will leave within a minute; see the delivery log.")
        else:
            sub = svc.get_subscription(session, subscription_id, owner=owner)
            svc.set_enabled(session, subscription_id=subscription_id, owner=owner, enabled=not sub.enabled)
            message = _("Subscription switched on.") if sub.enabled else _("Subscription switched off.")
    except NotFound:
        raise HTTPException(404) from None
    except ServiceError as exc:
        return flash(redirect(back), error_text(exc, request_language(request)), "error")
    session.commit()
    return flash(redirect(back), message, "ok")


@router.post("/notifications/{subscription_id}/toggle")
def toggle(request: Request, subscription_id: Id, user: AnyUser, session: DbSession) -> Response:
    return _act(request, session, user, subscription_id, "toggle")


@router.post("/notifications/{subscription_id}/delete")
def delete(request: Request, subscription_id: Id, user: AnyUser, session: DbSession) -> Response:
    return _act(request, session, user, subscription_id, "delete")


@router.post("/notifications/{subscription_id}/test")
def test_message(request: Request, subscription_id: Id, user: AnyUser, session: DbSession) -> Response:
    return _act(request, session, user, subscription_id, "test")


@router.post("/notifications/{subscription_id}/secret")
def new_secret(
    request: Request, subscription_id: Id, user: AnyUser, session: DbSession, settings: Settings
) -> Response:
    _ = translator_for(request)
    try:
        secret = svc.rotate_secret(
            session, subscription_id=subscription_id, owner=svc.owner_of(user), data_dir=settings.data_dir
        )
    except NotFound:
        raise HTTPException(404) from None
    except ServiceError as exc:
        return flash(redirect("/notifications"), error_text(exc, request_language(request)), "error")
    session.commit()
    return _page(request, session, user, secret=(subscription_id, secret))


@router.get("/notifications/{subscription_id}")
def delivery_log(request: Request, subscription_id: Id, user: AnyUser, session: DbSession) -> Response:
    owner = svc.owner_of(user)
    try:
        sub = svc.get_subscription(session, subscription_id, owner=owner)
        rows = svc.delivery_log(session, subscription_id=subscription_id, owner=owner)
    except NotFound:
        raise HTTPException(404) from None
    return render(request, "notifications_log.html", {"sub": sub, "rows": rows, "event_labels": EVENT_LABELS})


PLUGIN = PageSpec(
    router,
    nav=(Link(80, "Notifications", "/notifications"),),
)
