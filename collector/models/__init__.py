"""SQLModel tables, one module per domain; importing this package registers them all.

Tables are separate from the wire contract (``inventory.report``) and from the public API schemas
(``collector.api.schemas``).
"""

import importlib
import pkgutil

from sqlmodel import SQLModel

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")

metadata = SQLModel.metadata
