"""The monthly report PDF: every section, A4 pages, the reasons of the programmes behind, no cut text."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from conftest import TAICHUNG, YILAN, add_budget, add_month, project_id
from tracker.models import PlannedCurve, ProgressReport
from tracker.services.execution_scan import scan_execution
from tracker.services.schedule_scan import scan_schedule

DELAY = "工地開挖遭遇地下障礙物，須辦理變更設計，主體工程暫停兩週"
REMEDY = "已召開協調會並增派夜間班次趕工，預計 11 月底追回進度"
COMMENT = "請於下月會議說明變更設計之期程"


@pytest.fixture
def month_with_figures(seeded, session):
    add_budget(session, YILAN, 550_000)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)
    add_month(session, YILAN, 9, 320_000, 160_000, 20_000, 10_000)
    add_month(session, YILAN, 10, 400_000, 300_000, 20_000, 10_000)  # after the report's month: not plotted
    session.commit()
    scan_execution(session, date(2017, 9, 30))
    session.commit()
    return seeded


@pytest.fixture
def behind(month_with_figures, session):
    """Two programmes whose planned curve is at 30% in September and whose reports say 5% and 8%."""
    for name, actual, comment in ((YILAN, 5, COMMENT), (TAICHUNG, 8, None)):
        pid = project_id(session, name)
        for month in range(1, 13):
            session.add(PlannedCurve(project_id=pid, year_roc=106, month=month,
                                     planned_percent=(Decimal(month) * 10 / 3).quantize(Decimal("0.01"))))
        session.add(ProgressReport(project_id=pid, year_roc=106, month=9, revision=1, planned_percent=Decimal(30),
                                   actual_percent=Decimal(actual), delay_reason=DELAY, remedy=f"{name}：{REMEDY}",
                                   reviewer_comment=comment, state="submitted", milestones={}))
    session.commit()
    scan_schedule(session, date(2017, 9, 30))
    session.commit()
    return month_with_figures


def _render(runner, tmp_path, month="106-09"):
    path = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "--month", month, "-o", str(path)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(str(path))
    return path, reader, [page.extract_text() for page in reader.pages]


def _flat(text: str) -> str:
    """Text without the line breaks a wrapped cell puts in it."""
    return re.sub(r"\s+", "", text)


def test_report_106_09_has_every_section(month_with_figures, runner, tmp_path):
    path, _, pages = _render(runner, tmp_path)
    assert "法務部 106 年度重要計畫管考月報（106年9月）" in pages[0]
    assert "評核基準日：106年9月30日" in pages[0]
    text = "\n".join(pages)
    assert "重要計畫期程" in text and YILAN in _flat(text)  # the Gantt
    assert "預算執行情形" in text and "矯正" in text and "59.38%" in text  # 分配預算執行率 (160 + 20 + 10) ÷ 320
    assert "未解除警示" in text and "分配預算執行率偏低" in text
    assert "關鍵績效指標" in text and "檢察官辦案日數" in text
    assert "模擬資料" not in text  # real (imported) figures: no synthetic notice
    assert b"WenQuanYi" in path.read_bytes()  # the font travels with the file


def test_report_names_the_programmes_behind_with_their_reasons(behind, runner, tmp_path):
    _, reader, pages = _render(runner, tmp_path)
    flat = _flat("\n".join(pages))
    # the cover: the month's completeness, and a ministry rate that says what it covers
    cover = _flat(pages[0])
    assert "9月進度已報2／" in cover and "資本門月報已報1／" in cover
    assert re.search(r"資本門執行率（分配預算執行率）59\.38%（以已報1／\d+個計畫計）", cover)
    # the section of programmes behind: full names, 落後原因, 因應對策, the reviewer's comment
    section = _flat("\n".join(p for p in pages if "落後及紅燈計畫" in p))
    for name in (YILAN, TAICHUNG):
        assert name in section
        assert _flat(f"{name}：{REMEDY}") in section
    assert _flat(DELAY) in section and _flat(COMMENT) in section
    assert "預定／實際進度30.00%／5.00%" in section
    assert "未填報及待核定計畫" in flat
    # every page A4, either way round
    for page in reader.pages:
        size = sorted((float(page.mediabox.width), float(page.mediabox.height)))
        assert abs(size[0] - 595) <= 1 and abs(size[1] - 842) <= 1, size
    assert "…" not in "\n".join(pages)  # text is wrapped, never cut


def test_report_charts_stop_at_the_reports_month(behind, session, app):
    from tracker.charts.report import _s_curve_page
    from tracker.domain.roc import RocMonth
    from tracker.services.report import report_data

    with app.app_context():
        data = report_data(session, RocMonth(2017, 9), app.config)
    assert data.s_curve.points[-1].month == 9  # October's figures exist but are not plotted
    figure = _s_curve_page(data)
    lines = {line.get_gid(): list(line.get_xdata()) for line in figure.axes[0].lines}
    assert max(lines["executed"]) == 9 and lines["report_month"][0] == 9
    assert data.gantt.as_of == date(2017, 9, 30)


def test_a_long_gantt_runs_over_pages_with_names_and_axis_on_each(seeded, session, app):
    from tracker.charts.report_gantt import draw_pages, paginate
    from tracker.services.gantt import GanttFilter, gantt_data
    from tracker.services.lights import slip_thresholds_from

    data = gantt_data(session, date(2017, 9, 30), GanttFilter(year=106), slip_thresholds_from(app.config))
    pages = paginate(data)
    assert len(pages) > 1
    assert [p.row for page in pages for p in page] == list(data.rows)  # every row once, in order
    assert all(line for page in pages for p in page for line in p.lines)
    long_name = next(p for page in pages for p in page if p.row.label == TAICHUNG)
    assert "".join(long_name.lines) == TAICHUNG and len(long_name.lines) > 1  # wrapped, not cut
    figures = draw_pages(data, "評核基準日 106年9月30日", "footer")
    assert all(tuple(f.get_size_inches() * 72) == pytest.approx((842, 595)) for f in figures)


def test_tables_wrap_long_text_and_carry_on_with_their_header():
    from tracker.charts.report import Column, ReportData, Table, _table_pages, wrap
    from tracker.charts.data import GanttData

    assert "".join(wrap(TAICHUNG, 120, 8)) == TAICHUNG and len(wrap(TAICHUNG, 120, 8)) > 1
    assert all(len(line) > 0 for line in wrap("Forecast slip of the main works", 60, 8))
    rows = [[str(i), TAICHUNG * 2, f"{i * 1000:,}"] for i in range(120)]
    table = Table("測試表", (Column("序", 0.5), Column("計畫", 4), Column("金額", 1, "right")), rows, "無")
    data = ReportData("月報", date(2017, 9, 30), "106年9月30日", "產製", "106年9月", "", [], GanttData(date(2017, 9, 30), ()),
                      [], [table], None, None, 9)
    from matplotlib.backends.backend_pdf import PdfPages
    from tracker.charts import fonts

    buffer = io.BytesIO()
    with fonts.chart_style(), PdfPages(buffer) as pdf:
        figures = _table_pages(data, table)
        assert len(figures) > 2
        for f in figures:
            pdf.savefig(f)
    texts = [p.extract_text() for p in PdfReader(buffer).pages]
    assert all("計畫" in t and "金額" in t for t in texts)  # the header on every page
    assert "（續）" in texts[1]
    assert _flat("".join(texts)).count(_flat(TAICHUNG * 2)) == 120


def test_report_without_figures_still_has_its_sections(seeded, runner, tmp_path):
    _, _, pages = _render(runner, tmp_path, "106-09")
    text = "\n".join(pages)
    assert "本月尚無預算或月報數字" in text and "目前沒有未解除的警示" in text


def test_report_refuses_a_bad_month(seeded, runner, tmp_path):
    result = runner.invoke(args=["report", "--month", "106-13", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "月份須為 1 至 12" in result.output
