"""The city overview on SQLite and PostgreSQL: communes worst first, the figures right, every number
leading to the list behind it, trends read from the daily snapshots."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlmodel import Session, delete, select

from collector.localtime import now_utc
from collector.models.core import Site
from collector.models.snapshots import SiteDaily
from collector.services import snapshots
from inventory.report import CheckResult, CheckStatus
from tests.collector.console.world import CHECKS, PCS, City
from tests.helpers import host_report, post_report


def rows(html: str) -> list[tuple[str, str]]:
    """(site code, compliance percent as shown) of each overview row, in order."""
    body = html.split('id="sites"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'data-site="([^"]+)".*?data-percent="([^"]*)"', body, re.S)


def row_html(html: str, code: str) -> str:
    return re.search(rf'<tr[^>]*data-site="{code}">.*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]


def link(row: str, text_before: str) -> str:
    """The href of the first link whose attributes contain ``text_before``."""
    found = re.search(rf'<a href="([^"]*{re.escape(text_before.replace("&", "&amp;"))}[^"]*)"', row)
    assert found, text_before
    return found.group(1).replace("&amp;", "&")


def total(html: str) -> int:
    return int(re.search(r'data-total="(\d+)"', html).group(1))  # type: ignore[union-attr]


def get(city: City, path: str, headers: dict[str, str] | None = None) -> Any:
    answer = city.client.get(path, headers=headers or city.admin)
    assert answer.status_code == 200, (path, answer.text[:300])
    return answer


def test_communes_worst_first_with_their_figures(city: City) -> None:
    page = get(city, "/").text
    order = rows(page)
    percents = {}
    for code, _shown in order:
        figures = get(city, f"/api/v1/sites/{code}/compliance").json()
        percents[code] = figures["passed"] / (figures["passed"] + figures["failed"]) * 100
    assert [code for code, _ in order] == sorted(percents, key=lambda c: (percents[c], c))
    for code, shown in order:
        assert abs(float(shown) - percents[code]) < 0.06, (code, shown, percents[code])
    # Vietnamese pages write the decimal with a comma.
    x02 = row_html(page, "X02")
    assert re.search(r">\d+,\d %<", x02) or re.search(r">\d+ %<", x02)
    assert "style=" not in page  # sizes are attributes and classes: a strict CSP holds


def test_every_number_leads_to_the_list_behind_it(city: City) -> None:
    page = get(city, "/").text
    x02 = row_html(page, "X02")
    critical = total(get(city, link(x02, "severity=critical")).text)
    high = total(get(city, link(x02, "severity=high")).text)
    assert critical == 1 and high == sum(
        len([c for c in pc["fail"] if c != "host.os.supported"]) for pc in PCS.values() if pc["site"] == "X02"
    )
    assert re.search(rf'severity=critical[^"]*"[^>]*>{critical}</a>', x02)
    assert re.search(rf'severity=high[^"]*"[^>]*>{high}</a>', x02)
    devices = get(city, link(x02, "/devices?site=X02")).text
    assert total(devices) == 3 and re.search(r'/devices\?site=X02">3</a>', x02)
    certs = get(city, link(x02, "/certificates?site=X02")).text
    assert "Nguyễn Văn An" in certs and "Trần Thị Bình" not in certs  # 12 days left, not 200
    assert re.search(r'days=30"[^>]*>1</a>', x02)
    compliance = get(city, link(x02, "/findings?site=X02&status=open")).text
    assert total(compliance) >= critical + high
    # The stale agent count leads to that agent.
    x03 = row_html(page, "X03")
    assert re.search(r'stale=yes"[^>]*>1</a>', x03)
    agents = get(city, link(x03, "stale=yes")).text
    assert "pc-x03-silent" in agents and "pc-x03-motcua" not in agents
    # The city's cards add the communes up and link the same way.
    assert re.search(r'id="city-critical"><span class="n">1<', page)
    card = re.search(r'<a class="stat[^"]*" href="([^"]+)" id="city-stale"><span class="n">1<', page)
    assert card and "pc-x03-silent" in get(city, card.group(1).replace("&amp;", "&")).text


def test_replacement_numbers_only_for_those_who_plan(city: City) -> None:
    admin = get(city, "/").text
    assert 'id="city-replace"' in admin and "/planning/register?site=X02&amp;category=replace_now" in admin
    viewer = get(city, "/", city.viewer_p01).text
    assert 'id="city-replace"' not in viewer and "/planning/register" not in viewer


def test_a_scoped_user_and_a_group_see_their_communes_only(city: City) -> None:
    assert [code for code, _ in rows(get(city, "/", city.viewer_p01).text)] == ["P01"]
    grouped = get(city, "/?group=Cụm phía Bắc").text
    assert [code for code, _ in rows(grouped)] == ["X02"]
    assert 'id="city-devices"><span class="n">3<' in grouped


def _report(city: City, agent: Any, failing: set[str]) -> None:
    pc = PCS["pc-x03-motcua"]
    results = [
        CheckResult(check_id=c, status=CheckStatus.FAIL if c in failing else CheckStatus.PASS, evidence="x")
        for c in CHECKS
    ]
    report = host_report(
        agent.agent_id,
        hostname="pc-x03-motcua",
        machine_id="mid-5",
        serial=pc["serial"],
        mac=pc["mac"],
        results=results,
    )
    assert post_report(city.client, agent, report).status_code == 202


def test_trends_come_from_the_daily_snapshots(city: City) -> None:
    from collector.db import session_scope

    with session_scope(city.engine) as s:
        site_id = s.exec(select(Site.id).where(Site.code == "X03")).one()
        # 95 days ago X03 stood as it stands now (1 check of 4 failing): 75 %.
        snapshots.record_site(s, site_id=site_id, now=now_utc() - timedelta(days=95))
    agent = city.agents["pc-x03-motcua"]  # the PC's own agent (another would be an identity conflict)
    _report(city, agent, failing=set())  # everything passes: 100 %
    with session_scope(city.engine) as s:
        snapshots.record_site(s, site_id=site_id, now=now_utc() - timedelta(days=40))
    _report(city, agent, failing={"host.firewall.enabled", "host.antivirus.present"})  # 50 % now
    page = get(city, "/").text
    x03 = row_html(page, "X03")
    assert 'data-percent="50.0"' in x03
    # 30 days ago the snapshot of day -40 held (100 %): -50; 90 days ago the one of day -95 (75 %): -25.
    assert "−50" in x03 and "−25" in x03 and 'class="trend down"' in x03
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="sparkline"' in x03 and "<title>" in x03
    with Session(city.engine) as s:
        days = sorted(r.day for r in s.exec(select(SiteDaily).where(SiteDaily.site_id == site_id)).all())
    assert len(days) == 3  # -95, -40 and today (kept by every report)
    # The city chart is drawn from the same snapshots, with its title saying the figures in words.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart"' in page
    assert "Điểm tuân thủ toàn thành phố trong 90 ngày" in page


def _walk(s: Session, limit: int, **kw: Any) -> tuple[list[Any], Any]:
    from collector.services.overview import city_overview

    walked: list[Any] = []
    cursor = None
    while True:
        view = city_overview(s, scope=None, stale_minutes=30, cursor=cursor, limit=limit, **kw)
        walked += view.rows
        cursor = view.next_cursor
        if not cursor:
            return walked, view


def test_the_paged_overview_walks_every_commune_worst_first_once(city: City) -> None:
    with Session(city.engine) as s:
        n_sites = len(s.exec(select(Site.id)).all())
        whole, view = _walk(s, limit=1000)
        for limit in (1, 2):
            walked, last = _walk(s, limit=limit)
            assert [r.site.code for r in walked] == [r.site.code for r in whole]
        codes = [r.site.code for r in whole]
        assert len(codes) == len(set(codes)) == n_sites == view.sites
        keys = [
            (r.percent is None, r.percent or 0.0, -r.open_critical, -r.open_high, r.site.code) for r in whole
        ]
        assert keys == sorted(keys)
        # A group pages within itself.
        grouped, _ = _walk(s, limit=1, group="Cụm phía Bắc")
        assert [r.site.code for r in grouped] == ["X02"]


def _assert_live(s: Session, rows: list[Any], city_row: Any) -> None:
    live = snapshots.figures(s, site_ids=None)
    for r in rows:
        f = live.get(r.site.id, snapshots.SiteFigures())
        judged = f.passed + f.failed
        expected = round(100 * f.passed / judged, 1) if judged else None
        assert (r.devices, r.percent, r.open_critical, r.open_high) == (
            f.devices,
            expected,
            f.open_critical,
            f.open_high,
        ), r.site.code
    assert city_row.devices == sum(f.devices for f in live.values())
    assert city_row.open_critical == sum(f.open_critical for f in live.values())
    assert city_row.open_high == sum(f.open_high for f in live.values())
    passed, failed = sum(f.passed for f in live.values()), sum(f.failed for f in live.values())
    assert city_row.percent == round(100 * passed / (passed + failed), 1)


def test_stored_figures_equal_the_live_computation_and_follow_an_accepted_risk(city: City) -> None:
    from collector.db import session_scope
    from collector.models.findings import Finding
    from collector.services.findings import accept_risk

    with Session(city.engine) as s:
        rows, view = _walk(s, limit=2)
        _assert_live(s, rows, view.city)
        x02 = next(r for r in rows if r.site.code == "X02")
        assert x02.open_critical == 1
    with session_scope(city.engine) as s:
        x02_id = s.exec(select(Site.id).where(Site.code == "X02")).one()
        critical = s.exec(
            select(Finding).where(Finding.site_id == x02_id, Finding.severity == "critical")
        ).one()
        accept_risk(
            s,
            finding_id=critical.id or 0,
            scope=None,
            actor="admin",
            reason="replaced next week",
            until=now_utc() + timedelta(days=30),
        )
    with Session(city.engine) as s:
        rows, view = _walk(s, limit=2)
        assert next(r for r in rows if r.site.code == "X02").open_critical == 0
        _assert_live(s, rows, view.city)


def test_the_overview_page_links_its_next_page(city: City) -> None:
    from collector.services import overview

    first = get(city, "/").text
    assert 'rel="next"' not in first  # a handful of communes fit on one page
    saved = overview.PAGE_SIZE
    overview.city_overview.__kwdefaults__["limit"] = 2
    try:
        page = get(city, "/").text
        assert len(rows(page)) == 2
        nxt = re.search(r'<a href="([^"]+)" rel="next"', page)
        assert nxt
        second = get(city, nxt.group(1).replace("&amp;", "&")).text
        seen = [c for c, _ in rows(page)] + [c for c, _ in rows(second)]
        assert len(seen) == len(set(seen)) and 'rel="prev"' in second
        # A cursor that makes no sense starts again at the worst commune.
        assert [c for c, _ in rows(get(city, "/?cursor=garbage").text)] == [c for c, _ in rows(page)]
    finally:
        overview.city_overview.__kwdefaults__["limit"] = saved


def test_the_city_chart_is_stored_once_and_counted_again_after_a_past_snapshot(city: City) -> None:
    from collector.db import session_scope
    from collector.models.snapshots import CityDaily
    from collector.services import overview

    def series() -> list[Any]:
        with Session(city.engine) as s:
            return overview.city_overview(s, scope=None, stale_minutes=30).city.trend.series

    def live() -> list[Any]:
        with Session(city.engine) as s:
            view = overview.city_overview(s, scope=None, stale_minutes=30)
            points = overview._carried(s, view.days[:-1], scope=None, group=None)
        return [overview._percent(*p) if p else None for p in points]

    first = series()
    overview.daily_job(city.engine)  # the scheduled job stores the past days the GET counted
    with Session(city.engine) as s:
        assert len(s.exec(select(CityDaily)).all()) == overview.SERIES_DAYS - 1
    assert series() == first and first[:-1] == live()
    with session_scope(city.engine) as s:
        site_id = s.exec(select(Site.id).where(Site.code == "X02")).one()
        rows_before = len(s.exec(select(CityDaily)).all())
        snapshots.record_site(s, site_id=site_id, now=now_utc() - timedelta(days=20))
    with Session(city.engine) as s:
        assert len(s.exec(select(CityDaily)).all()) == rows_before - 20  # day -20 onwards dropped
    assert series()[:-1] == live()


def _stored(engine: Any) -> dict[str, list[Any]]:
    """Every row of the tables the overview reads and its job writes."""
    from sqlalchemy import text

    tables = ("city_daily", "site_daily", "site_current", "device_score_current", "devicescore")
    with engine.connect() as conn:
        return {t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}"))), key=repr) for t in tables}


def test_the_overview_get_never_writes_and_the_daily_job_fills_the_days(city: City) -> None:
    from collector.db import session_scope
    from collector.localtime import local_date
    from collector.models.snapshots import CityDaily
    from collector.services import overview

    # A fresh day: no city_daily row yet, no site snapshot of today.
    today = local_date(now_utc())
    with session_scope(city.engine) as s:
        s.exec(delete(CityDaily))  # type: ignore[call-overload]
        s.exec(delete(SiteDaily).where(SiteDaily.day == today))  # type: ignore[call-overload,arg-type]
    before = _stored(city.engine)
    page = get(city, "/").text
    assert 'id="sites"' in page
    assert _stored(city.engine) == before  # the GET counted the chart's days but stored nothing
    with Session(city.engine) as s:
        chart = overview.city_overview(s, scope=None, stale_minutes=30).city.trend.series

    overview.daily_job(city.engine)
    with Session(city.engine) as s:
        days = sorted(s.exec(select(CityDaily.day)).all())
        assert len(days) == overview.SERIES_DAYS - 1 and days[-1] == today - timedelta(days=1)
        codes = {sid for sid in s.exec(select(SiteDaily.site_id).where(SiteDaily.day == today)).all()}
        assert codes == set(s.exec(select(Site.id)).all())  # every site's snapshot of today
        assert overview.city_overview(s, scope=None, stale_minutes=30).city.trend.series == chart
    overview.daily_job(city.engine)  # a second run finds nothing missing
    with Session(city.engine) as s:
        assert len(s.exec(select(CityDaily)).all()) == overview.SERIES_DAYS - 1
