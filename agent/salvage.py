"""Rows read straight out of a damaged SQLite file, page by page (standard library only).

SQLite stops a query at the first damaged b-tree page, which cuts off every row behind it. This
reader ignores the tree: it reads every page of the file on its own (the newest committed copy
from the ``-wal`` file when there is one), takes each table-leaf page's cells through its cell
pointers, and follows a cell's overflow chain for a payload larger than the page. A damaged page
loses only the cells the damage touched: when its header or cell pointers do not add up, its
bytes are searched for cells that begin with the record header the caller expects
(``signature``). Pages on the freelist are skipped (their rows were deleted).

The format: https://www.sqlite.org/fileformat2.html (b-tree pages, cells, overflow pages, record
format, WAL frames). Nothing here checks what a row means: the caller validates each one (the
spool checks a report body's gzip CRC and its report id), so a false cell found in noise is
dropped there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

__all__ = ["Row", "rows"]

Row = tuple[int, list[Any]]  # (rowid, column values)
Cell = tuple[int, list[Any], list[int]]  # (rowid, column values, its overflow pages)

_MAGIC = b"SQLite format 3\x00"
_LEAF_TABLE, _INTERIOR_TABLE, _LEAF_INDEX, _INTERIOR_INDEX = 0x0D, 0x05, 0x0A, 0x02
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_MAX_PAYLOAD = 1 << 30  # SQLite's own default limit on a row (SQLITE_MAX_LENGTH)
# A page whose structure does not add up is searched byte by byte; after this many pages the
# search stops (a file of random bytes would otherwise take minutes) and what is left stays in
# the file set aside.
MAX_SEARCHED_PAGES = 4096


def rows(path: Path, *, signature: bytes = b"") -> Iterator[Row]:
    """Every table row that can still be read from the database file ``path`` (and ``path-wal``).

    Rows come in file order, not rowid order, and may repeat (a row moved between pages); the
    caller deduplicates. ``signature``: the bytes a wanted record's header starts with after its
    size byte (serial types of its first columns), used to find cells on damaged pages; empty
    turns that search off.
    """
    with _Pages.open(Path(path)) as pages:
        yield from pages.rows(signature)


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``pos``: (value, position after it). IndexError past the end."""
    value = 0
    for i in range(8):
        byte = buf[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + i + 1
    return (value << 8) | buf[pos + 8], pos + 9


def _content_size(serial: int) -> int:
    if serial < 12:
        return (0, 1, 2, 3, 4, 6, 8, 8, 0, 0, -1, -1)[serial]
    return (serial - 12) // 2 if serial % 2 == 0 else (serial - 13) // 2


def _decode(serial: int, raw: bytes) -> Any:
    if serial == 0:
        return None
    if 1 <= serial <= 6:
        return int.from_bytes(raw, "big", signed=True)
    if serial == 7:
        return struct.unpack(">d", raw)[0]
    if serial in (8, 9):
        return serial - 8
    if serial % 2 == 0:
        return bytes(raw)
    return raw.decode("utf-8")  # the spool is UTF-8; a damaged text raises and the cell is dropped


def record(payload: bytes) -> list[Any] | None:
    """The column values of one record, or None when its header and sizes do not add up."""
    try:
        header_size, pos = varint(payload, 0)
        if header_size > len(payload) or header_size < 1:
            return None
        serials = []
        while pos < header_size:
            serial, pos = varint(payload, pos)
            serials.append(serial)
        if pos != header_size:
            return None
        sizes = [_content_size(s) for s in serials]
        if min(sizes, default=0) < 0 or header_size + sum(sizes) != len(payload):
            return None
        values = []
        for serial, size in zip(serials, sizes, strict=True):
            values.append(_decode(serial, payload[pos : pos + size]))
            pos += size
        return values
    except (IndexError, UnicodeDecodeError, struct.error):
        return None


class _Pages:
    """The pages of one database file as SQLite would read them: the WAL's committed copy wins."""

    def __init__(self, main: BinaryIO, wal: BinaryIO | None) -> None:
        self.main = main
        self.wal = wal
        size = os.fstat(main.fileno()).st_size
        header = main.read(100)
        self.page_size = _page_size(header)
        reserved = header[20] if len(header) >= 100 and header.startswith(_MAGIC) else 0
        self.usable = self.page_size - reserved
        self.wal_frames: dict[int, int] = {}  # page number -> offset of its newest committed copy
        if wal is not None:
            self.wal_frames = _wal_index(wal, self.page_size)
        self.count = max(size // self.page_size, max(self.wal_frames, default=0))
        self.autovacuum = len(header) >= 56 and header.startswith(_MAGIC) and header[52:56] != b"\0\0\0\0"

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path) -> Iterator[_Pages]:
        with open(path, "rb") as main:
            wal_path = Path(f"{path}-wal")
            wal = open(wal_path, "rb") if wal_path.exists() else None  # noqa: SIM115 (closed below)
            try:
                yield cls(main, wal)
            finally:
                if wal is not None:
                    wal.close()

    def page(self, number: int) -> bytes | None:
        if number < 1 or number > self.count:
            return None
        offset = self.wal_frames.get(number)
        if offset is not None and self.wal is not None:
            self.wal.seek(offset)
            data = self.wal.read(self.page_size)
        else:
            self.main.seek((number - 1) * self.page_size)
            data = self.main.read(self.page_size)
        return data if len(data) == self.page_size else None

    # -- the structure ---------------------------------------------------------------------------

    def freelist(self) -> set[int]:
        """Pages the file lists as free; as much of the list as can be read."""
        first = self.page(1)
        free: set[int] = set()
        if first is None or not first.startswith(_MAGIC):
            return free
        trunk, total = struct.unpack(">II", first[32:40])
        seen: set[int] = set()
        while trunk and trunk not in seen and len(free) <= total and 1 < trunk <= self.count:
            seen.add(trunk)
            data = self.page(trunk)
            if data is None:
                break
            free.add(trunk)
            nxt, leaves = struct.unpack(">II", data[:8])
            if leaves > (self.usable - 8) // 4:
                break
            for i in range(leaves):
                (leaf,) = struct.unpack(">I", data[8 + 4 * i : 12 + 4 * i])
                if 1 < leaf <= self.count:
                    free.add(leaf)
            trunk = nxt
        return free

    def pointer_map_pages(self) -> set[int]:
        """With auto-vacuum, page 2 and every (usable/5 + 1)th page after it map pages to parents."""
        if not self.autovacuum:
            return set()
        step = self.usable // 5 + 1
        return set(range(2, self.count + 1, step))

    def _local_size(self, payload: int) -> int:
        # How much of a table-leaf payload stays on the page (fileformat2 "Cell Payload Overflow Pages").
        u = self.usable
        x = u - 35
        if payload <= x:
            return payload
        m = ((u - 12) * 32 // 255) - 23
        k = m + (payload - m) % (u - 4)
        return k if k <= x else m

    def cell(self, data: bytes, offset: int, limit: int) -> Cell | None:
        """The table-leaf cell at ``offset``: (rowid, values, overflow pages), or None if unreadable."""
        try:
            size, pos = varint(data, offset)
            rowid, pos = varint(data, pos)
        except IndexError:
            return None
        if size > _MAX_PAYLOAD or rowid >= 1 << 63:
            return None
        local = self._local_size(size)
        if pos + local > limit:
            return None
        payload = bytearray(data[pos : pos + local])
        chain: list[int] = []
        if local < size:
            if pos + local + 4 > limit:
                return None
            (nxt,) = struct.unpack(">I", data[pos + local : pos + local + 4])
            while len(payload) < size:
                if nxt in chain or not 1 < nxt <= self.count:
                    return None
                page = self.page(nxt)
                if page is None:
                    return None
                chain.append(nxt)
                payload += page[4 : self.usable][: size - len(payload)]
                (nxt,) = struct.unpack(">I", page[:4])
        values = record(bytes(payload))
        return None if values is None else (rowid, values, chain)

    def leaf_cells(self, number: int, data: bytes) -> tuple[list[Cell], bool]:
        """The cells of a table-leaf page through its pointers, and whether every pointer led to one."""
        start = 100 if number == 1 else 0
        cells: list[Cell] = []
        try:
            (count,) = struct.unpack(">H", data[start + 3 : start + 5])
        except struct.error:
            return cells, False
        first_cell = start + 8 + 2 * count
        if first_cell > self.usable:
            return cells, False
        whole = True
        for i in range(count):
            (ptr,) = struct.unpack(">H", data[start + 8 + 2 * i : start + 10 + 2 * i])
            found = self.cell(data, ptr, self.usable) if first_cell <= ptr < self.usable else None
            if found is None:
                whole = False
            else:
                cells.append(found)
        return cells, whole

    def search(self, number: int, data: bytes, signature: bytes) -> Iterator[Cell]:
        """Cells on a damaged page, found by the start of their record header."""
        start = 100 if number == 1 else 0
        hit = data.find(signature, start)
        while hit != -1:
            # Before the signature: the header-size byte, and before that the rowid and payload
            # size varints (1 to 9 bytes each): try every split that ends right there.
            header_at = hit - 1
            for begin in range(max(start, header_at - 18), header_at - 1):
                try:
                    _size, pos = varint(data, begin)
                    _rowid, pos = varint(data, pos)
                except IndexError:
                    continue
                if pos != header_at:
                    continue
                found = self.cell(data, begin, self.usable)
                if found is not None:
                    yield found
                    break
            hit = data.find(signature, hit + 1)

    def rows(self, signature: bytes) -> Iterator[Row]:
        free = self.freelist()
        skip = free | self.pointer_map_pages()
        overflow: set[int] = set()
        suspect: list[int] = []
        for number in range(1, self.count + 1):
            if number in skip:
                continue
            data = self.page(number)
            if data is None:
                continue
            kind = data[100 if number == 1 else 0]
            if kind == _LEAF_TABLE:
                cells, whole = self.leaf_cells(number, data)
                for rowid, values, chain in cells:
                    overflow.update(chain)
                    yield rowid, values
                if not whole:
                    suspect.append(number)
            elif kind not in (_INTERIOR_TABLE, _LEAF_INDEX, _INTERIOR_INDEX):
                suspect.append(number)  # an overflow page, or a page whose type byte was damaged
        if not signature:
            return
        searched = 0
        for number in suspect:
            if number in overflow:
                continue
            if searched == MAX_SEARCHED_PAGES:
                log.warning("salvage: stopped searching damaged pages after %d", searched)
                return
            searched += 1
            data = self.page(number)
            if data is None:
                continue
            for rowid, values, chain in self.search(number, data, signature):
                overflow.update(chain)
                yield rowid, values


def _page_size(header: bytes) -> int:
    if len(header) >= 100 and header.startswith(_MAGIC):
        (raw,) = struct.unpack(">H", header[16:18])
        size = 65536 if raw == 1 else raw
        if 512 <= size <= 65536 and size & (size - 1) == 0:
            return size
    return 4096  # SQLite's default, and the spool's: the best guess when the header is gone


def _wal_index(wal: BinaryIO, page_size: int) -> dict[int, int]:
    """Page number -> file offset of its newest copy in a committed transaction of the WAL."""
    header = wal.read(32)
    if len(header) < 32:
        return {}
    magic, _version, wal_page_size, _seq, salt1, salt2 = struct.unpack(">IIIIII", header[:24])
    if magic not in _WAL_MAGIC or wal_page_size != page_size:
        return {}
    order = ">" if magic & 1 else "<"
    s0, s1 = _checksum(header[:24], order, 0, 0)
    if (s0, s1) != struct.unpack(">II", header[24:32]):
        return {}
    committed: dict[int, int] = {}
    pending: dict[int, int] = {}
    offset = 32
    while True:
        frame = wal.read(24 + page_size)
        if len(frame) < 24 + page_size:
            break
        number, commit, fsalt1, fsalt2, c0, c1 = struct.unpack(">IIIIII", frame[:24])
        if (fsalt1, fsalt2) != (salt1, salt2):
            break  # a frame of an earlier generation of the WAL: not part of this one
        s0, s1 = _checksum(frame[:8], order, s0, s1)
        s0, s1 = _checksum(frame[24:], order, s0, s1)
        if (s0, s1) != (c0, c1):
            break  # a torn or damaged frame ends the valid log, as it does for SQLite
        pending[number] = offset + 24
        if commit:
            committed.update(pending)
            pending.clear()
        offset += 24 + page_size
    return committed


def _checksum(data: bytes, order: str, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1
