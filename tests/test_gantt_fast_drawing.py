"""The Gantt chart's lean drawing (one artist for the labels, one for the year axis, a lean PNG encoder) draws what
matplotlib's own way would: the same SVG, the same PNG pixels, with fewer objects. Public matplotlib API only."""
from __future__ import annotations

import io
import warnings
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.text import Text

from tracker.charts import fonts, output
from tracker.charts import gantt as gantt_chart
from tracker.charts.data import GanttData, GanttRow, MilestoneMark
from tracker.domain.slippage import Light

AS_OF = date(2021, 8, 31)


def long_chart(rows: int = 60) -> GanttData:
    """Headers and projects with Chinese and Latin names, links, milestones, and forecasts running two centuries on."""
    marks = (MilestoneMark(date(2019, 6, 30), Light.GREEN), MilestoneMark(date(2020, 3, 31), Light.RED),
             MilestoneMark(date(2020, 4, 30), Light.YELLOW))
    data = [GanttRow("system", "檢察", Light.RED, None, "x"), GanttRow("work_plan", "司法科技業務", Light.RED, None, "x")]
    for i in range(rows):
        start = date(2017, 1, 1) + timedelta(days=37 * i)
        data.append(GanttRow("project" if i % 5 else "sub_plan", f"合成計畫 {i:05d}（模擬資料）Phase II-{i}(1/3)",
                             Light(i % 4), 1000 + i, "x", start, start + timedelta(days=900), start,
                             start + timedelta(days=900 + 3000 * i), i % 3 != 0, False, marks))
    return GanttData(AS_OF, tuple(data), title="法務部重要計畫期程（截至 110/08/31）", subtitle="全部計畫")


def stock_save(fig: Figure, fmt: str) -> bytes:
    """The figure saved by matplotlib's own canvases, as output.save did before it had canvases of its own."""
    buffer = io.BytesIO()
    metadata = {"svg": {"Date": None}, "png": {"Software": None}}[fmt]
    with fonts.chart_style():
        fig.savefig(buffer, format=fmt, metadata=metadata, dpi=fonts.PNG_DPI if fmt == "png" else "figure")
    return buffer.getvalue()


def pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")


def test_the_charts_output_is_what_matplotlibs_savefig_writes():
    """PNG drawn by the Agg canvas and encoded by png_bytes: savefig's pixels; SVG: savefig's bytes."""
    data = long_chart(40)
    ours_svg, ours_png = (output.save(gantt_chart.draw(data).figure, fmt) for fmt in ("svg", "png"))
    assert ours_svg == stock_save(gantt_chart.draw(data).figure, "svg")
    assert np.array_equal(pixels(ours_png), pixels(stock_save(gantt_chart.draw(data).figure, "png")))


def test_text_the_bundled_font_lacks_is_drawn_and_warned_about_as_before():
    fig = Figure(figsize=(3, 1))
    fig.text(0.1, 0.5, "計畫\U00020000 and 計畫")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = output.save(fig, "png")
    assert any("missing from font" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.array_equal(pixels(ours), pixels(stock_save(fig, "png")))


def test_the_year_axis_draws_what_matplotlibs_axis_would():
    """Grid lines, ticks above and below, the ROC years: the pixels of the axis as the chart first drew it."""
    data = long_chart(30)
    ours = gantt_chart.draw(data)
    stock = gantt_chart.draw(data)
    ax = stock.figure.axes[0]
    for artist in ax.get_children():
        if isinstance(artist, gantt_chart._YearAxis):
            artist.set_visible(False)
    ax.xaxis.set_visible(True)  # matplotlib's own axis, as _year_axis used to configure it
    ax.grid(axis="x", which="major", color=gantt_chart.GRID_COLOR, linewidth=gantt_chart.GRID_WIDTH)
    ax.set_axisbelow(True)
    assert ours.last_day.year - ours.first_day.year >= 8
    assert np.array_equal(pixels(output.save(ours.figure, "png")), pixels(output.save(stock.figure, "png")))


def test_forecasts_centuries_ahead_stop_at_the_edge_with_an_arrow():
    """A slow project's forecast (two centuries on) no longer stretches the axis until every bar is a sliver."""
    data = long_chart(30)
    plan_end = max(max(r.baseline_finish_on for r in data.rows if r.baseline_finish_on),
                   max(m.planned_finish_on for r in data.rows for m in r.milestones), AS_OF)
    drawn = gantt_chart.draw(data)
    svg = output.save(drawn.figure, "svg")
    assert max(r.current_finish_on for r in data.rows if r.current_finish_on).year > 2200
    assert drawn.last_day == date(plan_end.year + gantt_chart.FORECAST_YEARS_SHOWN, 12, 31)
    years = drawn.last_day.year - drawn.first_day.year + 1
    assert len(drawn.year_ticks) == years
    # the record keeps the real forecast; the drawing marks each cut bar with an arrow at the edge
    cut = [b for r in drawn.rows for b in r.bars if b.kind != "baseline" and b.finish_on > drawn.last_day]
    edge = gantt_chart._x(drawn.last_day) + 1
    arrows = [c for c in drawn.figure.axes[0].collections
              if len(c.get_offsets()) and all(x == edge for x, _ in c.get_offsets())]
    assert cut and len(arrows) == 1 and len(arrows[0].get_offsets()) == len(cut)
    assert svg.count(b"<svg") == 1
    axis = drawn.figure.axes[0].xaxis
    assert len(axis.majorTicks) < 5 and len(axis.minorTicks) < 5  # the years are one artist, not a tick each
    assert len(drawn.figure.axes[0].get_xticklabels(minor=True)) == 2 * years  # above and below the bars


def test_the_texts_artist_draws_what_separate_texts_would():
    items = [(0.1, 0.2 + 0.1 * i, f"第{i}號 計畫(1/3)", 8.0 if i % 2 else 8.5, "#263238" if i % 3 else "#37474f",
              f"/projects/{i}" if i % 4 else None) for i in range(6)]
    items.append((0.5, 0.9, "", 8.0, "#263238", None))  # an empty one is skipped, as Text.draw skips it
    items.append((0.5, 0.95, "two\nlines", 8.0, "#263238", None))  # left to Text.draw

    def figure(batched: bool) -> Figure:
        fig = Figure(figsize=(4, 3))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        if batched:
            ax.add_artist(gantt_chart._Texts(Text(0, 0, "", ha="left", va="center", clip_on=False,
                                                  transform=ax.transData), items))
        else:
            for x, y, text, size, color, url in items:
                ax.text(x, y, text, ha="left", va="center", clip_on=False, fontsize=size, color=color, url=url)
        return fig

    with fonts.chart_style():
        for fmt in ("svg", "png"):
            batched, separate = output.save(figure(True), fmt), output.save(figure(False), fmt)
            assert batched == separate


def test_png_bytes_decode_to_the_image_and_resolution():
    rgba = np.random.default_rng(7).integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    png = output.png_bytes(rgba, 100)
    assert np.array_equal((pixels(png) * 255).round().astype(np.uint8), rgba)
    from PIL import Image
    assert Image.open(io.BytesIO(png)).info["dpi"] == pytest.approx((100, 100), abs=0.01)


def test_the_same_chart_gives_the_same_bytes():
    data = long_chart(20)
    for fmt in ("svg", "png"):
        assert gantt_chart.render(data, fmt) == gantt_chart.render(data, fmt)
