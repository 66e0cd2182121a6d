"""API routers: every module here exposes ``router``, included under /api/v1 by the app factory."""
