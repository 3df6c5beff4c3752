"""The Gantt PDF is printable (A4 landscape pages, names and years on each, no text under 8 pt); the PNG takes ?width=."""
from __future__ import annotations

import io
import re
import struct
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tracker.charts import gantt as gantt_chart
from tracker.charts import report_gantt
from tracker.charts.data import GanttData, GanttRow, MilestoneMark
from tracker.domain.roc import to_roc_year
from tracker.domain.slippage import Light
from tracker.models import Project
from conftest import YILAN
from test_chart_text import headers  # noqa: F401  (a fixture: a leadership Bearer token)

AS_OF = date(2021, 8, 31)


def many_rows(n: int) -> GanttData:
    """A system and work plan over ``n`` projects with long Chinese and Latin names, milestones and forecasts."""
    rows = [GanttRow("system", "檢察", Light.RED, None, "x"), GanttRow("work_plan", "司法科技業務", Light.GREEN, None, "x")]
    for i in range(n):
        start = date(2017, 1, 1) + timedelta(days=11 * i)
        rows.append(GanttRow("project", f"合成計畫 {i:04d}（模擬資料，名稱很長以便換行）Phase II-{i}(1/3)", Light(i % 4),
                             1000 + i, "x", start, start + timedelta(days=700), start, start + timedelta(days=900),
                             i % 3 != 0, False, (MilestoneMark(start + timedelta(days=300), Light.GREEN),)))
    return GanttData(AS_OF, tuple(rows), title="法務部重要計畫期程", subtitle="全部計畫")


def font_sizes(page) -> list[float]:
    """Every font size the page's content sets (the Tf operator)."""
    return [float(size) for size in re.findall(rb"/F\d+ ([\d.]+) Tf", page.get_contents().get_data())]


def test_many_rows_make_a4_landscape_pages_each_with_the_names_and_the_years():
    data = many_rows(120)
    reader = PdfReader(io.BytesIO(gantt_chart.render(data, "pdf")))
    pages = report_gantt.paginate(data)
    assert len(reader.pages) == len(pages) > 1
    years = [str(to_roc_year(y)) for y in range(2017, 2021)]
    for number, (page, placed) in enumerate(zip(reader.pages, pages), start=1):
        assert (float(page.mediabox.width), float(page.mediabox.height)) == (842, 595)
        text = page.extract_text()
        for row in placed:  # the names column: each row's name (its first line) on its page
            assert row.lines[0] in text
        assert all(text.count(year) >= 2 for year in years)  # the time axis above and below the rows
        assert "評核基準日" in text and f"{number}/{len(pages)}" in text
        sizes = font_sizes(page)
        assert sizes and min(sizes) >= gantt_chart.PDF_MIN_TEXT == 8
    # every row is on exactly one page
    assert sum(len(p) for p in pages) == len(data.rows)


def test_a_few_rows_fit_one_page_and_the_font_is_embedded():
    pdf = gantt_chart.render(many_rows(5), "pdf")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert b"/FontFile2" in pdf and b"WenQuanYiMicroHei" in pdf and b"/CIDFontType2" in pdf
    assert "合成計畫 0004" in reader.pages[0].extract_text()
    assert gantt_chart.render(many_rows(5), "pdf") == pdf  # the same chart gives the same bytes


def test_an_empty_chart_is_one_page_saying_so():
    reader = PdfReader(io.BytesIO(gantt_chart.render(GanttData(AS_OF, (), title="t", subtitle="s"), "pdf")))
    assert len(reader.pages) == 1 and "沒有符合條件的計畫" in reader.pages[0].extract_text()


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def test_the_png_is_as_wide_as_asked_and_very_tall_charts_stay_within_the_limit():
    data = many_rows(10)
    assert png_size(gantt_chart.render(data, "png", width=650))[0] == 650
    assert png_size(gantt_chart.render(data, "png"))[0] == gantt_chart.FIG_WIDTH * 100
    assert gantt_chart.png_dpi(5000, 4000) * (gantt_chart.TOP + 5000 * gantt_chart.ROW_HEIGHT
                                              + gantt_chart.BOTTOM) <= gantt_chart.PNG_HEIGHT_MAX




def test_the_endpoint_serves_pages_a_width_and_refuses_a_bad_width(client, headers):
    pdf = client.get("/gantt.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.data)).pages
    assert all((float(p.mediabox.width), float(p.mediabox.height)) == (842, 595) for p in pages)
    png = client.get("/gantt.png?width=900", headers=headers)
    assert png.status_code == 200 and png_size(png.data)[0] == 900
    for bad in ("10", "99999", "wide", "-5"):
        refused = client.get(f"/gantt.png?width={bad}", headers=headers)
        assert refused.status_code == 400 and "width" in refused.get_data(as_text=True), bad


def test_a_change_to_the_data_is_in_the_next_file(client, headers, session):
    first = client.get("/gantt.pdf", headers=headers).data
    assert client.get("/gantt.pdf", headers=headers).data == first  # served again while nothing changed
    project = session.scalars(sa.select(Project).where(Project.name == YILAN)).one()
    project.name = "改名後的宜蘭計畫"
    session.commit()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(client.get("/gantt.pdf", headers=headers).data)).pages)
    assert "改名後的宜蘭計畫" in text


def test_a_character_the_font_lacks_is_warned_about_as_in_the_other_formats():
    data = many_rows(3)
    odd = GanttRow("project", "計畫\U00020000", Light.GREEN, 1, "x", AS_OF, AS_OF, AS_OF, AS_OF, False, False, ())
    with pytest.warns(UserWarning, match="missing from font"):
        pdf = gantt_chart.render(GanttData(AS_OF, (*data.rows, odd), title="t", subtitle="s"), "pdf")
    assert "計畫" + gantt_chart.MISSING_GLYPH in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
