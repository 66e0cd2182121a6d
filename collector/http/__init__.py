"""Request plumbing both the API (``collector.api``) and the pages (``collector.web``) use: who may call
a route (``access``), the principal, database session and settings dependencies (``deps``), bounded
parameter types (``params``), body reading and size limits (``body``, ``limits``) and the
authenticate-before-body guard (``guard``). It sits below both, so neither imports the other for these.
"""
