"""A programme's whole life: its entry in every year's plan, each year's budget and execution, its reports."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.execution import available_budget
from tracker.models import Budget, MonthEnd, PlanEntry, ProgressReport, Project
from tracker.services import execution, plan_years

ZERO = Decimal(0)


@dataclass(frozen=True)
class ProgrammeYear:
    """The programme as one year's plan lists it, with that year's steps and sub-plans."""

    year_roc: int
    entry: PlanEntry
    milestones: list
    sub_plans: list[ProgrammeYear]
    is_closed: bool
    project: Project


@dataclass(frozen=True)
class BudgetYear:
    """One year's budget of one kind (the programme's and its sub-plans' together), and the year's 執行數 so far."""

    year_roc: int
    kind: str
    original: Decimal
    supplementary: Decimal
    carried_over: Decimal
    executed: Decimal
    #: The latest month with figures (None: no month-end figures that year).
    figures_month: int | None

    @property
    def available(self) -> Decimal:
        """可支用預算數."""
        return available_budget(self.original, self.supplementary, self.carried_over)


@dataclass(frozen=True)
class LifeTotal:
    """Life-to-date: the budgets voted (原 + 追加, each year once; a carry-over is last year's money again, so it
    is not added twice) and everything executed."""

    budget: Decimal
    executed: Decimal


@dataclass(frozen=True)
class ProgrammeLife:
    """Every year of a programme."""

    project: Project
    years: list[ProgrammeYear]
    budgets: list[BudgetYear]
    totals: dict[str, LifeTotal]
    reports: list[ProgressReport]


def _budget_years(session: so.Session, ids: list[int]) -> list[BudgetYear]:
    """Each year's budgets and latest month-end figures, summed over the programme and its sub-plans, in SQL."""
    years = sorted(set(session.scalars(sa.select(Budget.year_roc).where(Budget.project_id.in_(ids))))
                   | set(session.scalars(sa.select(MonthEnd.year_roc).where(MonthEnd.project_id.in_(ids)))))
    out = []
    for year in years:  # one query pair per year of the programme's life (a handful), never per row
        synthetic = bool(execution.dataset(session, year))
        sums = {kind: (o, s, c) for kind, o, s, c in session.execute(
            sa.select(Budget.kind, sa.func.sum(Budget.original), sa.func.sum(Budget.supplementary),
                      sa.func.sum(Budget.carried_over))
            .where(Budget.project_id.in_(ids), Budget.year_roc == year, Budget.is_synthetic.is_(synthetic))
            .group_by(Budget.kind))}
        latest = (sa.select(MonthEnd.project_id, MonthEnd.kind, sa.func.max(MonthEnd.month).label("month"))
                  .where(MonthEnd.project_id.in_(ids), MonthEnd.year_roc == year, MonthEnd.is_synthetic.is_(synthetic))
                  .group_by(MonthEnd.project_id, MonthEnd.kind).subquery())
        # each column summed on its own keeps the Money type (千元 as Decimal on every database)
        executed = {kind: (execution.money_sum(paid) + execution.money_sum(payables) + execution.money_sum(savings),
                           month)
                    for kind, paid, payables, savings, month in session.execute(
            sa.select(MonthEnd.kind, sa.func.sum(MonthEnd.paid), sa.func.sum(MonthEnd.payables),
                      sa.func.sum(MonthEnd.savings), sa.func.max(MonthEnd.month))
            .join(latest, sa.and_(latest.c.project_id == MonthEnd.project_id, latest.c.kind == MonthEnd.kind,
                                  latest.c.month == MonthEnd.month))
            .where(MonthEnd.year_roc == year, MonthEnd.is_synthetic.is_(synthetic))
            .group_by(MonthEnd.kind))}
        for kind in execution.KINDS:
            if kind not in sums and kind not in executed:
                continue
            o, s, c = sums.get(kind, (0, 0, 0))
            amount, month = executed.get(kind, (execution.money_sum(None), None))
            out.append(BudgetYear(year, kind, execution.money_sum(o), execution.money_sum(s), execution.money_sum(c), amount, month))
    return out


def programme_life(session: so.Session, programme_id: int) -> ProgrammeLife | None:
    """A programme's every year, or None when there is no such programme (a sub-plan's id gives its programme's)."""
    project = session.get(Project, programme_id)
    if project is None:
        return None
    if project.parent_id is not None:
        project = project.parent
    children = list(project.sub_plans)
    ids = [project.id, *(c.id for c in children)]
    entries = list(session.scalars(sa.select(PlanEntry).where(PlanEntry.project_id.in_(ids))
                                   .order_by(PlanEntry.year_roc, PlanEntry.seq)
                                   .options(so.selectinload(PlanEntry.kpi_links),
                                            so.selectinload(PlanEntry.milestone_links))))
    closed = plan_years.closed_years(session)
    by_project = {p.id: p for p in [project, *children]}
    years = []
    for entry in (e for e in entries if e.project_id == project.id):
        subs = [ProgrammeYear(e.year_roc, e, plan_years.InYear(by_project[e.project_id], e, e.year_roc).milestones, [],
                              e.year_roc in closed, by_project[e.project_id])
                for e in entries if e.year_roc == entry.year_roc and e.project_id != project.id]
        years.append(ProgrammeYear(entry.year_roc, entry, plan_years.InYear(project, entry, entry.year_roc).milestones,
                                   subs, entry.year_roc in closed, project))
    budgets = _budget_years(session, ids)
    totals = {}
    for kind in execution.KINDS:
        rows = [b for b in budgets if b.kind == kind]
        if rows:
            totals[kind] = LifeTotal(sum((b.original + b.supplementary for b in rows), ZERO),
                                     sum((b.executed for b in rows), ZERO))
    latest = sa.select(ProgressReport.year_roc, ProgressReport.month, sa.func.max(ProgressReport.revision).label("r")) \
        .where(ProgressReport.project_id == project.id).group_by(ProgressReport.year_roc, ProgressReport.month).subquery()
    reports = list(session.scalars(
        sa.select(ProgressReport).join(latest, sa.and_(latest.c.year_roc == ProgressReport.year_roc,
                                                       latest.c.month == ProgressReport.month,
                                                       latest.c.r == ProgressReport.revision))
        .where(ProgressReport.project_id == project.id)
        .order_by(ProgressReport.year_roc, ProgressReport.month)))
    return ProgrammeLife(project, years, budgets, totals, reports)
