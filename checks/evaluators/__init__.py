"""Evaluators: every module in this package is imported so its ``@evaluator`` functions register."""

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
