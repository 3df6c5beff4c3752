"""The monthly report as one A4 PDF: cover, programmes behind schedule, Gantt, execution, alerts, KPIs, who has not reported.

Every page is A4 (595×842 pt), portrait or landscape where a table needs the width. Tables wrap
their text inside the cell (nothing is cut to 「…」), run on over as many pages as they need with
their header repeated, and right-align numbers.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from tracker.charts import fonts
from tracker.charts.data import GanttData, RateBarsData, SCurveData
from tracker.charts.execution import draw_rate_bars, draw_s_curve
from tracker.charts.gantt import _Texts
from tracker.domain.labels import LIGHT_COLOURS as COLOURS_BY_CODE
from tracker.domain.slippage import Light

#: A4 in points, portrait (width, height); landscape is the other way round.
A4_PT = (595.0, 842.0)
MARGIN = 36.0
TABLE_SIZE = 8.0  #: the smallest text of the report
LINE = 1.3  #: line height, in font sizes
CELL_PAD = 3.0
#: The colour of a cell that shows a light, from the light's code (domain.labels.LIGHT_COLOURS by Light.css).
LIGHT_COLOURS = {light.label: COLOURS_BY_CODE[light.css] for light in Light if light is not Light.NONE}
#: How big a photo is drawn (points): the box it is fitted into.
PHOTO_BOX = (240.0, 170.0)


# --- text ------------------------------------------------------------------------------------------

_ADVANCES: dict[str, float] = {}


def text_width(text: str, size: float) -> float:
    """The width in points of a one-line text in the bundled font (its advances; no kerning)."""
    font = None
    width = 0.0
    for char in text:
        advance = _ADVANCES.get(char)
        if advance is None:
            if font is None:
                font = fonts.memory_font()
                font.set_size(100, 72)
            # a character the font lacks (an emoji, a rare ideograph) is measured as the box it is drawn as
            drawn = char if ord(char) in _charmap(font) else "□"
            advance = _ADVANCES[char] = font.load_char(ord(drawn)).linearHoriAdvance / 65536 / 100
        width += advance
    return width * size


_CHARMAP: dict[int, int] = {}


def _charmap(font) -> dict[int, int]:
    """The bundled font's character map, read once."""
    if not _CHARMAP:
        _CHARMAP.update(font.get_charmap())
    return _CHARMAP


def wrap(text: str, width: float, size: float) -> list[str]:
    """The text as lines no wider than ``width`` points: broken between characters (CJK) or at spaces (Latin)."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for char in paragraph:
            if text_width(line + char, size) <= width or not line:
                line += char
                continue
            cut = line.rfind(" ")
            # a Latin word (an ASCII run) moves to the next line whole when the line has room before it
            if char.isascii() and char != " " and cut > 0 and line[cut + 1:].isascii():
                lines.append(line[:cut])
                line = line[cut + 1:] + char
            else:
                lines.append(line.rstrip())
                line = char.lstrip()
        lines.append(line)
    return lines


# --- what the report shows ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A table column: its heading, share of the table's width and alignment (numbers right)."""

    heading: str
    width: float
    align: str = "left"


@dataclass(frozen=True)
class Table:
    """A titled table of text cells; landscape when it needs the width."""

    title: str
    columns: tuple[Column, ...]
    rows: list[list[str]]
    empty: str
    landscape: bool = True
    note: str | None = None  #: a line under the title (what the figures cover)


@dataclass(frozen=True)
class LaggingProgramme:
    """A programme that is red or lagging, with what its latest report says."""

    name: str  #: the full name
    where: str  #: 「矯正系統／工作計畫」
    why: tuple[str, ...]  #: 「紅燈」 and the open LAGGING alerts' messages
    report_label: str  #: 「106年9月第 2 次填報（已核定）」 or 「106年9月未填報進度」
    planned: str
    actual: str
    delay_reason: str
    remedy: str
    reviewer_comment: str
    photo: bytes | None = None


@dataclass
class ReportData:
    """Everything the report shows, already computed by the services."""

    title: str
    as_of: date  #: 評核基準日 of the report
    as_of_label: str  #: 「106年9月30日」
    generated_label: str
    month_label: str  #: 「106年9月」
    completeness_line: str  #: 「9 月進度已報 31／57，已核定 20；資本門月報已報 30／33」
    summary: list[tuple[str, str]]  #: (heading, value) lines of the cover
    gantt: GanttData
    lagging: list[LaggingProgramme]
    tables: list[Table]  #: after the Gantt, in order; the execution table first
    s_curve: SCurveData | None
    rate_bars: RateBarsData | None
    report_month: int  #: the month every chart stops at and marks
    synthetic_note: str | None = None
    sections: list[str] = field(default_factory=list)  #: the section titles, in order (for the contents and tests)


# --- pages -------------------------------------------------------------------------------------------

class _Page:
    """An A4 Figure drawn in points from its top-left corner, with the report's header and footer."""

    def __init__(self, data: ReportData, title: str | None, landscape: bool):
        self.w, self.h = (A4_PT[1], A4_PT[0]) if landscape else A4_PT
        self.fig = Figure(figsize=(self.w / 72, self.h / 72))
        self.left: list[tuple] = []
        self.right: list[tuple] = []
        self.lines: list = []
        self.bands: list = []
        self.band_colours: list = []
        self.top = MARGIN
        if title is not None:
            self.text(MARGIN, MARGIN, title, 14, "#102a43")
            self.text(self.w - MARGIN, MARGIN + 3, f"評核基準日 {data.as_of_label}", 9, align="right")
            self.top = MARGIN + 26
            if data.synthetic_note:
                self.text(MARGIN, self.top, data.synthetic_note, TABLE_SIZE, "#a15c00")
                self.top += 14
        self.text(self.w / 2, self.h - MARGIN / 2 - 10, f"{data.title}｜{data.generated_label}", TABLE_SIZE,
                  "#5b6776", align="center")
        self.bottom = self.h - MARGIN - 6

    def text(self, x: float, y: float, content: str, size: float, colour: str = "#102a43", align: str = "left"):
        """A one-line text whose top is at y."""
        if align == "center":
            self.fig.text(x / self.w, 1 - y / self.h, content, fontsize=size, color=colour, ha="center", va="top",
                          parse_math=False)
            return
        (self.right if align == "right" else self.left).append((x / self.w, 1 - y / self.h, content, size, colour, None))

    def paragraph(self, x: float, y: float, width: float, content: str, size: float, colour: str = "#102a43") -> float:
        """Wrapped text from y; the y under it."""
        for line in wrap(content, width, size):
            self.text(x, y, line, size, colour)
            y += size * LINE
        return y

    def finish(self) -> Figure:
        """Add the texts and rules gathered to the figure."""
        for items, ha in ((self.left, "left"), (self.right, "right")):
            if items:
                self.fig.add_artist(_Texts(Text(0, 0, "", ha=ha, va="top", transform=self.fig.transFigure,
                                                parse_math=False), items))
        tf = self.fig.transFigure
        if self.bands:
            self.fig.add_artist(PolyCollection(
                [[(x / self.w, 1 - y / self.h) for x, y in v] for v in self.bands], facecolors=self.band_colours,
                linewidths=0, transform=tf, zorder=0.5))
        if self.lines:
            self.fig.add_artist(LineCollection([[(x / self.w, 1 - y / self.h) for x, y in seg] for seg in self.lines],
                                               colors="#90a4ae", linewidths=0.5, transform=tf, zorder=1))
        return self.fig


def _table_pages(data: ReportData, table: Table) -> list[Figure]:
    """A table over as many A4 pages as it needs: text wrapped in its cells, the header on every page."""
    pages: list[Figure] = []
    probe = _Page(data, table.title, table.landscape)
    total = probe.w - 2 * MARGIN
    share = sum(c.width for c in table.columns)
    widths = [total * c.width / share for c in table.columns]
    line_h = TABLE_SIZE * LINE

    def cells(texts: list[str]) -> list[list[str]]:
        return [wrap(t, w - 2 * CELL_PAD, TABLE_SIZE) for t, w in zip(texts, widths)]

    header = cells([c.heading for c in table.columns])
    header_h = max(len(c) for c in header) * line_h + 2 * CELL_PAD
    rows = [cells(r) for r in table.rows]
    page, y = None, 0.0
    count = 0

    def new_page() -> tuple[_Page, float]:
        nonlocal count
        count += 1
        p = _Page(data, table.title + ("" if count == 1 else "（續）"), table.landscape)
        top = p.top
        if table.note and count == 1:
            top = p.paragraph(MARGIN, top, total, table.note, 9) + 4
        _draw_row(p, top, header, header_h, widths, table.columns, heading=True)
        return p, top + header_h

    page, y = new_page()
    first_y = y
    if not rows:
        page.text(MARGIN, y + 8, table.empty, 10)
    for row in rows:
        height = max(len(c) for c in row) * line_h + 2 * CELL_PAD
        if y + height > page.bottom and y > first_y:  # the row moves whole to the next page
            pages.append(page.finish())
            page, y = new_page()
        while y + height > page.bottom:  # a row taller than a page: the lines that fit here, the rest on the next
            room = max(int((page.bottom - y - 2 * CELL_PAD) // line_h), 1)
            _draw_row(page, y, [c[:room] for c in row], room * line_h + 2 * CELL_PAD, widths, table.columns)
            row = [c[room:] for c in row]
            height = max(len(c) for c in row) * line_h + 2 * CELL_PAD
            pages.append(page.finish())
            page, y = new_page()
        _draw_row(page, y, row, height, widths, table.columns)
        y += height
    pages.append(page.finish())
    return pages


def _draw_row(page: _Page, y: float, cells: list[list[str]], height: float, widths: list[float],
              columns: tuple[Column, ...], heading: bool = False) -> None:
    x = MARGIN
    right_edge = MARGIN + sum(widths)
    if heading:
        page.bands.append([(x, y), (right_edge, y), (right_edge, y + height), (x, y + height)])
        page.band_colours.append("#e4ebf4")
        page.lines.append([(x, y), (right_edge, y)])
    page.lines.append([(x, y + height), (right_edge, y + height)])
    for lines, width, column in zip(cells, widths, columns):
        align = "left" if heading else column.align
        for i, line in enumerate(lines):
            colour = LIGHT_COLOURS.get(line, "#102a43")
            tx = x + width - CELL_PAD if align == "right" else x + CELL_PAD
            page.text(tx, y + CELL_PAD + i * TABLE_SIZE * LINE, line, TABLE_SIZE, colour, align)
        page.lines.append([(x, y), (x, y + height)])
        x += width
    page.lines.append([(right_edge, y), (right_edge, y + height)])


def _cover(data: ReportData) -> Figure:
    page = _Page(data, None, landscape=False)
    w = page.w
    y = 200.0
    for line in wrap(data.title, w - 2 * MARGIN, 20):
        page.text(w / 2, y, line, 20, align="center")
        y += 28
    page.text(w / 2, y + 10, f"評核基準日：{data.as_of_label}", 15, align="center")
    y += 44
    y = page.paragraph(MARGIN + 40, y, w - 2 * MARGIN - 80, data.completeness_line, 11, "#243b53") + 20
    for heading, value in data.summary:
        top = y
        y = page.paragraph(MARGIN + 20, y, 190, heading, 11)
        bottom = page.paragraph(MARGIN + 220, top, w - 2 * MARGIN - 240, value, 11)
        y = max(y, bottom) + 6
        page.lines.append([(MARGIN + 20, y - 3), (w - MARGIN - 20, y - 3)])
    if data.synthetic_note:
        page.paragraph(MARGIN + 40, y + 20, w - 2 * MARGIN - 80, data.synthetic_note, 10, "#a15c00")
    page.paragraph(MARGIN + 40, page.h - 120, w - 2 * MARGIN - 80, "目錄：" + "、".join(data.sections), 9)
    page.text(w / 2, page.h - 80, data.generated_label, TABLE_SIZE, "#5b6776", align="center")
    return page.finish()


def _photo(fig: Figure, page: _Page, x: float, y: float, content: bytes) -> float:
    """Draw a photo fitted into PHOTO_BOX with its top-left at (x, y); its height (0 when it cannot be read)."""
    import numpy as np
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(content))
        image.thumbnail((900, 900))
        pixels = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return 0.0
    h_px, w_px = pixels.shape[:2]
    scale = min(PHOTO_BOX[0] / w_px, PHOTO_BOX[1] / h_px)
    w, h = w_px * scale, h_px * scale
    ax = fig.add_axes((x / page.w, 1 - (y + h) / page.h, w / page.w, h / page.h))
    ax.imshow(pixels, interpolation="none", aspect="auto")
    ax.set_axis_off()
    return h


def _lagging_pages(data: ReportData) -> list[Figure]:
    """Each red or lagging programme: its full name, why it is listed, 落後原因, 因應對策, the reviewer's comment, a photo."""
    title = "落後及紅燈計畫"
    pages: list[Figure] = []
    page = _Page(data, title, landscape=False)
    width = page.w - 2 * MARGIN
    y = page.top
    if not data.lagging:
        page.text(MARGIN, y + 4, "本月沒有紅燈或進度落後的計畫。", 10)
    for item in data.lagging:
        needed = _lagging_height(item, width)
        if y > page.top and y + needed > page.bottom:
            pages.append(page.finish())
            page = _Page(data, title + "（續）", landscape=False)
            y = page.top
        y = _lagging_block(page, item, y, width) + 14
    pages.append(page.finish())
    return pages


def _fields(item: LaggingProgramme) -> list[tuple[str, str]]:
    return [("列入原因", "；".join(item.why)), ("月報", item.report_label),
            ("預定／實際進度", f"{item.planned}／{item.actual}"), ("落後原因", item.delay_reason or "—"),
            ("因應對策", item.remedy or "—"), ("管考意見", item.reviewer_comment or "—")]


def _lagging_height(item: LaggingProgramme, width: float) -> float:
    height = len(wrap(item.name, width, 11)) * 11 * LINE + 4 + (12 if item.where else 0)
    for _, value in _fields(item):
        height += len(wrap(value, width - 80, 9)) * 9 * LINE + 3
    return height + (PHOTO_BOX[1] + 6 if item.photo else 0)


def _lagging_block(page: _Page, item: LaggingProgramme, y: float, width: float) -> float:
    page.lines.append([(MARGIN, y - 5), (MARGIN + width, y - 5)])
    y = page.paragraph(MARGIN, y, width, item.name, 11, "#b71c1c") + 4
    if item.where:
        page.text(MARGIN, y - 2, item.where, TABLE_SIZE, "#486581")
        y += 12
    for label, value in _fields(item):
        page.text(MARGIN, y, label, 9, "#334e68")
        y = page.paragraph(MARGIN + 80, y, width - 80, value, 9) + 3
    if item.photo:
        height = _photo(page.fig, page, MARGIN + 80, y + 2, item.photo)
        if height:
            page.text(MARGIN, y + 2, "施工照片", 9, "#334e68")
            y += height + 6
    return y


def _chart_page(figure: Figure, data: ReportData, axes_box: tuple | None = None) -> Figure:
    """A chart set on an A4 landscape page with the report's footer."""
    figure.set_size_inches(A4_PT[1] / 72, A4_PT[0] / 72)
    if axes_box is not None and figure.axes:
        figure.axes[0].set_position(axes_box)
    figure.text(0.5, 0.015, f"{data.title}｜{data.generated_label}｜評核基準日 {data.as_of_label}", fontsize=TABLE_SIZE,
                ha="center", color="#5b6776", parse_math=False)
    return figure


def _s_curve_page(data: ReportData) -> Figure:
    """The S-curve through the report's month, the month marked."""
    chart = draw_s_curve(data.s_curve)
    ax = chart.figure.axes[0]
    ax.axvline(data.report_month, color="#c62828", linestyle="-.", linewidth=1, zorder=1, gid="report_month")
    ax.annotate(f"{data.report_month} 月（本報告月份）", xy=(data.report_month, 1.0), xycoords=("data", "axes fraction"),
                xytext=(3, -12), textcoords="offset points", fontsize=9, color="#c62828", parse_math=False)
    return _chart_page(chart.figure, data, (0.09, 0.1, 0.88, 0.78))


def render_report(data: ReportData) -> bytes:
    """The report as PDF bytes (fonts embedded; Chinese throughout; every page A4)."""
    from tracker.charts.report_gantt import draw_pages  # it uses this module's wrap()

    buffer = io.BytesIO()
    metadata = {"Title": data.title, "Subject": f"評核基準日 {data.as_of_label}", "CreationDate": None}
    with fonts.chart_style(), PdfPages(buffer, metadata=metadata) as pdf:
        pdf.savefig(_cover(data))
        for figure in _lagging_pages(data):
            pdf.savefig(figure)
        for figure in draw_pages(data.gantt, f"評核基準日 {data.as_of_label}", f"{data.title}｜{data.generated_label}"):
            pdf.savefig(figure)
        tables = list(data.tables)
        if tables:
            for figure in _table_pages(data, tables.pop(0)):
                pdf.savefig(figure)
        if data.s_curve is not None:
            pdf.savefig(_s_curve_page(data))
        if data.rate_bars is not None:
            pdf.savefig(_chart_page(draw_rate_bars(data.rate_bars).figure, data))
        for table in tables:
            for figure in _table_pages(data, table):
                pdf.savefig(figure)
    return buffer.getvalue()


def percent(value: Decimal | None) -> str:
    """A percentage for a cell: 「30.00%」, or 「—」."""
    return "—" if value is None else f"{value.quantize(Decimal('0.01'))}%"
