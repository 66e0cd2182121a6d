"""Moved to ``collector.http.deps`` (below both the API and the pages). This re-export exists only so
that branches written before the move still import; new code imports ``collector.http.deps``. Delete
it once no module imports ``collector.api.deps`` (the pages may not: the layer contract refuses it).
"""

from collector.http.deps import *  # noqa: F403
