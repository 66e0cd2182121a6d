"""Pseudo-locale crawl: every text a person reads goes through the catalogs.

With ``WARDWATCH_PSEUDO_LOCALE=1`` the console speaks ``qps``: every translated string comes out wrapped
in «…». An admin crawls every page of a seeded collector (the route table, then the links of each page)
and every document the pages link to (PDF, XLSX, CSV, published JSON and HTML, the feeds). Text left
once the marked strings are removed must be data: hostnames, software and site names, user names,
numbers, dates, codes. Anything else is a string that bypasses translation: in Vietnamese it would show
in English.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from collector.i18n.catalog import PSEUDO_CLOSE, PSEUDO_OPEN
from tests.collector.web.support import csrf_from, make_app
from tests.helpers import PASSWORD, LiveServer

ROOT = Path(__file__).resolve().parents[3]
SKIP_PATHS = {"/logout", "/metrics", "/healthz"}
# Signed records are Vietnamese administrative documents whatever the reader's language (Decree 30): the
# stored PDF is not re-rendered per reader. Their texts are checked by rendering the record in qps below.
FIXED_LANGUAGE = re.compile(r"^/(?:published/[^/]+\.pdf|s/[^/]+\.pdf|inspections/\d+/publish/preview\.pdf)")
PER_PATTERN = 2
MARKED = re.compile(
    re.escape(PSEUDO_OPEN) + r"[^" + PSEUDO_OPEN + PSEUDO_CLOSE + r"]*" + re.escape(PSEUDO_CLOSE)
)
# Names that are the same in every language (the product, file formats, standards).
NAMES = {
    "wardwatch",
    "ward",
    "watch",
    "CSV",
    "XLSX",
    "PDF",
    "JSON",
    "Atom",
    "API",
    "CVE",
    "KEV",
    "CVSS",
    "EPSS",
}
NAMES |= {"SMART", "NVD", "CISA", "UTC", "NVMe", "Mb", "Swagger", "ReDoc", "dpkg", "rpm"}
# Date format hints (the typed format, not words).
NAMES |= {"dd", "mm", "yyyy"}
# Codes: document symbols (BB-SKHCN), units (GB), serials; hex ids (commit-like digests).
CODE = re.compile(r"\b(?:[A-Z][A-Z0-9]{1,7}|[0-9a-f]{8,})\b")
# Addresses (links in e-mails and feeds) are not words.
URL = re.compile(r"https?://\S+|(?<!\S)/[\w./?=&%-]*")
# A sheet name cut at 31 characters loses its closing marker.
CUT = re.compile(re.escape(PSEUDO_OPEN) + r"[^" + PSEUDO_CLOSE + r"]*$")
# The language switch names each language in itself.
NAMES |= {"EN", "VI", "English", "Tiếng", "Việt"}
WORD = re.compile(r"[^\W\d_]{2,}")


class _Text(HTMLParser):
    """Visible text of a page: text nodes (not scripts, styles, code) and the attributes people read."""

    SKIP = {"script", "style", "pre", "code", "textarea", "svg"}
    ATTRS = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1
        self.parts += [v for k, v in attrs if k in self.ATTRS and v]
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(data)


def page_texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def document_texts(content_type: str, body: bytes) -> list[str]:
    if "pdf" in content_type:
        from pypdf import PdfReader

        return [p.extract_text() or "" for p in PdfReader(io.BytesIO(body)).pages]
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(body), read_only=True)
        out = [ws.title for ws in wb.worksheets]
        for ws in wb.worksheets:
            out += [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
        return out
    if "csv" in content_type:
        return [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row]
    if "atom" in content_type or "xml" in content_type:
        return re.findall(r"<(?:title|summary|subtitle)[^>]*>([^<]*)<", body.decode())
    if "json" in content_type:
        # Feeds and published documents: the texts people read (titles, summaries, labels).
        out: list[str] = []

        def walk(v: Any, key: str = "") -> None:
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(x, k)
            elif isinstance(v, list):
                for x in v:
                    walk(x, key)
            elif isinstance(v, str) and key in {"title", "summary", "content_text", "description", "label"}:
                out.append(v)

        walk(json.loads(body))
        return out
    return []


def data_values(engine: Any) -> list[str]:
    """Every string stored in the database: what people entered or agents reported is data."""
    from sqlalchemy import MetaData, select

    meta = MetaData()
    meta.reflect(bind=engine)
    found: set[str] = set()

    def add(v: Any) -> None:
        if isinstance(v, str):
            if v.startswith(("{", "[")):
                try:
                    add(json.loads(v))
                    return
                except ValueError:
                    pass
            if "-----BEGIN CERTIFICATE-----" in v:
                found.update(certificate_names({v}))
            elif len(v.strip()) >= 2 and len(v) < 20000:
                found.add(" ".join(v.split()))
                # A distinguished name (CN=..., O=...): each part is shown on its own.
                found.update(p.split("=", 1)[1].strip() for p in re.split(r",(?=\s*[A-Z]+=)", v) if "=" in p)
        elif isinstance(v, dict):
            for x in v.values():
                add(x)
        elif isinstance(v, list):
            for x in v:
                add(x)

    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for v in row:
                    if isinstance(v, bytes) and v[:2] == b"\x1f\x8b":  # a report as received: its facts
                        add(json.loads(gzip.decompress(v)))
                    add(v)
    # Data files the collector shows as they are: product names it maps to CPEs, check references
    # (citations of standards, by their own titles), the settings (the issuing body's names).
    from checks.catalog import load_catalog
    from collector.services.findings import collector_checks

    for check in [*load_catalog().values(), *collector_checks().values()]:
        add(check.references)
    add(yaml.safe_load((ROOT / "collector" / "data" / "software_cpe.yaml").read_text(encoding="utf-8")))
    return sorted(found, key=len, reverse=True)


def settings_values(settings: Any) -> list[str]:
    """Configured names (the issuing body, its place): data an operator typed."""
    return [" ".join(v.split()) for v in settings.model_dump().values() if isinstance(v, str) and len(v) >= 2]


def certificate_names(values: set[str]) -> set[str]:
    """Subject and issuer names inside stored PEM certificates (the signing certificate's holder)."""
    from cryptography import x509

    out: set[str] = set()
    for v in values:
        for pem in re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", v, re.DOTALL):
            cert = x509.load_pem_x509_certificate(pem.encode())
            for name in (cert.subject, cert.issuer):
                out |= {str(a.value) for a in name}
    return out


def data_pattern(values: list[str], *, broken_words: bool = False) -> re.Pattern[str]:
    """One regex over the data values, longest first. ``broken_words``: a PDF table cell may break a
    value anywhere (``<script>alert("ho st")``), so whitespace may appear between any two characters."""
    ordered = sorted({unicodedata.normalize("NFC", v) for v in values}, key=len, reverse=True)
    if broken_words:
        return re.compile(
            "|".join(r"\s?".join(re.escape(c) for c in v if not c.isspace()) for v in ordered if len(v) < 200)
        )
    return re.compile("|".join(re.escape(v) for v in ordered))


def leaks(texts: list[str], data: re.Pattern[str]) -> list[str]:
    out = []
    for text in texts:
        flat = " ".join(unicodedata.normalize("NFC", text).split())
        before = None
        while before != flat:  # nested markers (a marked string inside a marked string)
            before, flat = flat, MARKED.sub(" ", flat)
        flat = URL.sub(" ", CUT.sub(" ", flat))
        # Codes inside data (a serial in a hostname) and data inside codes: either order may be needed.
        words = min(
            (
                [w for w in WORD.findall(CODE.sub(" ", data.sub(" ", flat))) if w not in NAMES],
                [w for w in WORD.findall(data.sub(" ", CODE.sub(" ", flat))) if w not in NAMES],
            ),
            key=len,
        )
        if words:
            out.append(flat[:160])
    return out


class Server:
    def __init__(self, url: str, app: Any, extra: list[str]) -> None:
        self.url, self.app, self.extra = url, app, extra


@pytest.fixture(scope="module")
def pseudo_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    os.environ["WARDWATCH_PSEUDO_LOCALE"] = "1"
    try:
        yield from _seeded_server(sqlite_template, tmp_path_factory)
    finally:
        os.environ.pop("WARDWATCH_PSEUDO_LOCALE", None)


def _seeded_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.collector.web.support import seed_every_kind

    db = tmp_path_factory.mktemp("qps") / "wardwatch.db"
    shutil.copy(sqlite_template, db)
    app = make_app(db)
    try:
        with LiveServer(app) as url:
            _seeded, extra = seed_every_kind(app, url)
            yield Server(url, app, extra)
    finally:
        app.state.engine.dispose()


def _patterns(app: Any) -> list[tuple[str, re.Pattern[str]]]:
    from collector.http.access import route_table

    out = []
    for path, methods, _dep in route_table(app):
        if "GET" not in methods or path.startswith(("/api/", "/static")) or path in SKIP_PATHS:
            continue
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        out.append((path, re.compile(regex)))
    return out


def test_every_page_and_document_speaks_through_the_catalogs(pseudo_server: Server) -> None:
    collected: dict[str, list[str]] = {}
    with httpx.Client(base_url=pseudo_server.url, timeout=120, cookies={"ww_lang": "qps"}) as http:
        token = csrf_from(http.get("/login").text)
        answer = http.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        assert answer.status_code in (200, 303), answer.text[:300]
        http.cookies.set("ww_lang", "qps")
        patterns = _patterns(pseudo_server.app)
        seen: dict[str, set[str]] = {p: set() for p, _ in patterns}
        queue = ["/", *[p for p, _ in patterns if "{" not in p], *pseudo_server.extra, "/no-such-page"]
        queue += ["/published/feed.json", "/published/feed.atom"]
        visited: set[str] = set()
        while queue:
            target = queue.pop(0)
            if target in visited:
                continue
            visited.add(target)
            pattern = next((p for p, rx in patterns if rx.match(urlsplit(target).path)), None)
            if pattern is not None:
                # Every format of a download (csv, xlsx, pdf, json) is a document of its own.
                if len(seen[pattern]) >= (5 if "{fmt}" in pattern else PER_PATTERN):
                    continue
                seen[pattern].add(target)
            r = http.get(target, follow_redirects=True)
            kind = r.headers.get("content-type", "")
            if "text/html" in kind:
                texts = page_texts(r.text)
                for href in re.findall(r'href="([^"]+)"', r.text):
                    parts = urlsplit(href.replace("&amp;", "&"))
                    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                        continue
                    if parts.path.startswith(("/static", "/api/")) or parts.path in SKIP_PATHS:
                        continue
                    queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
            elif FIXED_LANGUAGE.match(urlsplit(target).path):
                continue
            else:
                texts = document_texts(kind, r.content)
            collected[f"{target} ({kind.split(';')[0]})"] = texts
    # Data is read after the crawl: pages write some (notification attempts, audit events).
    data = data_values(pseudo_server.app.state.engine) + settings_values(pseudo_server.app.state.settings)
    data_rx, pdf_rx = data_pattern(data), data_pattern(data, broken_words=True)
    found = {
        where: bad
        for where, texts in collected.items()
        if (bad := leaks(texts, pdf_rx if where.endswith("application/pdf)") else data_rx))
    }
    # The crawl reached documents of every kind, not only pages.
    kinds = {where.rsplit("(", 1)[1] for where in collected}
    for kind in ("application/pdf)", "text/csv)", "application/feed+json)", "application/atom+xml)"):
        assert kind in kinds, f"no {kind[:-1]} reached: {sorted(kinds)}"
    assert any("spreadsheetml" in k for k in kinds), sorted(kinds)
    if os.environ.get("WARDWATCH_QPS_DUMP"):  # the full list, for whoever fixes the strings
        Path(os.environ["WARDWATCH_QPS_DUMP"]).write_text(json.dumps(found, ensure_ascii=False, indent=1))
    report = "\n".join(
        f"{url}:\n    " + "\n    ".join(sorted(set(v))[:12]) for url, v in sorted(found.items())
    )
    assert not found, f"text outside the catalogs on {len(found)} pages/documents:\n{report}"


def test_the_signed_inspection_record_speaks_through_the_catalogs(
    pseudo_server: Server,
) -> None:
    """The signed record is Vietnamese whatever the reader's language; rendered in qps, every heading,
    label and sentence of it comes from the catalogs (the issuing body and the answers are data)."""
    from pypdf import PdfReader
    from sqlmodel import Session, select

    from collector.models.inspections import Publication
    from collector.pdf.layout import Issuer
    from collector.pdf.layout import render as render_layout
    from collector.services.inspection_record import record_document

    app = pseudo_server.app
    data = data_values(app.state.engine) + settings_values(app.state.settings)
    data_rx = data_pattern(data, broken_words=True)
    with Session(app.state.engine) as session:
        pub = session.exec(select(Publication)).first()
        assert pub is not None
        doc = json.loads(pub.body)
    record = record_document(doc, issuer=Issuer.from_settings(app.state.settings), lang="qps")
    pdf = render_layout(record)
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.pdf)).pages)
    assert PSEUDO_OPEN in text
    assert not leaks([text], data_rx), leaks([text], data_rx)


def test_the_detector_tells_data_from_untranslated_text() -> None:
    data = data_pattern(["pc-motcua-01", "Phường Phúc Xá", "Microsoft Windows 10 Pro"])
    assert (
        leaks(["«Device» pc-motcua-01 · «Site»: Phường Phúc Xá", "12/03/2026 87,5% SN0001 BB-SKHCN"], data)
        == []
    )
    assert leaks(["«Device» pc-motcua-01 (last seen)"], data)
    assert leaks(["«Operating system: «Windows» » Microsoft Windows 10 Pro Unsupported"], data)
    # A PDF cell breaks words anywhere: still data.
    assert (
        leaks(
            ["Microsoft Win dows 10 Pro «OS»"], data_pattern(["Microsoft Windows 10 Pro"], broken_words=True)
        )
        == []
    )
    assert page_texts('<p title="Hover text">«A»</p><script>var english = 1</script>') == [
        "Hover text",
        "«A»",
    ]


def test_every_notification_e_mail_speaks_through_the_catalogs(pseudo_server: Server) -> None:
    """The e-mails of the events the seeded collector recorded (findings opened, a publication...)."""
    from sqlmodel import Session, select

    from collector.models.notifications import NotifyEvent
    from collector.services.notify_delivery import email_text

    app = pseudo_server.app
    data_rx = data_pattern(data_values(app.state.engine) + settings_values(app.state.settings))
    with Session(app.state.engine) as session:
        events = list(session.exec(select(NotifyEvent)))
    kinds = {e.kind for e in events}
    assert len(kinds) >= 2, kinds
    bad = {}
    for event in events:
        subject, body = email_text(event, "qps", app.state.settings)
        assert subject.startswith(PSEUDO_OPEN), subject
        if found := leaks([subject, *body.splitlines()], data_rx):
            bad[event.kind] = found
    assert not bad, bad
