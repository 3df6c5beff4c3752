"""Earned value (實獲值) of programmes and of the portfolio on a date, from budgets, month-end figures and reports.

BAC is the year's capital 可支用預算數 (原 + 追加 + 以前年度保留數) of the programme and its sub-plans together:
the year's, not the life budget, since the plan gives no life budget for most programmes (the life-to-date
budgets of every year are in services.programmes). AC is that year's capital 執行數 (實支 + 應付未付 + 賸餘) at
the as-of month: each project's latest month-end figures at or before it. PV and EV apply the planned and
actual cumulative % of the programme's latest report of a month of the year on or before the as-of date
(services.schedule_facts.latest_reports: latest month, latest revision); its planned % is the report's, or the
plan's at that month when the report has none. The figures of a year are its imported ones, else its demo
ones, never mixed (services.execution.dataset).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.earned_value import EarnedValue, earned_value, rollup
from tracker.domain.execution import available_budget
from tracker.domain.roc import from_roc_year, roc_month_end
from tracker.domain.slippage import curve_at, plan_curve
from tracker.models import Budget, MonthEnd, ProgressReport, Project
from tracker.services import execution
from tracker.services.schedule_facts import entered_curves, latest_reports, milestone_facts

#: Earned value is judged on capital (資本門) money, as the execution rates are.
KIND = "capital"
_CENT = Decimal("0.01")


def status_month(year_roc: int, as_of: date) -> int | None:
    """The month of the year whose figures count on a date: its own month, December after the year, None before it."""
    year = from_roc_year(year_roc)
    if as_of.year < year:
        return None
    return as_of.month if as_of.year == year else 12


def _owner():
    return sa.func.coalesce(Project.parent_id, Project.id)


def _owned(query: sa.Select, programme_ids: list[int] | None) -> sa.Select:
    """Rows of these programmes and their sub-plans (all, with None)."""
    if programme_ids is None:
        return query
    return query.where(sa.or_(Project.id.in_(programme_ids), Project.parent_id.in_(programme_ids)))


def _budgets(session: so.Session, ids: list[int] | None, year_roc: int, synthetic: bool) -> dict[int, Decimal]:
    """Each programme's capital 可支用預算數 of the year, its sub-plans' included (one query)."""
    owner = _owner()
    query = _owned(sa.select(owner, sa.func.sum(Budget.original), sa.func.sum(Budget.supplementary),
                             sa.func.sum(Budget.carried_over))
                   .join(Project, Project.id == Budget.project_id)
                   .where(Budget.year_roc == year_roc, Budget.kind == KIND, Budget.is_synthetic.is_(synthetic)),
                   ids).group_by(owner)
    return {pid: available_budget(execution.money_sum(o), execution.money_sum(s), execution.money_sum(c)) for pid, o, s, c in session.execute(query)}


def _executed(session: so.Session, ids: list[int] | None, year_roc: int, month: int,
              synthetic: bool) -> dict[int, Decimal]:
    """Each programme's capital 執行數 at a month: every project's latest month-end figures by then, summed."""
    owner = _owner()
    latest = _owned(sa.select(MonthEnd.project_id, sa.func.max(MonthEnd.month).label("month"))
                    .join(Project, Project.id == MonthEnd.project_id)
                    .where(MonthEnd.year_roc == year_roc, MonthEnd.kind == KIND,
                           MonthEnd.is_synthetic.is_(synthetic), MonthEnd.month <= month),
                    ids).group_by(MonthEnd.project_id).subquery("latest")
    query = (sa.select(owner, sa.func.sum(MonthEnd.paid), sa.func.sum(MonthEnd.payables),
                       sa.func.sum(MonthEnd.savings))
             .join(latest, sa.and_(latest.c.project_id == MonthEnd.project_id, latest.c.month == MonthEnd.month))
             .join(Project, Project.id == MonthEnd.project_id)
             .where(MonthEnd.year_roc == year_roc, MonthEnd.kind == KIND, MonthEnd.is_synthetic.is_(synthetic))
             .group_by(owner))
    return {pid: execution.money_sum(paid) + execution.money_sum(payables) + execution.money_sum(savings)
            for pid, paid, payables, savings in session.execute(query)}


def _progress(session: so.Session, ids: list[int] | None, year_roc: int,
              as_of: date) -> dict[int, tuple[Decimal | None, Decimal]]:
    """Each programme's (planned %, actual %) from its latest report of a month of the year on or before as_of
    (a date within the year)."""
    reports = {pid: facts for pid, facts in latest_reports(session, ids, as_of).items()
               if facts.month_end.year == from_roc_year(year_roc)}  # an earlier year's % is not this year's
    if not reports:
        return {}
    # the planned % of the very revision latest_reports counted: its month's highest revision
    planned: dict[int, tuple[int, Decimal | None]] = {}
    for pid, month, revision, percent in session.execute(
            sa.select(ProgressReport.project_id, ProgressReport.month, ProgressReport.revision,
                      ProgressReport.planned_percent)
            .where(ProgressReport.project_id.in_(list(reports)), ProgressReport.year_roc == year_roc,
                   ProgressReport.month <= as_of.month)):
        if month == reports[pid].month_end.month and revision > planned.get(pid, (0, None))[0]:
            planned[pid] = (revision, percent)
    out = {pid: (planned.get(pid, (0, None))[1], facts.actual_percent) for pid, facts in reports.items()}
    missing = [pid for pid, (plan, _actual) in out.items() if plan is None]
    if missing:
        # as schedule_facts.planned_percent_at does for one programme, for all of these at once
        curves = entered_curves(session, missing)
        steps: dict[int, list] = defaultdict(list)
        for m in milestone_facts(session, missing):
            steps[m.programme_id].append(m)
        for pid in missing:
            curve = plan_curve(curves.get(pid), steps.get(pid, []))
            if curve:
                out[pid] = (curve_at(curve, reports[pid].month_end).quantize(_CENT), out[pid][1])
    return out


def programme_earned_value(session: so.Session, project_ids: list[int], year_roc: int,
                           as_of: date) -> dict[int, EarnedValue]:
    """Each programme's earned value for a ROC year on a date (BAC: the year's capital 可支用預算數), by id.

    Sub-plan ids are left out (progress is reported for the whole programme). A fixed number of queries,
    however many programmes.
    """
    return _programmes(session, list(project_ids), year_roc, as_of)


def _programmes(session: so.Session, ids: list[int] | None, year_roc: int, as_of: date) -> dict[int, EarnedValue]:
    """programme_earned_value for some programmes, or every one (None)."""
    if ids is not None and not ids:
        return {}
    query = sa.select(Project.id).where(Project.parent_id.is_(None))
    if ids is not None:
        query = query.where(Project.id.in_(ids))
    programmes = list(session.scalars(query.order_by(Project.id)))
    if not programmes:
        return {}
    synthetic = bool(execution.dataset(session, year_roc))
    month = status_month(year_roc, as_of)
    budgets = _budgets(session, ids, year_roc, synthetic)
    if month is None:  # a date before the year: its budget only
        return {pid: earned_value(budgets.get(pid), None, None, None) for pid in programmes}
    on = min(as_of, roc_month_end(year_roc, 12))
    executed = _executed(session, ids, year_roc, month, synthetic)
    progress = _progress(session, ids, year_roc, on)
    return {pid: earned_value(budgets.get(pid), *progress.get(pid, (None, None)), executed.get(pid))
            for pid in programmes}


def portfolio_earned_value(session: so.Session, year_roc: int, as_of: date,
                           project_ids: list[int] | None = None) -> EarnedValue:
    """The portfolio's earned value (every programme, or these): amounts summed, ratios from the sums.

    Programmes missing an amount (no budget, report or figures) are left out of every figure (domain rollup).
    """
    ids = None if project_ids is None else list(project_ids)
    return rollup(_programmes(session, ids, year_roc, as_of).values())
