"""Builds ``oui.txt``, the MAC vendor table, from the IEEE Registration Authority's public listings.

Source: the IEEE MA-L, MA-M, MA-S and IAB listings as shipped by Debian's ``ieee-data`` package
(/usr/share/ieee-data/*.csv). IEEE asserts no copyright in the listing (see NOTICE.txt).
Rebuild after ``apt-get install --only-upgrade ieee-data``:

    python -m inventory.oui.build [/usr/share/ieee-data] > inventory/oui/oui.txt

The table is compact: one ``PREFIX<TAB>Vendor`` line per assignment, the prefix in upper-case hex
(6 digits for MA-L, 7 for MA-M, 9 for MA-S and IAB), vendor names shortened by dropping corporate
suffixes, entries the IEEE lists as "Private" (and the RA's own split blocks) left out.
"""

from __future__ import annotations

import csv
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

SOURCES = ("oui.csv", "mam.csv", "oui36.csv", "iab.csv")
_SUFFIX = re.compile(
    r"[\s,.]+(co\.?,?\s*ltd|corporation|corp|incorporated|inc|ltd|limited|llc|gmbh|ag|s\.?a|b\.?v|"
    r"s\.?p\.?a|s\.?r\.?l|oy|ab|as|a/s|pte|pty|plc|kg|co|company|technologies|technology)\.?$",
    re.IGNORECASE,
)


def short_name(name: str) -> str:
    """``"Cisco Systems, Inc"`` -> ``"Cisco Systems"``; several suffixes are dropped in turn."""
    name = " ".join(name.split()).strip(" ,.")
    for _ in range(4):
        shorter = _SUFFIX.sub("", name).strip(" ,.")
        if shorter == name or not shorter:
            break
        name = shorter
    return name[:60]


def build(src: Path) -> list[str]:
    table: dict[str, str] = {}
    for fname in SOURCES:
        path = src / fname
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            for row in csv.DictReader(fh):
                prefix = (row.get("Assignment") or "").strip().upper()
                name = short_name(row.get("Organization Name") or "")
                if not re.fullmatch(r"[0-9A-F]{6}|[0-9A-F]{7}|[0-9A-F]{9}", prefix) or not name:
                    continue
                # "Private" hides the owner; the RA's own blocks are split further (MA-M, MA-S).
                if name.lower() in ("private", "ieee registration authority"):
                    continue
                table[prefix] = name
    return [f"{p}\t{table[p]}" for p in sorted(table)]


def main(argv: list[str]) -> None:
    src = Path(argv[1]) if len(argv) > 1 else Path("/usr/share/ieee-data")
    stamp_file = src / ".lastupdate"
    stamp = ""
    if stamp_file.exists():
        stamp = datetime.fromtimestamp(int(stamp_file.read_text().strip()), UTC).date().isoformat()
    lines = build(src)
    out = sys.stdout
    out.write("# MAC OUI -> vendor, from the IEEE Registration Authority public listings (MA-L, MA-M,\n")
    out.write(f"# MA-S, IAB) as shipped by Debian ieee-data (listing date {stamp or 'unknown'}).\n")
    out.write(
        "# IEEE asserts no copyright in the listing; see NOTICE.txt. Rebuild: python -m inventory.oui.build\n"
    )
    for line in lines:
        out.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv)
