"""The HTTP stack alone: a bare FastAPI app served by uvicorn as ``wardwatch serve`` serves the
collector (same uvicorn options, access log included), whose report endpoint reads the body and
answers 202 with a body of the collector's shape, without decompressing, parsing or storing it.

``bench/ingest.py --kind noop`` (or ``--http-ceiling``) posts its reports here from the same client,
so the figure is what this machine allows at all for that many reports through HTTP, the bench
client included (it shares the cores):

    python -m bench.noop_app --port 8123 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/reports", status_code=202)
async def post_report(request: Request) -> JSONResponse:
    body = await request.body()
    if not request.headers.get("authorization", "").startswith("Bearer "):
        return JSONResponse({"detail": "agent key missing"}, status_code=401)
    return JSONResponse(
        {"status": "accepted", "report_id": str(len(body)), "device_id": 1, "duplicate": False},
        status_code=202,
    )


def main() -> None:
    import uvicorn

    from collector.serving import uvicorn_options

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run(
        "bench.noop_app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="info",
        **uvicorn_options(),
    )


if __name__ == "__main__":
    main()
