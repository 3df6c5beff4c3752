"""The Gantt chart: a baseline bar and an actual/forecast bar per project, milestones, the as-of line, ROC years."""
from __future__ import annotations

import dataclasses
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import TICKDOWN, TICKUP, Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

from tracker.charts import fonts, output
from tracker.charts.data import GanttData, GanttRow
from tracker.charts.labels import tr
from tracker.domain.roc import format_roc_date, to_roc_year
from tracker.domain.labels import LIGHT_COLOURS
from tracker.domain.slippage import Light

#: Bar colours by light (紅燈, 黃燈, 綠燈, none yet).
LIGHT_COLORS = {light: LIGHT_COLOURS[light.css] for light in Light}
BASELINE_COLOR = "#b0bec5"
AS_OF_COLOR = "#c62828"
#: Opacity of the part of a bar that is a forecast or a plan rather than what happened.
FORECAST_ALPHA = 0.38
HEADER_BANDS = {"system": "#dde3ea", "work_plan": "#f1f3f6"}
GRID_COLOR = "#cfd8dc"
GRID_WIDTH = 0.6
YEAR_TICK_LENGTH = 3.0  #: points, at each 1 January, above and below the bars

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


#: How many years past the last planned date the axis runs for forecasts: a slow project's forecast
#: can lie centuries ahead, and an axis of 300 years would leave every bar a sliver.
FORECAST_YEARS_SHOWN = 3


def _span(data: GanttData) -> tuple[date, date]:
    """1 January of the first year any row (or the as-of date) touches, to 31 December of the last.

    Forecasts extend the axis by at most FORECAST_YEARS_SHOWN years past the last planned date; a
    bar that runs on beyond is cut at the edge and marked with an arrow.
    """
    days = [data.as_of]
    forecasts = []
    for row in data.rows:
        days += [d for d in (row.baseline_start_on, row.baseline_finish_on, row.current_start_on) if d is not None]
        days += [m.planned_finish_on for m in row.milestones]
        if row.current_finish_on is not None:
            forecasts.append(row.current_finish_on)
    plan_end = max(days)
    last = min(max([plan_end, *forecasts]), date(plan_end.year + FORECAST_YEARS_SHOWN, 12, 31))
    return date(min(days).year, 1, 1), date(last.year, 12, 31)


class _Texts(Artist):
    """Many one-line texts of one style, drawn by a single Text moved from one to the next.

    Each comes out as a Text of its own would (the same layout, element and link): ``draw`` sets the
    prototype's position, text, size, colour and link and lets Text.draw draw it. A chart of hundreds
    of rows spares a Text object per label.
    """

    def __init__(self, prototype: Text, items: list[tuple[float, float, str, float, str, str | None]]):
        super().__init__()
        self.set_zorder(prototype.get_zorder())
        self._prototype = prototype
        self.items = items  #: (x, y, text, font size, colour, link) in the prototype's coordinates

    def set_figure(self, fig):
        """Place the prototype on the figure too."""
        super().set_figure(fig)
        self._prototype.set_figure(fig)

    def draw(self, renderer):
        """Draw every text, in order."""
        if not self.get_visible():
            return
        text = self._prototype
        size = color = url = None
        for x, y, content, item_size, item_color, item_url in self.items:
            if not content:
                continue
            text.set_position((x, y))
            text.set_text(content)
            if (item_size, item_color, item_url) != (size, color, url):  # most items share them
                size, color, url = item_size, item_color, item_url
                text.set_fontsize(size)
                text.set_color(color)
                text.set_url(url)
            text.draw(renderer)
        self.stale = False


class _YearAxis(Artist):
    """The x axis as drawn: a grid line and a tick at each 1 January, the ROC years below and above the bars.

    The lines and labels matplotlib's axis would draw for the locators set on it, as a few artists
    instead of a Tick (three lines and two texts) per year: forecasts that run decades past the plan
    give the axis hundreds of years, and a Tick costs about a millisecond to build and draw.
    """

    def __init__(self, ax: Axes, boundaries: list[float], middles: list[float], labels: list[str]):
        super().__init__()
        self.set_zorder(0.5)  # under the bars, where ax.set_axisbelow(True) puts an axis
        rc = mpl.rcParams
        color = rc["xtick.color"]
        self.grid = LineCollection([[(x, 0), (x, 1)] for x in boundaries], colors=GRID_COLOR, linewidths=GRID_WIDTH,
                                   linestyles=rc["grid.linestyle"], capstyle=rc["lines.solid_capstyle"],
                                   joinstyle=rc["lines.solid_joinstyle"], antialiaseds=rc["lines.antialiased"],
                                   transform=ax.get_xaxis_transform(which="grid"))
        self.grid.set_clip_path(ax.patch)
        self.ticks = [Line2D(boundaries, [y] * len(boundaries), transform=ax.get_xaxis_transform(which=which),
                             linestyle="none", marker=marker, markersize=YEAR_TICK_LENGTH,
                             markeredgewidth=rc["xtick.major.width"], color=color, markeredgecolor=color)
                      for y, which, marker in ((0, "tick1", TICKDOWN), (1, "tick2", TICKUP))]
        label_color = color if rc["xtick.labelcolor"] == "inherit" else rc["xtick.labelcolor"]
        pad = rc["xtick.minor.pad"]  # the labels sit on ticks of length 0: the pad alone
        self.labels = []
        for y, (transform, va, ha) in ((0, ax.get_xaxis_text1_transform(pad)), (1, ax.get_xaxis_text2_transform(pad))):
            self.labels.append(_Texts(Text(0, 0, "", transform=transform, va=va, ha=ha, parse_math=False),
                                      [(x, y, label, LABEL_SIZE, label_color, None) for x, label in zip(middles, labels)]))

    def set_figure(self, fig):
        """Place the parts on the figure too."""
        super().set_figure(fig)
        for part in (self.grid, *self.ticks, *self.labels):
            part.set_figure(fig)

    def draw(self, renderer):
        """The grid lines, the ticks, then the labels below and above."""
        if not self.get_visible():
            return
        for part in (self.grid, *self.ticks, *self.labels):
            part.draw(renderer)
        self.stale = False


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
    labels = fig.add_axes((0.1 / FIG_WIDTH, bottom, LABEL_WIDTH / FIG_WIDTH, top - bottom))
    labels.set_axis_off()
    labels.set_xlim(0, 1)
    for axes in (ax, labels):  # the same rows side by side (set on both rather than shared: nothing pans)
        axes.set_ylim(n - 0.5, -0.5)  # row 0 at the top
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)

    first_day, last_day = _span(data)
    x0, x1 = _x(first_day), _x(last_day) + 1
    year_ticks, year_lines = _year_axis(ax, first_day, last_day)
    if not data.rows:
        ax.text(0.5, 0.5, tr("沒有符合條件的計畫"), transform=ax.transAxes, ha="center", va="center", fontsize=10,
                parse_math=False)

    label_width_pt = LABEL_WIDTH * 72
    row_labels = []
    band_verts, band_colors = [], []
    base_verts, base_urls = [], []
    now_verts, now_colors, now_urls = [], [], []
    diamonds_x, diamonds_y, diamonds_c, diamonds_urls = [], [], [], []
    arrows_y, arrows_c = [], []  #: bars that run on past the right edge
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
        row_labels.append((indent / label_width_pt, y, text, size, "#263238" if row.is_group else "#37474f", url))
        bars = _bars(row, data.as_of) if not row.is_group else []
        for bar in bars:
            left, right = _x(bar.start_on), _x(bar.finish_on) + 1
            if bar.kind == "baseline":
                base_verts.append([(left, y - 0.36), (right, y - 0.36), (right, y - 0.06), (left, y - 0.06)])
                base_urls.append(url)
            else:
                if right > x1:  # cut at the edge (a smaller drawing, too), an arrow says it goes on
                    right = x1
                    arrows_y.append(y + 0.17)
                    arrows_c.append(bar.color)
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

    # names are drawn as written: a "$" in one never goes through mathtext
    labels.add_artist(_Texts(Text(0, 0, "", ha="left", va="center", clip_on=False, transform=labels.transData,
                                  parse_math=False),
                             row_labels))
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
        # arrays: a list is checked item by item for masked values
        marks = ax.scatter(np.asarray(diamonds_x), np.asarray(diamonds_y), marker="D", s=14, c=diamonds_c,
                           edgecolors="#263238", linewidths=0.5, zorder=4)
        marks.set_urls(diamonds_urls)
    if arrows_y:
        ax.scatter([x1] * len(arrows_y), arrows_y, marker=">", s=22, c=arrows_c, edgecolors="none", zorder=4,
                   clip_on=False)
    as_of_x = _x(data.as_of) + 1  # the end of the as-of day
    ax.axvline(as_of_x, color=AS_OF_COLOR, linestyle="--", linewidth=1.0, zorder=5)
    ax.annotate(tr("評核基準日 %(day)s", day=format_roc_date(data.as_of)), xy=(as_of_x, 1.0), xycoords=("data", "axes fraction"),
                xytext=(0, 15), textcoords="offset points", ha="center", va="bottom", fontsize=LABEL_SIZE,
                color=AS_OF_COLOR, annotation_clip=False, parse_math=False)
    ax.add_artist(_YearAxis(ax, year_lines, [_x(middle) for _, middle in year_ticks],
                            [label for label, _ in year_ticks]))  # after the bands: drawn over them, as an axis is

    fig.text(0.1 / FIG_WIDTH, 1 - 0.12 / height, data.title, ha="left", va="top", fontsize=12, color="#102a43",
             parse_math=False)
    fig.text(0.1 / FIG_WIDTH, 1 - 0.42 / height, data.subtitle, ha="left", va="top", fontsize=LABEL_SIZE,
             color="#486581", parse_math=False)
    fig.legend(handles=_legend(), loc="upper right", bbox_to_anchor=(1 - RIGHT_PAD / FIG_WIDTH, 1 - 0.3 / height),
               ncol=9, fontsize=LABEL_SIZE, frameon=False, handlelength=1.6, columnspacing=1.0)
    return GanttFigure(fig, drawn, first_day, last_day, year_ticks)


def _year_axis(ax: Axes, first_day: date, last_day: date) -> tuple[list[tuple[str, date]], list[float]]:
    """ROC years along the x axis, above and below the bars: a line at each 1 January, the year's name mid-year.

    The axis keeps its locators and labels (what ``ax.get_xticklabels(minor=True)`` reads), and
    :class:`_YearAxis` draws them; returns the labels with their days and the lines' positions.
    """
    ax.set_xlim(_x(first_day), _x(last_day) + 1)
    years = range(first_day.year, last_day.year + 1)
    year_ticks = [(str(to_roc_year(y)), date(y, 7, 1)) for y in years]
    lines = [_x(date(y, 1, 1)) for y in years] + [_x(last_day) + 1]
    ax.xaxis.set_major_locator(FixedLocator(lines))
    ax.xaxis.set_major_formatter(NullFormatter())
    ax.xaxis.set_minor_locator(FixedLocator([_x(d) for _, d in year_ticks]))
    ax.xaxis.set_minor_formatter(FixedFormatter([label for label, _ in year_ticks]))
    ax.tick_params(axis="x", which="minor", length=0, labelsize=LABEL_SIZE, labeltop=True, labelbottom=True)
    ax.tick_params(axis="x", which="major", length=YEAR_TICK_LENGTH, top=True, bottom=True)
    ax.xaxis.set_visible(False)  # drawn by _YearAxis
    return year_ticks, lines


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


#: PNG widths a reader may ask for (?width=), in pixels; the default is FIG_WIDTH at fonts.PNG_DPI.
PNG_WIDTH_MIN, PNG_WIDTH_MAX = 400, 4000
#: The tallest PNG drawn: a chart of thousands of rows is drawn narrower than asked rather than past
#: Agg's limit of 2^16 pixels (and hundreds of megabytes of pixels in the web worker).
PNG_HEIGHT_MAX = 30_000


def png_dpi(rows: int, width: int | None = None) -> float:
    """The resolution of a PNG ``width`` pixels wide (default: fonts.PNG_DPI), lowered so it stays within PNG_HEIGHT_MAX."""
    dpi = fonts.PNG_DPI if width is None else width / FIG_WIDTH
    height = TOP + max(rows, 1) * ROW_HEIGHT + BOTTOM
    return min(dpi, PNG_HEIGHT_MAX / height)


def render(data: GanttData, fmt: str, project_url: Callable[[int], str] = default_project_url,
           link_target: str = "_top", width: int | None = None) -> bytes:
    """The chart as SVG, PNG (``width`` pixels wide if given) or PDF (A4 landscape pages); SVG links to projects."""
    if output.check_format(fmt) == "pdf":
        return render_pdf(data)
    return render_drawn(data, fmt, project_url, link_target, width)[0]


def render_drawn(data: GanttData, fmt: str, project_url: Callable[[int], str] = default_project_url,
                 link_target: str = "_top", width: int | None = None) -> tuple[bytes, GanttFigure]:
    """The chart's bytes as one figure (the page's size) and the record of what was drawn."""
    output.check_format(fmt)
    with fonts.chart_style():
        drawn = _draw(data, project_url)
        dpi = png_dpi(len(data.rows), width) if fmt == "png" else None
        content = output.save(drawn.figure, fmt, dpi)
    if fmt == "svg":
        content = output.retarget_links(content, link_target)
    return content, drawn


# --- the PDF: A4 landscape pages ------------------------------------------------------------------
#: Smallest text of the PDF, in points: every label, axis year and legend entry is at least this.
PDF_MIN_TEXT = 8.0
PDF_TITLE_SIZE = 13.0
PDF_HEADER_SIZE = 9.0
EDGE_COLOR = "#263238"


def render_pdf(data: GanttData) -> bytes:
    """The chart as a PDF of A4 landscape pages, the names column and the ROC years on every page.

    The rows are cut into pages as the monthly report's Gantt cuts them (report_gantt.paginate: the
    same page, margins, columns and wrapping), every page on the same time axis; the pages are
    written as PDF operators (output.PdfWriter) rather than drawn as matplotlib Figures.
    """
    from tracker.charts import report_gantt as paged  # it imports this module

    data = _printable(data)
    pages = paged.paginate(data)
    first_day, last_day = _span(data)
    writer = output.PdfWriter(data.title)
    for number, rows in enumerate(pages, start=1):
        _pdf_page(writer.page(paged.PAGE_W, paged.PAGE_H), paged, data, rows, number, len(pages), first_day, last_day)
    return writer.bytes()


#: Drawn in place of a character the bundled font lacks (the names are measured before they are drawn).
MISSING_GLYPH = "□"


def _printable(data: GanttData) -> GanttData:
    """The data with each character the bundled font lacks in a name replaced by MISSING_GLYPH, and warned about."""
    font = fonts.pdf_font()
    rows = []
    for row in data.rows:
        missing = {c for c in row.label if not c.isspace() and not font.glyph(c)}
        for char in sorted(missing):
            warnings.warn(f"Glyph {ord(char)} ({char!r}) missing from font(s) {fonts.FONT_FAMILY}.", stacklevel=3)
        label = "".join(MISSING_GLYPH if c in missing else c for c in row.label) if missing else row.label
        rows.append(dataclasses.replace(row, label=label) if missing else row)
    return dataclasses.replace(data, rows=tuple(rows))


def _pdf_page(page: output.PdfPage, paged, data: GanttData, rows: list, number: int, total: int,
              first_day: date, last_day: date) -> None:
    margin, label_pt, row_pt, line_pt = paged.MARGIN, paged.LABEL_PT, paged.ROW_PT, paged.LINE_PT
    top, bottom = margin + paged.HEADER_PT, paged.PAGE_H - margin - paged.FOOTER_PT
    left, right = margin + label_pt + 8, paged.PAGE_W - margin
    x0, x1 = _x(first_day), _x(last_day) + 1
    scale = (right - left) / (x1 - x0)

    def px(day_x: float) -> float:
        return left + (day_x - x0) * scale

    # header: title, filters, legend
    title = data.title if total == 1 else f"{data.title}（{number}/{total}）"
    page.text(margin, margin, title, PDF_TITLE_SIZE, "#102a43", valign="top")
    page.text(paged.PAGE_W - margin, margin, data.subtitle, PDF_HEADER_SIZE, "#334e68", align="right", valign="top")
    _pdf_legend(page, margin, margin + 24)

    # rows: bands, names, separators, bars, milestones
    separators, diamonds, arrows = [], [], []
    for placed in rows:
        row, row_top, height = placed.row, top + placed.top, placed.height
        size = HEADER_SIZE if row.is_group else LABEL_SIZE
        if row.is_group:
            page.rect(margin, row_top, right - margin, height, HEADER_BANDS[row.kind])
        colour = "#263238" if row.is_group else "#37474f"
        for i, line in enumerate(placed.lines):
            page.text(margin + row.level * INDENT_PT + 2, row_top + row_pt / 2 + i * line_pt, line, size, colour,
                      valign="center")
        separators.append((margin, row_top + height, margin + label_pt, row_top + height))
        if row.is_group:
            continue
        middle = row_top + height / 2
        for bar in _bars(row, data.as_of):
            start, end = _x(bar.start_on), min(_x(bar.finish_on) + 1, x1)
            if bar.kind == "baseline":
                page.rect(px(start), middle - 5, (end - start) * scale, 4, BASELINE_COLOR)
                continue
            if _x(bar.finish_on) + 1 > x1:
                arrows.append((middle + 2.5, bar.color))
            page.rect(px(start), middle, (end - start) * scale, 5, bar.color, bar.alpha)
        diamonds += [(px(_x(m.planned_finish_on) + 0.5), middle - 3, LIGHT_COLORS[m.light]) for m in row.milestones]
    page.lines(separators, "#eceff1", 0.4)

    # the time axis: a line at each 1 January, ticks and the ROC years above and below the rows
    years = list(range(first_day.year, last_day.year + 1))
    bounds = [px(_x(date(y, 1, 1))) for y in years] + [right]
    page.lines([(b, top, b, bottom) for b in bounds], GRID_COLOR, GRID_WIDTH)
    page.lines([(b, top - YEAR_TICK_LENGTH, b, top) for b in bounds]
               + [(b, bottom, b, bottom + YEAR_TICK_LENGTH) for b in bounds], "#000000", 0.8)
    page.lines([(left, bottom, right, bottom)], "#000000", 0.8)
    year_width = (right - left) / len(years)
    step = max(1, -int(-(page.writer.font.width("1000", LABEL_SIZE) + 4) // year_width))  # every n-th year if crowded
    for i, year in enumerate(years):
        if i % step:
            continue
        middle = px(_x(date(year, 7, 1)))
        label = str(to_roc_year(year))
        page.text(middle, top - 4, label, LABEL_SIZE, "#000000", align="center")
        page.text(middle, bottom + 4, label, LABEL_SIZE, "#000000", align="center", valign="top")

    by_colour: dict[str, list] = {}
    for x, y, colour in diamonds:  # one path per colour: a page of 5,000-row chart holds hundreds
        by_colour.setdefault(colour, []).append([(x, y - 2.6), (x + 2.6, y), (x, y + 2.6), (x - 2.6, y)])
    for colour, shapes in by_colour.items():
        page.polygons(shapes, colour, EDGE_COLOR, 0.5)
    for y, colour in arrows:
        page.polygon([(right, y - 3), (right + 5, y), (right, y + 3)], colour)
    if x0 <= _x(data.as_of) + 1 <= x1:
        as_of_x = px(_x(data.as_of) + 1)
        page.lines([(as_of_x, top, as_of_x, bottom)], AS_OF_COLOR, 1.0, (3.7, 1.6))
        page.text(as_of_x, top - 15, tr("評核基準日 %(day)s", day=format_roc_date(data.as_of)), LABEL_SIZE,
                  AS_OF_COLOR, align="center")
    if not data.rows:
        page.text((left + right) / 2, (top + bottom) / 2, tr("沒有符合條件的計畫"), 10, "#37474f", align="center",
                  valign="center")
    page.text(paged.PAGE_W / 2, paged.PAGE_H - margin / 2, tr("第 %(page)d／%(pages)d 頁", page=number, pages=total),
              PDF_MIN_TEXT, "#5b6776", align="center")


def _pdf_legend(page: output.PdfPage, x: float, y: float) -> None:
    """The legend of :func:`_legend` in a line: a swatch, a diamond or a dashed line before each name."""
    for handle in _legend():
        label = handle.get_label()
        if isinstance(handle, Patch):
            colour = "#%02x%02x%02x" % tuple(round(c * 255) for c in handle.get_facecolor()[:3])
            page.rect(x, y - 3, 12, 6, colour, handle.get_alpha() or 1.0)
        elif handle.get_marker() == "D":
            page.polygon([(x + 6, y - 3), (x + 9, y), (x + 6, y + 3), (x + 3, y)], "#9e9e9e", EDGE_COLOR, 0.5)
        else:
            page.lines([(x, y, x + 12, y)], AS_OF_COLOR, 1.0, (3.7, 1.6))
        x += 15 + page.text(x + 15, y, label, LABEL_SIZE, "#243b53", valign="center") + 10
