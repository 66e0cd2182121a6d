"""MAC address -> vendor, from the IEEE listing kept in ``oui.txt`` (see NOTICE.txt).

The table loads on the first lookup (about 46,000 entries), so importing this module costs nothing;
the agent looks vendors up only inside the scan's child process.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEX = re.compile(r"[^0-9a-fA-F]")
# Longest assignment first: MA-S/IAB (36 bits), MA-M (28 bits), MA-L (24 bits).
_PREFIX_LENGTHS = (9, 7, 6)


def normalize_mac(mac: str) -> str:
    """``"00-0C-42-AA-BB-CC"`` or ``"000c.42aa.bbcc"`` -> ``"00:0c:42:aa:bb:cc"``."""
    digits = _HEX.sub("", mac).lower()
    if len(digits) != 12:
        raise ValueError(f"not a MAC address: {mac!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def is_locally_administered(mac: str) -> bool:
    """True for randomised ("private") and virtual-machine MACs that no vendor owns."""
    return bool(int(normalize_mac(mac)[:2], 16) & 0x02)


@cache
def _table() -> dict[str, str]:
    text = resources.files(__name__).joinpath("oui.txt").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        prefix, _, vendor = line.partition("\t")
        table[prefix] = vendor
    return table


def vendor_for(mac: str | None) -> str | None:
    """The registered vendor of ``mac``, or None when unknown, locally administered or not a MAC."""
    if not mac:
        return None
    try:
        digits = normalize_mac(mac).replace(":", "").upper()
    except ValueError:
        return None
    if int(digits[:2], 16) & 0x02:
        return None
    table = _table()
    for n in _PREFIX_LENGTHS:
        vendor = table.get(digits[:n])
        if vendor:
            return vendor
    return None
