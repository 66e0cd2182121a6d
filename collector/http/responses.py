"""``responses=`` helpers for routes of the API and of the pages (their OpenAPI description)."""

from __future__ import annotations

from typing import Any


def success(*media_types: str, description: str = "Successful Response") -> dict[int | str, Any]:
    """``responses=`` for a route whose answer is not JSON (or not only): its media types."""
    return {
        200: {
            "description": description,
            "content": {m: {"schema": {} if "json" in m else {"type": "string"}} for m in media_types},
        }
    }
