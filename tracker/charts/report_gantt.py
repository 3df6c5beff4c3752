"""The Gantt chart of the monthly report: A4 landscape pages, the names column and the year axis on each page.

The page chart (charts.gantt) grows with its rows; a printed report cannot, so the rows are cut into
pages of one size, every page on the same time axis, and a name too long for its column is wrapped
onto a second line instead of being cut.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Text

from tracker.charts import fonts
from tracker.charts.data import GanttData, GanttRow
from tracker.charts.gantt import (AS_OF_COLOR, BASELINE_COLOR, HEADER_BANDS, HEADER_SIZE, INDENT_PT, LABEL_SIZE,
                                  LIGHT_COLORS, _bars, _legend, _span, _Texts, _x, _year_axis, _YearAxis)
from tracker.charts.labels import tr
from tracker.domain.roc import format_roc_date
from tracker.domain.slippage import Light

#: A4 landscape, in points.
PAGE_W, PAGE_H = 842.0, 595.0
MARGIN = 28.0
HEADER_PT = 62.0  #: title, legend and the year labels above the rows
FOOTER_PT = 40.0  #: the year labels below the rows and the footer
LABEL_PT = 270.0  #: the names column
LINE_PT = 10.0  #: a wrapped name's next line
ROW_PT = 14.0  #: a one-line row


@dataclass(frozen=True)
class PagedRow:
    """A row placed on a page: its top and height in points from the top of the rows area, its name's lines."""

    row: GanttRow
    top: float
    height: float
    lines: tuple[str, ...]


def paginate(data: GanttData) -> list[list[PagedRow]]:
    """The rows cut into pages; a group header is not left alone at the foot of a page."""
    from tracker.charts.report import wrap  # the report's one way of wrapping text (it imports this module)

    room = PAGE_H - HEADER_PT - FOOTER_PT - 2 * MARGIN
    pages: list[list[PagedRow]] = [[]]
    used = 0.0
    rows = list(data.rows)
    for i, row in enumerate(rows):
        size = HEADER_SIZE if row.is_group else LABEL_SIZE
        label = tr("%(label)s（含落後）", label=row.label) if row.is_group and row.light == Light.RED else row.label
        lines = tuple(wrap(label, LABEL_PT - row.level * INDENT_PT - 6, size)) or ("",)
        height = ROW_PT + (len(lines) - 1) * LINE_PT
        following = ROW_PT if row.is_group and i + 1 < len(rows) else 0  # keep a header with its first row
        if pages[-1] and used + height + following > room:
            pages.append([])
            used = 0.0
        pages[-1].append(PagedRow(row, used, height, lines))
        used += height
    return pages


def draw_pages(data: GanttData, header: str, footer: str) -> list[Figure]:
    """One A4 landscape Figure per page of rows, each with the names, the year axis, the as-of line and the legend."""
    with fonts.chart_style():
        pages = paginate(data)
        first_day, last_day = _span(data)
        return [_draw_page(data, rows, number, len(pages), first_day, last_day, header, footer)
                for number, rows in enumerate(pages, start=1)]


def _draw_page(data: GanttData, rows: list[PagedRow], number: int, total: int, first_day: date, last_day: date,
               header: str, footer: str) -> Figure:
    fig = Figure(figsize=(PAGE_W / 72, PAGE_H / 72))
    top_pt, bottom_pt = MARGIN + HEADER_PT, PAGE_H - MARGIN - FOOTER_PT
    rows_height = bottom_pt - top_pt

    def fy(pt: float) -> float:  # points from the page top to a figure fraction
        return 1 - pt / PAGE_H

    chart_left = MARGIN + LABEL_PT + 8
    box = (chart_left / PAGE_W, fy(bottom_pt), (PAGE_W - MARGIN - chart_left) / PAGE_W, rows_height / PAGE_H)
    ax = fig.add_axes(box)
    labels = fig.add_axes((MARGIN / PAGE_W, fy(bottom_pt), LABEL_PT / PAGE_W, rows_height / PAGE_H))
    labels.set_axis_off()
    labels.set_xlim(0, LABEL_PT)
    for axes in (ax, labels):
        axes.set_ylim(rows_height, 0)  # points from the top of the rows area, downwards
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    year_ticks, year_lines = _year_axis(ax, first_day, last_day)
    x0, x1 = _x(first_day), _x(last_day) + 1

    texts, bands, band_colors, base, now, now_colors = [], [], [], [], [], []
    diamonds_x, diamonds_y, diamonds_c, arrows_y, arrows_c = [], [], [], [], []
    for placed in rows:
        row, top, height = placed.row, placed.top, placed.height
        size = HEADER_SIZE if row.is_group else LABEL_SIZE
        colour = "#263238" if row.is_group else "#37474f"
        for i, line in enumerate(placed.lines):
            texts.append((row.level * INDENT_PT + 2, top + ROW_PT / 2 + i * LINE_PT, line, size, colour, None))
        if row.is_group:
            bands.append([(0, top), (1, top), (1, top + height), (0, top + height)])
            band_colors.append(HEADER_BANDS[row.kind])
            continue
        middle = top + height / 2
        for bar in _bars(row, data.as_of):
            left, right = _x(bar.start_on), _x(bar.finish_on) + 1
            if bar.kind == "baseline":
                base.append([(left, middle - 5), (right, middle - 5), (right, middle - 1), (left, middle - 1)])
                continue
            if right > x1:
                right = x1
                arrows_y.append(middle + 2.5)
                arrows_c.append(bar.color)
            now.append([(left, middle), (right, middle), (right, middle + 5), (left, middle + 5)])
            now_colors.append(to_rgba(bar.color, bar.alpha))
        for mark in row.milestones:
            diamonds_x.append(_x(mark.planned_finish_on) + 0.5)
            diamonds_y.append(middle - 3)
            diamonds_c.append(LIGHT_COLORS[mark.light])

    labels.add_artist(_Texts(Text(0, 0, "", ha="left", va="center", clip_on=False, transform=labels.transData,
                                  parse_math=False), texts))
    if bands:
        labels.add_collection(PolyCollection([[(vx * LABEL_PT, vy) for vx, vy in v] for v in bands],
                                             facecolors=band_colors, linewidths=0, zorder=0.5))
        ax.add_collection(PolyCollection([[(x0 + (x1 - x0) * vx, vy) for vx, vy in v] for v in bands],
                                         facecolors=band_colors, linewidths=0, zorder=0.5))
    separators = [[(0, p.top + p.height), (LABEL_PT, p.top + p.height)] for p in rows]
    labels.add_collection(LineCollection(separators, colors="#eceff1", linewidths=0.4, zorder=0.4))
    if base:
        ax.add_collection(PolyCollection(base, facecolors=BASELINE_COLOR, edgecolors="none", zorder=2))
    if now:
        ax.add_collection(PolyCollection(now, facecolors=now_colors, edgecolors="none", zorder=3))
    if diamonds_x:
        ax.scatter(diamonds_x, diamonds_y, marker="D", s=12, c=diamonds_c, edgecolors="#263238", linewidths=0.5,
                   zorder=4)
    if arrows_y:
        ax.scatter([x1] * len(arrows_y), arrows_y, marker=">", s=18, c=arrows_c, edgecolors="none", zorder=4,
                   clip_on=False)
    as_of_x = _x(data.as_of) + 1
    ax.axvline(as_of_x, color=AS_OF_COLOR, linestyle="--", linewidth=1.0, zorder=5)
    ax.annotate(tr("評核基準日 %(day)s", day=format_roc_date(data.as_of)), xy=(as_of_x, 1.0),
                xycoords=("data", "axes fraction"), xytext=(0, 13), textcoords="offset points", ha="center",
                va="bottom", fontsize=LABEL_SIZE, color=AS_OF_COLOR, annotation_clip=False, parse_math=False)
    ax.add_artist(_YearAxis(ax, year_lines, [_x(middle) for _, middle in year_ticks],
                            [label for label, _ in year_ticks]))

    title = data.title if total == 1 else f"{data.title}（{number}/{total}）"
    fig.text(MARGIN / PAGE_W, fy(MARGIN), title, ha="left", va="top", fontsize=13, color="#102a43", parse_math=False)
    fig.text(1 - MARGIN / PAGE_W, fy(MARGIN), header, ha="right", va="top", fontsize=9, parse_math=False)
    fig.legend(handles=_legend(), loc="upper left", bbox_to_anchor=(MARGIN / PAGE_W, fy(MARGIN + 18)), ncol=9,
               fontsize=LABEL_SIZE, frameon=False, handlelength=1.6, columnspacing=1.0)
    fig.text(0.5, fy(PAGE_H - MARGIN / 2), footer, ha="center", va="bottom", fontsize=8, color="#5b6776",
             parse_math=False)
    if not data.rows:
        ax.text(0.5, 0.5, tr("沒有符合條件的計畫"), transform=ax.transAxes, ha="center", va="center", fontsize=10,
                parse_math=False)
    return fig
