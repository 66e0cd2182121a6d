"""NVD CVE API 2.0 JSON: one CVE record per file, an API answer page (``vulnerabilities``), or a feed
file holding a list of records (``cve_items``). Parsed into plain dataclasses; a record that does
not fit raises ``FeedError`` naming the record and the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collector.vulns.cpe import Cpe, CpeError, parse

SEVERITY = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low", "NONE": "info"}
# Newest CVSS first: the severity we show is the newest version NVD gives.
METRIC_KEYS = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")
MAX_REFERENCES = 20


class FeedError(ValueError):
    """Input that is not what it claims to be; the message says what and where."""


@dataclass(frozen=True, slots=True)
class CpeMatch:
    vulnerable: bool
    cpe: Cpe
    criteria: str
    start_incl: str | None = None
    start_excl: str | None = None
    end_incl: str | None = None
    end_excl: str | None = None


@dataclass(frozen=True, slots=True)
class Node:
    operator: str  # AND, OR
    negate: bool
    matches: tuple[CpeMatch, ...]


@dataclass(frozen=True, slots=True)
class Configuration:
    operator: str  # AND, OR (a single node: OR)
    negate: bool
    nodes: tuple[Node, ...]


@dataclass
class CveRecord:
    id: str
    published: datetime | None
    last_modified: datetime
    status: str
    description: str
    cvss_score: float | None
    cvss_severity: str | None  # critical, high, medium, low, info
    cvss_version: str | None
    cvss_vector: str | None
    references: list[str] = field(default_factory=list)
    configurations: list[Configuration] = field(default_factory=list)


def nvd_time(value: Any, where: str) -> datetime:
    """NVD writes ``2025-10-21T20:19:37.430`` (UTC, no zone)."""
    if not isinstance(value, str):
        raise FeedError(f"{where}: expected a date-time, got {type(value).__name__}")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FeedError(f"{where}: not a date-time: {value[:40]!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _cvss(metrics: dict[str, Any]) -> tuple[float | None, str | None, str | None, str | None]:
    for key in METRIC_KEYS:
        entries = metrics.get(key) or []
        if not entries:
            continue
        entries = sorted(entries, key=lambda e: e.get("type") != "Primary")
        entry = entries[0]
        data = entry.get("cvssData") or {}
        score = data.get("baseScore")
        sev = data.get("baseSeverity") or entry.get("baseSeverity")
        if score is None:
            continue
        return (
            float(score),
            SEVERITY.get(str(sev).upper()),
            str(data.get("version") or ""),
            data.get("vectorString"),
        )
    return None, None, None, None


def _match(raw: Any, where: str) -> CpeMatch:
    if not isinstance(raw, dict) or "criteria" not in raw:
        raise FeedError(f"{where}: a cpeMatch needs 'criteria'")
    try:
        cpe = parse(str(raw["criteria"]))
    except CpeError as exc:
        raise FeedError(f"{where}: {exc}") from None
    return CpeMatch(
        vulnerable=bool(raw.get("vulnerable", False)),
        cpe=cpe,
        criteria=str(raw["criteria"]),
        start_incl=raw.get("versionStartIncluding"),
        start_excl=raw.get("versionStartExcluding"),
        end_incl=raw.get("versionEndIncluding"),
        end_excl=raw.get("versionEndExcluding"),
    )


def _operator(value: Any, where: str) -> str:
    op = str(value or "OR").upper()
    if op not in ("AND", "OR"):
        raise FeedError(f"{where}: operator must be AND or OR, got {op[:20]!r}")
    return op


def parse_record(raw: Any, where: str = "record") -> CveRecord:
    """One NVD CVE object (the value of ``cve`` in an API answer)."""
    if not isinstance(raw, dict):
        raise FeedError(f"{where}: expected a CVE object")
    cve_id = raw.get("id")
    if not isinstance(cve_id, str) or not cve_id.startswith("CVE-") or len(cve_id) > 32:
        raise FeedError(f"{where}: missing or bad 'id' (a CVE id such as CVE-2023-38831)")
    where = f"{where} {cve_id}"
    descriptions = raw.get("descriptions") or []
    text = next((d.get("value", "") for d in descriptions if d.get("lang") == "en"), "")
    score, severity, version, vector = _cvss(raw.get("metrics") or {})
    configs: list[Configuration] = []
    for ci, conf in enumerate(raw.get("configurations") or []):
        nodes = []
        for ni, node in enumerate(conf.get("nodes") or []):
            at = f"{where} configurations[{ci}].nodes[{ni}]"
            matches = tuple(
                _match(m, f"{at}.cpeMatch[{mi}]") for mi, m in enumerate(node.get("cpeMatch") or [])
            )
            nodes.append(Node(_operator(node.get("operator"), at), bool(node.get("negate")), matches))
        configs.append(
            Configuration(
                _operator(conf.get("operator"), f"{where} configurations[{ci}]"),
                bool(conf.get("negate")),
                tuple(nodes),
            )
        )
    refs = [
        r["url"] for r in raw.get("references") or [] if isinstance(r, dict) and isinstance(r.get("url"), str)
    ]
    return CveRecord(
        id=cve_id,
        published=nvd_time(raw["published"], f"{where} published") if raw.get("published") else None,
        last_modified=nvd_time(raw.get("lastModified"), f"{where} lastModified"),
        status=str(raw.get("vulnStatus") or "")[:40],
        description=str(text)[:4000],
        cvss_score=score,
        cvss_severity=severity,
        cvss_version=version,
        cvss_vector=vector,
        references=refs[:MAX_REFERENCES],
        configurations=configs,
    )


def records_of(document: Any, where: str = "file") -> list[CveRecord]:
    """Every CVE record in an NVD JSON document, whichever of the three shapes it has."""
    if isinstance(document, dict) and isinstance(document.get("vulnerabilities"), list):
        items = [v.get("cve") if isinstance(v, dict) else None for v in document["vulnerabilities"]]
    elif isinstance(document, dict) and isinstance(document.get("cve_items"), list):
        items = document["cve_items"]
    elif isinstance(document, dict) and "id" in document:
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        raise FeedError(
            f"{where}: not an NVD CVE record, API page or feed (no 'id', 'vulnerabilities' or 'cve_items')"
        )
    return [parse_record(item, f"{where}[{i}]") for i, item in enumerate(items)]


def is_nvd(document: Any) -> bool:
    return isinstance(document, dict) and (
        "vulnerabilities" in document
        and "catalogVersion" not in document
        or "cve_items" in document
        or str(document.get("id", "")).startswith("CVE-")
    )
