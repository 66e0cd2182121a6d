"""The CISA Known Exploited Vulnerabilities catalog (JSON, CC0)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from collector.vulns.nvd import FeedError, nvd_time


@dataclass(frozen=True)
class KevEntry:
    cve_id: str
    vendor: str
    product: str
    name: str
    date_added: date
    due_date: date | None
    ransomware: str  # Known, Unknown
    required_action: str


@dataclass
class KevCatalog:
    version: str
    released: datetime
    entries: list[KevEntry]


def is_kev(document: Any) -> bool:
    return isinstance(document, dict) and "catalogVersion" in document and "vulnerabilities" in document


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FeedError(f"{where}: not a date (YYYY-MM-DD): {str(value)[:20]!r}") from None


def parse_catalog(document: Any, where: str = "KEV catalog") -> KevCatalog:
    if not is_kev(document):
        raise FeedError(f"{where}: not a KEV catalog (no 'catalogVersion'/'vulnerabilities')")
    entries = []
    for i, raw in enumerate(document["vulnerabilities"]):
        at = f"{where} vulnerabilities[{i}]"
        if not isinstance(raw, dict) or not str(raw.get("cveID", "")).startswith("CVE-"):
            raise FeedError(f"{at}: missing 'cveID'")
        at = f"{at} {raw['cveID']}"
        entries.append(
            KevEntry(
                cve_id=str(raw["cveID"])[:32],
                vendor=str(raw.get("vendorProject") or "")[:200],
                product=str(raw.get("product") or "")[:200],
                name=str(raw.get("vulnerabilityName") or "")[:500],
                date_added=_day(raw.get("dateAdded"), f"{at} dateAdded"),
                due_date=_day(raw["dueDate"], f"{at} dueDate") if raw.get("dueDate") else None,
                ransomware=str(raw.get("knownRansomwareCampaignUse") or "Unknown")[:16],
                required_action=str(raw.get("requiredAction") or "")[:2000],
            )
        )
    return KevCatalog(
        version=str(document["catalogVersion"])[:32],
        released=nvd_time(document.get("dateReleased"), f"{where} dateReleased"),
        entries=entries,
    )
