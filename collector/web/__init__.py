"""Server-rendered web console: Jinja2 templates, i18n, static files, error pages."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount static files, templates and the web exception handlers on ``app``."""
    from collector.web.errors import install as _install

    _install(app)
