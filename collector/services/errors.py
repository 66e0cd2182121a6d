"""Service-level errors: routes turn them into HTTP answers, commands into messages."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out, with a message that says why (safe to show a user).

    ``message`` is an English msgid, ``params`` fill its ``%(name)s`` placeholders: ``str(exc)`` is the
    English (API answers, logs, commands) and ``text(lang)`` the same in a reader's language (pages).
    """

    status_code = 400

    def __init__(self, message: str = "", **params: object) -> None:
        self.msgid, self.params = message, params
        super().__init__(message % params if params else message)

    def text(self, lang: str) -> str:
        from collector.i18n import translator

        _ = translator(lang)
        # ``what`` names the field (a msgid such as "budget"); other parameters are data.
        params = {
            k: _(v) if k == "what" and isinstance(v, str) else v if _is_identifier(k) else _shown(v, lang)
            for k, v in self.params.items()
        }
        return _(self.msgid, **params) if params else _(self.msgid)


def _is_identifier(key: str) -> bool:
    """Numbers that name a record or a place (ids, line numbers) are written as they are: no 1.234."""
    return key == "id" or key.endswith("_id") or key in {"line", "line_no", "start"}


def _shown(value: object, lang: str) -> object:
    from collector.i18n import format_number

    if isinstance(value, ServiceError):  # a problem inside a problem ("line 3: ...")
        return value.text(lang)
    return (
        format_number(value, lang)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
    )


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
