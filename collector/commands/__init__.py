"""Collector-side commands: every module here registers its commands on ``collector.cli.app`` and
declares them in ``PLUGIN = CommandSpec(commands=(...))`` (``collector.plugins``).

Modules import FastAPI/SQLAlchemy only inside command functions, so ``wardwatch agent ...`` stays light.
"""

from collector.plugins import CommandSpec, load

SPECS = load(__name__, CommandSpec)
