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
    """The caller is known but may not do this (an agent naming another site, a scoped admin...)."""

    status_code = 403
