"""The web Gantt page: drawn by the server as HTML and SVG, at three scales, paged, collapsible without script."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tracker import db
from tracker.charts.data import GanttData, GanttRow, MilestoneMark
from tracker.domain.slippage import Light, SlipThresholds
from tracker.models import Project
from tracker.services import gantt_view
from tracker.services.gantt import GanttFilter


@pytest.fixture
def reader(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    auth.login("lead")
    return client


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def bars(html: str) -> list[str]:
    return re.findall(r'<div class="g-bar" tabindex="0"', html)


@pytest.mark.parametrize("scale,minor", [("year", None), ("quarter", "Q2"), ("month", "7月")])
def test_each_scale_draws_its_axis_bars_and_the_reporting_date(reader, scale, minor):
    html = page(reader, f"/gantt?scale={scale}&as_of=106/9/30")
    assert f'data-scale="{scale}"' in html
    assert re.search(r'<a href="\?[^"]*scale=' + scale + r'[^"]*" data-scale="' + scale + '" aria-current="true"', html)
    assert "106年" in html  # the years along the axis, in ROC
    if minor:
        assert f">{minor}</text>" in html
    else:
        assert ">Q2</text>" not in html and ">7月</text>" not in html
    assert 'class="g-asof"' in html  # the reporting-date line
    assert len(bars(html)) > 20
    assert 'fill="url(#g-pat-' in html and 'class="g-baseline"' in html and 'class="g-mark g-mark-' in html
    assert re.search(r'class="g-pct"[^>]*>\d+%</text>', html)  # the done percent on the bars
    assert "<object" not in html and "<img" not in html  # no picture of a chart


def test_wider_scales_draw_wider_axes(reader):
    widths = {}
    for scale in ("year", "quarter", "month"):
        html = page(reader, f"/gantt?scale={scale}&as_of=106/9/30")
        widths[scale] = int(re.search(r'<svg class="g-axis" width="(\d+)"', html).group(1))
    assert widths["year"] < widths["quarter"] < widths["month"]


def test_an_unknown_scale_shows_the_default_one(reader):
    html = page(reader, "/gantt?scale=decade")
    assert f'data-scale="{gantt_view.DEFAULT_SCALE}"' in html


def test_the_chart_is_a_named_region_with_a_skip_link_and_one_script(reader):
    html = page(reader, "/gantt")
    skip = html.index('href="#gantt-after"')
    region = html.index('id="gantt"')
    assert skip < region < html.index('id="gantt-after"')
    assert "跳過甘特圖" in html
    assert re.search(r'id="gantt" class="gantt[^"]*" role="region"', html)
    assert re.search(r'aria-label="重要計畫期程甘特圖，刻度：季，第 1 至 \d+ 個計畫，共 \d+ 個"', html)
    assert '<script src="/static/gantt.js" defer></script>' in html
    assert 'href="/static/gantt.css"' in html
    # the CSP allows no inline code or styles: nothing in the page needs them
    assert " style=" not in html and "onclick" not in html and "<script>" not in html
    assert " onload=" not in html


def test_groups_collapse_without_script_and_every_bar_has_its_details(reader):
    html = page(reader, "/gantt?as_of=106/9/30")
    assert html.count('<details class="g-group g-system" open>') >= 3
    assert html.count('<details class="g-group g-plan" open>') >= 3
    assert html.count('<summary class="g-row g-summary">') == html.count("<details class=\"g-group")
    for tip in re.findall(r'aria-describedby="(g-tip-\d+)"', html):
        assert f'id="{tip}" role="tooltip"' in html
    assert "基準期程" in html and "完成百分比" in html
    # lights by shape and word besides colour
    assert re.search(r'class="g-lamp g-lamp-(red|yellow|green|none)"><svg[^>]*>(<rect|<polygon|<circle)', html)
    assert "綠燈" in html


def test_bars_link_to_projects_judged_on_the_same_date(reader, seeded):
    html = page(reader, "/gantt?as_of=106/9/30")
    assert re.search(r'<a class="g-label" id="g-name-\d+" href="/projects/\d+\?as_of=106/9/30">', html)


def test_names_are_escaped(reader, seeded):
    with db.new_session(seeded) as s:
        project = s.scalars(sa.select(Project).where(Project.parent_id.is_(None)).order_by(Project.id)).first()
        project.name = '<script>alert("x")</script>&甘特'
        s.commit()
    html = page(reader, "/gantt")
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;甘特" in html


def test_filters_and_downloads_stay(reader):
    html = page(reader, "/gantt?system=prosecution&late=1&scale=month")
    assert 'href="/gantt.png?' in html and 'href="/gantt.pdf?' in html and 'href="/gantt.svg?' in html
    assert '<input type="hidden" name="scale" value="month">' in html
    bad = page(reader, "/gantt?year=abc", 400)
    assert "篩選條件有誤" in bad and 'id="gantt"' not in bad


def test_pages_of_programmes(seeded, session, app):
    as_of = date(2017, 9, 30)
    t = SlipThresholds()
    whole = gantt_view.gantt_page(session, as_of, GanttFilter(), t, "year", 1, page_size=1000)
    assert whole.pages == 1 and whole.total == whole.last
    size = 3
    first = gantt_view.gantt_page(session, as_of, GanttFilter(), t, "year", 1, page_size=size)
    second = gantt_view.gantt_page(session, as_of, GanttFilter(), t, "year", 2, page_size=size)
    assert first.pages == -(-whole.total // size)
    assert (first.first, first.last, second.first, second.last) == (1, 3, 4, 6)
    labels = [r.label for r in whole.data.rows if r.kind == "project"]
    assert [r.label for r in second.data.rows if r.kind == "project"] == labels[3:6]
    # a page starting inside a section repeats its system and work plan above it
    assert [r.kind for r in second.data.rows[:2]] == ["system", "work_plan"]
    beyond = gantt_view.gantt_page(session, as_of, GanttFilter(), t, "year", 999, page_size=size)
    assert beyond.page == beyond.pages
    late = gantt_view.gantt_page(session, as_of, GanttFilter(late_only=True), t, "year", 1, page_size=size)
    assert all(r.light == Light.RED for r in late.data.rows if r.kind == "project")
    assert late.data.rows[0].kind == "system"


def test_the_pager_on_the_page(reader, app, monkeypatch):
    monkeypatch.setattr(gantt_view, "PAGE_SIZE", 5)
    monkeypatch.setattr(gantt_view.gantt_page, "__defaults__", ("quarter", 1, 5))
    html = page(reader, "/gantt?scale=year&page=2")
    assert "第 6 至 10 個計畫" in html
    assert re.search(r'href="\?[^"]*page=3[^"]*" rel="next"', html) and "scale=year" in html
    assert len(re.findall(r'<div class="g-row g-project">', html)) == 5
    assert "第 1 至 5 個計畫" in page(reader, "/gantt?page=abc")  # a page typed by hand: the first


def test_done_percent_is_from_the_report_else_from_milestone_days():
    m = lambda s, f, status, p: SimpleNamespace(planned_start_on=s, planned_finish_on=f, status=status,  # noqa: E731
                                               percent_complete=Decimal(p))
    short = m(date(2017, 1, 1), date(2017, 1, 10), "done", 0)  # 10 days, done: 100
    long = m(date(2017, 1, 11), date(2017, 2, 9), "in_progress", 20)  # 30 days at 20
    cancelled = m(date(2017, 1, 1), date(2017, 12, 31), "cancelled", 0)
    assert gantt_view.done_percent([short, long, cancelled]) == Decimal(1600) / Decimal(40)
    assert gantt_view.done_percent([short], Decimal("37.5")) == Decimal("37.5")
    assert gantt_view.done_percent([cancelled]) is None


def test_layout_places_bars_on_the_scale_and_cuts_long_forecasts():
    as_of = date(2020, 6, 30)
    row = GanttRow("project", "長條", Light.YELLOW, 1, "x", date(2020, 1, 1), date(2020, 12, 31),
                   date(2020, 1, 1), date(2300, 1, 1), True, False, (MilestoneMark(date(2020, 7, 1), Light.RED, "甲"),))
    data = GanttData(as_of, (GanttRow("system", "系", Light.YELLOW), GanttRow("work_plan", "計", Light.YELLOW), row))
    for name, scale in gantt_view.SCALES.items():
        groups, origin, finish, width, major, minor, as_of_x, count = gantt_view.layout(data, scale, {1: Decimal(50)})
        view = groups[0].children[0].children[0]
        assert origin == date(2020, 1, 1) and finish.year == as_of.year + gantt_view.MAX_YEARS_AFTER
        assert width == scale.year_px * (finish.year - origin.year + 1)
        assert view.baseline.x == 0 and view.baseline.width == scale.year_px
        assert view.current.cut_right and view.current.end == width
        assert view.done_width == pytest.approx(width / 2, abs=0.2) and view.done_text == "50%"
        assert abs(view.marks[0].x - as_of_x) <= scale.year_px / 365 + 0.2
        assert len(minor) == {"year": 0, "quarter": 4, "month": 12}[name] * len(major)
        assert count == 1
