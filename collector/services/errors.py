"""Service-level errors: routes turn them into HTTP answers, commands into messages."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out, with a message that says why (safe to show a user)."""

    status_code = 400


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    """Known to the caller, but beyond what they may do: an agent naming another site, a site outside a
    user's scope, a city-wide setting for someone limited to sites."""

    status_code = 403
