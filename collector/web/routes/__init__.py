"""Web pages: every module here exposes ``router``, included by the app factory."""
