"""The dashboard (儀表板), leadership's landing page: the year's capital execution against its target (KPI 九-1),
the programmes' lights now and over the last six month-ends, the red programmes with their latest 落後原因, the
month's completeness (填報情形), execution by system and the earned-value summary.

Every figure comes from the service that owns its rule (execution, lights, completeness, earned value); this
module only gathers them, in a fixed number of queries whatever the number of programmes.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.execution import ExecutionThresholds, is_below_target
from tracker.domain.roc import RocMonth, month_end, previous_month, to_roc_year
from tracker.domain.slippage import Light
from tracker.models import PlanEntry, Project
from tracker.services import execution, lights
from tracker.services.completeness import Completeness, month_completeness
from tracker.services.execution import ExecutionRow
# the monthly report's choice of each programme's latest report (latest month, then revision): one rule for both
from tracker.services.report import latest_reports_by_month
from tracker.services.schedule_facts import programme_judgements

#: How many month-ends the lights' trend shows (the last six).
TREND_MONTHS = 6
#: The module that computes the portfolio's earned value (實獲值); the dashboard shows 「—」 until it is installed.
EARNED_VALUE_MODULE = "tracker.services.earned_value"


@dataclass(frozen=True)
class LightCounts:
    """How many of the year's programmes are red, yellow and green (and not judged yet) on a day."""

    on: date
    red: int = 0
    yellow: int = 0
    green: int = 0
    none: int = 0  #: nothing to judge yet (「—」)

    @property
    def total(self) -> int:
        """Every programme counted."""
        return self.red + self.yellow + self.green + self.none


@dataclass(frozen=True)
class RedProgramme:
    """A red programme (紅燈) with what its latest progress report says (落後原因, 因應對策)."""

    id: int
    name: str
    code: str | None
    seq: int
    #: The month of its latest report at or before the as-of date (None when it has never reported).
    report_year_roc: int | None = None
    report_month: int | None = None
    report_state: str | None = None
    delay_reason: str | None = None
    remedy: str | None = None


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows for a year, judged as of a date."""

    year_roc: int
    as_of: date
    #: The target of KPI 九-1 (資本門預算執行率, EXECUTION_TARGET_PCT, 90%).
    target_pct: Decimal
    #: The month the capital figures are as of (None: no figures yet), and whether they are the demo's.
    execution_month: int | None
    is_synthetic: bool
    #: The ministry's capital total (全部會): 經費達成率 is KPI 九-1 year to date; its forecast carries the
    #: year-end forecast and 每月尚需執行數.
    ministry: ExecutionRow | None
    #: Capital execution by system, in the systems' order.
    systems: tuple[ExecutionRow, ...]
    #: The year's programmes by light on the as-of date, and at each of the last six month-ends (oldest first).
    lights: LightCounts
    trend: tuple[LightCounts, ...]
    #: The red programmes, in plan order, with their latest reports.
    red: tuple[RedProgramme, ...]
    #: The month being reported (the one before the as-of date) and who has reported it.
    completeness: Completeness | None
    #: The portfolio's earned value (services.earned_value.EarnedValue), None until it can be computed.
    earned_value: object | None = None

    @property
    def kpi_value(self) -> Decimal | None:
        """KPI 九-1 year to date: 執行數 ÷ 資本門可支用預算數 × 100 (None without a budget)."""
        return self.ministry.rates.achievement_rate if self.ministry else None

    @property
    def forecast_rate(self) -> Decimal | None:
        """The forecast year-end capital execution rate (預估年底執行率)."""
        return self.ministry.forecast.rate if self.ministry else None

    @property
    def needed_per_month(self) -> Decimal | None:
        """每月尚需執行數 (千元): what each remaining month must execute to reach the target."""
        return self.ministry.forecast.needed_per_month if self.ministry else None

    @property
    def is_below_target(self) -> bool:
        """Whether the forecast falls short of the target (the rule of domain.execution.is_below_target)."""
        return bool(self.ministry) and is_below_target(self.ministry.forecast,
                                                       ExecutionThresholds(target_pct=self.target_pct))


def trend_days(as_of: date, months: int = TREND_MONTHS) -> tuple[date, ...]:
    """The last ``months`` month-ends on or before a date, oldest first."""
    last = month_end(as_of.year, as_of.month)
    if last > as_of:
        last = as_of.replace(day=1) - timedelta(days=1)
    days = [last]
    while len(days) < months:
        days.append(days[-1].replace(day=1) - timedelta(days=1))
    return tuple(reversed(days))


def _count(on: date, judged: dict[int, Light], programme_ids: list[int]) -> LightCounts:
    """The year's programmes counted by light."""
    found = [judged.get(pid, Light.NONE) for pid in programme_ids]
    return LightCounts(on, red=found.count(Light.RED), yellow=found.count(Light.YELLOW),
                       green=found.count(Light.GREEN), none=found.count(Light.NONE))


def _programmes_of_year(session: so.Session, year_roc: int) -> list[tuple[int, str, str | None, int]]:
    """Year Y's programmes (top level) as its plan lists them: (id, name, code, 序號), in plan order."""
    return [tuple(row) for row in session.execute(
        sa.select(PlanEntry.project_id, PlanEntry.name, PlanEntry.code, PlanEntry.seq)
        .join(Project, Project.id == PlanEntry.project_id)
        .where(PlanEntry.year_roc == year_roc, Project.parent_id.is_(None))
        .order_by(PlanEntry.seq, PlanEntry.project_id))]


def _up_to_month(year_roc: int, as_of: date) -> int | None:
    """The latest month whose figures the as-of date can see: its month in its year; all months of an earlier
    year (None); none of a later year (0)."""
    as_of_year = to_roc_year(as_of.year)
    if as_of_year == year_roc:
        return as_of.month
    return None if as_of_year > year_roc else 0


def _earned_value(session: so.Session, year_roc: int, as_of: date):
    """The portfolio's earned value, when the module that computes it is installed (else None)."""
    if importlib.util.find_spec(EARNED_VALUE_MODULE) is None:
        return None
    module = importlib.import_module(EARNED_VALUE_MODULE)
    return module.portfolio_earned_value(session, year_roc, as_of)


def build_dashboard(session: so.Session, year_roc: int, as_of: date, config) -> Dashboard:
    """The dashboard of year Y as of a date: execution (one query), lights now (the portfolio's cached
    judgement) and at six month-ends (a fixed handful of queries each), red programmes' latest reports
    (one query), the reported month's completeness and the earned value."""
    exec_t = execution.thresholds_from(config)
    slip_t = lights.slip_thresholds_from(config)
    # by system: its total is the ministry's (全部會), the same as the report by ministry
    report = execution.execution_report(session, year_roc, None, "system", "capital", exec_t,
                                        up_to_month=_up_to_month(year_roc, as_of))
    programmes = _programmes_of_year(session, year_roc)
    ids = [pid for pid, *_ in programmes]
    now = lights.portfolio_lights(session, as_of, slip_t).programmes
    trend = tuple(_count(day, {pid: j.light for pid, j in programme_judgements(session, None, day, slip_t).items()},
                         ids) for day in trend_days(as_of))
    red_rows = [row for row in programmes if now.get(row[0]) is Light.RED]
    reports = latest_reports_by_month(session, [pid for pid, *_ in red_rows], RocMonth(as_of.year, as_of.month))
    red = []
    for pid, name, code, seq in red_rows:
        r = reports.get(pid)
        red.append(RedProgramme(pid, name, code, seq, *((r.year_roc, r.month, r.state, r.delay_reason, r.remedy)
                                                        if r is not None else ())))
    reported_year, reported_month = previous_month(as_of)
    return Dashboard(
        year_roc=year_roc, as_of=as_of, target_pct=exec_t.target_pct, execution_month=report.month,
        is_synthetic=report.is_synthetic, ministry=report.total, systems=tuple(report.rows),
        lights=_count(as_of, now, ids), trend=trend, red=tuple(red),
        completeness=month_completeness(session, reported_year, reported_month),
        earned_value=_earned_value(session, year_roc, as_of),
    )
