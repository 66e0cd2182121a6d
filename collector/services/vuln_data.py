"""Vulnerability data in the database: import NVD and KEV documents (idempotent: an unchanged record
costs a read), how old each source is, and the matcher's index, cached per data generation.

Keyword-only services, no HTTP: the CLI, the web console and a background job call them alike.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from collector.models.types import utcnow
from collector.models.vulns import CpeMatchRow, Cve, KevEntry, VulnSource, VulnState
from collector.services.errors import ServiceError
from collector.vulns.cpe import Cpe
from collector.vulns.kev import KevCatalog, is_kev, parse_catalog
from collector.vulns.matcher import CConfig, CNode, Index
from collector.vulns.nvd import CveRecord, FeedError, is_nvd, records_of

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=14)
SOURCES = ("nvd", "kev")
MAX_FILE_BYTES = 512 * 2**20
_CHUNK = 2000


@dataclass
class ImportSummary:
    files: int = 0
    nvd_records: int = 0
    nvd_changed: int = 0
    kev_entries: int = 0
    kev_changed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.nvd_changed or self.kev_changed)


# ---- reading files ---------------------------------------------------------------------------------


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*.json") if p.is_file() and "schema" not in p.name)
    elif path.is_file():
        yield path
    else:
        raise ServiceError("%(path)s: no such file or directory", path=path)


def read_documents(paths: Iterable[Path]) -> Iterator[tuple[Path, Any]]:
    """Every JSON document under ``paths`` (files, or folders searched for ``*.json``)."""
    for root in paths:
        for p in _files(Path(root)):
            if p.stat().st_size > MAX_FILE_BYTES:
                raise ServiceError("%(p)s: larger than %(value)s MiB", p=p, value=MAX_FILE_BYTES // 2**20)
            try:
                yield p, json.loads(p.read_bytes())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ServiceError("%(p)s: not valid JSON: %(exc)s", p=p, exc=exc) from None


def import_paths(session: Session, *, paths: Iterable[Path], now: datetime | None = None) -> ImportSummary:
    """Import every NVD and KEV document under ``paths``. A document that is neither, or a record
    that does not fit, stops the import with its file and place named; nothing is committed then
    (the caller's transaction)."""
    summary = ImportSummary()
    nvd: list[CveRecord] = []
    kev: KevCatalog | None = None
    for p, doc in read_documents(paths):
        summary.files += 1
        try:
            if is_kev(doc):
                kev = parse_catalog(doc, str(p))
            elif is_nvd(doc):
                nvd.extend(records_of(doc, str(p)))
            else:
                raise FeedError(f"{p}: neither an NVD CVE document nor a KEV catalog")
        except FeedError as exc:
            raise ServiceError(str(exc)) from None
    if not summary.files:
        raise ServiceError("no JSON files found")
    if nvd:
        store_nvd(session, records=nvd, summary=summary, now=now)
    if kev is not None:
        store_kev(session, catalog=kev, summary=summary, now=now)
    if summary.changed:
        bump_generation(session, now=now)
    return summary


# ---- storing ----------------------------------------------------------------------------------------


def _source(session: Session, name: str) -> VulnSource:
    row = session.get(VulnSource, name)
    if row is None:
        row = VulnSource(name=name)
        session.add(row)
    return row


def bump_generation(session: Session, *, now: datetime | None = None) -> int:
    state = session.get(VulnState, 1) or VulnState(id=1)
    state.generation += 1
    state.changed_at = now or utcnow()
    session.add(state)
    session.flush()
    return state.generation


def generation(session: Session) -> int:
    state = session.get(VulnState, 1)
    return state.generation if state else 0


def _config_ops(record: CveRecord) -> list[Any]:
    # Each node keeps its number of criteria, so an index that loads only some products' rows still
    # knows an AND node is incomplete.
    return [
        [c.operator, c.negate, [[n.operator, n.negate, len(n.matches)] for n in c.nodes]]
        for c in record.configurations
    ]


def _match_rows(record: CveRecord) -> list[dict[str, Any]]:
    rows = []
    for ci, conf in enumerate(record.configurations):
        for ni, node in enumerate(conf.nodes):
            for m in node.matches:
                c = m.cpe
                rows.append(
                    {
                        "cve_id": record.id,
                        "cfg": ci,
                        "node": ni,
                        "vulnerable": m.vulnerable,
                        "part": c.part,
                        "vendor": c.vendor[:200],
                        "product": c.product[:200],
                        "version": c.version[:100],
                        "update": c.update[:100],
                        "edition": c.edition[:100],
                        "language": c.language[:50],
                        "sw_edition": c.sw_edition[:100],
                        "target_sw": c.target_sw[:100],
                        "target_hw": c.target_hw[:100],
                        "other": c.other[:100],
                        "start_incl": (m.start_incl or None) and m.start_incl[:100],
                        "start_excl": (m.start_excl or None) and m.start_excl[:100],
                        "end_incl": (m.end_incl or None) and m.end_incl[:100],
                        "end_excl": (m.end_excl or None) and m.end_excl[:100],
                    }
                )
    return rows


def store_nvd(
    session: Session, *, records: list[CveRecord], summary: ImportSummary, now: datetime | None = None
) -> None:
    """Upsert CVE records; a record whose lastModified is unchanged is left alone."""
    latest: dict[str, CveRecord] = {}
    for r in records:
        if r.id not in latest or r.last_modified > latest[r.id].last_modified:
            latest[r.id] = r
    summary.nvd_records += len(latest)
    ids = list(latest)
    known: dict[str, datetime] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        known.update(session.exec(select(Cve.id, Cve.last_modified).where(col(Cve.id).in_(chunk))).all())
    changed = [r for r in latest.values() if known.get(r.id) != r.last_modified]
    for i in range(0, len(changed), _CHUNK):
        batch = changed[i : i + _CHUNK]
        chunk_ids = [r.id for r in batch]
        session.exec(delete(CpeMatchRow).where(col(CpeMatchRow.cve_id).in_(chunk_ids)))
        session.exec(delete(Cve).where(col(Cve.id).in_(chunk_ids)))
        session.flush()
        session.execute(
            insert(Cve),
            [
                {
                    "id": r.id,
                    "published": r.published,
                    "last_modified": r.last_modified,
                    "status": r.status,
                    "description": r.description,
                    "cvss_score": r.cvss_score,
                    "severity": r.cvss_severity,
                    "cvss_version": (r.cvss_version or None) and r.cvss_version[:8],
                    "cvss_vector": (r.cvss_vector or None) and r.cvss_vector[:200],
                    "references": r.references,
                    "config_ops": _config_ops(r),
                }
                for r in batch
            ],
        )
        rows = [row for r in batch for row in _match_rows(r)]
        if rows:
            session.execute(insert(CpeMatchRow), rows)
    summary.nvd_changed += len(changed)
    src = _source(session, "nvd")
    newest = max(r.last_modified for r in latest.values())
    if src.data_date is None or newest > src.data_date:
        src.data_date = newest
    src.imported_at = now or utcnow()
    session.flush()
    src.records = len(session.exec(select(Cve.id)).all())
    session.add(src)


def store_kev(
    session: Session, *, catalog: KevCatalog, summary: ImportSummary, now: datetime | None = None
) -> None:
    """Upsert the KEV catalog. Entries are only added or updated: CISA removes an entry very rarely,
    and a removed entry must not silently lower a finding's urgency without a person noticing."""
    existing = {k.cve_id: k for k in session.exec(select(KevEntry)).all()}
    for e in catalog.entries:
        values = {
            "vendor": e.vendor,
            "product": e.product,
            "name": e.name,
            "date_added": e.date_added,
            "due_date": e.due_date,
            "ransomware": e.ransomware,
            "required_action": e.required_action,
        }
        row = existing.get(e.cve_id)
        if row is None:
            session.add(KevEntry(cve_id=e.cve_id, **values))
            summary.kev_changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            session.add(row)
            summary.kev_changed += 1
    summary.kev_entries += len(catalog.entries)
    src = _source(session, "kev")
    if src.data_date is None or catalog.released >= src.data_date:
        src.data_date = catalog.released
        src.version = catalog.version
    src.imported_at = now or utcnow()
    src.records = len(existing) + sum(1 for e in catalog.entries if e.cve_id not in existing)
    session.add(src)
    session.flush()


# ---- freshness -----------------------------------------------------------------------------------------


@dataclass
class SourceStatus:
    name: str
    data_date: datetime | None
    imported_at: datetime | None
    version: str | None
    records: int
    age_days: int | None
    stale: bool  # older than 14 days, or never imported


def data_status(session: Session, *, now: datetime | None = None) -> list[SourceStatus]:
    """Each source's age: the date of the data itself (not of the import)."""
    now = now or utcnow()
    rows = {s.name: s for s in session.exec(select(VulnSource)).all()}
    out = []
    for name in SOURCES:
        s = rows.get(name)
        date = s.data_date if s else None
        age = (now - date).days if date else None
        out.append(
            SourceStatus(
                name=name,
                data_date=date,
                imported_at=s.imported_at if s else None,
                version=s.version if s else None,
                records=s.records if s else 0,
                age_days=age,
                stale=date is None or now - date > STALE_AFTER,
            )
        )
    return out


# ---- the matcher's index ------------------------------------------------------------------------------

_INDEX_LOCK = threading.Lock()
_INDEX: dict[str, tuple[int, Index]] = {}


def load_index(session: Session) -> Index:
    """The match index for the database's current data generation (built once per generation and
    process; building reads every match row)."""
    gen = generation(session)
    key = str(session.get_bind().engine.url)
    with _INDEX_LOCK:
        cached = _INDEX.get(key)
        if cached is not None and cached[0] == gen:
            return cached[1]
    index = build_index(session)
    with _INDEX_LOCK:
        _INDEX[key] = (gen, index)
    # Millions of long-lived objects: keep the cyclic garbage collector from walking them on every
    # full collection (that walk, not the matching, was most of a report's re-evaluation time).
    # Frozen objects are still freed by reference counting when a newer index replaces this one.
    gc.freeze()
    return index


# Data this large is worth a full index in memory; smaller data is read per report.
WARM_ABOVE_CVES = 5000
WARM_IN_BACKGROUND = True
_WARMING: set[tuple[str, int]] = set()


def cached_index(session: Session) -> Index | None:
    """The full index if this process has it for the current data generation, else None; when the
    data is large, a missing index starts being built in a background thread (the caller goes on
    with ``index_for``)."""
    key, gen = str(session.get_bind().engine.url), generation(session)
    cached = _INDEX.get(key)
    if cached is not None and cached[0] == gen:
        return cached[1]
    src = session.get(VulnSource, "nvd")
    if WARM_IN_BACKGROUND and src is not None and src.records > WARM_ABOVE_CVES:
        _warm(session.get_bind(), key, gen)
    return None


def _warm(engine: Any, key: str, gen: int) -> None:
    with _INDEX_LOCK:
        if (key, gen) in _WARMING:
            return
        _WARMING.add((key, gen))

    def build() -> None:
        try:
            with Session(engine) as session:
                load_index(session)
        except Exception:  # the per-report path keeps working; say why the warm-up failed
            log.exception("building the vulnerability match index failed")

    threading.Thread(target=build, name="vuln-index", daemon=True).start()


_ROW_COLUMNS = (
    CpeMatchRow.cve_id,
    CpeMatchRow.cfg,
    CpeMatchRow.node,
    CpeMatchRow.vulnerable,
    CpeMatchRow.part,
    CpeMatchRow.vendor,
    CpeMatchRow.product,
    CpeMatchRow.version,
    CpeMatchRow.update,
    CpeMatchRow.edition,
    CpeMatchRow.language,
    CpeMatchRow.sw_edition,
    CpeMatchRow.target_sw,
    CpeMatchRow.target_hw,
    CpeMatchRow.other,
    CpeMatchRow.start_incl,
    CpeMatchRow.start_excl,
    CpeMatchRow.end_incl,
    CpeMatchRow.end_excl,
)


def index_for(session: Session, *, keys: set[str], platforms: Collection[str] = ()) -> Index:
    """An index of only what one device needs, read through the (vendor, product) index: every row
    of its programs (``keys``), the rows naming its OS (``platforms``) as vulnerable, and the OS's
    "running on" rows only for the CVEs found so far (Windows is the platform of a third of NVD)."""
    rows: list[Any] = []
    for vendor, products in _by_vendor(set(keys) - set(platforms)).items():
        q = select(*_ROW_COLUMNS).where(CpeMatchRow.vendor == vendor, col(CpeMatchRow.product).in_(products))
        rows.extend(session.exec(q).all())
    for vendor, products in _by_vendor(platforms).items():
        q = select(*_ROW_COLUMNS).where(
            CpeMatchRow.vendor == vendor, col(CpeMatchRow.product).in_(products), col(CpeMatchRow.vulnerable)
        )
        rows.extend(session.exec(q).all())
    cves = sorted({r[0] for r in rows})
    for vendor, products in _by_vendor(platforms).items():
        for i in range(0, len(cves), _CHUNK):
            q = select(*_ROW_COLUMNS).where(
                CpeMatchRow.vendor == vendor,
                col(CpeMatchRow.product).in_(products),
                col(CpeMatchRow.vulnerable).is_(False),
                col(CpeMatchRow.cve_id).in_(cves[i : i + _CHUNK]),
            )
            rows.extend(session.exec(q).all())
    return build_index(session, rows=rows)


def _by_vendor(keys: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k in sorted(keys):
        if ":" in k:
            vendor, product = k.split(":", 1)
            out.setdefault(vendor, []).append(product)
    return out


def build_index(session: Session, *, rows: Iterable[Any] | None = None) -> Index:
    """The match index of every stored row, or of the given ``rows`` (``_ROW_COLUMNS`` tuples) and
    their CVEs' configurations."""
    index = Index()
    ids: dict[tuple[str, int, int], list[int]] = {}
    partial = rows is not None
    if rows is None:
        rows = session.exec(select(*_ROW_COLUMNS).order_by(col(CpeMatchRow.id))).yield_per(5000)
    for cve, cfg, node, vulnerable, *fields, si, se, ei, ee in rows:
        rid = index.add_row(cve, Cpe(*fields), vulnerable, si, se, ei, ee)
        ids.setdefault((cve, cfg, node), []).append(rid)
    q_ops = select(Cve.id, Cve.config_ops)
    if partial:
        wanted = sorted({cve for cve, _c, _n in ids})
        ops: dict[str, Any] = {}
        for i in range(0, len(wanted), _CHUNK):
            ops.update(session.exec(q_ops.where(col(Cve.id).in_(wanted[i : i + _CHUNK]))).all())
    else:
        ops = dict(session.exec(q_ops).all())
    for cve_id, conf_ops in ops.items():
        for ci, (op, neg, nodes) in enumerate(conf_ops or []):
            cnodes = []
            for ni, node in enumerate(nodes):
                loaded = tuple(ids.get((cve_id, ci, ni), ()))
                total = node[2] if len(node) > 2 else len(loaded)
                # Rows not loaded (other products) can never match: they stand in as -1.
                cnodes.append(CNode(node[0], bool(node[1]), loaded + (-1,) * max(0, total - len(loaded))))
            index.add_config(cve_id, CConfig(op, bool(neg), tuple(cnodes)))
    return index


# ---- online ---------------------------------------------------------------------------------------------


@dataclass
class OnlineSummary:
    pages: int = 0
    nvd_changed: int = 0
    kev_changed: int = 0
    complete_until: datetime | None = None


def fetch_online(
    engine: Any,
    *,
    fetcher: Any,
    now: datetime | None = None,
    kev: bool = True,
    nvd: bool = True,
) -> OnlineSummary:
    """Fetch KEV and NVD from their endpoints (``fetcher``: ``collector.vulns.fetch.Fetcher``), each NVD
    page committed with the position after it, so an interrupted fetch resumes; incremental from
    the end of the last complete fetch. Raises ``FetchError`` (pages already stored are kept)."""
    from collector.db import session_scope

    now = now or utcnow()
    out = OnlineSummary()
    if kev:
        doc = fetcher.kev()
        try:
            catalog = parse_catalog(doc, fetcher.kev_url)
        except FeedError as exc:
            raise ServiceError(str(exc)) from None
        with session_scope(engine) as session:
            summary = ImportSummary()
            store_kev(session, catalog=catalog, summary=summary, now=now)
            out.kev_changed = summary.kev_changed
            if summary.changed:
                bump_generation(session, now=now)
    if not nvd:
        return out
    with session_scope(engine) as session:
        src = _source(session, "nvd")
        since, cursor = src.fetched_until, src.cursor
        # A resumed fetch finishes the window it started, up to the time that fetch began.
        until = datetime.fromisoformat(cursor["until"]) if cursor and cursor.get("until") else now

    def on_page(page: Any, position: dict[str, Any] | None) -> None:
        try:
            records = records_of(page, fetcher.nvd_url)
        except FeedError as exc:
            raise ServiceError(str(exc)) from None
        with session_scope(engine) as session:
            summary = ImportSummary()
            if records:
                store_nvd(session, records=records, summary=summary, now=now)
            src = _source(session, "nvd")
            src.cursor = {**position, "until": until.isoformat()} if position else None
            if position is None:
                src.fetched_until = until
            session.add(src)
            if summary.changed:
                bump_generation(session, now=now)
        out.pages += 1
        out.nvd_changed += summary.nvd_changed

    out.complete_until = fetcher.nvd(since=since, until=until, cursor=cursor, on_page=on_page)
    return out
