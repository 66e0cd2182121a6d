"""PAdES signatures on PDFs with pyHanko: signing (B-B, B-T, B-LT) and reading them back.

Officials check a published record in the PDF reader they sign with (Foxit, Adobe); the signature is
a PAdES one (ETSI.CAdES.detached) made with the organisation's certificate:
- B-B: the signature and the signer's certificate chain;
- B-T: plus an RFC 3161 timestamp from the configured timestamp server (fetched with httpx);
- B-LT: plus the revocation data (CRLs, OCSP answers) of the chain in the document security store,
  when it can be reached at signing time.

The visible appearance is drawn in the signature block's empty space with Liberation Serif, so the
Vietnamese name prints.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import httpx
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

LEVELS = ("B-B", "B-T", "B-LT")
FIELD_NAME = "ChuKySo"
TSA_TIMEOUT = 15.0


class TimestampError(Exception):
    pass


def _timestamper_class():
    from pyhanko.sign.timestamps.api import TimeStamper
    from pyhanko.sign.timestamps.common_utils import set_tsp_headers

    class HttpxTimeStamper(TimeStamper):
        """RFC 3161 over HTTP with httpx (pyHanko's own client wants requests or an aiohttp session)."""

        def __init__(self, url: str, timeout: float = TSA_TIMEOUT) -> None:
            super().__init__()
            self.url, self.timeout = url, timeout

        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            headers = set_tsp_headers({})
            try:
                async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
                    resp = await client.post(self.url, content=req.dump(), headers=headers)
            except httpx.HTTPError as exc:
                raise TimestampError(f"timestamp server {self.url}: {type(exc).__name__} {exc}") from None
            if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith(
                "application/timestamp-reply"
            ):
                raise TimestampError(f"timestamp server {self.url} answered HTTP {resp.status_code}")
            return tsp.TimeStampResp.load(resp.content)

    return HttpxTimeStamper


def timestamper(url: str) -> Any:
    return _timestamper_class()(url)


def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@cache
def _font_1000_upem(path: str) -> bytes:
    """The font scaled to 1000 units per em: pyHanko writes glyph widths in font units into the PDF's
    /W array, which PDF reads as thousandths of an em, so a 2048-unit TrueType font would print with
    its letters spread apart."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    # fontTools warns about each table it drops while subsetting: noise for whoever runs the collector.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    font = TTFont(path)
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _font_factory(path: str, size: int):
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

    class InMemoryFontFactory(GlyphAccumulatorFactory):
        def create_font_engine(self, writer, obj_stream=None):
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return GlyphAccumulator(
                writer=writer,
                font_handle=io.BytesIO(_font_1000_upem(self.font_file)),
                font_size=self.font_size,
                obj_stream=obj_stream,
            )

    return InMemoryFontFactory(path, font_size=size)


@dataclass(frozen=True)
class Appearance:
    page: int
    box: tuple[int, int, int, int]
    text: str  # pyHanko stamp text: %(signer)s and %(ts)s are filled in
    font_path: str


def sign(
    pdf: bytes,
    signer: Any,
    *,
    appearance: Appearance | None = None,
    tsa_url: str | None = None,
    validation_context: Any = None,
    reason: str = "",
    location: str = "",
) -> bytes:
    """The PDF with one PAdES signature added (incrementally): ``validation_context`` set = B-LT."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        embed_validation_info=validation_context is not None,
        validation_context=validation_context,
        use_pades_lta=False,
    )
    field_spec = None
    style = None
    if appearance is not None:
        field_spec = fields.SigFieldSpec(FIELD_NAME, on_page=appearance.page, box=appearance.box)
        style = TextStampStyle(
            stamp_text=appearance.text,
            text_box_style=TextBoxStyle(font=_font_factory(appearance.font_path, 10), font_size=10),
            timestamp_format="%d/%m/%Y %H:%M:%S %z",
            border_width=1,
        )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=timestamper(tsa_url) if tsa_url else None,
        stamp_style=style,
        new_field_spec=field_spec,
    )
    out = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    pdf_signer.sign_pdf(writer, output=out)
    return out.getvalue()


# ---- reading signatures back (``wardwatch verify``, tests) ---------------------------------------


@dataclass
class PdfSignatureInfo:
    field: str
    signer: str  # the signer certificate's common name
    signer_subject: str
    signed_at: datetime | None
    intact: bool  # the signed bytes are unchanged and the signature matches them
    covers_whole_file: bool
    trusted: bool
    revoked: bool
    timestamp: datetime | None
    timestamp_valid: bool
    level: str  # B-B, B-T, B-LT
    summary: str


def _cn(cert: asn1_x509.Certificate) -> str:
    for rdn in cert.subject.chosen:
        for attr in rdn:
            if attr["type"].native == "common_name":
                return str(attr["value"].native)
    return cert.subject.human_friendly


def read_signatures(
    pdf: bytes,
    *,
    trust_roots: Iterable[x509.Certificate] = (),
    other_certs: Iterable[x509.Certificate] = (),
    allow_fetching: bool = False,
) -> list[PdfSignatureInfo]:
    """Every signature of the PDF, validated against ``trust_roots`` (revocation from the file's own
    security store; the network only when ``allow_fetching``)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    # pyHanko logs every path it could not build with a traceback; the result says it once, plainly.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out: list[PdfSignatureInfo] = []
    roots = [asn1(c) for c in trust_roots]
    others = [asn1(c) for c in other_certs]
    dss = _dss_revinfo(reader)
    for embedded in reader.embedded_signatures:
        vc = ValidationContext(
            trust_roots=roots,
            other_certs=others + list(embedded.other_embedded_certs),
            allow_fetching=allow_fetching,
            revocation_mode="soft-fail",
            crls=dss["crls"],
            ocsps=dss["ocsps"],
        )
        status = asyncio.run(async_validate_pdf_signature(embedded, vc))
        ts = status.timestamp_validity
        level = "B-B"
        if ts is not None:
            level = "B-LT" if dss["crls"] or dss["ocsps"] else "B-T"
        cert = status.signing_cert
        out.append(
            PdfSignatureInfo(
                field=embedded.field_name,
                signer=_cn(cert),
                signer_subject=cert.subject.human_friendly,
                signed_at=status.signer_reported_dt,
                intact=bool(status.intact and status.valid),
                covers_whole_file=embedded.coverage.name == "ENTIRE_FILE",
                trusted=bool(status.trusted),
                revoked=bool(getattr(status, "revoked", False)),
                timestamp=ts.timestamp if ts is not None else None,
                timestamp_valid=bool(ts is not None and ts.intact and ts.valid),
                level=level,
                summary=status.summary(),
            )
        )
    return out


def _dss_revinfo(reader: Any) -> dict[str, list[Any]]:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import ocsp as asn1_ocsp
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    found: dict[str, list[Any]] = {"crls": [], "ocsps": []}
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    if dss is None:
        return found
    found["crls"] = [asn1_crl.CertificateList.load(c.get_object().data) for c in dss.crls]
    found["ocsps"] = [asn1_ocsp.OCSPResponse.load(o.get_object().data) for o in dss.ocsps]
    return found
