"""The dashboard (儀表板): KPI 九-1 with its forecast, the lights and their trend, the red programmes' reasons,
the month's completeness, execution by system; leadership lands on it; a fixed number of queries, cached."""
from __future__ import annotations

import importlib.util
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from conftest import PASSWORD, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, csrf_token, project_id
from tracker import db
from tracker.domain.execution import round_rate
from tracker.domain.money import format_money
from tracker.domain.slippage import Light
from tracker.models import PlannedCurve, PlanEntry, ProgressReport, Project
from tracker.services import lights
from tracker.services.kpis import capital_execution_actual
from tracker.services.dashboard import build_dashboard, trend_days
from tracker.services.execution import execution_report, thresholds_from

DELAY = "工地開挖遭遇地下障礙物，須辦理變更設計"
REMEDY = "增派夜間班次趕工，預計 11 月底追回進度"


@pytest.fixture
def figures(seeded, session):
    """106 capital figures of three programmes up to September (千元)."""
    add_budget(session, YILAN, 500_000, 20_000, 30_000)      # 矯正, available 550,000
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)
    add_month(session, YILAN, 9, 320_000, 160_000, 20_000, 10_000)
    add_budget(session, TAICHUNG, 1_000_000)                  # joint: 檢察 and 行政執行
    add_month(session, TAICHUNG, 9, 100_000, 90_000)
    add_month(session, YUNLIN, 9, 50_000, 50_000)
    session.commit()
    return seeded


def behind(session, names, month=9, reason=DELAY):
    """Programmes whose planned curve is at 30% in September and whose September reports say 5%."""
    for name in names:
        pid = project_id(session, name)
        for m in range(1, 13):
            session.add(PlannedCurve(project_id=pid, year_roc=106, month=m,
                                     planned_percent=(Decimal(m) * 10 / 3).quantize(Decimal("0.01"))))
        session.add(ProgressReport(project_id=pid, year_roc=106, month=month, revision=1, planned_percent=Decimal(30),
                                   actual_percent=Decimal(5), delay_reason=reason, remedy=f"{name}：{REMEDY}",
                                   state="submitted", milestones={}))
    session.commit()


def login(app, client, name="lead", role="leadership"):
    from tracker.services import accounts, audit

    with db.new_session(app) as s:
        accounts.create_user(s, name, role, PASSWORD, "檢察" if role == "project_manager" else None, audit.CLI)
        s.commit()
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(page)})


def text_of(html: str) -> str:
    """The page's words, tags dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class Counter:
    """Counts the SQL statements an engine runs."""

    def __init__(self, engine):
        self.engine, self.n = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.n += 1


def test_leadership_lands_on_the_dashboard_and_others_keep_theirs(seeded, client, app):
    response = login(app, client)
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/login").headers["Location"] == "/dashboard"  # already in: the same landing page
    other = app.test_client()
    assert login(app, other, "pm", "project_manager").headers["Location"] == "/"
    third = app.test_client()
    page = third.get("/login").get_data(as_text=True)
    response = third.post("/login?next=/kpis", data={"name": "lead", "password": PASSWORD,
                                                     "csrf_token": csrf_token(page)})
    assert response.headers["Location"].endswith("/kpis")  # next= still wins
    fourth = app.test_client()
    page = fourth.get("/login").get_data(as_text=True)
    response = fourth.post("/login?next=//evil.example/x", data={"name": "lead", "password": PASSWORD,
                                                                 "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/"  # an off-site next= is dropped as before


def test_nav_has_the_dashboard_first_for_everyone(seeded, client, app):
    login(app, client, "pm", "project_manager")
    html = client.get("/").get_data(as_text=True)
    nav = html[html.index('<nav aria-label="主選單">'):]
    first = re.search(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    assert first.groups() == ("/dashboard", "儀表板")
    assert 'href="/static/dashboard.css' in html


def test_kpi_ytd_forecast_and_needed_per_month_are_the_execution_tables(figures, client, app, session):
    login(app, client)
    html = client.get("/dashboard?year=106&as_of=106-09-30").get_data(as_text=True)
    total = execution_report(session, 106, 9, "ministry", "capital", thresholds_from(app.config)).total
    ytd = round_rate(total.rates.achievement_rate)
    assert ytd == Decimal("21.29")  # 執行數 (190,000 + 90,000 + 50,000) ÷ 可支用 (550,000 + 1,000,000)
    assert f'id="kpi-ytd">{ytd}%' in html
    assert capital_execution_actual(session, 106).value == total.rates.achievement_rate  # the KPI board's 九-1
    assert f'id="kpi-forecast">{round_rate(total.forecast.rate)}%' in html
    assert f'id="kpi-needed">{format_money(total.forecast.needed_per_month)}<' in html
    words = text_of(html)
    assert "年度累計（截至 9 月底）" in words and "目標 90%" in words and "預估未達" in words
    # by system: each system's row, and the ministry's total with 臺中 once
    system_rows = {r.key: r for r in execution_report(session, 106, 9, "system").rows}
    assert {"矯正", "檢察", "行政執行"} <= set(system_rows)
    table = html[html.index('class="dash-by-system"'):]
    for name, row in system_rows.items():
        assert f">{name}</a>" in table
        assert f"{round_rate(row.rates.achievement_rate)}%" in table
    assert "合計（法務部）" in table and format_money(total.figures.available) == "1,550,000"
    assert format_money(total.figures.available) in table


def test_as_of_before_the_figures_shows_what_was_known_then(figures, client, app):
    login(app, client)
    august = client.get("/dashboard?year=106&as_of=106-08-31").get_data(as_text=True)
    assert "截至 8 月底" in text_of(august)
    assert 'id="kpi-ytd">11.61%' in august  # 宜蘭's 180,000 alone, of the year's 1,550,000


def test_lights_now_and_six_month_ends_count_the_years_programmes(figures, client, app, session):
    behind(session, [YILAN, TAICHUNG])
    as_of = date(2017, 9, 30)
    t = lights.slip_thresholds_from(app.config)
    year_ids = set(session.scalars(sa.select(PlanEntry.project_id).join(Project, Project.id == PlanEntry.project_id)
                                   .where(PlanEntry.year_roc == 106, Project.parent_id.is_(None))))
    d = build_dashboard(session, 106, as_of, app.config)
    assert [c.on for c in d.trend] == [date(2017, m, 30 if m in (4, 6, 9) else 31) for m in range(4, 10)]
    for counts in d.trend:  # each month-end judged by the portfolio's own judgement
        judged = lights.portfolio_lights(session, counts.on, t).programmes
        expected = [judged.get(pid, Light.NONE) for pid in year_ids]
        assert (counts.red, counts.yellow, counts.green) == tuple(expected.count(x) for x in (Light.RED, Light.YELLOW,
                                                                                             Light.GREEN))
        assert counts.total == len(year_ids)
    assert d.trend[-1] == d.lights  # as of a month-end, today's counts are that month's
    assert d.lights.red >= 2
    login(app, client)
    html = client.get("/dashboard?year=106&as_of=106-09-30").get_data(as_text=True)
    assert f'id="count-red">{d.lights.red}<' in html
    assert text_of(html).count("106年") >= 6 and "106年4月" in html and "106年9月" in html


def test_trend_days_are_the_last_six_month_ends():
    assert trend_days(date(2017, 3, 15)) == (date(2016, 9, 30), date(2016, 10, 31), date(2016, 11, 30),
                                             date(2016, 12, 31), date(2017, 1, 31), date(2017, 2, 28))
    assert trend_days(date(2017, 2, 28))[-1] == date(2017, 2, 28)


def test_red_programmes_show_their_latest_reason_linked_to_the_report(figures, client, app, session):
    behind(session, [YILAN])
    pid = project_id(session, YILAN)
    session.add(ProgressReport(project_id=pid, year_roc=106, month=9, revision=2, planned_percent=Decimal(30),
                               actual_percent=Decimal(6), delay_reason="第二版：鋼筋短缺", state="submitted",
                               milestones={}))
    session.commit()
    login(app, client)
    html = client.get("/dashboard?year=106&as_of=106-09-30").get_data(as_text=True)
    item = html[html.index(f'id="red-{pid}"'):]
    item = item[:item.index("</li>")]
    assert YILAN in item and f'href="/projects/{pid}"' in item
    assert f'href="/projects/{pid}/months/106-9"' in item
    assert "落後原因：第二版：鋼筋短缺" in item and DELAY not in item  # the latest revision's
    assert "已送出" in item


def test_completeness_is_the_month_before_the_as_of_date(figures, client, app, session):
    behind(session, [YILAN, TAICHUNG])
    login(app, client)
    html = client.get("/dashboard?year=106&as_of=106-10-15").get_data(as_text=True)
    line = re.search(r'id="completeness-line">([^<]+)<', html).group(1)
    assert line.startswith("9 月進度已報 2／") and "資本門月報已報 2／2" in line
    assert 'href="/completeness?month=106-09"' in html


def test_the_year_without_as_of_is_judged_at_its_end_and_a_bad_as_of_is_refused(figures, client, app):
    login(app, client)
    html = client.get("/dashboard?year=106").get_data(as_text=True)
    assert "判定日：106年12月31日" in html  # the reporting date (today) is past 106: the year as it ended
    assert client.get("/dashboard?as_of=106-13-01").status_code == 400
    assert client.get("/dashboard?year=abc").status_code == 400
    assert "判定日：106年9月30日" in client.get("/dashboard?as_of=2017-09-30").get_data(as_text=True)


def test_earned_value_block_waits_for_its_service(figures, client, app):
    login(app, client)
    html = client.get("/dashboard?year=106&as_of=106-09-30").get_data(as_text=True)
    block = html[html.index('id="earned-value"'):]
    block = block[:block.index("</dl>")]
    for label in ("BAC", "PV", "EV", "AC", "SPI", "CPI", "EAC", "TCPI"):
        assert label in block
    if importlib.util.find_spec("tracker.services.earned_value") is None:
        assert block.count("<dd>—</dd>") == 12


def test_a_fixed_number_of_queries_whatever_the_number_of_red_programmes(figures, app, session):
    behind(session, [YILAN])
    engine = db.get_engine(app)
    as_of = date(2017, 9, 30)

    def queries() -> tuple[int, int]:
        lights._LIGHTS.clear()  # judge afresh each time, as after a change
        lights._JUDGED.clear()
        with db.new_session(app) as s, Counter(engine) as counted:
            d = build_dashboard(s, 106, as_of, app.config)
        return counted.n, d.lights.red

    few, red_few = queries()
    behind(session, [TAICHUNG, YUNLIN])
    many, red_many = queries()
    assert red_many > red_few
    print(f'dashboard queries: {few} (red {red_few}) / {many} (red {red_many})')
    assert many == few
    assert few <= 60


def test_the_page_is_served_from_the_cache_until_the_data_changes(figures, client, app, session):
    login(app, client)
    url = "/dashboard?year=106&as_of=106-09-30"
    first = client.get(url).get_data(as_text=True)
    with Counter(db.get_engine(app)) as counted:
        again = client.get(url).get_data(as_text=True)
    assert again == first
    print(f"cached dashboard request: {counted.n} queries")
    assert counted.n <= 12  # the session check, the stamp, the header: no dashboard query
    behind(session, [YILAN])
    changed = client.get(url).get_data(as_text=True)
    assert f'id="red-{project_id(session, YILAN)}"' in changed and DELAY in changed


def test_the_print_and_narrow_rules_are_in_the_stylesheet(client):
    response = client.get("/static/dashboard.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "@media (max-width: 480px)" in css and "@media print" in css
    assert "table.portfolio" in css[css.index("@media print"):]


def test_a_year_not_loaded_and_a_date_before_the_year_still_draw(figures, client, app):
    login(app, client)
    later = client.get("/dashboard?year=107")
    assert later.status_code == 200 and "107 年度計畫尚未載入。" in later.get_data(as_text=True)
    early = client.get("/dashboard?year=106&as_of=2016-12-31").get_data(as_text=True)
    assert "判定日：105年12月31日" in early and 'id="kpi-ytd"' not in early  # no 106 figures were known then
