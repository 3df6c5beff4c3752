"""Data for the execution charts, from the execution service: the S-curve and the rates by system and category."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.charts.data import MonthPoint, RateBar, RateBarsData, SCurveData
from tracker.charts.labels import N_, tr
from tracker.domain.execution import ExecutionThresholds
from tracker.models import Project
from tracker.services.execution import ExecutionQueryError, ExecutionRow, dataset, execution_report, latest_month

#: The budget kinds and the ministry as chart titles name them (translated where drawn).
_KINDS = {"capital": N_("資本門"), "current": N_("經常門")}
MINISTRY = N_("法務部")

def s_curve_data(session: so.Session, year_roc: int, project_id: int | None = None, kind: str = "capital",
                 thresholds: ExecutionThresholds = ExecutionThresholds(), through_month: int | None = None) -> SCurveData:
    """Cumulative 分配數 and 執行數 month by month (the ministry, or one programme with its sub-plans).

    Each month is the execution table's ministry total for that month (a project without figures that
    month counts with its latest earlier ones), so the curve always agrees with the table. With
    ``through_month`` the curve stops at that month (the monthly report of September plots no October).
    """
    ids = None
    kind_label = tr(_KINDS.get(kind, kind))
    title = tr("%(name)s %(year)s 年度%(kind)s預算執行 S 曲線", name=tr(MINISTRY), year=year_roc, kind=kind_label)
    if project_id is not None:
        found = session.execute(sa.select(Project.id, Project.name, Project.parent_id).where(
            sa.or_(Project.id == project_id, Project.parent_id == project_id))).all()
        name = next((n for pid, n, _ in found if pid == project_id), None)
        if name is None:
            raise ExecutionQueryError("project", f"沒有編號 {project_id} 的計畫")
        ids = [pid for pid, _, _ in found]  # a programme's figures may sit on its sub-plans
        title = tr("%(name)s：%(year)s 年度%(kind)s預算執行 S 曲線", name=name, year=year_roc, kind=kind_label)
    synthetic = bool(dataset(session, year_roc))
    points: list[MonthPoint] = []
    last: ExecutionRow | None = None
    last_month = latest_month(session, year_roc, kind, synthetic) or 0
    if through_month is not None:
        last_month = min(last_month, through_month)
    for month in range(1, last_month + 1):
        total = execution_report(session, year_roc, month, "ministry", kind, thresholds, project_ids=ids).total
        if total is not None:
            points.append(MonthPoint(month, total.figures.allocated, total.rates.executed))
            last = total
    if last is None:  # budgets without month-end figures still give the available budget
        last = execution_report(session, year_roc, None, "ministry", kind, thresholds, project_ids=ids).total
    return SCurveData(
        title=title, year_roc=year_roc, kind=kind,
        available=last.figures.available if last else Decimal(0),
        points=tuple(points), target_pct=thresholds.target_pct,
        forecast_executed=last.forecast.executed_at_year_end if last and points else None,
        forecast_rate=last.forecast.rate if last and points else None, is_synthetic=synthetic,
    )


def rate_bars_data(session: so.Session, year_roc: int, month: int | None = None, kind: str = "capital",
                   thresholds: ExecutionThresholds = ExecutionThresholds()) -> RateBarsData:
    """分配預算執行率 and 經費達成率 by system and by category, as the execution table computes them."""
    by_system = execution_report(session, year_roc, month, "system", kind, thresholds)
    by_category = execution_report(session, year_roc, by_system.month, "category", kind, thresholds)
    when = tr("（截至 %(month)s 月）", month=by_system.month) if by_system.month else ""
    return RateBarsData(
        title=tr("%(year)s 年度%(kind)s預算執行率", year=year_roc, kind=tr(_KINDS.get(kind, kind))) + when,
        year_roc=year_roc, month=by_system.month, kind=kind,
        by_system=tuple(RateBar(r.key, r.rates.allocation_rate, r.rates.achievement_rate) for r in by_system.rows),
        by_category=tuple(RateBar(r.key, r.rates.allocation_rate, r.rates.achievement_rate) for r in by_category.rows),
        target_pct=thresholds.target_pct, low_rate_pct=thresholds.low_rate_pct, is_synthetic=by_system.is_synthetic,
    )
