"""Reading a request body within a size limit, gzip included, without trusting the sender."""

from __future__ import annotations

import zlib

from fastapi import HTTPException, Request, status


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"report body larger than the limit of {limit} bytes (after decompression)",
    )


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, decompressed if gzip; 413 once more than ``limit`` bytes would be held.

    Decompression is incremental with a cap on output, so a gzip bomb costs at most ``limit`` bytes.
    """
    body, _gz = await read_limited_body_and_gzip(request, limit)
    return body


async def read_limited_body_and_gzip(request: Request, limit: int) -> tuple[bytes, bytes | None]:
    """The body as ``read_limited_body`` gives it, and the gzip bytes exactly as received.

    The second is None when the body was not gzip, or when bytes followed the gzip stream (a second
    member, or junk): the received bytes then are not one gzip of the body, and the caller compresses
    the body itself. Storing what the agent sent saves compressing every report again.
    """
    received = bytearray()
    declared = request.headers.get("content-length")
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    if encoding not in ("identity", "gzip"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"content-encoding {encoding!r} is not supported; use gzip or none",
        )
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    out = bytearray()
    inflater = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    async for chunk in request.stream():
        if inflater is None:
            out += chunk
        else:
            received += chunk
            try:
                out += inflater.decompress(chunk, limit + 1 - len(out))
            except zlib.error as exc:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid gzip: {exc}") from None
            if inflater.unconsumed_tail:
                raise _too_large(limit)
        if len(out) > limit:
            raise _too_large(limit)
    if inflater is not None:
        try:
            out += inflater.flush()
        except zlib.error as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid gzip: {exc}") from None
        if not inflater.eof:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is truncated gzip")
        if len(out) > limit:
            raise _too_large(limit)
        if not inflater.unused_data:
            return bytes(out), bytes(received)
    return bytes(out), None
