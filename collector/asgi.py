"""ASGI entry point for multi-worker serving: settings come from ``WARDWATCH_*`` variables."""

from __future__ import annotations

from fastapi import FastAPI

from collector.app import create_app
from collector.settings import CollectorSettings


def app_factory() -> FastAPI:
    return create_app(CollectorSettings())
