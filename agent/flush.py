"""The outcome of one delivery flush; plain data, so the lean agent process can read a worker's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent import errors
from agent.errors import DeliveryError, TransientError


@dataclass
class FlushResult:
    sent: int = 0
    duplicates: int = 0
    quarantined: int = 0
    needs_full: bool = False
    reenrolled: bool = False
    error: DeliveryError | None = None

    @property
    def delivered(self) -> int:
        return self.sent + self.duplicates

    def to_json(self) -> dict[str, Any]:
        err = self.error
        return {
            "sent": self.sent,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "needs_full": self.needs_full,
            "reenrolled": self.reenrolled,
            "error": None
            if err is None
            else {"type": type(err).__name__, "message": str(err), "retry_after": err.retry_after},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlushResult:
        err = data.get("error")
        error: DeliveryError | None = None
        if err:
            kind = getattr(errors, str(err.get("type")), None)
            if not (isinstance(kind, type) and issubclass(kind, DeliveryError)):
                kind = TransientError
            error = kind(str(err.get("message")), retry_after=err.get("retry_after"))
        return cls(
            sent=int(data.get("sent", 0)),
            duplicates=int(data.get("duplicates", 0)),
            quarantined=int(data.get("quarantined", 0)),
            needs_full=bool(data.get("needs_full")),
            reenrolled=bool(data.get("reenrolled")),
            error=error,
        )
