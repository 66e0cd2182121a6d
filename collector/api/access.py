"""Moved to ``collector.http.access`` (below both the API and the pages). This re-export exists only so
that branches written before the move still import; new code imports ``collector.http.access``. Delete
it once no module imports ``collector.api.access`` (the pages may not: the layer contract refuses it).
"""

from collector.http.access import *  # noqa: F403
