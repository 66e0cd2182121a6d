"""Answers of the notification routes (``collector/api/routers/notifications.py``) not declared there."""

from __future__ import annotations

from pydantic import BaseModel


class TestQueued(BaseModel):
    """A test message queued for delivery (202): follow it in the subscription's deliveries."""

    delivery_id: int
    status: str
