"""The read side at national size (issue 15 part 4), on SQLite and PostgreSQL:

- bench/seed.py makes a usable database: the admin logs in with WARDWATCH_ADMIN_PASSWORD and every list
  answers with the seeded fleet;
- keyset pages neither skip nor repeat a row while rows are inserted between the pages (devices,
  findings, sites);
- the plan read from the stored ranking (``device_score_current``) is the plan computed the old way
  (every device rescored, every candidate loaded), also after a unit cost and an asset status change;
  the ranking query gives the plan's order.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.helpers import PASSWORD

PG_URL_ENV = "WARDWATCH_TEST_DATABASE_URL"

ROOT = Path(__file__).resolve().parents[2]
DEVICES, SITES = 200, 20


@dataclass
class Seeded:
    client: Any
    engine: Any
    headers: dict[str, str]


def _seed(database_url: str) -> None:
    env = {**os.environ, "WARDWATCH_ADMIN_PASSWORD": PASSWORD}
    done = subprocess.run(
        [sys.executable, "bench/seed.py", "--devices", str(DEVICES), "--sites", str(SITES)]
        + ["--database-url", database_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert f"seeded {DEVICES} devices across {SITES} sites" in done.stdout


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_template(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The database as ``python bench/seed.py`` leaves it, seeded once per module and engine (seeding
    cost 13-49 s per test on the busy machine); each test gets a copy, since tests add and move rows.
    Gives the engine and where the seeded database is (a SQLite file, a PostgreSQL template database)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("read-side") / "seeded.db"
        shutil.copy(sqlite_template, path)
        _seed(f"sqlite:///{path}")
        yield "sqlite", str(path)
        return
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set: no PostgreSQL server to test against")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from collector.migrate import upgrade

    url = make_url(base)
    name = f"ww_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_readside_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        template_url = url.set(database=name).render_as_string(hide_password=False)
        upgrade(template_url)
        _seed(template_url)
        yield "postgresql", name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _copy_of(seeded_template: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, copied from the seeded one; dropped afterwards on PostgreSQL."""
    kind, where = seeded_template
    if kind == "sqlite":
        shutil.copy(where, tmp_path / "wardwatch.db")
        yield f"sqlite:///{tmp_path / 'wardwatch.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(os.environ[PG_URL_ENV])
    name = f"{where}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{where}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def seeded(seeded_template: tuple[str, str], tmp_path: Path) -> Iterator[Seeded]:
    """A copy of the seeded database, served by a collector app."""
    from fastapi.testclient import TestClient

    from collector.app import create_app
    from collector.settings import CollectorSettings

    with _copy_of(seeded_template, tmp_path) as database_url:
        app = create_app(CollectorSettings(database_url=database_url, data_dir=tmp_path / "data"))
        with TestClient(app) as client:
            # The admin of the seed logs in with the password it was given, like any user.
            r = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield Seeded(client, app.state.engine, headers)
        app.state.engine.dispose()


def _get(s: Seeded, path: str, **params: Any) -> Any:
    r = s.client.get(path, params=params, headers=s.headers)
    assert r.status_code == 200, r.text
    return r


def test_the_seed_makes_a_usable_database(seeded: Seeded) -> None:
    r = seeded.client.post("/api/v1/auth/token", data={"username": "admin", "password": "not-it-at-all"})
    assert r.status_code == 401
    devices = _get(seeded, "/api/v1/devices", limit=5)
    assert devices.headers["X-Total-Count"] == str(DEVICES) and len(devices.json()) == 5
    sites = _get(seeded, "/api/v1/sites")
    assert len(sites.json()) == SITES and sum(s["device_count"] for s in sites.json()) == DEVICES
    findings = _get(seeded, "/api/v1/findings", limit=10).json()
    assert findings and findings[0]["severity"] == "critical"
    one = seeded.client.get(f"/api/v1/devices/{devices.json()[0]['id']}", headers=seeded.headers).json()
    assert one["facts"]["os"]["name"] and one["results"]
    code = sites.json()[0]["code"]
    compliance = _get(seeded, f"/api/v1/sites/{code}/compliance").json()
    assert len(compliance["devices"]) == DEVICES // SITES
    assert _get(seeded, "/api/v1/search", q="pc-00004").json()
    plan = _get(seeded, "/api/v1/planning/plan", budget=200_000_000).json()
    assert plan["picks"]
    page = seeded.client.get("/", headers=seeded.headers)
    assert page.status_code == 200


def test_totals_stop_counting_past_the_cap(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from collector.services import paging

    monkeypatch.setattr(paging, "TOTAL_CAP", 150)
    many = _get(seeded, "/api/v1/devices", limit=5)
    assert "X-Total-Count" not in many.headers and many.headers["X-Total-Count-Over"] == "150"
    few = _get(seeded, "/api/v1/devices", limit=5, site="X0001")
    assert few.headers["X-Total-Count"] == str(DEVICES // SITES) and "X-Total-Count-Over" not in few.headers
    from collector.http.deps import SESSION_COOKIE
    from collector.models.core import User
    from collector.services.users import create_auth_session

    with Session(seeded.engine) as session:
        user = session.exec(select(User).where(User.username == "admin")).one()
        token, _row = create_auth_session(session, user, kind="web", hours=1)
        session.commit()
    seeded.client.cookies.set(SESSION_COOKIE, token)
    page = seeded.client.get("/devices")
    assert page.status_code == 200 and "hơn 150 kết quả" in page.text
    assert f"{DEVICES // SITES} kết quả" in seeded.client.get("/devices", params={"site": "X0001"}).text
    # Past SITE_LIST_MAX sites the site filter is a code typed in, not a list of every commune.
    from collector.web import tables

    assert '<option value="X0019"' in page.text
    monkeypatch.setattr(tables, "SITE_LIST_MAX", 10)
    page = seeded.client.get("/findings", params={"site": "X0001"})
    assert '<option value="X0019"' not in page.text and 'name="site" value="X0001"' in page.text


# ---- pagination stability under inserts ---------------------------------------------------------


def _walk(s: Seeded, path: str, key: str, insert: Any, **params: Any) -> list[Any]:
    """Every row of an API list page by page, calling ``insert(n)`` between pages."""
    out: list[Any] = []
    cursor = None
    n = 0
    while True:
        answer = _get(s, path, **params, **({"cursor": cursor} if cursor else {}))
        assert len(answer.json()) <= params["limit"]  # pages, not the whole list at once
        out.extend(row[key] for row in answer.json())
        cursor = answer.headers.get("X-Next-Cursor")
        if not cursor:
            return out
        insert(n)
        n += 1


def _assert_each_once(before: set[Any], walked: list[Any]) -> None:
    assert len(walked) == len(set(walked)), "a row was shown twice"
    assert before <= set(walked), f"rows skipped: {sorted(before - set(walked))[:5]}"


def test_device_pages_skip_nothing_while_devices_are_added(seeded: Seeded) -> None:
    from collector.models.core import Device

    with Session(seeded.engine) as session:
        before = {d.id for d in session.exec(select(Device)).all()}

    counter = itertools.count()

    def insert(_page: int) -> None:
        n = next(counter)
        with Session(seeded.engine) as session:
            # One sorts before every page, one in the middle, one at the end; all share a site.
            for name in (f"aaa-{n:03d}", f"pc-000100-{n:03d}", f"zzz-{n:03d}"):
                session.add(Device(site_id=1, hostname=name, last_report_at=datetime.now(UTC)))
            session.commit()

    for sort in ("hostname", "-last_report", "site"):
        _assert_each_once(before, _walk(seeded, "/api/v1/devices", "id", insert, sort=sort, limit=17))


def test_finding_pages_skip_nothing_while_findings_are_added(seeded: Seeded) -> None:
    from collector.models.findings import Finding

    with Session(seeded.engine) as session:
        before = set(session.exec(select(Finding.id).where(Finding.status == "open")).all())
    assert len(before) > 300

    counter = itertools.count()

    def insert(_page: int) -> None:
        n = next(counter)
        now = datetime.now(UTC)
        with Session(seeded.engine) as session:
            for severity, age in (("critical", 400), ("medium", 3), ("low", 0)):
                seen = now - timedelta(days=age)
                session.add(
                    Finding(
                        device_id=1 + n,
                        site_id=1 + n % SITES,
                        check_id=f"host.inserted_{n}_{severity}",
                        severity=severity,
                        status="open",
                        first_seen_at=seen,
                        last_seen_at=seen,
                        opened_at=seen,
                    )
                )
            session.commit()

    for sort in ("severity", "-first_seen", "device"):
        walked = _walk(seeded, "/api/v1/findings", "id", insert, sort=sort, limit=50)
        _assert_each_once(before, walked)


def test_site_pages_skip_nothing_while_sites_are_added(seeded: Seeded) -> None:
    from collector.models.core import Site

    with Session(seeded.engine) as session:
        before = {s.code for s in session.exec(select(Site)).all()}

    counter = itertools.count()

    def insert(_page: int) -> None:
        n = next(counter)
        with Session(seeded.engine) as session:
            for code in (f"A{n:03d}", f"X0005-{n}", f"Z{n:03d}"):
                session.add(Site(code=code, name=f"Xã mới {code}"))
            session.commit()

    for sort in ("code", "-name"):
        _assert_each_once(before, _walk(seeded, "/api/v1/sites", "code", insert, sort=sort, limit=3))


# ---- the plan from stored scores -----------------------------------------------------------------


def _old_candidates(session: Session, config: Any) -> tuple[list[Any], dict[str, int]]:
    """The plan's candidates as they were loaded before the stored ranking: every device rescored,
    then every score row joined with its device, site, asset and system section."""
    from collector.models.assets import Asset, DeviceScore, LifecycleStatus
    from collector.models.core import Device, DeviceSection, Site
    from collector.services.planning import Candidate, effective_unit_costs
    from collector.services.scoring import recompute_scores

    ids = [i for i in session.exec(select(Device.id)).all() if i is not None]
    recompute_scores(session, device_ids=ids, config=config)
    costs = effective_unit_costs(session, config)
    q = (
        select(DeviceScore, Device, Site, Asset)
        .join(Device, col(Device.id) == col(DeviceScore.device_id))
        .join(Site, col(Site.id) == col(Device.site_id))
        .join(Asset, col(Asset.device_id) == col(Device.id), isouter=True)
    )
    system = {
        row.device_id: row.data or {}
        for row in session.exec(select(DeviceSection).where(DeviceSection.section == "system")).all()
    }
    out = []
    for score, device, site, asset in session.exec(q).all():
        storage = next((f for f in score.factors if f.get("name") == "storage"), {})
        sysdata = system.get(device.id, {})
        out.append(
            Candidate(
                device_id=device.id or 0,
                hostname=device.hostname,
                site_code=site.code,
                site_name=site.name,
                device_class=score.device_class,
                score=score.score,
                category=score.category,
                cost=costs.get(score.device_class),
                factors=tuple(score.factors),
                status=asset.status if asset else LifecycleStatus.IN_SERVICE,
                virtual=score.virtual,
                storage_failed=bool(storage.get("critical")),
                asset_tag=asset.asset_tag if asset else None,
                model=" ".join(x for x in (sysdata.get("vendor"), sysdata.get("model")) if x)
                or device.platform,
                serial=device.serial,
                purchase_date=asset.purchase_date if asset else None,
            )
        )
    return out, costs


def _shape(plan: Any) -> dict[str, Any]:
    return {
        "picks": [(p.candidate, p.rank, p.phase, p.reason, p.cumulative) for p in plan.picks],
        "non_picks": [(n.candidate, n.reason, n.notable, n.rank) for n in plan.non_picks],
        "notes": plan.notes,
        "costs": plan.unit_costs,
    }


def _both(engine: Any, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from collector.services.planning import PlanRules, build_plan, make_plan
    from collector.services.scoring import load_config

    config = load_config()
    with Session(engine) as session:
        new = make_plan(session, scope=None, config=config, **kw)
        session.commit()
    with Session(engine) as session:
        rules = PlanRules(
            budget=kw["budget"],
            min_per_site=kw.get("min_per_site", 0),
            site_minimums=dict(kw.get("site_minimums") or {}),
            must_replace=tuple(
                config.plan.must_replace if kw.get("must_replace") is None else kw["must_replace"]
            ),
            min_score=config.plan.min_score,
        )
        candidates, costs = _old_candidates(session, config)
        old = build_plan(candidates, rules, unit_costs=costs, generated_at=new.generated_at)
        session.rollback()
    return _shape(new), _shape(old)


def test_the_plan_from_stored_scores_is_the_plan_computed_the_old_way(seeded: Seeded) -> None:
    from collector.models.assets import LifecycleStatus
    from collector.services.assets import AssetChanges, update_asset
    from collector.services.planning import set_unit_costs

    for kw in (
        {"budget": 300_000_000},
        {"budget": 2_000_000_000, "min_per_site": 2},
        {"budget": 150_000_000, "must_replace": ["storage_failed", "lifecycle_to_replace"]},
        {"budget": 10**12, "site_minimums": {"X0003": 4}},
        {"budget": 0},
    ):
        new, old = _both(seeded.engine, **kw)
        assert bool(new["picks"]) == bool(kw["budget"]), kw
        assert new == old, kw
    # A planner's new price re-ranks the stored rows; an asset marked spare leaves the plan.
    with Session(seeded.engine) as session:
        set_unit_costs(session, {"desktop": 9_000_000, "laptop": 31_000_000}, actor="admin")
        session.commit()
    first = _both(seeded.engine, budget=300_000_000)[0]["picks"][0][0].device_id
    with Session(seeded.engine) as session:
        update_asset(
            session,
            first,
            AssetChanges(status=LifecycleStatus.SPARE, fields=frozenset({"status"})),
            scope=None,
            actor="admin",
        )
        session.commit()
    new, old = _both(seeded.engine, budget=300_000_000)
    assert new == old
    assert first not in [c.device_id for c, *_ in new["picks"]]


def test_the_ranking_query_gives_the_plans_order(seeded: Seeded) -> None:
    from collector.services import ranking
    from collector.services.planning import PlanRules, build_plan, load_candidates
    from collector.services.scoring import load_config

    config = load_config()
    with Session(seeded.engine) as session:
        candidates, costs = load_candidates(session, scope=None, config=config)
        session.commit()
        rules = PlanRules(budget=10**13, must_replace=(), min_score=config.plan.min_score)
        expected = [p.candidate.device_id for p in build_plan(candidates, rules, unit_costs=costs).picks]
        walked: list[int] = []
        cursor = None
        while True:
            page = ranking.rank(session, scope=None, min_score=rules.min_score, limit=23, cursor=cursor)
            walked.extend(r.device_id for r in page.rows)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert walked == expected and len(walked) > 20
        # Scoped to two sites: the same order, only their devices.
        scoped = ranking.rank(session, scope={1, 2}, min_score=rules.min_score, limit=1000).rows
        assert [r.device_id for r in scoped] == [
            d
            for d in expected
            if next(c for c in candidates if c.device_id == d).site_code in ("X0000", "X0001")
        ]


def test_a_moved_device_ranks_in_its_new_site(seeded: Seeded) -> None:
    from collector.models.core import Site
    from collector.services import moves, ranking

    with Session(seeded.engine) as session:
        top = ranking.rank(session, scope={1}, min_score=0, limit=1).rows[0].device_id
        target = session.exec(select(Site).where(Site.code == "X0002")).one()
        moves.move_devices(session, device_ids=[top], to_site=target, actor="admin", reason="merged communes")
        session.commit()
        assert top not in [
            r.device_id for r in ranking.rank(session, scope={1}, min_score=0, limit=1000).rows
        ]
        moved = ranking.rank(session, scope={target.id or 0}, min_score=0, limit=1000).rows
        assert top in [r.device_id for r in moved]


# ---- the plan a page at a time (collector.services.planning_pages) --------------------------------------


def _walk_plan(session: Session, rules: Any, costs: dict[str, int], limit: int) -> tuple[list[Any], Any]:
    from collector.services import planning_pages

    pages = list(planning_pages.iter_plan(session, rules, scope=None, costs=costs, batch=limit))
    assert all(len(p.picks) + len(p.non_picks) <= limit for p in pages)
    return pages, pages[0]


def test_the_paged_plan_is_the_unpaged_plan_with_the_same_totals(seeded: Seeded) -> None:
    from collector.services import planning_pages
    from collector.services.planning import make_plan
    from collector.services.scoring import load_config

    config = load_config()
    for kw in (
        {"budget": 300_000_000},
        {"budget": 2_000_000_000, "min_per_site": 2},
        {"budget": 150_000_000, "must_replace": ["storage_failed", "lifecycle_to_replace"]},
        {"budget": 10**12, "site_minimums": {"X0003": 4}, "min_per_site": 1},
        # Budgets that run out inside the minimum phase: some communes short of their minimum.
        {"budget": 400_000_000, "min_per_site": 3, "must_replace": []},
        {"budget": 300_000_000, "min_per_site": 2, "site_minimums": {"X0003": 5, "X0004": 0}},
        {"budget": 0},
    ):
        with Session(seeded.engine) as session:
            whole = make_plan(session, scope=None, config=config, **kw)
            session.commit()
            rules, costs = planning_pages.open_plan(session, scope=None, config=config, **kw)
            pages, first = _walk_plan(session, rules, costs, limit=7)
        assert len(pages) > 3, kw
        picks = [(p.candidate, p.rank, p.phase, p.reason, p.cumulative) for pg in pages for p in pg.picks]
        non_picks = [(n.candidate, n.reason, n.notable, n.rank) for pg in pages for n in pg.non_picks]
        assert picks == [(p.candidate, p.rank, p.phase, p.reason, p.cumulative) for p in whole.picks], kw
        assert non_picks == [(n.candidate, n.reason, n.notable, n.rank) for n in whole.non_picks], kw
        # The totals every page carries are the whole plan's, exactly.
        assert (first.picked, first.spent, first.remaining) == (
            len(whole.picks),
            whole.spent,
            whole.remaining,
        )
        assert first.by_site() == whole.by_site() and first.notes == whole.notes, kw
        if kw["budget"] in (400_000_000, 300_000_000) and "min_per_site" in kw:
            assert [p.phase for p in whole.picks][-1] == "minimum", kw
            assert any(n["code"] == "minimum_short" for n in whole.notes), kw


def _walk_plan_api(s: Seeded, insert: Any, **params: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    rows: list[dict[str, Any]] = []
    answers: list[Any] = []
    cursor = None
    n = 0
    while True:
        answer = _get(s, "/api/v1/planning/plan", **params, **({"cursor": cursor} if cursor else {})).json()
        assert len(answer["picks"]) + len(answer["non_picks"]) <= params["limit"]
        answers.append(answer)
        rows.extend(answer["picks"] + answer["non_picks"])
        cursor = answer["next_cursor"]
        if not cursor:
            return rows, answers
        insert(n)
        n += 1


def test_planning_pages_skip_nothing_while_devices_are_scored(seeded: Seeded) -> None:
    from collector.models.core import Device
    from collector.models.ranking import DeviceScoreCurrent
    from collector.services import ranking
    from collector.services.scoring import load_config

    config = load_config()
    cost = ranking.unit_costs(Session(seeded.engine), config)["desktop"]
    first, _ = _walk_plan_api(seeded, lambda n: None, budget=300_000_000, limit=1000)
    before = {r["device_id"] for r in first}
    counter = itertools.count()

    def insert(_page: int) -> None:
        # New ranking rows: one at the top of the order, one in the middle, one at the end.
        from collector.localtime import today as local_today

        with Session(seeded.engine) as session:
            for score in (100, 40, 16):
                device = Device(
                    site_id=1, hostname=f"new-{next(counter):03d}", last_report_at=datetime.now(UTC)
                )
                session.add(device)
                session.flush()
                session.add(
                    DeviceScoreCurrent(
                        device_id=device.id or 0,
                        site_id=1,
                        score=score,
                        category="monitor",
                        device_class="desktop",
                        status="in_service",
                        config_digest=config.digest(),
                        computed_on=local_today(),
                        **ranking.rank_values(score, cost, "in_service", False),
                    )
                )
            session.commit()

    walked, answers = _walk_plan_api(seeded, insert, budget=300_000_000, limit=9)
    ids = [r["device_id"] for r in walked]
    assert len(answers) > 5
    _assert_each_once(before, ids)
    # The order within what was walked stays the plan's order: ranks only grow.
    ranks = [r["rank"] for r in walked if r.get("rank") is not None]
    assert ranks == sorted(ranks)


def test_commune_minimums_hold_across_pages(seeded: Seeded) -> None:
    whole, _ = _walk_plan_api(seeded, lambda n: None, budget=10**12, min_per_site=2, must="none", limit=1000)
    walked, answers = _walk_plan_api(
        seeded, lambda n: None, budget=10**12, min_per_site=2, must="none", limit=6
    )
    assert len(answers) > 5 and [r["device_id"] for r in walked] == [r["device_id"] for r in whole]
    minimum = [r for a in answers for r in a["picks"] if r["phase"] == "minimum"]
    per_site: dict[str, int] = {}
    for r in minimum:
        per_site[r["site"]] = per_site.get(r["site"], 0) + 1
    # Every commune gets its two (the fleet has more candidates per commune than that), round-robin:
    # each commune's first device before any commune's second.
    assert set(per_site.values()) == {2} and len(per_site) == SITES
    assert len({r["site"] for r in minimum[:SITES]}) == SITES
    assert minimum == [r for r in walked if r.get("phase") == "minimum"]
    # Every page carries the whole plan's totals.
    assert len({(a["spent"], a["count"], json_key(a["by_site"])) for a in answers}) == 1


def json_key(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


# ---- the plan's notes a page at a time, and totals that follow every write ------------------------------


def _whole_notes(engine: Any, **kw: Any) -> list[tuple[str, str, str]]:
    """The unpaged plan's notes: (code, commune name or "", text as the API renders it)."""
    from collector.services.planning import make_plan, render_reason
    from collector.services.scoring import load_config

    with Session(engine) as session:
        whole = make_plan(session, scope=None, config=load_config(), **kw)
        session.commit()
    return [(n["code"], n["params"].get("site", ""), render_reason(n, "vi")) for n in whole.notes]


def test_every_note_is_reachable_from_a_page_or_the_notes_list(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three per commune on a budget that funds a handful: most communes miss their minimum.
    rules = {"budget": 150_000_000, "min_per_site": 3}
    whole = _whole_notes(seeded.engine, must_replace=[], **rules)
    everything = [text for _, _, text in whole]
    short = {text: site for code, site, text in whole if code == "minimum_short"}
    assert len(short) >= SITES // 2, everything
    page = _get(seeded, "/api/v1/planning/plan", **rules, must="none", limit=5).json()
    # A page carries the whole plan's count, the plan-wide notes and its own communes' notes only.
    names = {r["site_name"] for r in page["picks"] + page["non_picks"]}
    assert page["notes_count"] == len(everything)
    assert page["notes"] == [text for code, site, text in whole if code != "minimum_short" or site in names]
    assert len(page["notes"]) < len(everything)
    # Every note, those of communes on other pages included, is in the notes list, in the plan's order.
    listed: list[str] = []
    cursor = None
    while True:
        params = {**rules, "must": "none", "limit": 4, **({"cursor": cursor} if cursor else {})}
        answer = _get(seeded, "/api/v1/planning/plan/notes", **params)
        body = answer.json()
        assert body["count"] == len(everything) == int(answer.headers["X-Total-Count"])
        listed += body["notes"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert listed == everything
    assert any(n not in page["notes"] for n in listed)
    # The console: the page links to every note, and that page lists them.
    from collector.http.deps import SESSION_COOKIE
    from collector.models.core import User
    from collector.services.users import create_auth_session

    with Session(seeded.engine) as session:
        admin = session.exec(select(User).where(User.username == "admin")).one()
        token, _row = create_auth_session(session, admin, kind="web", hours=1)
        session.commit()
    seeded.client.cookies.set(SESSION_COOKIE, token)
    monkeypatch.setattr("collector.web.routes.planning.PLAN_PAGE_SIZE", 5)  # pages of a few communes
    html = seeded.client.get("/planning", params={"budget": "150000000", "min_per_site": "3", "rules": "1"})
    assert html.status_code == 200 and 'id="plan-all-notes"' in html.text
    all_notes = seeded.client.get(
        "/planning/notes", params={"budget": "150000000", "min_per_site": "3", "rules": "1"}
    )
    assert all_notes.status_code == 200
    import html as html_lib

    assert all(html_lib.escape(n, quote=False) in all_notes.text for n in everything)


def _totals(answer: dict[str, Any]) -> tuple[Any, ...]:
    return (answer["spent"], answer["count"], json_key(answer["by_site"]), answer["notes_count"])


def _expected_totals(engine: Any, **kw: Any) -> tuple[Any, ...]:
    from collector.services.planning import make_plan
    from collector.services.scoring import load_config

    with Session(engine) as session:
        whole = make_plan(session, scope=None, config=load_config(), **kw)
        session.commit()
    return (whole.spent, len(whole.picks), json_key(whole.by_site()), len(whole.notes))


def test_the_totals_follow_each_write_at_once(seeded: Seeded) -> None:
    """Asked again and again (the totals are kept per ranking version on PostgreSQL), a plan's totals
    are the ones computed afresh right after each committed change, and a change rolled back leaves
    them as they were."""
    from collector.models.core import Site
    from collector.models.ranking import DeviceScoreCurrent
    from collector.services import planning_pages, ranking
    from collector.services.planning import set_unit_costs
    from collector.services.scoring import load_config

    rules = {"budget": 2_000_000_000, "min_per_site": 2}

    def answer() -> dict[str, Any]:
        return _get(seeded, "/api/v1/planning/plan", **rules, limit=5).json()

    def check() -> dict[str, Any]:
        a, b = answer(), answer()
        assert _totals(a) == _totals(b) == _expected_totals(seeded.engine, **rules)
        return b

    start = check()
    # A planner's new price.
    r = seeded.client.put("/api/v1/planning/unit-costs", json={"desktop": 4_000_000}, headers=seeded.headers)
    assert r.status_code == 200, r.text
    priced = check()
    assert _totals(priced) != _totals(start)
    # A score written by the scoring (the job's write of the ranking row): the first pick drops to 1.
    top = priced["picks"][0]["device_id"]
    with Session(seeded.engine) as session:
        row = session.get(DeviceScoreCurrent, top)
        assert row is not None
        row.score = 1
        for k, v in ranking.rank_values(1, row.cost, row.status, row.virtual).items():
            setattr(row, k, v)
        session.add(row)
        session.commit()
    rescored = check()
    assert top not in [p["device_id"] for p in rescored["picks"]]
    # A commune renamed: its name in the totals at once.
    site_code = rescored["by_site"][0]["site"]
    with Session(seeded.engine) as session:
        site = session.exec(select(Site).where(Site.code == site_code)).one()
        site.name = "Xã Đổi Tên"
        session.add(site)
        session.commit()
    renamed = check()
    assert renamed["by_site"][0]["name"] == "Xã Đổi Tên"
    # Uncommitted writes count in their own transaction only: rolled back, they leave no trace.
    config = load_config()
    with Session(seeded.engine) as session:
        set_unit_costs(session, {"desktop": 1_000_000, "laptop": 1_000_000}, actor="admin")
        plan_rules, costs = planning_pages.open_plan(session, scope=None, config=config, **rules)
        inside = planning_pages.plan_totals(session, plan_rules, scope=None)
        assert (inside["picked"], inside["spent"]) != (renamed["count"], renamed["spent"])
        session.rollback()
    assert _totals(check()) == _totals(renamed)


# ---- plan totals advanced by the ranking rows a commit wrote (PostgreSQL) ------------------------------

ADVANCE_RULES: tuple[dict[str, Any], ...] = (
    # Runs out inside the minimum phase: some communes short of their minimum.
    {"budget": 400_000_000, "min_per_site": 3, "must_replace": []},
    # Must-replace rows, the minimums, then the priority phase.
    {"budget": 2_000_000_000, "min_per_site": 2},
    {"budget": 300_000_000},
    {"budget": 150_000_000, "must_replace": ["storage_failed", "lifecycle_to_replace"]},
    # Everything funded, one commune's minimum more than its candidates.
    {"budget": 10**12, "min_per_site": 1, "site_minimums": {"X0003": 40}},
)
SCOPE = {1, 2, 3, 4, 5}


def _plan_now(engine: Any, scope: Any = None, **kw: Any) -> tuple[Any, Any]:
    """(the plan computed afresh and unpaged, the plan's one page from the stored ranking with every
    note): the caller compares them."""
    from collector.services import planning_pages
    from collector.services.planning import make_plan
    from collector.services.scoring import load_config

    config = load_config()
    with Session(engine) as session:
        whole = make_plan(session, scope=scope, config=config, **kw)
        session.commit()
        rules, costs = planning_pages.open_plan(session, scope=scope, config=config, **kw)
        session.commit()
        page = planning_pages.plan_page(session, rules, scope=scope, costs=costs, limit=1000, all_notes=True)
        session.commit()
    return whole, page


def _assert_plans_agree(engine: Any, what: str) -> None:
    for scope in (None, SCOPE):
        for kw in ADVANCE_RULES:
            whole, page = _plan_now(engine, scope=scope, **kw)
            label = (what, scope, kw)
            assert (page.picked, page.spent, page.remaining) == (
                len(whole.picks),
                whole.spent,
                whole.remaining,
            ), label
            assert page.by_site() == whole.by_site(), label
            assert page.notes == whole.notes, label
            assert [(p.candidate.device_id, p.rank, p.phase, p.reason, p.cumulative) for p in page.picks] == [
                (p.candidate.device_id, p.rank, p.phase, p.reason, p.cumulative) for p in whole.picks
            ], label
            assert [(n.candidate.device_id, n.reason, n.notable, n.rank) for n in page.non_picks] == [
                (n.candidate.device_id, n.reason, n.notable, n.rank) for n in whole.non_picks
            ], label


def _rewrite(engine: Any, *changes: tuple[int, dict[str, Any]]) -> None:
    """Rewrite ranking rows as the scoring does (the ranking columns follow), in one commit."""
    from collector.models.ranking import DeviceScoreCurrent
    from collector.services import ranking

    with Session(engine) as session:
        for device_id, values in changes:
            row = session.get(DeviceScoreCurrent, device_id)
            assert row is not None
            for k, v in values.items():
                setattr(row, k, v)
            if "category" not in values and "score" in values:
                row.category = "replace_now" if row.score >= 70 else "monitor"
            for k, v in ranking.rank_values(row.score, row.cost, row.status, row.virtual).items():
                setattr(row, k, v)
            session.add(row)
        session.commit()


def test_plan_totals_follow_rows_moving_in_and_out_of_the_plan(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After each kind of ranking write, the plan (totals, every note, picks and non-picks) is the one
    computed afresh; on PostgreSQL the kept totals are advanced by the written rows, not recomputed."""
    from collector.models.core import Site
    from collector.services import moves, planning_pages

    fresh: list[int] = []
    compute = planning_pages._compute_totals

    def counted(*args: Any, **kwargs: Any) -> Any:
        fresh.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(planning_pages, "_compute_totals", counted)
    postgresql = seeded.engine.dialect.name == "postgresql"
    _assert_plans_agree(seeded.engine, "start")
    tight = ADVANCE_RULES[0]
    whole, _page = _plan_now(seeded.engine, **tight)
    funded = [p.candidate for p in whole.picks]
    minimum = [p.candidate for p in whole.picks if p.phase == "minimum"]
    unfunded = [n.candidate for n in whole.non_picks if n.rank is not None]
    assert minimum and len(unfunded) > 3

    def step(what: str, *changes: tuple[int, dict[str, Any]]) -> None:
        fresh.clear()
        _rewrite(seeded.engine, *changes)
        _assert_plans_agree(seeded.engine, what)
        if postgresql:  # every plan advanced from its kept totals, none computed afresh
            assert fresh == [], what

    # Out of the plan: a funded row's score drops below the plan's minimum score (the walk goes on
    # forwards past the old first unfunded row), and its commune's next candidate takes its minimum.
    step("funded row out", (minimum[0].device_id, {"score": 1}))
    # Into the plan: unfunded rows score 100 (the walk goes backwards from the old stop, taking out as
    # many rows as the new ones cost).
    step("unfunded row in", *[(c.device_id, {"score": 100}) for c in unfunded[-4:]])
    # A row of the commune whose minimum is more than its candidates.
    everything, _ = _plan_now(seeded.engine, **ADVANCE_RULES[-1])
    x3 = [p.candidate for p in everything.picks if p.candidate.site_code == "X0003"]
    step("commune of a large minimum", (x3[-1].device_id, {"score": 1}))
    # Across the budget boundary, both ways, in one commit: the last funded row just below the first
    # unfunded one, and the first unfunded just above.
    last, first_out = funded[-1], unfunded[0]
    step(
        "boundary",
        (last.device_id, {"score": max(first_out.score - 1, 16)}),
        (first_out.device_id, {"score": min(last.score + 1, 99)}),
    )
    # Into and out of a commune's minimum: its best row becomes its worst candidate, a row of another
    # commune that was not in the minimum becomes its best.
    minimum_now = [p.candidate for p in _plan_now(seeded.engine, **tight)[0].picks if p.phase == "minimum"]
    outside = next(
        c
        for c in unfunded
        if c.site_code != minimum_now[0].site_code and c.device_id not in {m.device_id for m in minimum_now}
    )
    step("minimum", (minimum_now[0].device_id, {"score": 15}), (outside.device_id, {"score": 99}))
    # A must-replace flag set on an unfunded row (it jumps to the first phase) and cleared on a must row.
    whole_b, _ = _plan_now(seeded.engine, **ADVANCE_RULES[1])
    must = [p.candidate for p in whole_b.picks if p.phase == "must"]
    assert must
    step(
        "must flags",
        (unfunded[1].device_id, {"status": "to_replace"}),
        (must[0].device_id, {"storage_failed": False, "status": "in_service", "score": 40}),
    )
    # No-op rewrite (a scoring job that finds the same score).
    step("unchanged", (unfunded[2].device_id, {}))
    # Two commits before the next plan: the totals follow both versions.
    fresh.clear()
    _rewrite(seeded.engine, (funded[1].device_id, {"score": 2}))
    _rewrite(seeded.engine, (funded[1].device_id, {"score": 97}), (unfunded[3].device_id, {"score": 3}))
    _assert_plans_agree(seeded.engine, "two versions")
    if postgresql:
        assert fresh == []
    # A device moved to another commune: both communes' minimums and notes follow.
    with Session(seeded.engine) as session:
        target = session.exec(select(Site).where(Site.code == "X0002")).one()
        moves.move_devices(
            session, device_ids=[minimum_now[1].device_id], to_site=target, actor="admin", reason="merged"
        )
        session.commit()
    _assert_plans_agree(seeded.engine, "moved")
    # A ranking row deleted: the plan's refresh scores the device again (an insert).
    from sqlalchemy import text

    with seeded.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM device_score_current WHERE device_id = :d"), {"d": funded[2].device_id}
        )
    _assert_plans_agree(seeded.engine, "deleted and scored again")


def test_plan_totals_are_computed_afresh_after_many_changes(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit of more ranking rows than are followed one by one (the trigger's cap: one "recompute"
    row instead), and more rows since the kept totals than the reader follows: the totals are computed
    afresh, and are right."""
    from collector.services import planning_pages

    postgresql = seeded.engine.dialect.name == "postgresql"
    _assert_plans_agree(seeded.engine, "start")
    fresh: list[int] = []
    compute = planning_pages._compute_totals

    def counted(*args: Any, **kwargs: Any) -> Any:
        fresh.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(planning_pages, "_compute_totals", counted)
    # 6 x 200 row writes in one commit (the trigger logs at most 1,000 a commit): every score +1, then
    # back, three times, the last one leaving +1.
    from sqlalchemy import text

    new = "(CASE WHEN score + :d > 100 THEN 100 WHEN score + :d < 0 THEN 0 ELSE score + :d END)"
    bump = text(
        f"UPDATE device_score_current SET score = {new}, neg_score = -{new},"
        f" neg_ratio = CASE WHEN cost > 0 THEN -({new} * 1.0) / cost ELSE 0 END"
    )
    with seeded.engine.begin() as conn:
        for d in (1, -1, 1, -1, 1, 0):
            conn.execute(bump, {"d": d})
        if postgresql:
            n = conn.execute(text("SELECT n FROM ranking_version")).scalar()
    if postgresql:
        with seeded.engine.connect() as conn:
            logged = conn.execute(
                text(
                    "SELECT count(*), count(device_id) FROM ranking_change c"
                    " JOIN ranking_commit m ON m.xid = c.xid WHERE m.version = :n"
                ),
                {"n": n + 1},
            ).one()
        assert tuple(logged) == (1001, 1000)  # 1,000 rows, then "recompute"
    _assert_plans_agree(seeded.engine, "many rows in one commit")
    if postgresql:
        assert len(fresh) == 2 * len(ADVANCE_RULES)
    # Fewer rows per commit, but more than the reader follows: computed afresh too.
    monkeypatch.setattr(planning_pages, "ADVANCE_MAX_ROWS", 50)
    fresh.clear()
    with seeded.engine.begin() as conn:
        conn.execute(bump, {"d": -1})
    _assert_plans_agree(seeded.engine, "more rows than followed")
    if postgresql:
        assert len(fresh) == 2 * len(ADVANCE_RULES)


def test_a_device_added_after_a_plan_is_ranked_by_the_next_plan(seeded: Seeded) -> None:
    """A device that has no ranking row yet (added, not scored) is scored by the next plan's refresh,
    also when the previous plan found every device ranked (kept per ranking version on PostgreSQL)."""
    from collector.models.core import Device
    from collector.models.ranking import DeviceScoreCurrent
    from collector.services import planning_pages
    from collector.services.scoring import load_config

    _plan_now(seeded.engine, budget=300_000_000)
    _plan_now(seeded.engine, budget=300_000_000)
    with Session(seeded.engine) as session:
        device = Device(site_id=2, hostname="pc-new-unscored", last_report_at=datetime.now(UTC))
        session.add(device)
        session.commit()
        device_id = device.id

    def refreshed(device_id: int | None) -> bool:
        with Session(seeded.engine) as session:  # the plan's refresh, as the API and the console open it
            planning_pages.open_plan(session, budget=300_000_000, scope=None, config=load_config())
            session.commit()
            return session.get(DeviceScoreCurrent, device_id) is not None

    assert refreshed(device_id)
    # A ranking row lost while its device stays (the commits since the last count are followed).
    from sqlalchemy import text

    assert refreshed(device_id)
    with seeded.engine.begin() as conn:
        conn.execute(text("UPDATE device_score_current SET score = score WHERE device_id = 7"))
        conn.execute(text("DELETE FROM device_score_current WHERE device_id = 5"))
    assert refreshed(5)
