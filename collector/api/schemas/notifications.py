"""Answers of the notification routes (``collector/api/routers/notifications.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TestQueued(BaseModel):
    """A test message queued for delivery (202): follow it in the subscription's deliveries."""

    delivery_id: int
    status: str


class SubscriptionPublic(BaseModel):
    id: int
    username: str
    site: str | None
    event: str
    channel: str
    target: str
    digest: bool
    params: dict[str, Any] | None
    enabled: bool
    created_at: datetime
    last_status: str | None = None
    last_at: datetime | None = None


class SubscriptionCreated(SubscriptionPublic):
    secret: str | None = Field(description="the webhook's HMAC-SHA256 key: shown only now")


class SecretAnswer(BaseModel):
    secret: str


class AttemptPublic(BaseModel):
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    id: int
    event_id: int
    event: str
    occurred_at: datetime
    status: str  # pending, digest, sent, failed, dropped
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    log: list[AttemptPublic]


class EventTypePublic(BaseModel):
    key: str
    label: str
    takes_days: bool
