"""The monthly report as one PDF: cover, Gantt, execution table and charts, open alerts, KPI board."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from tracker.charts import fonts
from tracker.charts.data import GanttData, RateBarsData, SCurveData
from tracker.charts.execution import draw_rate_bars, draw_s_curve
from tracker.charts.gantt import draw as draw_gantt
from tracker.domain.labels import LIGHT_COLOURS as COLOURS_BY_CODE
from tracker.domain.slippage import Light

A4_LANDSCAPE = (11.69, 8.27)
ROWS_PER_PAGE = 22
#: The colour of a cell that shows a light, from the light's code (domain.labels.LIGHT_COLOURS by Light.css).
LIGHT_COLOURS = {light.label: COLOURS_BY_CODE[light.css] for light in Light if light is not Light.NONE}


@dataclass
class ReportData:
    """Everything the report shows, already computed by the services."""

    title: str
    as_of: date
    as_of_label: str  #: 「106年9月30日」
    generated_label: str
    summary: list[tuple[str, str]]  #: (heading, value) lines of the cover
    gantt: GanttData
    execution_headings: list[str]
    execution_rows: list[list[str]]
    s_curve: SCurveData | None
    rate_bars: RateBarsData | None
    alert_headings: list[str]
    alert_rows: list[list[str]]
    kpi_headings: list[str]
    kpi_rows: list[list[str]]
    synthetic_note: str | None = None
    sections: list[str] = field(default_factory=list)  #: the section titles, in order (for the contents and tests)


def _page(title: str, data: ReportData) -> tuple[Figure, object]:
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, title, fontsize=15, parse_math=False)
    fig.text(0.96, 0.95, f"資料截至 {data.as_of_label}", fontsize=9, ha="right", parse_math=False)
    if data.synthetic_note:
        fig.text(0.04, 0.915, data.synthetic_note, fontsize=8, color="#a15c00", parse_math=False)
    fig.text(0.5, 0.02, f"{data.title}｜{data.generated_label}", fontsize=7, ha="center", color="#5b6776",
             parse_math=False)
    return fig, fig.add_axes((0.04, 0.06, 0.92, 0.83))


def _table_pages(pdf: PdfPages, title: str, headings: list[str], rows: list[list[str]], data: ReportData,
                 widths: list[float], empty: str) -> None:
    chunks = [rows[i:i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        heading = title if len(chunks) == 1 else f"{title}（{number}/{len(chunks)}）"
        fig, ax = _page(heading, data)
        ax.axis("off")
        if not chunk:
            ax.text(0, 0.9, empty, fontsize=11, parse_math=False)
        else:
            table = ax.table(cellText=chunk, colLabels=headings, colWidths=widths, loc="upper left", cellLoc="left")
            table.auto_set_font_size(False)
            table.set_fontsize(7.5)
            table.scale(1, 1.35)
            for (row, column), cell in table.get_celld().items():
                if row == 0:
                    cell.set_facecolor("#e4ebf4")
                cell.get_text().set_parse_math(False)  # cells hold names and messages: drawn as written
                text = cell.get_text().get_text()
                if text in LIGHT_COLOURS:
                    cell.get_text().set_color(LIGHT_COLOURS[text])
        pdf.savefig(fig)


def render_report(data: ReportData) -> bytes:
    """The report as PDF bytes (fonts embedded; Chinese throughout)."""
    buffer = io.BytesIO()
    with fonts.chart_style(), PdfPages(buffer, metadata={"Title": data.title, "Subject": f"資料截至 {data.as_of_label}"}) as pdf:
        cover = Figure(figsize=A4_LANDSCAPE)
        cover.text(0.5, 0.70, data.title, fontsize=22, ha="center", parse_math=False)
        cover.text(0.5, 0.62, f"資料截至 {data.as_of_label}", fontsize=16, ha="center", parse_math=False)
        for i, (heading, value) in enumerate(data.summary):
            cover.text(0.30, 0.50 - i * 0.045, heading, fontsize=12, parse_math=False)
            cover.text(0.70, 0.50 - i * 0.045, value, fontsize=12, ha="right", parse_math=False)
        if data.synthetic_note:
            cover.text(0.5, 0.16, data.synthetic_note, fontsize=10, ha="center", color="#a15c00", parse_math=False)
        cover.text(0.5, 0.08, "目錄：" + "、".join(data.sections), fontsize=9, ha="center", parse_math=False)
        cover.text(0.5, 0.04, data.generated_label, fontsize=8, ha="center", color="#5b6776", parse_math=False)
        pdf.savefig(cover)

        pdf.savefig(draw_gantt(data.gantt).figure)

        _table_pages(pdf, "預算執行情形（資本門，依系統）", data.execution_headings, data.execution_rows, data,
                     [0.16] + [0.105] * (len(data.execution_headings) - 1), "本月尚無預算或月報數字。")
        for chart in (data.s_curve and draw_s_curve(data.s_curve), data.rate_bars and draw_rate_bars(data.rate_bars)):
            if chart:
                pdf.savefig(chart.figure)
        _table_pages(pdf, "未解除警示", data.alert_headings, data.alert_rows, data, [0.1, 0.06, 0.3, 0.54],
                     "目前沒有未解除的警示。")
        _table_pages(pdf, "關鍵績效指標", data.kpi_headings, data.kpi_rows, data, [0.06, 0.42, 0.14, 0.14, 0.1, 0.14],
                     "沒有指標。")
    return buffer.getvalue()
