"""Schedule slip rules (DOMAIN.md): overdue, lagging, forecast slip, not reported, back-loaded; lights."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

from tracker.domain.labels import CLOSED_STATUSES as CLOSED

HUNDRED = Decimal(100)


class Light(enum.IntEnum):
    """Traffic lights, ordered so that the worst is the largest."""

    NONE = 0  #: nothing to judge yet
    GREEN = 1
    YELLOW = 2
    RED = 3

    @property
    def label(self) -> str:
        """The light's name in Chinese."""
        return {Light.NONE: "—", Light.GREEN: "綠燈", Light.YELLOW: "黃燈", Light.RED: "紅燈"}[self]

    @property
    def css(self) -> str:
        """The light's CSS class."""
        return self.name.lower()


@dataclass(frozen=True)
class SlipThresholds:
    """Policy thresholds (configuration; defaults from DOMAIN.md / 政府採購法施行細則 §111)."""

    lag_points_very_large: Decimal = Decimal(10)  #: 巨額: 10 percentage points or more
    lag_points: Decimal = Decimal(20)  #: others: 20 points or more …
    lag_days: int = 10  #: … and 10 days or more
    report_day: int = 10  #: last month's progress is due by the 10th
    back_loaded_tail: Decimal = Decimal("0.25")  #: the last quarter of the plan …
    back_loaded_share: Decimal = Decimal("0.5")  #: … holding half or more of the planned progress


@dataclass(frozen=True)
class MilestoneFacts:
    """What the rules need to know of a milestone."""

    planned_start: date
    planned_finish: date
    status: str
    percent_complete: Decimal
    actual_start: date | None = None
    actual_finish: date | None = None


@dataclass(frozen=True)
class Verdict:
    """The rules' judgement of one milestone (or one project) on a date."""

    light: Light
    kinds: tuple[str, ...] = ()
    planned_percent: Decimal | None = None
    lag_points: Decimal | None = None
    lag_days: int | None = None
    forecast_finish: date | None = None


def planned_percent(start: date, finish: date, as_of: date) -> Decimal:
    """Planned progress of a span on a date, straight-line between its start and the end of its finish day."""
    if as_of < start:
        return Decimal(0)
    if as_of >= finish:
        return HUNDRED
    total = (finish - start).days + 1
    return (Decimal((as_of - start).days + 1) * HUNDRED / Decimal(total))


def _date_reaching(start: date, finish: date, percent: Decimal) -> date:
    """The day on which the straight-line plan reaches a percentage."""
    total = (finish - start).days + 1
    days = int((percent * Decimal(total) / HUNDRED).to_integral_value(rounding=ROUND_HALF_UP))
    return start + timedelta(days=max(days - 1, 0))


def lag_threshold_met(points: Decimal, days: int, is_very_large: bool, t: SlipThresholds) -> bool:
    """LAGGING: ≥ 10 points on very large works; otherwise ≥ 20 points and ≥ 10 days."""
    if is_very_large:
        return points >= t.lag_points_very_large
    return points >= t.lag_points and days >= t.lag_days


def lag_warning(points: Decimal, is_very_large: bool, t: SlipThresholds) -> bool:
    """Yellow: behind by half the points that make a lag."""
    limit = t.lag_points_very_large if is_very_large else t.lag_points
    return points >= limit / 2


#: The verdicts that need no arithmetic, made once (a scan judges tens of thousands of milestones).
_DONE, _CANCELLED = Verdict(Light.GREEN), Verdict(Light.NONE)
_NOT_YET = Verdict(Light.NONE, planned_percent=Decimal(0))


def judge_milestone(m: MilestoneFacts, as_of: date, is_very_large: bool, t: SlipThresholds) -> Verdict:
    """OVERDUE, LAGGING and FORECAST_SLIP for one milestone, and its light."""
    if m.status in CLOSED:
        return _DONE if m.status == "done" else _CANCELLED
    if as_of < m.planned_start and m.status == "not_started":
        return _NOT_YET
    kinds: list[str] = []
    planned = planned_percent(m.planned_start, m.planned_finish, as_of)
    actual = Decimal(m.percent_complete or 0)
    points = planned - actual
    reached = _date_reaching(m.planned_start, m.planned_finish, actual) if actual > 0 else m.planned_start - timedelta(days=1)
    days = max(0, (min(as_of, m.planned_finish) - reached).days)
    if as_of > m.planned_finish:
        days = max(days, (as_of - m.planned_finish).days)
        kinds.append("OVERDUE")
    if points > 0 and lag_threshold_met(points, days, is_very_large, t):
        kinds.append("LAGGING")
    forecast_finish = None
    if m.actual_start is not None and actual > 0 and m.actual_start <= as_of:
        elapsed = (as_of - m.actual_start).days + 1
        forecast_finish = m.actual_start + timedelta(days=int((Decimal(elapsed) * HUNDRED / actual).to_integral_value(ROUND_HALF_UP)) - 1)
        if forecast_finish > m.planned_finish and "OVERDUE" not in kinds:
            kinds.append("FORECAST_SLIP")
    if "OVERDUE" in kinds or "LAGGING" in kinds:
        light = Light.RED
    elif "FORECAST_SLIP" in kinds or (points > 0 and lag_warning(points, is_very_large, t)):
        light = Light.YELLOW
    else:
        light = Light.GREEN
    return Verdict(light, tuple(kinds), planned, max(points, Decimal(0)), days, forecast_finish)


def judge_project_curve(planned: Decimal, actual: Decimal, days_behind: int, is_very_large: bool,
                        t: SlipThresholds) -> Verdict:
    """LAGGING of a whole project against its entered planned curve."""
    points = planned - actual
    if points > 0 and lag_threshold_met(points, days_behind, is_very_large, t):
        return Verdict(Light.RED, ("LAGGING",), planned, points, days_behind)
    if points > 0 and lag_warning(points, is_very_large, t):
        return Verdict(Light.YELLOW, (), planned, points, days_behind)
    return Verdict(Light.GREEN, (), planned, max(points, Decimal(0)), days_behind)


@dataclass(frozen=True)
class ReportFacts:
    """What the rules read of a programme's latest report: the end of its month and its cumulative actual %."""

    month_end: date
    actual_percent: Decimal


@dataclass(frozen=True)
class ProgrammeJudgement:
    """One programme judged on a date: its light and what was found (one judgement for lights and alerts)."""

    light: Light
    #: (milestone row, its verdict) for every milestone of the programme and its sub-plans, in the order given.
    milestones: tuple = ()
    #: The programme's own judgement against its planned curve with its latest report (None: no report to judge).
    curve_verdict: Verdict | None = None
    #: The planned curve used: the entered one, else the one its milestones' planned spans make.
    curve: tuple[tuple[date, Decimal], ...] = ()
    is_back_loaded: bool = False
    report: ReportFacts | None = None


def judge_programme(milestones: Sequence, entered_curve: Curve | None, report: ReportFacts | None, as_of: date,
                    is_very_large: bool, t: SlipThresholds) -> ProgrammeJudgement:
    """Judge a programme: each milestone (OVERDUE, LAGGING, FORECAST_SLIP), its latest report against the
    plan's curve at the report's month end, or the as-of date if earlier (LAGGING), and whether the plan is
    back-loaded.

    ``milestones`` are rows answering to MilestoneFacts' names with ``is_very_large`` (its own project's
    flag). The planned curve is the entered one, else the curve the milestones' planned spans make. The
    light is the worst of all, so a programme with a critical finding is never green.
    """
    judged = tuple((m, judge_milestone(m, as_of, m.is_very_large, t)) for m in milestones)
    curve = plan_curve(entered_curve, milestones)
    curve_verdict = None
    at = min(report.month_end, as_of) if report is not None else None
    if report is not None and curve and curve[0][0] <= at:
        planned = curve_at(curve, at)
        days = days_behind_on_curve(curve, report.actual_percent, at)
        curve_verdict = judge_project_curve(planned, report.actual_percent, days, is_very_large, t)
    is_open = any(m.status not in CLOSED for m in milestones)
    back_loaded = bool(is_open and curve and as_of < curve[-1][0] and is_back_loaded(curve, t))
    light = worst([*(v.light for _, v in judged), *([curve_verdict.light] if curve_verdict else [])])
    return ProgrammeJudgement(light, judged, curve_verdict, curve, back_loaded, report)


def worst(lights: Iterable[Light]) -> Light:
    """A project's (or group's) light: the worst of its parts."""
    return max(lights, default=Light.NONE)


# --- planned curves -----------------------------------------------------------------

Curve = Sequence[tuple[date, Decimal]]  #: (date, cumulative planned %), ascending


def curve_from_milestones(spans: Sequence[tuple[date, date]]) -> list[tuple[date, Decimal]]:
    """A project's planned curve from its milestones' planned spans, each weighing the same."""
    if not spans:
        return []
    points = sorted({s for s, _ in spans} | {f for _, f in spans})
    start = min(s for s, _ in spans) - timedelta(days=1)
    curve = [(start, Decimal(0))]
    count = len(spans)
    # planned_percent inlined (a scan builds thousands of curves); the spans are summed in the same order,
    # so every value is the same to the last digit
    lengths = [Decimal((f - s).days + 1) for s, f in spans]
    for day in points:
        value = Decimal(0)
        for (s, f), length in zip(spans, lengths):
            if day >= f:
                value += HUNDRED
            elif day >= s:
                value += Decimal((day - s).days + 1) * HUNDRED / length
        curve.append((day, value / count))
    return curve


def curve_at(curve: Curve, as_of: date) -> Decimal:
    """The planned percentage of a curve on a date, straight-line between its points."""
    if not curve or as_of <= curve[0][0]:
        return Decimal(0) if not curve else curve[0][1]
    for (d0, v0), (d1, v1) in zip(curve, curve[1:]):
        if as_of <= d1:
            span = (d1 - d0).days
            return v0 + (v1 - v0) * Decimal((as_of - d0).days) / Decimal(span) if span else v1
    return curve[-1][1]


def days_behind_on_curve(curve: Curve, actual: Decimal, as_of: date) -> int:
    """How many days ago the plan reached the actual percentage (0 when not behind)."""
    if not curve or curve_at(curve, as_of) <= actual:
        return 0
    for (d0, v0), (d1, v1) in zip(curve, curve[1:]):
        if v1 >= actual:
            if v1 == v0:
                reached = d1
            else:
                reached = d0 + timedelta(days=int(((actual - v0) / (v1 - v0) * (d1 - d0).days).to_integral_value()))
            return max(0, (as_of - reached).days)
    return 0


def plan_curve(entered_curve: Curve | None, milestones: Sequence) -> tuple[tuple[date, Decimal], ...]:
    """A programme's planned curve: the one entered, else the one its milestones' planned spans make."""
    if entered_curve:
        return tuple(entered_curve)
    return tuple(curve_from_milestones([(m.planned_start, m.planned_finish) for m in milestones]))


def is_back_loaded(curve: Curve, t: SlipThresholds) -> bool:
    """國發會 early warning: half or more of the planned progress falls in the last quarter of the plan."""
    if len(curve) < 2:
        return False
    start, finish = curve[0][0], curve[-1][0]
    total_days = (finish - start).days
    if total_days <= 0 or curve[-1][1] <= 0:
        return False
    tail_start = finish - timedelta(days=int(Decimal(total_days) * t.back_loaded_tail))
    tail_share = (curve[-1][1] - curve_at(curve, tail_start)) / curve[-1][1]
    return tail_share >= t.back_loaded_share


# --- reporting calendar ------------------------------------------------------------

def report_due(as_of: date, report_day: int) -> tuple[int, int] | None:
    """The (Gregorian year, month) whose report is overdue on a date: last month's after the due day."""
    if as_of.day <= report_day:
        last = as_of.replace(day=1) - timedelta(days=1)
        earlier = last.replace(day=1) - timedelta(days=1)
        return earlier.year, earlier.month
    last = as_of.replace(day=1) - timedelta(days=1)
    return last.year, last.month
