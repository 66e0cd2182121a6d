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
    _memo: dict[tuple[str, Cpe], tuple[int, ...]] = field(default_factory=dict, repr=False)

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
        matched: dict[int, Installed] = {}
        for inst in installed:
            for rid in self.rows_matching(inst):
                matched.setdefault(rid, inst)
        if not matched:
            return []
        rows = self.rows
        candidates = {rows[rid].cve for rid in matched if rows[rid].vulnerable}
        hits: list[Hit] = []
        for cve in sorted(candidates):
            seen: set[tuple[str, int]] = set()
            for conf in self.configs.get(cve, ()):
                if not _config_true(conf, matched):
                    continue
                for node in conf.nodes:
                    if node.negate:
                        continue
                    for rid in node.rows:
                        inst = matched.get(rid)
                        if inst is None or inst.platform_only or not rows[rid].vulnerable:
                            continue
                        if (inst.key, rid) not in seen:
                            seen.add((inst.key, rid))
                            hits.append(Hit(cve, inst, rows[rid]))
        return hits


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
