"""SQLModel tables, one module per domain; importing this package registers them all.

Tables are separate from the wire contract (``inventory.report``) and from the public API schemas
(``collector.api.schemas``).
"""

from sqlmodel import SQLModel

from collector.plugins import import_all

import_all(__name__)

metadata = SQLModel.metadata
