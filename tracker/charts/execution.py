"""Budget execution charts: the S-curve of cumulative allocation and execution, and rates by system and category."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from tracker.charts import fonts, output
from tracker.charts.data import RateBar, RateBarsData, SCurveData
from tracker.charts.labels import N_, tr
from tracker.domain.execution import round_rate

ALLOCATED_COLOR = "#1565c0"
EXECUTED_COLOR = "#2e7d32"
TARGET_COLOR = "#c62828"
LOW_COLOR = "#ef6c00"
AVAILABLE_COLOR = "#78909c"
ACHIEVEMENT_COLOR = "#90caf9"
SYNTHETIC_NOTE = N_("模擬資料：非法務部實際數字")
#: The two rates of the bar chart, in the order drawn in each group.
RATE_SERIES = (
    ("allocation_rate", N_("分配預算執行率"), ALLOCATED_COLOR),
    ("achievement_rate", N_("經費達成率"), ACHIEVEMENT_COLOR),
)


@dataclass(frozen=True)
class DrawnRateBar:
    """A rate bar as drawn: its panel (system, category), group, series and height in % (None: no rate, no bar)."""

    panel: str
    label: str
    series: str
    height: float | None


@dataclass
class ExecutionFigure:
    """A drawn execution chart and what it shows, read back from its artists."""

    figure: Figure
    lines: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  #: gid -> (x, y)
    bars: list[DrawnRateBar] = field(default_factory=list)


def _thousands(value: float, _pos=None) -> str:
    return f"{value:,.0f}"


def draw_s_curve(data: SCurveData) -> ExecutionFigure:
    """Cumulative 分配數 and 執行數 (千元) by month, the available budget, the target line and the forecast."""
    with fonts.chart_style():
        return _draw_s_curve(data)


def _draw_s_curve(data: SCurveData) -> ExecutionFigure:
    fig = Figure(figsize=(9, 5.2))
    ax = fig.add_axes((0.11, 0.1, 0.86, 0.8))
    fig.text(0.02, 0.975, data.title, ha="left", va="top", fontsize=12, color="#102a43", parse_math=False)
    if data.is_synthetic:
        fig.text(0.98, 0.975, tr(SYNTHETIC_NOTE), ha="right", va="top", fontsize=9, color=TARGET_COLOR, parse_math=False)
    months = [p.month for p in data.points]
    if data.points:
        ax.plot(months, [float(p.allocated) for p in data.points], marker="o", markersize=4, color=ALLOCATED_COLOR,
                label=tr("累計分配數"), gid="allocated")
        ax.plot(months, [float(p.executed) for p in data.points], marker="s", markersize=4, color=EXECUTED_COLOR,
                label=tr("累計執行數"), gid="executed")
    else:
        ax.text(0.5, 0.5, tr("尚無月報資料"), transform=ax.transAxes, ha="center", va="center", fontsize=11,
                parse_math=False)
    if data.available > 0:
        ax.plot([0.5, 12.5], [float(data.available)] * 2, linestyle=":", color=AVAILABLE_COLOR, linewidth=1.2,
                label=tr("可支用預算數 %(amount)s", amount=f"{data.available:,.0f}"), gid="available")
        target = data.target_amount
        ax.plot([0.5, 12.5], [float(target)] * 2, linestyle="--", color=TARGET_COLOR, linewidth=1.2,
                label=tr("目標 %(pct)s%%（%(amount)s）", pct=f"{data.target_pct.normalize():f}", amount=f"{target:,.0f}"), gid="target")
    last = data.points[-1] if data.points else None
    if last is not None and last.month < 12 and data.forecast_executed is not None:
        # the forecast assumes the whole budget is allocated by December (DOMAIN.md)
        ax.plot([last.month, 12], [float(last.allocated), float(data.available)], linestyle="--", linewidth=1,
                color=ALLOCATED_COLOR, alpha=0.6, label=tr("預估分配數（12 月全數分配）"), gid="forecast_allocated")
        rate = f"{round_rate(data.forecast_rate)}%" if data.forecast_rate is not None else "—"
        ax.plot([last.month, 12], [float(last.executed), float(data.forecast_executed)], linestyle="--", marker="o",
                markevery=[1], markersize=4, color=EXECUTED_COLOR, alpha=0.8, label=tr("預估年底執行率 %(rate)s", rate=rate),
                gid="forecast")
    ax.set_xlim(0.5, 12.5)
    ax.xaxis.set_major_locator(FixedLocator(range(1, 13)))
    ax.set_xticklabels([tr("%(month)s月", month=m) for m in range(1, 13)], parse_math=False)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylabel(tr("千元"), parse_math=False)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if ax.lines:
        for text in ax.legend(loc="lower right", fontsize=8, frameon=False).get_texts():
            text.set_parse_math(False)
    lines = {line.get_gid(): ([float(x) for x in line.get_xdata()], [float(y) for y in line.get_ydata()])
             for line in ax.lines}
    return ExecutionFigure(fig, lines=lines)


def draw_rate_bars(data: RateBarsData) -> ExecutionFigure:
    """分配預算執行率 and 經費達成率 side by side, by system and by category, with the 90% target and 80% line."""
    with fonts.chart_style():
        return _draw_rate_bars(data)


def _draw_rate_bars(data: RateBarsData) -> ExecutionFigure:
    fig = Figure(figsize=(11, 5))
    fig.text(0.02, 0.975, data.title, ha="left", va="top", fontsize=12, color="#102a43", parse_math=False)
    if data.is_synthetic:
        fig.text(0.98, 0.975, tr(SYNTHETIC_NOTE), ha="right", va="top", fontsize=9, color=TARGET_COLOR, parse_math=False)
    highest = max([float(v) for b in (*data.by_system, *data.by_category)
                   for v in (b.allocation_rate, b.achievement_rate) if v is not None] + [100.0])
    drawn: list[DrawnRateBar] = []
    panels = (("system", tr("依系統"), data.by_system, (0.07, 0.12, 0.5, 0.7)),
              ("category", tr("依計畫類別"), data.by_category, (0.63, 0.12, 0.35, 0.7)))
    for panel, heading, groups, box in panels:
        ax = fig.add_axes(box)
        drawn += _rate_panel(ax, panel, heading, groups, data, highest)
    legend = [Patch(facecolor=color, label=tr(label)) for _, label, color in RATE_SERIES] + [
        Line2D([], [], color=TARGET_COLOR, linestyle="--", label=tr("目標 %(pct)s%%", pct=f"{data.target_pct.normalize():f}")),
        Line2D([], [], color=LOW_COLOR, linestyle=":",
               label=tr("檢討線 %(pct)s%%（分配預算執行率）", pct=f"{data.low_rate_pct.normalize():f}")),
    ]
    for text in fig.legend(handles=legend, loc="upper right", bbox_to_anchor=(0.98, 0.93), ncol=4, fontsize=8,
                           frameon=False).get_texts():
        text.set_parse_math(False)
    return ExecutionFigure(fig, bars=drawn)


def _rate_panel(ax: Axes, panel: str, heading: str, groups: tuple[RateBar, ...], data: RateBarsData,
                highest: float) -> list[DrawnRateBar]:
    """One panel of grouped bars; a group without a rate shows 「—」 instead of a bar."""
    drawn = []
    width = 0.38
    for i, (series, label, color) in enumerate(RATE_SERIES):
        offset = (i - 0.5) * width
        for x, group in enumerate(groups):
            value: Decimal | None = getattr(group, series)
            if value is None:
                ax.text(x + offset, 1, "—", ha="center", va="bottom", fontsize=8, color="#607d8b", parse_math=False)
                drawn.append(DrawnRateBar(panel, group.label, series, None))
                continue
            container = ax.bar(x + offset, float(value), width=width, color=color,
                               gid=f"{panel}:{series}:{group.label}")
            height = container.patches[0].get_height()
            ax.text(x + offset, height + highest * 0.01, f"{round_rate(value)}", ha="center", va="bottom", fontsize=7,
                    parse_math=False)
            drawn.append(DrawnRateBar(panel, group.label, series, height))
    ax.axhline(float(data.target_pct), color=TARGET_COLOR, linestyle="--", linewidth=1, gid="target")
    ax.axhline(float(data.low_rate_pct), color=LOW_COLOR, linestyle=":", linewidth=1, gid="low_rate")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.label for g in groups], fontsize=8.5, parse_math=False)  # names as written, "$" too
    ax.set_xlim(-0.6, max(len(groups), 1) - 0.4)
    ax.set_ylim(0, highest * 1.12)
    ax.set_ylabel("%", parse_math=False)
    ax.set_title(heading, fontsize=10, loc="left", parse_math=False)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not groups:
        ax.text(0.5, 0.5, tr("尚無資料"), transform=ax.transAxes, ha="center", va="center", fontsize=10,
                    parse_math=False)
    return drawn


def render_s_curve(data: SCurveData, fmt: str) -> bytes:
    """The S-curve as SVG, PNG or PDF bytes."""
    output.check_format(fmt)
    with fonts.chart_style():
        return output.save(_draw_s_curve(data).figure, fmt)


def render_rate_bars(data: RateBarsData, fmt: str) -> bytes:
    """The rate bars as SVG, PNG or PDF bytes."""
    output.check_format(fmt)
    with fonts.chart_style():
        return output.save(_draw_rate_bars(data).figure, fmt)
