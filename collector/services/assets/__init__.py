"""The asset register: edit one device's record (``record``), import an existing asset list
(``importing``), list the register and report on the fleet (``register``); the values, aliases and
parsers they share are in ``values``. Everything is re-exported here for the callers.
"""

from collector.services.assets.importing import *  # noqa: F403
from collector.services.assets.record import *  # noqa: F403
from collector.services.assets.register import *  # noqa: F403
from collector.services.assets.values import *  # noqa: F403
