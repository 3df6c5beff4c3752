"""Charts on the real 106 plan: Gantt rows, filters and lights; SVG/PNG/PDF with Chinese text; execution charts."""
from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread
from werkzeug.datastructures import MultiDict

from tracker.charts import execution as execution_chart
from tracker.charts import fonts, output
from tracker.charts import gantt as gantt_chart
from tracker.charts.data import GanttData, GanttRow, MilestoneMark
from tracker.domain.slippage import Light
from tracker.models import Milestone, Project
from tracker.services import portfolio
from tracker.services.charts import rate_bars_data, s_curve_data
from tracker.services.execution import execution_report
from tracker.services.gantt import FilterError, GanttFilter, gantt_data
from tracker.services.lights import project_lights
from conftest import HSINCHU, SEED_PATH, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, project_id

AS_OF = date(2017, 10, 1)
SMART_MONITORING = "矯正機關智慧監控系統建置計畫"
BOYI = "臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def rows_of(data: GanttData, pid: int) -> list[GanttRow]:
    """Every row (one per system) of a project."""
    return [r for r in data.rows if r.project_id == pid and not r.is_group]


def milestone(session, name: str, seq: int) -> Milestone:
    """A project's milestone by its order."""
    return session.scalar(sa.select(Milestone).join(Project).where(Project.name == name, Milestone.seq == seq))


def record_progress(session, name, seq, status, percent, started_on):
    """Store a milestone's reported progress (what the progress form would save)."""
    m = milestone(session, name, seq)
    m.status, m.percent_complete, m.actual_start_on = status, D(percent), started_on
    session.commit()


@pytest.fixture
def plan(seeded, session):
    """The seeded 106 plan and a session on it."""
    return session


# --- the font --------------------------------------------------------------------------------

def test_the_chart_font_comes_from_the_installed_package_not_the_system():
    assert fonts.FONT_PATH.is_file() and "paperang_p2_fonts_cjk" in fonts.FONT_PATH.parts
    assert fonts.FONT_FAMILY == "WenQuanYi Micro Hei"
    with fonts.chart_style():
        found = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert found == str(fonts.FONT_PATH.resolve())


def test_the_font_has_a_glyph_for_every_character_of_the_plan_and_the_charts():
    font = FT2Font(str(fonts.FONT_PATH))
    shown = "檢察機關擴遷建計畫臺（1/3）…紅燈黃燈綠燈評核基準日預估／預定模擬資料千元"
    text = SEED_PATH.read_text(encoding="utf-8") + shown
    missing = sorted({c for c in text if ord(c) > 127 and font.get_char_index(ord(c)) == 0})
    assert missing == []


def test_a_missing_glyph_is_noticed():
    """The guard below is real: a character the font lacks does raise matplotlib's warning."""
    assert FT2Font(str(fonts.FONT_PATH)).get_char_index(0x20000) == 0  # 𠀀, CJK extension B
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fonts.chart_style():
            fig = Figure()
            fig.text(0.5, 0.5, "計畫\U00020000")
            output.save(fig, "png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_no_chart_warns_of_a_missing_glyph_in_any_format(plan):
    add_budget(plan, YILAN, 100_000)
    add_month(plan, YILAN, 3, 30_000, 20_000)
    plan.commit()
    gantt = gantt_data(plan, AS_OF)
    curve, rates = s_curve_data(plan, 106), rate_bars_data(plan, 106)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fmt in output.FORMATS:
            gantt_chart.render(gantt, fmt)
            execution_chart.render_s_curve(curve, fmt)
            execution_chart.render_rate_bars(rates, fmt)
    assert [str(w.message) for w in caught] == []


# --- Gantt data ------------------------------------------------------------------------------

def test_rows_are_grouped_system_work_plan_project_sub_plan_in_plan_order(plan):
    data = gantt_data(plan, AS_OF)
    systems = [r.label for r in data.rows if r.kind == "system"]
    assert systems == [s.name for s in portfolio.list_systems(plan)]
    listed = portfolio.portfolio_page(plan, portfolio.PortfolioFilter(), page_size=1000).rows
    assert [(r.system_code, r.project_id) for r in data.rows if r.kind == "project"] == [
        (row.system_code, row.project.id) for row in listed]
    assert data.rows[0].kind == "system" and data.rows[1].kind == "work_plan"
    parent = None
    for row in data.rows:  # sub-plans follow their programme, in their own order
        if row.kind == "project":
            parent, last_seq = plan.get(Project, row.project_id), 0
        elif row.kind == "sub_plan":
            sub = plan.get(Project, row.project_id)
            assert sub.parent_id == parent.id and sub.seq > last_seq
            last_seq = sub.seq
    assert len(data.bar_rows) == 78  # 57 programmes (+1 for the joint project's second system) and 20 sub-plans


def test_the_taichung_relocation_spans_106_to_110_under_both_its_systems(plan):
    data = gantt_data(plan, AS_OF)
    rows = rows_of(data, project_id(plan, TAICHUNG))
    assert [r.system_code for r in rows] == ["prosecution", "enforcement"]
    for row in rows:
        assert row.label == TAICHUNG
        assert (row.baseline_start_on, row.baseline_finish_on) == (date(2017, 1, 1), date(2021, 12, 31))
        # not started: the bar is the current plan, to its planned finish
        assert (row.current_start_on, row.current_finish_on) == (date(2017, 1, 1), date(2021, 12, 31))
        assert not row.is_started and not row.is_finished
        assert [m.planned_finish_on for m in row.milestones] == [
            date(2017, 12, 31), date(2018, 12, 31), date(2020, 12, 31), date(2021, 12, 31)]


def test_phase_fractions_in_labels_and_years_when_there_are_no_milestones(plan):
    data = gantt_data(plan, AS_OF)
    [row] = rows_of(data, project_id(plan, SMART_MONITORING))
    assert row.label == "矯正機關智慧監控系統建置計畫(1/3)"
    assert (row.baseline_start_on, row.baseline_finish_on) == (date(2017, 1, 1), date(2019, 12, 31))
    assert row.current_start_on is None and row.milestones == () and row.light == Light.NONE
    labels = [r.label for r in data.rows if r.kind == "sub_plan"]
    assert "計畫1 毒品及其代謝物來源辨識技術之開發及其應用(1/2)" in labels


def test_lights_as_of_a_date_are_the_slip_rules_lights(plan):
    data = gantt_data(plan, AS_OF)
    [boyi] = rows_of(data, project_id(plan, BOYI))
    assert boyi.light == Light.RED  # its January-to-June steps are overdue on 2017-10-01
    programmes = {r.project_id: r.light for r in data.rows if r.kind == "project"}
    expected, _ = project_lights(plan, list(programmes), AS_OF)
    assert programmes == expected
    early = gantt_data(plan, date(2015, 12, 31))
    assert {r.light for r in early.bar_rows} == {Light.NONE}  # nothing has started yet
    red_systems = {r.label for r in data.rows if r.kind == "system" and r.light == Light.RED}
    assert "檢察" in red_systems


def test_progress_moves_the_actual_bar_and_the_forecast_finish(plan):
    sub_name = "毒品及其代謝物來源辨識技術之開發及其應用"  # one milestone: 2017-01-01 .. 2017-12-31
    record_progress(plan, sub_name, 1, "in_progress", 50, date(2017, 2, 1))
    record_progress(plan, TAICHUNG, 1, "in_progress", 80, date(2017, 1, 5))
    data = gantt_data(plan, AS_OF)
    [sub] = rows_of(data, project_id(plan, sub_name))
    elapsed = (AS_OF - date(2017, 2, 1)).days + 1  # 50% in 243 days: 486 days in all
    assert sub.is_started and sub.current_start_on == date(2017, 2, 1)
    assert sub.current_finish_on == date(2017, 2, 1) + timedelta(days=elapsed * 2 - 1)
    assert sub.light == Light.RED  # 75% planned, 50% done: 25 points and weeks behind
    taichung = rows_of(data, project_id(plan, TAICHUNG))[0]
    assert taichung.light == Light.GREEN and taichung.is_started
    assert (taichung.current_start_on, taichung.current_finish_on) == (date(2017, 1, 5), date(2021, 12, 31))


def test_filters_by_system_category_year_and_late_only(plan):
    corrections = gantt_data(plan, AS_OF, GanttFilter(system="矯正"))
    assert [r.label for r in corrections.rows if r.kind == "system"] == ["矯正"]
    assert {r.system_code for r in corrections.rows} == {"corrections"}
    assert gantt_data(plan, AS_OF, GanttFilter(system="corrections")).rows == corrections.rows
    enforcement = gantt_data(plan, AS_OF, GanttFilter(system="enforcement"))
    assert [r.system_code for r in rows_of(enforcement, project_id(plan, TAICHUNG))] == ["enforcement"]

    science = gantt_data(plan, AS_OF, GanttFilter(category="科技發展"))
    ids = [r.project_id for r in science.bar_rows]
    assert project_id(plan, SMART_MONITORING) in ids
    assert {plan.get(Project, i).category for i in ids} == {"科技發展"}

    # the year is the plan's: 106 lists its programmes (the Taichung one with its bars through 110); a year
    # whose plan is not loaded lists none
    in_106 = gantt_data(plan, AS_OF, GanttFilter(year=106))
    ids = {r.project_id for r in in_106.bar_rows}
    assert project_id(plan, TAICHUNG) in ids and project_id(plan, BOYI) in ids
    assert not gantt_data(plan, AS_OF, GanttFilter(year=108)).bar_rows

    late = gantt_data(plan, AS_OF, GanttFilter(late_only=True))
    assert late.bar_rows and {r.light for r in late.bar_rows} == {Light.RED}
    assert project_id(plan, BOYI) in {r.project_id for r in late.bar_rows}
    assert project_id(plan, SMART_MONITORING) not in {r.project_id for r in late.bar_rows}
    assert "僅列落後" in late.subtitle

    with pytest.raises(FilterError):
        gantt_data(plan, AS_OF, GanttFilter(system="不存在"))
    flt = GanttFilter.from_args(MultiDict({"system": "檢察", "category": "公共建設", "year": "107", "late": "1"}))
    assert flt == GanttFilter("檢察", "公共建設", 107, True)
    with pytest.raises(FilterError):
        GanttFilter.from_args(MultiDict({"year": "明年"}))


def test_the_gantt_takes_a_fixed_number_of_queries(plan):
    statements = []
    engine = plan.get_bind()

    def count(*_args):
        statements.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        gantt_data(plan, AS_OF)
        everything = len(statements)
        statements.clear()
        gantt_data(plan, AS_OF, GanttFilter(system="檢察", year=106))
        filtered = len(statements)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    # projects, sub-plans, milestones, entered curves, latest reports, flags (the one judgement), however many rows
    assert everything <= 6 and filtered <= 7


# --- Gantt drawing and output ----------------------------------------------------------------

def test_the_drawing_has_a_row_per_row_with_bars_dates_and_light_colours(plan):
    data = gantt_data(plan, AS_OF)
    drawn = gantt_chart.draw(data)
    assert [d.kind for d in drawn.rows] == [r.kind for r in data.rows]
    taichung_id = project_id(plan, TAICHUNG)
    taichung = next(d for d in drawn.rows if d.url == f"/projects/{taichung_id}")
    assert taichung.text.endswith("…") and TAICHUNG.startswith(taichung.text[:-1])
    assert [(b.kind, b.start_on, b.finish_on, b.color) for b in taichung.bars] == [
        ("baseline", date(2017, 1, 1), date(2021, 12, 31), gantt_chart.BASELINE_COLOR),
        ("plan", date(2017, 1, 1), date(2021, 12, 31), gantt_chart.LIGHT_COLORS[taichung.light]),
    ]
    boyi = next(d for d in drawn.rows if d.url == f"/projects/{project_id(plan, BOYI)}")
    assert boyi.light == Light.RED and boyi.bars[1].color == "#d32f2f"
    monitoring = next(d for d in drawn.rows if d.url == f"/projects/{project_id(plan, SMART_MONITORING)}")
    assert [b.kind for b in monitoring.bars] == ["baseline"]
    assert [label for label, _ in drawn.year_ticks] == ["105", "106", "107", "108", "109", "110"]
    chart = drawn.figure.axes[0]
    shown = [t.get_text() for t in chart.get_xticklabels(minor=True)]  # the years above and below the bars
    assert sorted(set(shown)) == ["105", "106", "107", "108", "109", "110"] and len(shown) == 12
    assert (drawn.first_day, drawn.last_day) == (date(2016, 1, 1), date(2021, 12, 31))


def test_started_rows_split_into_what_happened_and_what_is_forecast(plan):
    record_progress(plan, TAICHUNG, 1, "in_progress", 80, date(2017, 1, 5))
    drawn = gantt_chart.draw(gantt_data(plan, AS_OF))
    row = next(d for d in drawn.rows if d.url == f"/projects/{project_id(plan, TAICHUNG)}")
    green = gantt_chart.LIGHT_COLORS[Light.GREEN]
    assert [(b.kind, b.start_on, b.finish_on, b.color, b.alpha) for b in row.bars[1:]] == [
        ("actual", date(2017, 1, 5), AS_OF, green, 1.0),
        ("forecast", AS_OF + timedelta(days=1), date(2021, 12, 31), green, gantt_chart.FORECAST_ALPHA),
    ]


def test_the_figure_grows_with_the_rows_and_long_labels_are_cut():
    name = "臺灣高等法院臺中分院檢察署擴遷建辦公廳舍計畫案第{}號(1/3)" * 2
    rows = tuple(GanttRow("project", name.format(i, i), Light.GREEN, i, "x", date(2017, 1, 1), date(2018, 12, 31))
                 for i in range(80))
    small = gantt_chart.draw(GanttData(AS_OF, rows[:10])).figure.get_size_inches()[1]
    large = gantt_chart.draw(GanttData(AS_OF, rows))
    assert large.figure.get_size_inches()[1] > small + 70 * gantt_chart.ROW_HEIGHT - 0.01
    assert all(d.text.endswith("…") and len(d.text) < len(rows[0].label) for d in large.rows)
    assert gantt_chart.truncate("短名稱", 10) == "短名稱"


def test_svg_is_xml_with_chinese_text_as_text_and_project_links(plan):
    svg = gantt_chart.render(gantt_data(plan, AS_OF), "svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any(t.startswith("臺灣高等法院臺中分院") for t in texts)
    assert "矯正機關智慧監控系統建置計畫(1/3)" in texts
    assert texts.count("106") == 2 and "檢察（含落後）" in texts and "法務行政" in texts
    taichung = f"/projects/{project_id(plan, TAICHUNG)}"
    links = [a for a in root.iter(f"{SVG}a") if a.get(XLINK_HREF) == taichung]
    # under both systems: the label, the two bars and four milestone diamonds
    assert len(links) == 2 * (1 + 2 + 4)
    assert {a.get("target") for a in links} == {"_top"}
    linked_texts = ["".join(t.itertext()) for a in links for t in a.iter(f"{SVG}text")]
    assert len(linked_texts) == 2 and all(t.startswith("臺灣高等法院臺中分院") for t in linked_texts)
    assert b"WenQuanYi Micro Hei" in svg


def test_png_and_pdf_open_and_the_pdf_embeds_the_font(plan):
    data = gantt_data(plan, AS_OF)
    png = gantt_chart.render(data, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = imread(io.BytesIO(png), format="png")
    height = gantt_chart.TOP + len(data.rows) * gantt_chart.ROW_HEIGHT + gantt_chart.BOTTOM
    assert pixels.shape[:2] == (round(height * fonts.PNG_DPI), round(gantt_chart.FIG_WIDTH * fonts.PNG_DPI))
    pdf = gantt_chart.render(data, "pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"WenQuanYiMicroHei" in pdf and b"/FontFile2" in pdf and b"/CIDFontType2" in pdf
    assert b"/Type3" not in pdf


def test_an_unknown_format_is_refused(plan):
    with pytest.raises(output.ChartFormatError):
        gantt_chart.render(GanttData(AS_OF, ()), "gif")


def test_an_empty_chart_still_renders():
    svg = gantt_chart.render(GanttData(AS_OF, ()), "svg")
    assert "沒有符合條件的計畫" in svg.decode("utf-8")


def test_two_hundred_rows_stay_readable():
    """Every one of 200 rows is drawn with its own label, and the figure grows to give each row room."""
    marks = (MilestoneMark(date(2017, 6, 30), Light.GREEN), MilestoneMark(date(2018, 6, 30), Light.RED))
    rows = []
    for i in range(200):
        start = date(2017, 1, 1) + timedelta(days=7 * i)
        rows.append(GanttRow("project", f"法務部矯正署第{i}號監獄擴建計畫(1/3)", Light(i % 4), i, "x", start,
                             start + timedelta(days=700), start, start + timedelta(days=800), True, False, marks))
    drawn = gantt_chart.draw(GanttData(date(2018, 6, 30), tuple(rows)))
    assert len(drawn.rows) == 200 and len({row.text for row in drawn.rows}) == 200
    small = gantt_chart.draw(GanttData(date(2018, 6, 30), tuple(rows[:20])))
    assert drawn.figure.get_figheight() > 5 * small.figure.get_figheight()  # the speed is measured in bench/


# --- execution charts ------------------------------------------------------------------------

@pytest.fixture
def ledger(plan):
    """Month-end capital figures of three projects (千元); the joint 臺中 project reports only some months."""
    add_budget(plan, YILAN, 500_000, 20_000, 30_000)  # available 550,000
    add_month(plan, YILAN, 1, 50_000, 40_000)
    add_month(plan, YILAN, 2, 120_000, 90_000, 10_000)
    add_month(plan, YILAN, 3, 200_000, 150_000, 20_000, 5_000)
    add_budget(plan, TAICHUNG, 300_000)  # 檢察 and 行政執行
    add_month(plan, TAICHUNG, 2, 60_000, 30_000)  # no March row: February stands
    add_budget(plan, YUNLIN, 100_000)
    add_month(plan, YUNLIN, 3, 10_000, 10_000)
    add_budget(plan, HSINCHU, 40_000)  # budget, nothing allocated
    plan.commit()
    return plan


def test_the_s_curve_plots_the_cumulative_figures(ledger):
    data = s_curve_data(ledger, 106)
    assert [(p.month, p.allocated, p.executed) for p in data.points] == [
        (1, D(50_000), D(40_000)),
        (2, D(180_000), D(130_000)),  # 宜蘭 120,000 + 臺中 60,000; 100,000 + 30,000
        (3, D(270_000), D(215_000)),  # 臺中 counted once, with its February figures
    ]
    assert data.available == D(990_000)
    drawn = execution_chart.draw_s_curve(data)
    assert drawn.lines["allocated"] == ([1.0, 2.0, 3.0], [50_000.0, 180_000.0, 270_000.0])
    assert drawn.lines["executed"] == ([1.0, 2.0, 3.0], [40_000.0, 130_000.0, 215_000.0])
    assert drawn.lines["target"][1] == [891_000.0, 891_000.0]  # 90% of 990,000
    assert drawn.lines["available"][1] == [990_000.0, 990_000.0]
    report = execution_report(ledger, 106, 3, "ministry")
    assert data.forecast_rate == report.total.forecast.rate
    assert drawn.lines["forecast"] == ([3.0, 12.0], [215_000.0, float(report.total.forecast.executed_at_year_end)])
    for month, point in zip((1, 2, 3), data.points):
        total = execution_report(ledger, 106, month, "ministry").total
        assert (point.allocated, point.executed) == (total.figures.allocated, total.rates.executed)


def test_a_project_s_curve(ledger):
    data = s_curve_data(ledger, 106, project_id(ledger, YILAN))
    assert data.title.startswith(YILAN)
    assert [(p.month, p.allocated, p.executed) for p in data.points] == [
        (1, D(50_000), D(40_000)), (2, D(120_000), D(100_000)), (3, D(200_000), D(175_000))]
    assert data.available == D(550_000)


def test_the_rate_bars_are_the_rollup_rates(ledger):
    data = rate_bars_data(ledger, 106)
    assert data.month == 3
    drawn = execution_chart.draw_rate_bars(data)
    bars = {(b.panel, b.label, b.series): b.height for b in drawn.bars}
    for panel, by in (("system", "system"), ("category", "category")):
        for row in execution_report(ledger, 106, 3, by).rows:
            for series in ("allocation_rate", "achievement_rate"):
                value = getattr(row.rates, series)
                assert bars[(panel, row.key, series)] == (None if value is None else pytest.approx(float(value)))
    # 矯正: 宜蘭 and 雲林 executed 175,000 + 10,000 of 210,000 allocated
    assert bars[("system", "矯正", "allocation_rate")] == pytest.approx(185_000 / 210_000 * 100)
    assert bars[("system", "行政執行", "allocation_rate")] == pytest.approx(30_000 / 60_000 * 100)
    assert [t.get_text() for t in drawn.figure.axes[0].get_xticklabels()] == [r.label for r in data.by_system]


def test_a_group_without_allocations_has_no_allocation_bar(plan):
    add_budget(plan, HSINCHU, 40_000)  # 行政執行, nothing allocated yet
    plan.commit()
    drawn = execution_chart.draw_rate_bars(rate_bars_data(plan, 106))
    bars = {(b.panel, b.label, b.series): b.height for b in drawn.bars}
    assert bars[("system", "行政執行", "allocation_rate")] is None
    assert bars[("system", "行政執行", "achievement_rate")] == 0.0


def test_demo_figures_are_marked_on_the_charts(plan):
    add_budget(plan, YILAN, 100_000, synthetic=True)
    add_month(plan, YILAN, 1, 10_000, 5_000, synthetic=True)
    plan.commit()
    curve = s_curve_data(plan, 106)
    assert curve.is_synthetic
    assert "模擬資料" in execution_chart.render_s_curve(curve, "svg").decode("utf-8")
    assert "模擬資料" in execution_chart.render_rate_bars(rate_bars_data(plan, 106), "svg").decode("utf-8")


def test_chart_files_accept_a_bearer_token(seeded, make_user, client):
    from tracker import db
    from tracker.services import accounts, audit

    make_user("script", "leadership")
    with db.new_session(seeded) as s:
        token, _ = accounts.issue_token(s, "script", audit.CLI, 90)
        s.commit()
    response = client.get("/gantt.svg?as_of=2017-10-01&system=corrections", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert client.get("/gantt.png", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/gantt.png").status_code == 302  # no token, no session: the login page
    assert client.get("/execution", headers={"Authorization": f"Bearer {token}"}).status_code == 302  # pages need a login


def test_chart_labels_follow_the_language(seeded, make_user, auth, client):
    make_user("lead2", "leadership")
    auth.login("lead2")
    chinese = client.get("/gantt.svg?as_of=2017-10-01&system=corrections").get_data(as_text=True)
    assert "基準期程" in chinese and "評核基準日" in chinese
    english = client.get("/gantt.svg?as_of=2017-10-01&system=corrections&lang=en").get_data(as_text=True)
    assert "Baseline" in english and "As of" in english and "基準期程" not in english
    assert "法務部矯正署宜蘭監獄擴建計畫" in english  # names are data: they stay as the plan writes them
    rates = client.get("/execution/rates.svg?as_of=106-08&lang=en").get_data(as_text=True)
    assert "By system" in rates
    assert client.get("/execution/s-curve.svg?project=999999").status_code == 404


def test_gantt_rows_limit(seeded, make_user, auth, client):
    make_user("lead3", "leadership")
    auth.login("lead3")
    assert client.get("/gantt.svg?rows=0").status_code == 400
    few = client.get("/gantt.svg?rows=5&as_of=2017-10-01").get_data(as_text=True)
    assert few.count('href="/projects/') < client.get("/gantt.svg?as_of=2017-10-01").get_data(as_text=True).count('href="/projects/')
