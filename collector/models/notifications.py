"""Notifications: who wants to hear of what (subscriptions), what happened (the outbox of events,
written in the transaction that made the change) and what was sent to whom (deliveries, attempts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from collector.models.types import json_field, ts_field


class Channel:
    EMAIL = "email"
    WEBHOOK = "webhook"

    ALL = (EMAIL, WEBHOOK)


class DeliveryStatus:
    PENDING = "pending"  # to send as soon as it is due (and retried with backoff)
    DIGEST = "digest"  # waits for the subscriber's daily e-mail digest
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    DROPPED = "dropped"  # the subscriber may no longer see the site, or the subscription is off


class NotifySubscription(SQLModel, table=True):
    __tablename__ = "notify_subscription"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # None: every site the user may see (checked again at each event).
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True, ondelete="CASCADE")
    event: str = Field(max_length=48, index=True)
    channel: str = Field(max_length=16)
    target: str = Field(max_length=500)  # an e-mail address or a webhook URL
    digest: bool = False  # e-mail: once a day instead of at once
    params: dict[str, Any] | None = json_field()  # e.g. {"days": 3} for agent.silent
    # The webhook's HMAC-SHA256 key, encrypted with the collector's credential key (Fernet).
    secret_enc: str | None = Field(default=None, max_length=500)
    enabled: bool = True
    created_at: datetime = ts_field()
    created_by: str = Field(max_length=150)


class NotifyEvent(SQLModel, table=True):
    """The outbox: one row per thing that happened, written with the change itself."""

    __tablename__ = "notify_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=48, index=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    at: datetime = ts_field()
    payload: dict[str, Any] = json_field(nullable=False, default_factory=dict)
    # Time-based events (a certificate crossing 30 days) carry a key so each fires once.
    dedupe_key: str | None = Field(default=None, max_length=255, unique=True)
    # Set when the event has been turned into deliveries; a claim leases it to one sender.
    dispatched_at: datetime | None = ts_field(nullable=True, index=True)
    claim_token: str | None = Field(default=None, max_length=36)
    claimed_until: datetime | None = ts_field(nullable=True)


class NotifyDelivery(SQLModel, table=True):
    """One event for one subscription: its state, retries and lease."""

    __tablename__ = "notify_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_notify_delivery"),
        Index("ix_notify_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="notify_event.id", index=True, ondelete="CASCADE")
    subscription_id: int = Field(foreign_key="notify_subscription.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = ts_field()
    created_at: datetime = ts_field()
    sent_at: datetime | None = ts_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    claim_token: str | None = Field(default=None, max_length=36)
    claimed_until: datetime | None = ts_field(nullable=True)


class NotifyAttempt(SQLModel, table=True):
    """The delivery log a subscriber sees: every try, its answer or error."""

    __tablename__ = "notify_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="notify_delivery.id", index=True, ondelete="CASCADE")
    at: datetime = ts_field()
    ok: bool
    status_code: int | None = None  # the webhook receiver's HTTP status; the SMTP reply code
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = 0
