"""Collector-side commands: every module here registers its commands on ``collector.cli.app``.

Modules import FastAPI/SQLAlchemy only inside command functions, so ``wardwatch agent ...`` stays light.
"""

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
