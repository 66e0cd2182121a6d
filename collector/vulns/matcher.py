"""Match a device's CPEs against NVD configurations.

The index holds every cpeMatch row, grouped by ``vendor:product``; a device's programs look up only
their own product's rows. A configuration is true when its nodes are (AND/OR, negate), a node when
its rows are; the vulnerable rows of a true configuration that matched a program name that program
vulnerable. Rows that only say what a program must run on (``vulnerable: false``: Windows, macOS)
match the device's OS; NVD often writes those with version ``-`` meaning "any release", so a
platform row's ``-`` matches any version, while a vulnerable row's ``-`` matches nothing we can
version (precision first).

Pure and fast: comparable version keys are computed once per row; the rows that match one program
version are remembered, so a fleet where 3,000 PCs run the same Chrome build pays for it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector.vulns.cpe import ANY, NA, Cpe
from collector.vulns.mapping import Installed
from collector.vulns.nvd import Configuration
from collector.vulns.versions import Token, cmp_keys, version_key

Key = tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    cve: str
    cpe: Cpe
    vulnerable: bool
    start_incl: str | None = None
    start_excl: str | None = None
    end_incl: str | None = None
    end_excl: str | None = None
    # Comparable forms, filled by the index.
    exact: Key | None = None
    k_start_incl: Key | None = None
    k_start_excl: Key | None = None
    k_end_incl: Key | None = None
    k_end_excl: Key | None = None


@dataclass(frozen=True, slots=True)
class CNode:
    operator: str
    negate: bool
    rows: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CConfig:
    operator: str
    negate: bool
    nodes: tuple[CNode, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """CVE ``cve`` applies to program ``installed`` through ``row``."""

    cve: str
    installed: Installed
    row: Row


def _k(v: str | None) -> Key | None:
    return version_key(v) if v else None


@dataclass
class Index:
    rows: list[Row] = field(default_factory=list)
    by_product: dict[str, list[Row]] = field(default_factory=dict)
    configs: dict[str, list[CConfig]] = field(default_factory=dict)
    # Which products a CVE's configurations name: when they are one program plus the OS, that
    # program's hits depend on nothing else installed and are remembered per (program, OS).
    cve_products: dict[str, set[str]] = field(default_factory=dict)
    _memo: dict[tuple[str, Cpe], tuple[int, ...]] = field(default_factory=dict, repr=False)
    _hits: dict[tuple[Any, ...], tuple[tuple[tuple[str, Row], ...], frozenset[str]]] = field(
        default_factory=dict, repr=False
    )

    def add_row(
        self,
        cve: str,
        cpe: Cpe,
        vulnerable: bool,
        start_incl: str | None = None,
        start_excl: str | None = None,
        end_incl: str | None = None,
        end_excl: str | None = None,
    ) -> int:
        rid = len(self.rows)
        row = Row(
            rid,
            cve,
            cpe,
            vulnerable,
            start_incl,
            start_excl,
            end_incl,
            end_excl,
            exact=version_key(cpe.version) if cpe.version not in (ANY, NA) else None,
            k_start_incl=_k(start_incl),
            k_start_excl=_k(start_excl),
            k_end_incl=_k(end_incl),
            k_end_excl=_k(end_excl),
        )
        self.rows.append(row)
        self.by_product.setdefault(cpe.key, []).append(row)
        return rid

    def add_config(self, cve: str, config: CConfig) -> None:
        self.configs.setdefault(cve, []).append(config)
        names = self.cve_products.setdefault(cve, set())
        for node in config.nodes:
            names.update(self.rows[rid].cpe.key for rid in node.rows if rid >= 0)

    def add_record(self, cve: str, configurations: Sequence[Configuration]) -> None:
        """Index one CVE's NVD configurations."""
        for conf in configurations:
            nodes = []
            for node in conf.nodes:
                ids = tuple(
                    self.add_row(cve, m.cpe, m.vulnerable, m.start_incl, m.start_excl, m.end_incl, m.end_excl)
                    for m in node.matches
                )
                nodes.append(CNode(node.operator, node.negate, ids))
            self.add_config(cve, CConfig(conf.operator, conf.negate, tuple(nodes)))

    def __len__(self) -> int:
        return len(self.rows)

    # ---- matching ----------------------------------------------------------------------------------

    def rows_matching(self, installed: Installed) -> tuple[int, ...]:
        memo_key = (installed.key, installed.cpe)
        hit = self._memo.get(memo_key)
        if hit is None:
            cpe = installed.cpe
            vkey = version_key(cpe.version) if cpe.version not in (ANY, NA) else None
            hit = tuple(r.id for r in self.by_product.get(installed.key, ()) if row_matches(r, cpe, vkey))
            if len(self._memo) > 500_000:
                self._memo.clear()
            self._memo[memo_key] = hit
        return hit

    def match(self, installed: Iterable[Installed]) -> list[Hit]:
        """Every (CVE, program) pair that a configuration makes vulnerable on this device."""
        items = list(installed)
        platform = tuple(i for i in items if i.cpe.part == "o")
        platform_keys = {i.key for i in platform}
        platform_id = tuple((i.key, i.cpe) for i in platform)
        hits: list[Hit] = []
        shared: set[str] = set()  # CVEs naming several programs: judged with the whole device
        for inst in items:
            memo_key = (inst.key, inst.cpe, inst.platform_only, platform_id)
            cached = self._hits.get(memo_key)
            if cached is None:
                cached = self._own_hits(inst, platform, platform_keys)
                if len(self._hits) < 200_000:
                    self._hits[memo_key] = cached
            found, crossing = cached
            shared.update(crossing)
            hits.extend(Hit(cve, inst, row) for cve, row in found)
        if shared:
            hits.extend(self._device_hits(items, shared))
        hits.sort(key=lambda h: (h.cve, h.installed.key, h.row.id))
        return hits

    def _matched(self, items: Iterable[Installed]) -> dict[int, Installed]:
        matched: dict[int, Installed] = {}
        for inst in items:
            for rid in self.rows_matching(inst):
                matched.setdefault(rid, inst)
        return matched

    def _own_hits(
        self, inst: Installed, platform: tuple[Installed, ...], platform_keys: set[str]
    ) -> tuple[tuple[tuple[str, Row], ...], frozenset[str]]:
        """Hits of one program from the CVEs that name only it and the OS; and the CVEs that name
        other programs too (judged per device)."""
        if inst.platform_only:
            return (), frozenset()
        own = self.rows_matching(inst)
        if not own:
            return (), frozenset()
        rows = self.rows
        candidates = {rows[rid].cve for rid in own if rows[rid].vulnerable}
        allowed = platform_keys | {inst.key}
        crossing = frozenset(c for c in candidates if not self.cve_products.get(c, set()) <= allowed)
        matched = self._matched((inst, *platform)) if candidates - crossing else {}
        out: list[tuple[str, Row]] = []
        for cve in sorted(candidates - crossing):
            out.extend(
                (cve, rows[rid]) for rid in self._vulnerable_rows(cve, matched) if matched[rid] is inst
            )
        return tuple(out), crossing

    def _vulnerable_rows(self, cve: str, matched: dict[int, Installed]) -> list[int]:
        out: list[int] = []
        for conf in self.configs.get(cve, ()):
            if not _config_true(conf, matched):
                continue
            for node in conf.nodes:
                if node.negate:
                    continue
                for rid in node.rows:
                    inst = matched.get(rid)
                    if (
                        inst is not None
                        and not inst.platform_only
                        and self.rows[rid].vulnerable
                        and rid not in out
                    ):
                        out.append(rid)
        return out

    def _device_hits(self, items: list[Installed], cves: set[str]) -> list[Hit]:
        matched = self._matched(items)
        return [
            Hit(cve, matched[rid], self.rows[rid])
            for cve in sorted(cves)
            for rid in self._vulnerable_rows(cve, matched)
        ]


def _node_true(node: CNode, matched: dict[int, Installed]) -> bool:
    if node.operator == "AND":
        value = all(rid in matched for rid in node.rows)
    else:
        value = any(rid in matched for rid in node.rows)
    return value != node.negate


def _config_true(conf: CConfig, matched: dict[int, Installed]) -> bool:
    if conf.operator == "AND":
        value = all(_node_true(n, matched) for n in conf.nodes)
    else:
        value = any(_node_true(n, matched) for n in conf.nodes)
    return value != conf.negate


_ATTRS = ("update", "edition", "language", "sw_edition", "target_sw", "target_hw", "other")


def row_matches(row: Row, cpe: Cpe, vkey: Key | None) -> bool:
    """Does the installed ``cpe`` (version key ``vkey``; None: version unknown) fall under ``row``?"""
    crit = row.cpe
    if crit.part != cpe.part:
        return False
    for attr in _ATTRS:
        want = getattr(crit, attr)
        have = getattr(cpe, attr)
        # ANY in the criterion matches all; an attribute we do not know (ANY) is not held against it.
        if want in (ANY, have) or have == ANY:
            continue
        if want == NA and not row.vulnerable:
            continue
        return False
    if crit.version == NA:
        # A platform row ("runs on Windows"), or a vulnerable row NVD could not version.
        return not row.vulnerable
    if row.exact is not None:
        return vkey is not None and cmp_keys(vkey, row.exact) == 0
    # criterion version ANY, maybe with a range
    has_range = row.k_start_incl or row.k_start_excl or row.k_end_incl or row.k_end_excl
    if vkey is None:
        return not has_range and not row.vulnerable
    if row.k_start_incl is not None and cmp_keys(vkey, row.k_start_incl) < 0:
        return False
    if row.k_start_excl is not None and cmp_keys(vkey, row.k_start_excl) <= 0:
        return False
    if row.k_end_incl is not None and cmp_keys(vkey, row.k_end_incl) > 0:
        return False
    return not (row.k_end_excl is not None and cmp_keys(vkey, row.k_end_excl) >= 0)
