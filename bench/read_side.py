"""The read side at national size: p50/p95 of every list of the API and the console over a seeded
database (issue 15 part 4: each p95 <= 150 ms at 100,000 devices, the replacement ranking <= 100 ms).

    python bench/seed.py --devices 100000 --sites 3321 --database-url URL   # once (about 2-3 minutes)
    WARDWATCH_ADMIN_PASSWORD=... python bench/read_side.py --database-url URL [--runs 20] [--json]

Each list is asked through the real application over HTTP (FastAPI's TestClient in this process, so
routing, authentication, the database work and the JSON or HTML are all counted; the network is not),
logged in as the seed's ``admin``. The ranking and the overview are also timed at the service layer.
Deep pages start from a cursor 2,000 rows in. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(
    label: str,
    fn: Callable[[], Any],
    runs: int,
    out: dict[str, Any],
    setup: Callable[[], Any] | None = None,
) -> None:
    fn()  # warm the caches once
    samples = []
    for _ in range(runs):
        if setup is not None:  # untimed, before each sample
            setup()
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95 + 0.5) - 1)]
    out[label] = {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1)}
    print(f"{label:84s} p50 {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--plan", action="store_true", help="also time the whole plan's CSV export")
    parser.add_argument(
        "--focus", action="store_true", help="only the overview, the ranking and the plan (not the lists)"
    )
    args = parser.parse_args(argv)
    password = os.environ.get("WARDWATCH_ADMIN_PASSWORD")
    if not password:
        sys.exit("set WARDWATCH_ADMIN_PASSWORD to the password the seed gave the admin")

    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from collector.app import create_app
    from collector.http.deps import SESSION_COOKIE
    from collector.models.core import User
    from collector.services import ranking
    from collector.services.overview import city_overview
    from collector.services.users import create_auth_session
    from collector.settings import CollectorSettings

    figures: dict[str, Any] = {}
    runs = args.runs
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(CollectorSettings(database_url=args.database_url, data_dir=Path(tmp)))
        with TestClient(app) as client:
            r = client.post("/api/v1/auth/token", data={"username": "admin", "password": password})
            r.raise_for_status()
            api = {"Authorization": f"Bearer {r.json()['access_token']}"}
            with Session(app.state.engine) as session:  # the console's session cookie, as after /login
                user = session.exec(select(User).where(User.username == "admin")).one()
                token, _row = create_auth_session(session, user, kind="web", hours=1)
                session.commit()
            client.cookies.set(SESSION_COOKIE, token)

            def get(path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
                answer = client.get(path, params=params, headers=headers if headers is not None else api)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                return answer

            def deep(path: str, **params: Any) -> str:
                """The cursor 40 pages in (or of the last page but one of a shorter list)."""
                if args.focus:
                    return ""
                cursor = None
                for _ in range(40):
                    answer = get(path, **params, **({"cursor": cursor} if cursor else {}))
                    if "X-Next-Cursor" not in answer.headers:
                        break
                    cursor = answer.headers["X-Next-Cursor"]
                assert cursor
                return cursor

            def t(label: str, path: str, headers: dict[str, str] | None = None, **params: Any) -> None:
                if args.focus:
                    return
                timed(label, lambda: get(path, headers=headers, **params), runs, figures)

            site = get("/api/v1/sites", limit=50).json()[42]["code"]
            # sites
            t("api sites: first page (50)", "/api/v1/sites", limit=50)
            t("api sites: a page 2,000 in", "/api/v1/sites", limit=50, cursor=deep("/api/v1/sites", limit=50))
            t("console sites (admin/sites)", "/admin/sites", headers={})
            # devices
            t("api devices: first page by hostname", "/api/v1/devices", limit=50)
            t(
                "api devices: a page 2,000 in",
                "/api/v1/devices",
                limit=50,
                cursor=deep("/api/v1/devices", limit=50),
            )
            t("api devices: newest report first", "/api/v1/devices", limit=50, sort="-last_report")
            t("api devices: one site", "/api/v1/devices", limit=50, site=site)
            t("api devices: software winrar<6", "/api/v1/devices", limit=50, software="winrar<6")
            t("api devices: q=pc-04211", "/api/v1/devices", limit=50, q="pc-04211")
            t("api devices: silent", "/api/v1/devices", limit=50, silent="true")
            t("console devices", "/devices", headers={})
            # findings
            t("api findings: open, most severe first", "/api/v1/findings", limit=50)
            t(
                "api findings: a page 2,000 in",
                "/api/v1/findings",
                limit=50,
                cursor=deep("/api/v1/findings", limit=50),
            )
            t("api findings: one site", "/api/v1/findings", limit=50, site=site)
            t("api findings: severity=high", "/api/v1/findings", limit=50, severity="high")
            t("api findings: newest first", "/api/v1/findings", limit=50, sort="-first_seen")
            t("console findings", "/findings", headers={})
            # site compliance
            t("api site compliance", f"/api/v1/sites/{site}/compliance")
            # certificates
            t(
                "api certificates expiring within 30 days",
                "/api/v1/certificates",
                limit=50,
                expiring_within_days=30,
            )
            t("api certificates: soonest first", "/api/v1/certificates", limit=50)
            t("console certificates table", "/certificates/table", headers={})
            # search
            for q in ("pc-04211", "SN00042", "10.0.42.7", "winrar<6.23"):
                t(f"api search {q!r}", "/api/v1/search", q=q)
            t("console search 'pc-04211'", "/search", headers={}, q="pc-04211")
            # the certificate calendar: a page of 200, soonest expiry first
            timed(
                "console certificate calendar (/certificates, 90 days)",
                lambda: get("/certificates", headers={}),
                runs,
                figures,
            )
            # overview: a page of 50 communes worst first, the city's cards and its 90-day chart (its past
            # days stored by the scheduled job overview.daily, as in a running collector)
            from collector.services.overview import daily_job

            daily_job(app.state.engine)
            timed("console overview (/): first page", lambda: get("/", headers={}), runs, figures)
            engine = app.state.engine
            with Session(engine) as s:
                view = city_overview(s, scope=None, stale_minutes=30)
                for _ in range(20):  # 1,000 communes in
                    view = city_overview(s, scope=None, stale_minutes=30, cursor=view.next_cursor)
                deep_sites = view.next_cursor
                groups = view.groups
            timed(
                "console overview (/): a page 1,000 communes in",
                lambda: get("/", headers={}, cursor=deep_sites),
                runs,
                figures,
            )
            if groups:
                timed(
                    "console overview (/): one group",
                    lambda: get("/", headers={}, group=groups[0]),
                    runs,
                    figures,
                )
            with Session(engine) as s:
                timed(
                    "service overview (city_overview, first page)",
                    lambda: city_overview(s, scope=None, stale_minutes=30),
                    runs,
                    figures,
                )
                timed(
                    "service ranking: first page (50)",
                    lambda: ranking.rank(s, scope=None, min_score=15, limit=50),
                    runs,
                    figures,
                )
                cursor = None
                for _ in range(40):
                    cursor = ranking.rank(s, scope=None, min_score=15, limit=50, cursor=cursor).next_cursor
                timed(
                    "service ranking: a page 2,000 in",
                    lambda: ranking.rank(s, scope=None, min_score=15, limit=50, cursor=cursor),
                    runs,
                    figures,
                )
                timed(
                    "service ranking: one site",
                    lambda: ranking.rank(s, scope={43}, min_score=0, limit=50),
                    runs,
                    figures,
                )
            # The replacement plan a page at a time (its totals are the whole plan's on every page).
            plan = {"budget": 300_000_000, "limit": 50}
            timed(
                "api replacement plan: first page (50, 300 M VND)",
                lambda: get("/api/v1/planning/plan", **plan),
                runs,
                figures,
            )
            cursor = None
            for _ in range(40):
                cursor = get(
                    "/api/v1/planning/plan", **plan, **({"cursor": cursor} if cursor else {})
                ).json()["next_cursor"]
            timed(
                "api replacement plan: a page 2,000 in",
                lambda: get("/api/v1/planning/plan", **plan, cursor=cursor),
                runs,
                figures,
            )
            timed(
                "api replacement plan: 2 per commune, first page",
                lambda: get("/api/v1/planning/plan", **plan, min_per_site=2),
                runs,
                figures,
            )
            # A budget that reaches the commune minimums (phase 1): the totals walk the must-replace rows and
            # the minimums (a LATERAL walk per commune), and a page in the minimum phase.
            big = {"budget": 100_000_000_000, "limit": 50, "min_per_site": 2}
            timed(
                "api replacement plan: 2 per commune, 100 G VND, first page",
                lambda: get("/api/v1/planning/plan", **big),
                runs,
                figures,
            )
            cursor = None
            for _ in range(80):  # 4,000 in: past the must-replace rows, in the minimum phase
                cursor = get("/api/v1/planning/plan", **big, **({"cursor": cursor} if cursor else {})).json()[
                    "next_cursor"
                ]
            timed(
                "api replacement plan: 2 per commune, 100 G VND, a page 4,000 in",
                lambda: get("/api/v1/planning/plan", **big, cursor=cursor),
                runs,
                figures,
            )
            # The same two plans right after a write to the ranking (one ranking row rewritten and
            # committed before each sample, as a scoring job does): their totals are computed afresh, not
            # read from the totals kept for the ranking's version.
            from sqlalchemy import text

            def rescore() -> None:
                with engine.begin() as conn:
                    conn.execute(text("UPDATE device_score_current SET score = score WHERE device_id = 42"))

            timed(
                "api replacement plan: 2 per commune, first page, after a ranking write",
                lambda: get("/api/v1/planning/plan", **plan, min_per_site=2),
                runs,
                figures,
                setup=rescore,
            )
            timed(
                "api replacement plan: 2 per commune, 100 G VND, first page, after a ranking write",
                lambda: get("/api/v1/planning/plan", **big),
                runs,
                figures,
                setup=rescore,
            )
            # A write that moves a row: a funded device of the minimum phase (4,000 in) leaves the plan
            # (score 1) and comes back, in turns: its commune's minimum and the budget's cut-off move.
            moving = next(
                p
                for p in get("/api/v1/planning/plan", **big, cursor=cursor).json()["picks"]
                if p["phase"] == "minimum"
            )
            turn = [0]

            def move() -> None:
                turn[0] += 1
                score = 1 if turn[0] % 2 else int(moving["score"])
                with engine.begin() as conn:
                    conn.execute(
                        text(
                            "UPDATE device_score_current SET score = :s, neg_score = -:s,"
                            " neg_ratio = -(:s * 1.0) / cost WHERE device_id = :d"
                        ),
                        {"s": score, "d": moving["device_id"]},
                    )

            timed(
                "api replacement plan: 2 per commune, 100 G VND, first page, after a funded row moved",
                lambda: get("/api/v1/planning/plan", **big),
                runs,
                figures,
                setup=move,
            )
            timed(
                "console plan (/planning, 300 M VND)",
                lambda: get("/planning", headers={}, budget="300000000"),
                runs,
                figures,
            )
            if args.plan:  # the whole plan as a download: every candidate, streamed in batches
                timed(
                    "api replacement plan: CSV of the whole plan",
                    lambda: get("/api/v1/planning/plan", budget=300_000_000, format="csv"),
                    3,
                    figures,
                )
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
