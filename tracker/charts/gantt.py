"""The Gantt chart: a baseline bar and an actual/forecast bar per project, milestones, the as-of line, ROC years."""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

from tracker.charts import fonts, output
from tracker.charts.data import GanttData, GanttRow
from tracker.charts.labels import tr
from tracker.domain.roc import format_roc_date, to_roc_year
from tracker.domain.slippage import Light

#: Bar colours by light (紅燈, 黃燈, 綠燈, none yet).
LIGHT_COLORS = {Light.RED: "#d32f2f", Light.YELLOW: "#f2a900", Light.GREEN: "#2e7d32", Light.NONE: "#9e9e9e"}
BASELINE_COLOR = "#b0bec5"
AS_OF_COLOR = "#c62828"
#: Opacity of the part of a bar that is a forecast or a plan rather than what happened.
FORECAST_ALPHA = 0.38
HEADER_BANDS = {"system": "#dde3ea", "work_plan": "#f1f3f6"}

# Layout, in inches and points: the figure grows with the rows, the text stays the same size.
FIG_WIDTH = 13.0
LABEL_WIDTH = 4.7
ROW_HEIGHT = 0.2
TOP = 1.05
BOTTOM = 0.45
RIGHT_PAD = 0.25
LABEL_SIZE = 8.0
HEADER_SIZE = 8.5
INDENT_PT = 9.0  #: per level of the row hierarchy


def default_project_url(project_id: int) -> str:
    """The page a row links to."""
    return f"/projects/{project_id}"


@dataclass(frozen=True)
class DrawnBar:
    """A bar as drawn: what it stands for, its days (inclusive) and its colour."""

    kind: str  #: baseline, actual (what happened), forecast (to come) or plan (not started yet)
    start_on: date
    finish_on: date
    color: str  #: #rrggbb
    alpha: float = 1.0


@dataclass(frozen=True)
class DrawnRow:
    """One row as drawn: its position, the label text shown, its link, bars and milestone diamonds."""

    y: int
    kind: str
    text: str
    url: str | None
    light: Light
    bars: tuple[DrawnBar, ...]
    milestones: tuple[date, ...]


@dataclass
class GanttFigure:
    """A drawn Gantt chart and the record of what it shows (for tests and for callers that lay out pages)."""

    figure: Figure
    rows: list[DrawnRow]
    first_day: date
    last_day: date
    year_ticks: list[tuple[str, date]]  #: ROC year label and the middle of that year


def _x(day: date) -> float:
    """A day's start on the x axis (days since 0001-01-01)."""
    return float(day.toordinal())


def _text_width_em(text: str) -> float:
    """Approximate width in ems: wide (CJK, full-width) characters 1, others about half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.55 for c in text)


def truncate(text: str, max_em: float) -> str:
    """The text, cut with 「…」 so it fits in about ``max_em`` ems."""
    if _text_width_em(text) <= max_em:
        return text
    width, kept = 0.0, []
    for c in text:
        w = _text_width_em(c)
        if width + w > max_em - 1.0:
            break
        kept.append(c)
        width += w
    return "".join(kept).rstrip() + "…"


def _bars(row: GanttRow, as_of: date) -> list[DrawnBar]:
    """The bars of a row: the baseline, then what happened and what is forecast (or only the plan)."""
    bars: list[DrawnBar] = []
    if row.baseline_start_on and row.baseline_finish_on:
        bars.append(DrawnBar("baseline", row.baseline_start_on, row.baseline_finish_on, BASELINE_COLOR))
    start, finish = row.current_start_on, row.current_finish_on
    if start is None or finish is None:
        return bars
    color = LIGHT_COLORS[row.light]
    if not row.is_started:
        bars.append(DrawnBar("plan", start, finish, color, FORECAST_ALPHA))
    elif row.is_finished or finish <= as_of:
        bars.append(DrawnBar("actual", start, finish, color))
    elif start > as_of:
        bars.append(DrawnBar("forecast", start, finish, color, FORECAST_ALPHA))
    else:
        bars.append(DrawnBar("actual", start, as_of, color))
        bars.append(DrawnBar("forecast", as_of + timedelta(days=1), finish, color, FORECAST_ALPHA))
    return bars


def _span(data: GanttData) -> tuple[date, date]:
    """1 January of the first year any row (or the as-of date) touches, to 31 December of the last."""
    days = [data.as_of]
    for row in data.rows:
        days += [d for d in (row.baseline_start_on, row.baseline_finish_on, row.current_start_on,
                             row.current_finish_on) if d is not None]
        days += [m.planned_finish_on for m in row.milestones]
    return date(min(days).year, 1, 1), date(max(days).year, 12, 31)


def draw(data: GanttData, project_url: Callable[[int], str] = default_project_url) -> GanttFigure:
    """Draw the chart on a new Figure (no pyplot); save it inside ``fonts.chart_style()``, as :func:`render` does."""
    with fonts.chart_style():
        return _draw(data, project_url)


def _draw(data: GanttData, project_url: Callable[[int], str]) -> GanttFigure:
    n = max(len(data.rows), 1)
    height = TOP + n * ROW_HEIGHT + BOTTOM
    fig = Figure(figsize=(FIG_WIDTH, height))
    bottom, top = BOTTOM / height, 1 - TOP / height
    chart_left = (LABEL_WIDTH + 0.15) / FIG_WIDTH
    ax = fig.add_axes((chart_left, bottom, 1 - chart_left - RIGHT_PAD / FIG_WIDTH, top - bottom))
    labels = fig.add_axes((0.1 / FIG_WIDTH, bottom, LABEL_WIDTH / FIG_WIDTH, top - bottom), sharey=ax)
    labels.set_axis_off()
    labels.set_xlim(0, 1)
    ax.set_ylim(n - 0.5, -0.5)  # row 0 at the top
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)

    first_day, last_day = _span(data)
    x0, x1 = _x(first_day), _x(last_day) + 1
    year_ticks = _year_axis(ax, first_day, last_day)
    if not data.rows:
        ax.text(0.5, 0.5, tr("沒有符合條件的計畫"), transform=ax.transAxes, ha="center", va="center", fontsize=10)

    label_width_pt = LABEL_WIDTH * 72
    band_verts, band_colors = [], []
    base_verts, base_urls = [], []
    now_verts, now_colors, now_urls = [], [], []
    diamonds_x, diamonds_y, diamonds_c, diamonds_urls = [], [], [], []
    drawn: list[DrawnRow] = []
    for y, row in enumerate(data.rows):
        url = project_url(row.project_id) if row.project_id is not None else None
        size = HEADER_SIZE if row.is_group else LABEL_SIZE
        indent = row.level * INDENT_PT
        text = truncate(row.label, (label_width_pt - indent - 4) / size)
        if row.is_group:
            band_verts.append([(0, y - 0.5), (1, y - 0.5), (1, y + 0.5), (0, y + 0.5)])
            band_colors.append(HEADER_BANDS[row.kind])
            if row.light == Light.RED:  # a group holding a late project says so beside its name
                text = truncate(tr("%(label)s（含落後）", label=row.label), (label_width_pt - indent - 4) / size)
        label = labels.text(indent / label_width_pt, y, text, ha="left", va="center", fontsize=size,
                            color="#263238" if row.is_group else "#37474f", clip_on=False)
        if url:
            label.set_url(url)
        bars = _bars(row, data.as_of) if not row.is_group else []
        for bar in bars:
            left, right = _x(bar.start_on), _x(bar.finish_on) + 1
            if bar.kind == "baseline":
                base_verts.append([(left, y - 0.36), (right, y - 0.36), (right, y - 0.06), (left, y - 0.06)])
                base_urls.append(url)
            else:
                now_verts.append([(left, y - 0.02), (right, y - 0.02), (right, y + 0.36), (left, y + 0.36)])
                now_colors.append(to_rgba(bar.color, bar.alpha))
                now_urls.append(url)
        for mark in row.milestones:
            diamonds_x.append(_x(mark.planned_finish_on) + 0.5)
            diamonds_y.append(y - 0.21)
            diamonds_c.append(LIGHT_COLORS[mark.light])
            diamonds_urls.append(url)
        drawn.append(DrawnRow(y, row.kind, text, url, row.light, tuple(bars),
                              tuple(m.planned_finish_on for m in row.milestones)))

    if band_verts:  # header bands across the label column and the chart
        labels.add_collection(PolyCollection(band_verts, facecolors=band_colors, linewidths=0, zorder=0.5))
        ax.add_collection(PolyCollection([[(x0 + (x1 - x0) * vx, vy) for vx, vy in verts] for verts in band_verts],
                                         facecolors=band_colors, linewidths=0, zorder=0.5))
    if base_verts:
        baseline = PolyCollection(base_verts, facecolors=BASELINE_COLOR, edgecolors="none", zorder=2)
        baseline.set_urls(base_urls)
        ax.add_collection(baseline)
    if now_verts:
        current = PolyCollection(now_verts, facecolors=now_colors, edgecolors="none", zorder=3)
        current.set_urls(now_urls)
        ax.add_collection(current)
    if diamonds_x:
        marks = ax.scatter(diamonds_x, diamonds_y, marker="D", s=14, c=diamonds_c, edgecolors="#263238",
                           linewidths=0.5, zorder=4)
        marks.set_urls(diamonds_urls)
    as_of_x = _x(data.as_of) + 1  # the end of the as-of day
    ax.axvline(as_of_x, color=AS_OF_COLOR, linestyle="--", linewidth=1.0, zorder=5)
    ax.annotate(tr("評核基準日 %(day)s", day=format_roc_date(data.as_of)), xy=(as_of_x, 1.0), xycoords=("data", "axes fraction"),
                xytext=(0, 15), textcoords="offset points", ha="center", va="bottom", fontsize=LABEL_SIZE,
                color=AS_OF_COLOR, annotation_clip=False)

    fig.text(0.1 / FIG_WIDTH, 1 - 0.12 / height, data.title, ha="left", va="top", fontsize=12, color="#102a43")
    fig.text(0.1 / FIG_WIDTH, 1 - 0.42 / height, data.subtitle, ha="left", va="top", fontsize=LABEL_SIZE,
             color="#486581")
    fig.legend(handles=_legend(), loc="upper right", bbox_to_anchor=(1 - RIGHT_PAD / FIG_WIDTH, 1 - 0.3 / height),
               ncol=9, fontsize=LABEL_SIZE, frameon=False, handlelength=1.6, columnspacing=1.0)
    return GanttFigure(fig, drawn, first_day, last_day, year_ticks)


def _year_axis(ax: Axes, first_day: date, last_day: date) -> list[tuple[str, date]]:
    """ROC years along the x axis, above and below the bars: a line at each 1 January, the year's name mid-year."""
    ax.set_xlim(_x(first_day), _x(last_day) + 1)
    years = range(first_day.year, last_day.year + 1)
    year_ticks = [(str(to_roc_year(y)), date(y, 7, 1)) for y in years]
    ax.xaxis.set_major_locator(FixedLocator([_x(date(y, 1, 1)) for y in years] + [_x(last_day) + 1]))
    ax.xaxis.set_major_formatter(NullFormatter())
    ax.xaxis.set_minor_locator(FixedLocator([_x(d) for _, d in year_ticks]))
    ax.xaxis.set_minor_formatter(FixedFormatter([label for label, _ in year_ticks]))
    ax.tick_params(axis="x", which="minor", length=0, labelsize=LABEL_SIZE, labeltop=True, labelbottom=True)
    ax.tick_params(axis="x", which="major", length=3, top=True, bottom=True)
    ax.grid(axis="x", which="major", color="#cfd8dc", linewidth=0.6)
    ax.set_axisbelow(True)
    return year_ticks


def _legend() -> list:
    """What the bars, colours, diamonds and the dashed line mean."""
    return [
        Patch(facecolor=BASELINE_COLOR, label=tr("基準期程")),
        Patch(facecolor="#546e7a", label=tr("實際")),
        Patch(facecolor="#546e7a", alpha=FORECAST_ALPHA, label=tr("預估／預定")),
        Patch(facecolor=LIGHT_COLORS[Light.GREEN], label=tr("綠燈")),
        Patch(facecolor=LIGHT_COLORS[Light.YELLOW], label=tr("黃燈")),
        Patch(facecolor=LIGHT_COLORS[Light.RED], label=tr("紅燈")),
        Patch(facecolor=LIGHT_COLORS[Light.NONE], label=tr("尚無燈號")),
        Line2D([], [], marker="D", linestyle="none", markersize=5, markerfacecolor="#9e9e9e",
               markeredgecolor="#263238", label=tr("里程碑預定完成")),
        Line2D([], [], color=AS_OF_COLOR, linestyle="--", label=tr("評核基準日")),
    ]


def render(data: GanttData, fmt: str, project_url: Callable[[int], str] = default_project_url,
           link_target: str = "_top") -> bytes:
    """The chart as SVG, PNG or PDF bytes; in SVG every bar and label links to its project."""
    return render_drawn(data, fmt, project_url, link_target)[0]


def render_drawn(data: GanttData, fmt: str, project_url: Callable[[int], str] = default_project_url,
                 link_target: str = "_top") -> tuple[bytes, GanttFigure]:
    """The chart's bytes and the record of what was drawn."""
    output.check_format(fmt)
    with fonts.chart_style():
        drawn = _draw(data, project_url)
        content = output.save(drawn.figure, fmt)
    if fmt == "svg":
        content = output.retarget_links(content, link_target)
    return content, drawn
