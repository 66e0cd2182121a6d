"""The compatibility map: msgids of evidence that agents sent as English text before messages existed.

Evidence stored as plain English is matched against these (each msgid read as a pattern, placeholders
as wildcards) and rendered in the reader's language. Add the msgid here when an evaluator's English
evidence becomes a message, so findings stored before the change keep translating.
"""

from __future__ import annotations

ENGLISH_EVIDENCE: tuple[str, ...] = ()
