"""The web Gantt page's layout: one page of the chart's rows, placed on a year, quarter or month scale.

The rows are services.gantt's (the one judgement of lights, spans and milestones); this module adds
what the page draws besides: x positions and widths per scale, the axis ticks, the done percent
(完成百分比) of each bar, groups for collapsing, and paging. No Flask: the view passes the arguments.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.charts.data import GanttData, GanttRow
from tracker.charts.labels import tr
from tracker.domain.roc import to_roc_year
from tracker.domain.progress import done_percent
from tracker.domain.slippage import Light, SlipThresholds
from tracker.models import Milestone
from tracker.services import gantt
from tracker.services.schedule_facts import latest_reports

__all__ = ["SCALES", "PAGE_SIZE", "GanttPage", "Scale", "done_percent", "gantt_page", "layout"]

HUNDRED = Decimal(100)
#: Programmes per page: a national portfolio (5,000) is fifty light pages, never one heavy one.
PAGE_SIZE = 100
#: The time axis never runs further than this from the reporting date (forecasts can run centuries on).
MAX_YEARS_BEFORE = 15
MAX_YEARS_AFTER = 15
ROW_HEIGHT = 26  #: px, a bar row's SVG height
AXIS_HEIGHT = 40  #: px, the axis SVG's height (two tiers)


@dataclass(frozen=True)
class Scale:
    """A zoom level of the time axis: how wide a year is and how it is divided."""

    name: str  #: year, quarter or month
    year_px: int  #: width of one year in px
    label: str  #: the scale's name in Chinese (年／季／月)


#: The scales, from the widest view (年) to the closest (月).
SCALES = {s.name: s for s in (Scale("year", 96, "年"), Scale("quarter", 288, "季"), Scale("month", 600, "月"))}
DEFAULT_SCALE = "quarter"


@dataclass(frozen=True)
class Tick:
    """A division of the axis: its left edge, width and label."""

    x: float
    width: float
    label: str
    is_major: bool = False  #: a year's start (drawn darker)


@dataclass(frozen=True)
class Span:
    """A bar's placement: x and width in px, and whether it runs past either edge of the axis."""

    x: float
    width: float
    cut_left: bool = False
    cut_right: bool = False

    @property
    def end(self) -> float:
        """The bar's right edge in px."""
        return self.x + self.width


@dataclass(frozen=True)
class Mark:
    """A milestone diamond: its centre, light and name."""

    x: float
    light: Light
    name: str
    on: date


@dataclass(frozen=True)
class ViewRow:
    """A project or sub-plan row as the page draws it."""

    index: int  #: the row's number on the page (ids of its bar and its details)
    row: GanttRow
    baseline: Span | None
    current: Span | None
    done: Decimal | None  #: 完成百分比, 0–100, unrounded
    done_width: float  #: the done part of the current bar in px
    marks: tuple[Mark, ...]

    @property
    def done_text(self) -> str:
        """The done percent as a bar shows it: 「45%」 (「—」 when nothing is known)."""
        if self.done is None:
            return "—"
        return f"{self.done.quantize(Decimal(1)):f}%"

    @property
    def is_forecast(self) -> bool:
        """The current bar ends on a forecast or plan, not on an actual finish."""
        return not self.row.is_finished


@dataclass
class Group:
    """A system or work plan with what it holds, for a collapsible section."""

    index: int
    row: GanttRow
    children: list = field(default_factory=list)  #: Groups (a system's work plans) or ViewRows
    count: int = 0  #: programmes and sub-plans inside


@dataclass(frozen=True)
class GanttPage:
    """One page of the web chart at one scale."""

    data: GanttData
    scale: Scale
    page: int
    pages: int
    total: int  #: programme lines in the whole chart (all pages)
    first: int  #: 1-based number of the page's first programme line
    last: int
    groups: tuple[Group, ...]
    origin: date  #: the axis' left edge (1 January)
    finish: date  #: the axis' right edge (31 December)
    width: int  #: the axis' width in px
    major: tuple[Tick, ...]  #: years
    minor: tuple[Tick, ...]  #: quarters or months (empty on the year scale)
    as_of_x: float | None  #: the reporting-date line, None when off the axis
    row_count: int  #: bar rows on this page

    @property
    def legend_lights(self) -> tuple[Light, ...]:
        """The lights the legend explains, from good to bad."""
        return Light.GREEN, Light.YELLOW, Light.RED, Light.NONE

    @property
    def is_empty(self) -> bool:
        """No project matches the filters."""
        return not self.groups


def _axis_range(rows, as_of: date) -> tuple[date, date]:
    """From 1 January of the earliest date drawn to 31 December of the latest, within the limits around as_of."""
    dates = [as_of]
    for r in rows:
        dates += [d for d in (r.baseline_start_on, r.baseline_finish_on, r.current_start_on, r.current_finish_on) if d]
        dates += [m.planned_finish_on for m in r.milestones]
    first = max(min(dates).year, as_of.year - MAX_YEARS_BEFORE)
    last = min(max(dates).year, as_of.year + MAX_YEARS_AFTER)
    return date(first, 1, 1), date(last, 12, 31)


class _Axis:
    """Dates to px on one scale: each year is the same width; days share their year's width evenly."""

    def __init__(self, origin: date, finish: date, scale: Scale):
        self.origin, self.finish, self.scale = origin, finish, scale
        self.width = (finish.year - origin.year + 1) * scale.year_px

    def x(self, day: date) -> float:
        """The left edge of a day (clamped to the axis)."""
        if day < self.origin:
            return 0.0
        if day > self.finish:
            return float(self.width)
        year_days = (date(day.year + 1, 1, 1) - date(day.year, 1, 1)).days
        offset = (day - date(day.year, 1, 1)).days / year_days
        return round((day.year - self.origin.year + offset) * self.scale.year_px, 1)

    def span(self, start: date | None, finish: date | None) -> Span | None:
        """A bar from the start of its first day to the end of its last, at least 2 px wide."""
        if start is None or finish is None:
            return None
        left = self.x(start)
        right = self.x(date.fromordinal(min(finish.toordinal() + 1, date.max.toordinal())))
        if finish >= self.finish:
            right = float(self.width)
        return Span(left, round(max(right - left, 2.0), 1), start < self.origin, finish > self.finish)

    def ticks(self) -> tuple[tuple[Tick, ...], tuple[Tick, ...]]:
        """The years, and the quarters or months within them."""
        major, minor = [], []
        for year in range(self.origin.year, self.finish.year + 1):
            x = self.x(date(year, 1, 1))
            major.append(Tick(x, self.scale.year_px, tr("%(year)s年", year=to_roc_year(year)), True))
            if self.scale.name == "quarter":
                for q in range(4):
                    left, right = self.x(date(year, 3 * q + 1, 1)), self._next(year, 3 * q + 4)
                    minor.append(Tick(left, round(right - left, 1), f"Q{q + 1}", q == 0))
            elif self.scale.name == "month":
                for month in range(1, 13):
                    left, right = self.x(date(year, month, 1)), self._next(year, month + 1)
                    minor.append(Tick(left, round(right - left, 1), tr("%(month)s月", month=month), month == 1))
        return tuple(major), tuple(minor)

    def _next(self, year: int, month: int) -> float:
        """The left edge of a month that may be the next year's January."""
        return self.x(date(year + 1, 1, 1)) if month > 12 else self.x(date(year, month, 1))


def _done_by_project(session: so.Session, rows: list[GanttRow], as_of: date) -> dict[int, Decimal | None]:
    """Each bar row's done percent, in two queries: the page's milestones and the programmes' latest reports."""
    ids = [r.project_id for r in rows if r.project_id is not None]
    if not ids:
        return {}
    own: dict[int, list] = defaultdict(list)
    owner: dict[int, int] = {}
    query = (sa.select(Milestone.project_id, Milestone.planned_start_on, Milestone.planned_finish_on,
                       Milestone.status, Milestone.percent_complete).where(Milestone.project_id.in_(ids)))
    for m in session.execute(query):
        own[m.project_id].append(m)
    programmes = [r.project_id for r in rows if r.kind == "project"]
    for r in rows:  # a sub-plan's milestones count towards the programme listed above it
        if r.kind == "project":
            current = r.project_id
        elif r.kind == "sub_plan" and r.project_id is not None:
            owner[r.project_id] = current
    combined: dict[int, list] = defaultdict(list)
    for pid, items in own.items():
        combined[pid] += items
        if pid in owner:
            combined[owner[pid]] += items
    reports = latest_reports(session, programmes, as_of)
    out = {}
    for r in rows:
        if r.project_id is None:
            continue
        if r.kind == "project":
            report = reports.get(r.project_id)
            out[r.project_id] = done_percent(combined.get(r.project_id, []),
                                             report.actual_percent if report is not None else None)
        else:
            out[r.project_id] = done_percent(own.get(r.project_id, []))
    return out


def layout(data: GanttData, scale: Scale, done: dict[int, Decimal | None] | None = None) -> tuple:
    """Place the rows on a scale: (groups, origin, finish, axis width, major ticks, minor ticks, as-of x, bar rows)."""
    done = done or {}
    origin, finish = _axis_range(data.bar_rows, data.as_of)
    axis = _Axis(origin, finish, scale)
    groups: list[Group] = []
    system: Group | None = None
    plan: Group | None = None
    index = 0
    bars = 0
    for row in data.rows:
        index += 1
        if row.kind == "system":
            system, plan = Group(index, row), None
            groups.append(system)
            continue
        if row.kind == "work_plan":
            plan = Group(index, row)
            if system is None:  # rows always start with a system; a bare list is drawn under an unnamed one
                system = Group(0, GanttRow("system", "", Light.NONE))
                groups.append(system)
            system.children.append(plan)
            continue
        current = axis.span(row.current_start_on, row.current_finish_on)
        percent = done.get(row.project_id) if row.project_id is not None else None
        done_width = 0.0
        if current is not None and percent is not None:
            done_width = round(current.width * float(min(max(percent, Decimal(0)), HUNDRED)) / 100, 1)
        marks = tuple(Mark(axis.x(m.planned_finish_on), m.light, m.name, m.planned_finish_on)
                      for m in row.milestones if origin <= m.planned_finish_on <= finish)
        view = ViewRow(index, row, axis.span(row.baseline_start_on, row.baseline_finish_on), current,
                       percent, done_width, marks)
        bars += 1
        if plan is None:
            plan = Group(index, GanttRow("work_plan", "", Light.NONE))
            if system is None:
                system = Group(0, GanttRow("system", "", Light.NONE))
                groups.append(system)
            system.children.append(plan)
        plan.children.append(view)
        plan.count += 1
        system.count += 1
    major, minor = axis.ticks()
    as_of_x = axis.x(data.as_of) if origin <= data.as_of <= finish else None
    return tuple(groups), origin, finish, axis.width, major, minor, as_of_x, bars


def _programme_blocks(rows: tuple[GanttRow, ...]) -> list[tuple[GanttRow | None, GanttRow | None, list[GanttRow]]]:
    """The rows cut into programme blocks (a programme and its sub-plans), each with its system and work plan."""
    blocks: list[tuple[GanttRow | None, GanttRow | None, list[GanttRow]]] = []
    system = plan = None
    for row in rows:
        if row.kind == "system":
            system, plan = row, None
        elif row.kind == "work_plan":
            plan = row
        elif row.kind == "project":
            blocks.append((system, plan, [row]))
        elif blocks:
            blocks[-1][2].append(row)
    return blocks


def _with_headers(blocks) -> tuple[GanttRow, ...]:
    """Programme blocks as rows again, each system and work-plan header before its first block on the page."""
    rows: list[GanttRow] = []
    system = plan = None
    for block_system, block_plan, block in blocks:
        if block_system is not system:
            system, plan = block_system, None
            if system is not None:
                rows.append(system)
        if block_plan is not plan:
            plan = block_plan
            if plan is not None:
                rows.append(plan)
        rows += block
    return tuple(rows)


def gantt_page(session: so.Session, as_of: date, flt: gantt.GanttFilter, thresholds: SlipThresholds,
               scale: str = DEFAULT_SCALE, page: int = 1, page_size: int = PAGE_SIZE) -> GanttPage:
    """One page of the web Gantt chart: ``page_size`` programme lines from page ``page`` (the last page when
    beyond it), laid out on ``scale``; only the page's programmes are judged, unless late only is asked."""
    chosen = SCALES.get(scale, SCALES[DEFAULT_SCALE])
    if flt.late_only:  # the lights decide which programmes are listed: judge all, then cut the page
        data = gantt.gantt_data(session, as_of, flt, thresholds)
        blocks = _programme_blocks(data.rows)
        total = len(blocks)
        pages = max(1, -(-total // page_size))
        page = min(max(page, 1), pages)
        rows = _with_headers(blocks[(page - 1) * page_size:page * page_size])
        data = GanttData(data.as_of, rows, data.title, data.subtitle)
    else:
        count = gantt.listed_programmes(session, flt).with_only_columns(sa.func.count()).order_by(None)
        total = session.scalar(count) or 0
        pages = max(1, -(-total // page_size))
        page = min(max(page, 1), pages)
        data = gantt.gantt_data(session, as_of, flt, thresholds, limit=page_size, offset=(page - 1) * page_size)
    done = _done_by_project(session, list(data.bar_rows), as_of)
    groups, origin, finish, width, major, minor, as_of_x, bars = layout(data, chosen, done)
    shown = sum(1 for r in data.rows if r.kind == "project")
    first = (page - 1) * page_size + 1 if shown else 0
    return GanttPage(data, chosen, page, pages, total, first, first + shown - 1 if shown else 0, groups,
                     origin, finish, width, major, minor, as_of_x, bars)
