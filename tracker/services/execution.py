"""Execution rates at every level of the portfolio: sums in SQL, ratios from the domain."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Config

from tracker.domain.execution import (ExecutionThresholds, Figures, Forecast, Rates, available_budget, forecast,
                                      rates)
from tracker.models import CATEGORIES, Budget, MonthEnd, PlanEntry, Project, System, WorkPlan, project_systems
from tracker.domain.errors import FieldError
from tracker.domain.labels import KIND_LABELS  # noqa: F401  (pages read it as execution.KIND_LABELS)
from tracker.services.systems import find_system_id

BY_LEVELS = ("project", "work_plan", "system", "category", "ministry")
KINDS = ("capital", "current")
BY_LABELS = {"project": "計畫", "work_plan": "工作計畫", "system": "系統", "category": "計畫類別", "ministry": "全部會"}
MINISTRY = "法務部"
#: Months of recent history whose pace the forecast follows.
FORECAST_WINDOW_MONTHS = 3


class ExecutionQueryError(FieldError):
    """A query parameter that names nothing; ``field`` is the parameter."""


def thresholds_from(config: Config | dict) -> ExecutionThresholds:
    """The execution thresholds in force."""
    return ExecutionThresholds(
        target_pct=Decimal(config["EXECUTION_TARGET_PCT"]),
        low_rate_pct=Decimal(config["LOW_EXECUTION_RATE_PCT"]),
        low_unexecuted=Decimal(config["LOW_EXECUTION_UNEXECUTED_THOUSANDS"]),
    )


@dataclass(frozen=True)
class ExecutionRow:
    """One line of the execution table."""

    key: str
    key_id: int | None
    figures: Figures
    rates: Rates
    forecast: Forecast
    #: The month the row's figures are from: a project's latest month-end row at or before the month asked for
    #: (an earlier one when it has not reported that month); for a group, the earliest of its projects'.
    #: None when there are no figures yet (a budget only).
    figures_month: int | None = None
    #: The projects the row sums, those with figures for the month itself (已報), and those whose figures are
    #: carried from an earlier month (沿用); the rest have a budget only. Each project counts once in a total.
    projects: int = 0
    reported: int = 0
    carried: int = 0
    #: The plan code users see (計畫編號, 「48」), on rows by project; None for groups and totals.
    code: str | None = None

    @property
    def is_reported(self) -> bool:
        """Whether every project of the row has figures for the month asked for (else the page marks it 未報)."""
        return self.projects > 0 and self.reported == self.projects


@dataclass
class ExecutionReport:
    """The execution table for a year, month, kind and level."""

    year_roc: int
    month: int | None
    kind: str
    by: str
    is_synthetic: bool
    rows: list[ExecutionRow]
    total: ExecutionRow | None


def dataset(session: so.Session, year_roc: int) -> bool | None:
    """Which figures a year shows: imported (False), synthetic demo (True), or none (None).

    Imported figures always win, so demo data never mixes with them.
    """
    for synthetic in (False, True):
        found = session.scalar(sa.select(MonthEnd.id).where(MonthEnd.year_roc == year_roc,
                                                            MonthEnd.is_synthetic.is_(synthetic)).limit(1))
        found = found or session.scalar(sa.select(Budget.id).where(Budget.year_roc == year_roc,
                                                                   Budget.is_synthetic.is_(synthetic)).limit(1))
        if found:
            return synthetic
    return None


def latest_month(session: so.Session, year_roc: int, kind: str, synthetic: bool,
                 up_to_month: int | None = None) -> int | None:
    """The latest month of the year with month-end figures (no later than ``up_to_month``, when given)."""
    query = sa.select(sa.func.max(MonthEnd.month)).where(
        MonthEnd.year_roc == year_roc, MonthEnd.kind == kind, MonthEnd.is_synthetic.is_(synthetic))
    if up_to_month is not None:
        query = query.where(MonthEnd.month <= up_to_month)
    return session.scalar(query)


def available_budget_parts(budget=Budget.__table__) -> tuple:
    """The SQL columns whose sum is 可支用預算數 (domain.execution.available_budget): 原 + 追加 + 保留."""
    return budget.c.original, budget.c.supplementary, budget.c.carried_over


# Aliases built once: building them costs more than the rest of the statement.
_BUDGET = Budget.__table__.alias("budget")
_NOW, _THEN = MonthEnd.__table__.alias("now"), MonthEnd.__table__.alias("then")
_NOW_OTHER, _THEN_OTHER = MonthEnd.__table__.alias("now_other"), MonthEnd.__table__.alias("then_other")
_EARLIER_SYSTEM = project_systems.alias("earlier_system")


def _join_month_ends(query: sa.Select, dialect: str, year_roc: int, kind: str, synthetic: bool, month: int,
                     earlier_month: int):
    """Join each project's month-end rows as of a month and as of an earlier month (its latest at or before each).

    Returns the query, the two row aliases and a condition that the project has a row by the month.
    The rows are the same either way; only the access path differs, as each engine is fastest.
    """
    now, then = _NOW, _THEN
    if dialect == "postgresql":
        # Hash joins over the year's rows: the latest months of every project in one pass of the
        # (year, kind, project, month) index, then the rows at those months. (Given the lookup by
        # id below, PostgreSQL would hash the whole table instead.)
        latest = (
            sa.select(MonthEnd.project_id, sa.func.max(MonthEnd.month).label("month"),
                      sa.func.max(sa.case((MonthEnd.month <= earlier_month, MonthEnd.month))).label("earlier"))
            .where(MonthEnd.year_roc == year_roc, MonthEnd.kind == kind, MonthEnd.is_synthetic.is_(synthetic),
                   MonthEnd.month <= month)
            .group_by(MonthEnd.project_id)
            .subquery("latest")
        )

        def row_at(row, latest_month, upto: int):
            # ``month <= upto`` adds nothing but lets the scan skip the later months.
            return sa.and_(row.c.project_id == Project.id, row.c.year_roc == year_roc, row.c.kind == kind,
                           row.c.is_synthetic.is_(synthetic), row.c.month == latest_month, row.c.month <= upto)

        query = (query.outerjoin(latest, latest.c.project_id == Project.id)
                 .outerjoin(now, row_at(now, latest.c.month, month))
                 .outerjoin(then, row_at(then, latest.c.earlier, earlier_month)))
        return query, now, then, latest.c.project_id.is_not(None)

    # Elsewhere (SQLite) one step back along the unique (project, year, kind, month) index for each
    # project finds the row's id. The range on the key, which every project meets, walks projects
    # in id order so those steps read the index and the rows in order; otherwise SQLite scans a
    # narrower index of projects in work-plan order and the same lookups cost a third more.
    def latest_id(upto: int, other):
        return (sa.select(other.c.id)
                .where(other.c.project_id == Project.id, other.c.year_roc == year_roc, other.c.kind == kind,
                       other.c.is_synthetic.is_(synthetic), other.c.month <= upto)
                .order_by(other.c.month.desc()).limit(1).scalar_subquery())

    query = (query.outerjoin(now, now.c.id == latest_id(month, _NOW_OTHER))
             .outerjoin(then, then.c.id == latest_id(earlier_month, _THEN_OTHER))
             .where(Project.id > 0))
    return query, now, then, now.c.id.is_not(None)


def _group(by: str):
    """The grouping columns (id, label, order) of a level, and the joins it needs."""
    if by == "project":
        return Project.id, Project.name, sa.func.min(Project.id)
    if by == "work_plan":
        return WorkPlan.id, WorkPlan.name, sa.func.min(WorkPlan.sort_order)
    if by == "system":
        return System.id, System.name, sa.func.min(System.sort_order)
    if by == "category":
        order = sa.case({c: i for i, c in enumerate(CATEGORIES)}, value=Project.category)
        return sa.literal(None), Project.category, sa.func.min(order)
    return sa.literal(None), sa.literal(MINISTRY), sa.literal(0)


#: The by-system column that marks a project's first system, where it counts in the ministry total.
_COUNTED = "counted_in_total"


def execution_report(session: so.Session, year_roc: int, month: int | None = None, by: str = "project",
                     kind: str = "capital", thresholds: ExecutionThresholds = ExecutionThresholds(),
                     system: str | None = None, category: str | None = None,
                     project_ids: list[int] | None = None, up_to_month: int | None = None) -> ExecutionReport:
    """Sum budgets and month-end figures by a level in one SQL query, then compute every ratio.

    Without a ``month``: the latest month with figures, no later than ``up_to_month`` (the reporting
    date's month, when it falls in the year)."""
    if by not in BY_LEVELS:
        raise ExecutionQueryError("by", f"須為 {'、'.join(BY_LEVELS)} 之一")
    if kind not in KINDS:
        raise ExecutionQueryError("kind", "須為 capital（資本門）或 current（經常門）")
    synthetic = bool(dataset(session, year_roc))
    if month is None:
        month = latest_month(session, year_roc, kind, synthetic, up_to_month)
    if month is not None and not 1 <= month <= 12:
        raise ExecutionQueryError("as_of", "月份須為 1 至 12")
    earlier_month = max(0, (month or 0) - FORECAST_WINDOW_MONTHS)

    key_id, key_label, key_order = _group(by)
    budget = _BUDGET
    # The projects involved: those with a budget or a month-end row by the month, each once (a
    # project has one budget and one row as of each month, so these joins never repeat it).
    # By project, the plan code comes along in the same statement (one value per group: min picks it).
    # By project, the name and code are the year's plan's (PlanEntry; one per project and year, so the join never
    # repeats a project), the project's latest where the year's plan does not list it.
    entry = so.aliased(PlanEntry)
    if by == "project":
        key_label = sa.func.coalesce(entry.name, Project.name)
    code = sa.func.min(sa.func.coalesce(entry.code, Project.code)) if by == "project" else sa.null()
    query = sa.select(key_id.label("key_id"), key_label.label("key"), key_order.label("ord"),
                      code.label("code")).select_from(
        Project).outerjoin(budget, sa.and_(budget.c.project_id == Project.id, budget.c.year_roc == year_roc,
                                           budget.c.kind == kind, budget.c.is_synthetic.is_(synthetic)))
    if by == "project":
        query = query.outerjoin(entry, sa.and_(entry.project_id == Project.id, entry.year_roc == year_roc))
    query, now, then, has_row = _join_month_ends(query, session.get_bind().dialect.name, year_roc, kind, synthetic,
                                                 month or 0, earlier_month)
    zero = sa.literal(0)
    query = query.add_columns(*(
        sa.func.coalesce(sa.func.sum(column), zero)
        for column in (*available_budget_parts(budget),
                       now.c.allocated, now.c.paid, now.c.payables, now.c.savings,
                       then.c.allocated, then.c.paid, then.c.payables, then.c.savings)
    )).add_columns(
        # The month each row's figures are from, and how many of its projects reported the month itself.
        sa.func.min(now.c.month), sa.func.count(Project.id),
        sa.func.coalesce(sa.func.sum(sa.case((now.c.month == (month or 0), 1), else_=0)), zero),
        sa.func.coalesce(sa.func.sum(sa.case((now.c.month < (month or 0), 1), else_=0)), zero),
    ).where(sa.or_(budget.c.id.is_not(None), has_row))
    if by == "work_plan":
        query = query.join(WorkPlan, WorkPlan.id == Project.work_plan_id)
    if by == "system":
        # A joint project counts in each of its systems but once in the ministry total: the groups
        # are split by whether this is the project's first system (or it has none), and the total
        # is the sum of the first-system groups, all from this one pass.
        counted = ~sa.exists().where(_EARLIER_SYSTEM.c.project_id == Project.id,
                                     _EARLIER_SYSTEM.c.system_id < project_systems.c.system_id)
        query = query.add_columns(counted.label(_COUNTED)).outerjoin(
            project_systems, project_systems.c.project_id == Project.id).outerjoin(
            System, System.id == project_systems.c.system_id)
    if system:
        system_id = find_system_id(session, system)
        if system_id is None:
            raise ExecutionQueryError("system", f"沒有名為「{system}」的系統")
        query = query.where(Project.id.in_(
            sa.select(project_systems.c.project_id).where(project_systems.c.system_id == system_id)))
    if category:
        if category not in CATEGORIES:
            raise ExecutionQueryError("category", f"計畫類別須為 {'、'.join(CATEGORIES)} 之一")
        query = query.where(Project.category == category)
    if project_ids is not None:
        query = query.where(Project.id.in_(project_ids))
    if by == "category":
        query = query.group_by(key_label)
    elif by == "system":
        query = query.group_by(key_id, key_label, sa.text(_COUNTED))
    elif by != "ministry":
        query = query.group_by(key_id, key_label)

    sums: dict = {}  # (id, label) -> figures now and earlier, and coverage, in the order of the level
    codes: dict = {}  # (id, label) -> the plan code (by project)
    grand, grand_earlier, grand_coverage = Figures(), Figures(), _Coverage()
    for result in session.execute(query.order_by(sa.text("ord"), sa.text("key_id"))).all():
        (kid, label, _order, code, original, supplementary, carried, allocated, paid, payables, savings,
         allocated_then, paid_then, payables_then, savings_then, figures_month, n_projects, n_reported, n_carried,
         *counted_in_total) = result
        coverage = _Coverage(figures_month, int(n_projects or 0), int(n_reported or 0), int(n_carried or 0))
        figures = Figures(available=available_budget(_d(original), _d(supplementary), _d(carried)), allocated=_d(allocated),
                          paid=_d(paid), payables=_d(payables), savings=_d(savings))
        earlier = Figures(allocated=_d(allocated_then), paid=_d(paid_then), payables=_d(payables_then),
                          savings=_d(savings_then))
        if by == "ministry" and figures == Figures():
            continue  # no figures at all: no row rather than a row of zeros
        if by != "system" or counted_in_total[0]:
            grand, grand_earlier = grand + figures, grand_earlier + earlier
            grand_coverage = grand_coverage + coverage
        if by == "system" and kid is None:
            continue  # projects in no system count in the total only
        if (kid, label) in sums:  # a system's other part: its joint projects that count elsewhere
            figures, earlier = sums[kid, label][0] + figures, sums[kid, label][1] + earlier
            coverage = sums[kid, label][2] + coverage
        sums[kid, label] = figures, earlier, coverage
        codes[kid, label] = code
    rows = [_row(label, kid, figures, earlier, month, earlier_month, thresholds, coverage, codes.get((kid, label)))
            for (kid, label), (figures, earlier, coverage) in sums.items()]
    # By system the total is the ministry's, which has a row only when there are figures at all.
    # The total sums what each row shows, carried figures included; its coverage says how many are carried.
    has_total = grand != Figures() if by == "system" else bool(rows)
    total = (_row(MINISTRY, None, grand, grand_earlier, month, earlier_month, thresholds, grand_coverage)
             if has_total else None)
    return ExecutionReport(year_roc, month, kind, by, synthetic, rows, total)


def _d(value) -> Decimal:
    """A sum from SQL: the Money type turns it into Decimal thousands."""
    return value if isinstance(value, Decimal) else Decimal(0)


def money_sum(value) -> Decimal:
    """A sum of one Money column from SQL (the type makes it Decimal 千元), 0 when there were no rows. Sum each
    column on its own: an expression such as paid + payables loses the type and comes back in whole NT$."""
    return Decimal("0.000") if value is None else value


@dataclass(frozen=True)
class _Coverage:
    """Which month a group's figures are from and how many of its projects have figures for the month."""

    figures_month: int | None = None
    projects: int = 0
    reported: int = 0
    carried: int = 0

    def __add__(self, other: _Coverage) -> _Coverage:
        months = [m for m in (self.figures_month, other.figures_month) if m is not None]
        return _Coverage(min(months) if months else None, self.projects + other.projects,
                         self.reported + other.reported, self.carried + other.carried)


def _row(label, kid, figures: Figures, earlier: Figures | None, month, earlier_month, t,
         coverage: _Coverage = _Coverage(), code: str | None = None) -> ExecutionRow:
    fc = forecast(figures, earlier, month or 0, earlier_month, t.target_pct)
    return ExecutionRow(key=str(label), key_id=kid, figures=figures, rates=rates(figures), forecast=fc,
                        figures_month=coverage.figures_month, projects=coverage.projects,
                        reported=coverage.reported, carried=coverage.carried, code=code)


@dataclass(frozen=True)
class MonthLine:
    """One month of a project's history."""

    month: int
    figures: Figures
    rates: Rates


@dataclass
class ProjectHistory:
    """A project's budget and month-by-month figures for one year and kind."""

    kind: str
    available: Decimal | None
    lines: list[MonthLine]


def project_history(session: so.Session, project_id: int, year_roc: int) -> tuple[bool, list[ProjectHistory]]:
    """The project's month-end figures of a year with the ratios of each month (the year's dataset)."""
    synthetic = bool(dataset(session, year_roc))
    budgets = {b.kind: b for b in session.scalars(sa.select(Budget).where(
        Budget.project_id == project_id, Budget.year_roc == year_roc, Budget.is_synthetic.is_(synthetic)))}
    months = session.scalars(sa.select(MonthEnd).where(
        MonthEnd.project_id == project_id, MonthEnd.year_roc == year_roc, MonthEnd.is_synthetic.is_(synthetic))
        .order_by(MonthEnd.kind, MonthEnd.month)).all()
    out = []
    for kind in KINDS:
        budget = budgets.get(kind)
        available = budget.available if budget else None
        lines = []
        for m in (m for m in months if m.kind == kind):
            figures = Figures(available or Decimal(0), m.allocated, m.paid, m.payables, m.savings)
            lines.append(MonthLine(m.month, figures, rates(figures)))
        if budget or lines:
            out.append(ProjectHistory(kind, available, lines))
    return synthetic, out


#: The columns of the execution table, in the official layout, with their Chinese headings.
COLUMNS = (
    ("key", "項目"),
    ("available_budget", "可支用預算數"),
    ("allocated", "累計分配數"),
    ("executed", "累計執行數"),
    ("allocation_rate", "分配預算執行率(%)"),
    ("achievement_rate", "經費達成率(%)"),
    ("allocated_unexecuted", "已分配未執行數"),
    ("forecast_rate", "預估年底執行率(%)"),
    ("needed_per_month", "每月尚需執行數"),
    ("paid", "累計實支數"),
    ("payables", "應付未付數"),
    ("savings", "累計賸餘數"),
    ("spend_rate", "支用率(%)"),
)
RATE_COLUMNS = {"allocation_rate", "achievement_rate", "forecast_rate", "spend_rate"}


def row_values(row: ExecutionRow) -> dict:
    """A row as named values: amounts in 千元 as Decimal, rates rounded to two decimals (None when undefined)."""
    from tracker.domain.execution import round_rate

    return {
        "key": row.key,
        "available_budget": row.figures.available,
        "allocated": row.figures.allocated,
        "paid": row.figures.paid,
        "payables": row.figures.payables,
        "savings": row.figures.savings,
        "executed": row.rates.executed,
        "allocation_rate": round_rate(row.rates.allocation_rate),
        "achievement_rate": round_rate(row.rates.achievement_rate),
        "spend_rate": round_rate(row.rates.spend_rate),
        "allocated_unexecuted": row.rates.allocated_unexecuted,
        "forecast_rate": round_rate(row.forecast.rate),
        "needed_per_month": row.forecast.needed_per_month,
    }


def sort_rows(rows: list[ExecutionRow], column: str | None, descending: bool) -> list[ExecutionRow]:
    """Rows sorted by a column; rows without a value (—) go last either way."""
    if not column or column not in dict(COLUMNS):
        return rows
    present = [r for r in rows if row_values(r)[column] is not None]
    absent = [r for r in rows if row_values(r)[column] is None]
    return sorted(present, key=lambda r: row_values(r)[column], reverse=descending) + absent
