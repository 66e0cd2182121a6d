"""Runs on a commune PC: collect -> check -> spool -> deliver; polls devices; scans the LAN.

Never imports FastAPI, SQLModel or SQLAlchemy (an import-linter contract holds it to that).
"""

from inventory import __version__

__all__ = ["__version__"]
