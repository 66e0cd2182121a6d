"""Moved to ``collector.http.params`` (below both the API and the pages). This re-export exists only so
that branches written before the move still import; new code imports ``collector.http.params``. Delete
it once no module imports ``collector.api.params`` (the pages may not: the layer contract refuses it).
"""

from collector.http.params import *  # noqa: F403
