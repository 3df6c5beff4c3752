"""The year close (年度結束): each capital budget's year-end unexecuted amount proposed as next year's
以前年度保留數, the budget officer's amounts confirmed all or nothing, and the year made read-only.

After the close, plan_years.ensure_open refuses every write of the year's budgets, month-end figures and
reports (ledger import and undo, progress reports, review), the execution scan judges nothing for it, and
its open execution alerts are resolved with the reason 年度結束.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.access import Action
from tracker.domain.execution import Figures, available_budget
from tracker.domain.money import format_amount
from tracker.domain.year_end import (
    YEAR_END_REASON,
    check_carry_over,
    proposed_carry_over,
)
from tracker.models import Alert, Budget, MonthEnd, Plan, PlanEntry, Project, as_utc, utcnow
from tracker.services import audit, execution, plan_years
from tracker.services.accounts import check_may
from tracker.services.execution_scan import EXECUTION_KINDS

#: The kind of budget a year's close carries over: 資本門.
KIND = "capital"


@dataclass(frozen=True)
class Proposal:
    """One programme's line of the close: its budget, December's 執行數 and the proposed 以前年度保留數 (千元)."""

    project_id: int
    code: str | None
    name: str
    #: 可支用預算數 of the closing year.
    available: Decimal
    #: December's 執行數 (實支數 + 應付未付數 + 賸餘數); None when the programme has no December figures.
    executed: Decimal | None
    #: max(可支用預算數 − 執行數, 0); None when December is missing (the officer must give it).
    proposed: Decimal | None
    #: Once the year is closed: next year's 以前年度保留數 as it stands now (None: no budget there).
    carried: Decimal | None = None

    @property
    def label(self) -> str:
        """「48 name」, as a refusal names the row."""
        return f"{self.code} {self.name}" if self.code else self.name

    def as_json(self) -> dict:
        """The line as `tracker year close --format json` prints it (amounts as text, 千元)."""
        return {"project_id": self.project_id, "code": self.code, "name": self.name,
                "available": plain_amount(self.available), "executed": plain_amount(self.executed),
                "proposed": plain_amount(self.proposed)}


@dataclass(frozen=True)
class YearState:
    """A year as the close sees it: its proposals, whether it is closed, by whom and when."""

    year_roc: int
    #: Whose figures: the synthetic demo's (True) or imported ones (False), as execution.dataset chooses.
    is_synthetic: bool
    proposals: list[Proposal]
    closed_at: datetime | None = None
    closed_by: str | None = None

    @property
    def is_closed(self) -> bool:
        """Whether the year has been closed."""
        return self.closed_at is not None

    @property
    def next_year(self) -> int:
        """The year the amounts are carried into."""
        return self.year_roc + 1

    def as_json(self) -> dict:
        """{"year", "proposals", "closed"}: the CLI's JSON."""
        return {"year": self.year_roc, "proposals": [p.as_json() for p in self.proposals], "closed": self.is_closed}


@dataclass(frozen=True)
class RowProblem:
    """Why one programme's amount (or the whole close, project_id None) is refused."""

    project_id: int | None
    label: str
    reason: str

    def __str__(self) -> str:
        return f"{self.label}：{self.reason}" if self.label else self.reason


class CloseRefused(Exception):
    """A close that was not done (nothing written); ``problems`` names each row at fault."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None):
        self.message = message
        self.problems = list(problems or [])
        lines = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{message}{lines}")

    def by_project(self) -> dict[int, str]:
        """The row problems by project id (for the page's table)."""
        return {p.project_id: p.reason for p in self.problems if p.project_id is not None}


@dataclass
class CloseResult:
    """What a close wrote (or, with dry_run, would write)."""

    year_roc: int
    #: Each programme's amount carried into next year (千元), in the order of the proposals.
    amounts: dict[int, Decimal] = field(default_factory=dict)
    #: Next year's budgets created and changed.
    created: int = 0
    changed: int = 0
    #: Open alerts of the year resolved with 年度結束.
    resolved: int = 0
    dry_run: bool = False


def _code_key(project: tuple) -> tuple:
    """Plan order: by code as numbers (48 before 49-3 before 100), programmes without a code last."""
    project_id, code = project
    if not code:
        return (1, (), project_id)
    return (0, tuple(int(part) if part.isdigit() else 0 for part in code.split("-")), project_id)


def year_state(session: so.Session, year_roc: int) -> YearState:
    """Year Y's close as it stands: a proposal per programme with a capital budget (CloseRefused: no plan)."""
    plan = plan_years.get_plan(session, year_roc)
    if plan is None:
        raise CloseRefused(f"沒有民國 {year_roc} 年度的施政計畫，無法辦理年度結束")
    synthetic = bool(execution.dataset(session, year_roc))
    # the programme as year Y's plan numbers and names it (its latest code and name when Y does not list it)
    entry = so.aliased(PlanEntry)
    budgets = session.execute(
        sa.select(Budget.project_id, Budget.original, Budget.supplementary, Budget.carried_over,
                  sa.func.coalesce(entry.code, Project.code).label("code"),
                  sa.func.coalesce(entry.name, Project.name).label("name"))
        .join(Project, Project.id == Budget.project_id)
        .outerjoin(entry, sa.and_(entry.project_id == Project.id, entry.year_roc == year_roc))
        .where(Budget.year_roc == year_roc, Budget.kind == KIND, Budget.is_synthetic.is_(synthetic))).all()
    december = {row.project_id: row for row in session.execute(
        sa.select(MonthEnd.project_id, MonthEnd.paid, MonthEnd.payables, MonthEnd.savings)
        .where(MonthEnd.year_roc == year_roc, MonthEnd.kind == KIND, MonthEnd.is_synthetic.is_(synthetic),
               MonthEnd.month == 12))}
    carried = {}
    if plan.is_closed:
        carried = dict(session.execute(sa.select(Budget.project_id, Budget.carried_over).where(
            Budget.year_roc == year_roc + 1, Budget.kind == KIND, Budget.is_synthetic.is_(synthetic))).all())
    proposals = []
    for row in sorted(budgets, key=lambda r: _code_key((r.project_id, r.code))):
        available = available_budget(row.original, row.supplementary, row.carried_over)
        month = december.get(row.project_id)
        executed = None if month is None else Figures(
            paid=month.paid, payables=month.payables, savings=month.savings).executed
        proposals.append(Proposal(row.project_id, row.code, row.name, available, executed,
                                  proposed_carry_over(available, executed), carried.get(row.project_id)))
    return YearState(year_roc, synthetic, proposals, as_utc(plan.closed_at), plan.closed_by)


def amounts_by_code(state: YearState, given: Mapping[str, object]) -> dict[int, object]:
    """A {"<plan code>": amount} file as {project_id: amount}; a code that names no proposal is refused by name."""
    by_code = {p.code: p.project_id for p in state.proposals if p.code}
    unknown = [str(code) for code in given if str(code).strip() not in by_code]
    if unknown:
        raise CloseRefused(f"民國 {state.year_roc} 年度沒有下列計畫編號的資本門預算，未辦理年度結束",
                           [RowProblem(None, "", f"計畫編號「{code}」") for code in unknown])
    return {by_code[str(code).strip()]: value for code, value in given.items()}


def _checked_amounts(state: YearState, given: Mapping[int, object]) -> tuple[dict[int, Decimal], list[RowProblem]]:
    """Each proposal's amount: the officer's where given, else the proposal; every row's problem."""
    known = {p.project_id for p in state.proposals}
    problems = [RowProblem(project_id, str(project_id), "不是本年度有資本門預算的計畫")
                for project_id in given if project_id not in known]
    amounts: dict[int, Decimal] = {}
    for p in state.proposals:
        if p.project_id in given:
            check = check_carry_over(given[p.project_id], p.available)
        elif p.proposed is None:
            problems.append(RowProblem(p.project_id, p.label, "12 月無執行數字，無法建議保留數，請填保留數（千元）"))
            continue
        else:
            check = check_carry_over(p.proposed, p.available)
        if check.problem:
            problems.append(RowProblem(p.project_id, p.label, check.problem))
        else:
            amounts[p.project_id] = check.amount
    return amounts, problems


def _next_budgets(session: so.Session, state: YearState, lock: bool) -> dict[int, Budget]:
    query = sa.select(Budget).where(Budget.year_roc == state.next_year, Budget.kind == KIND,
                                    Budget.is_synthetic.is_(state.is_synthetic),
                                    Budget.project_id.in_([p.project_id for p in state.proposals]))
    if lock:
        query = query.with_for_update()
    return {b.project_id: b for b in session.scalars(query)}


def _allocation_floor(session: so.Session, state: YearState, amounts: dict[int, Decimal],
                      budgets: dict[int, Budget]) -> list[RowProblem]:
    """Next year's budget may not fall below what has already been allocated against it (累計分配數)."""
    allocated = dict(session.execute(
        sa.select(MonthEnd.project_id, sa.func.max(MonthEnd.allocated))
        .where(MonthEnd.year_roc == state.next_year, MonthEnd.kind == KIND,
               MonthEnd.is_synthetic.is_(state.is_synthetic), MonthEnd.project_id.in_(list(amounts)))
        .group_by(MonthEnd.project_id)).all()) if amounts else {}
    problems = []
    for p in state.proposals:
        already = allocated.get(p.project_id)
        if already is None or p.project_id not in amounts:
            continue
        budget = budgets.get(p.project_id)
        available = available_budget(budget.original if budget else Decimal(0),
                                               budget.supplementary if budget else Decimal(0), amounts[p.project_id])
        if available < already:
            problems.append(RowProblem(p.project_id, p.label,
                                       f"{state.next_year} 年度可支用預算數將為 {format_amount(available)} 千元，"
                                       f"低於已匯入的累計分配數 {format_amount(already)} 千元"))
    return problems


def plain_amount(value: Decimal | None) -> str | None:
    """An amount as typed and logged: 1234.5 (None stays None)."""
    return None if value is None else format(value.normalize(), "f")


def close_year(session: so.Session, year_roc: int, amounts: Mapping[int, object], who: audit.Who, *,
               dry_run: bool = False) -> CloseResult:
    """Close year Y, all or nothing (the caller commits); CloseRefused, naming each row at fault, writes nothing.

    ``amounts`` are the officer's amounts by project id (text or Decimal, 千元); a programme left out keeps
    its proposal (refused when it has none: no December figures). Year Y+1's capital budget of each programme
    (same dataset) gets 以前年度保留數 = the amount, created when missing and the amount is not 0; each
    budget changed and the close itself are audited; the year's open execution alerts are resolved with
    the reason 年度結束. A person needs Action.CLOSE_YEAR (PermissionError otherwise).
    """
    check_may(session, who, Action.CLOSE_YEAR)
    plan = session.get(Plan, year_roc, with_for_update=not dry_run)
    if plan is None:
        raise CloseRefused(f"沒有民國 {year_roc} 年度的施政計畫，無法辦理年度結束")
    if plan.is_closed:
        raise CloseRefused(f"民國 {year_roc} 年度已由 {plan.closed_by} 辦理年度結束，不能再辦理一次")
    if plan_years.is_closed(session, year_roc + 1):
        raise CloseRefused(f"民國 {year_roc + 1} 年度已辦理年度結束，不能再寫入其以前年度保留數")
    state = year_state(session, year_roc)
    checked, problems = _checked_amounts(state, amounts)
    budgets = _next_budgets(session, state, lock=not dry_run)
    problems += _allocation_floor(session, state, checked, budgets)
    if problems:
        raise CloseRefused(f"民國 {year_roc} 年度的保留數有 {len(problems)} 處問題，未辦理年度結束，未寫入任何資料",
                           problems)
    result = CloseResult(year_roc, checked, dry_run=dry_run)
    open_alerts = _open_alerts_of(session, year_roc)
    result.resolved = len(open_alerts)
    for p in state.proposals:
        amount, budget = checked[p.project_id], budgets.get(p.project_id)
        if budget is None:
            if amount == 0:
                continue  # nothing to carry: no empty budget is made for it
            result.created += 1
        elif budget.carried_over != amount:
            result.changed += 1
    if dry_run:
        return result
    for p in state.proposals:
        amount, budget = checked[p.project_id], budgets.get(p.project_id)
        if budget is None:
            if amount == 0:
                continue
            budget = Budget(project_id=p.project_id, year_roc=state.next_year, kind=KIND, original=Decimal(0),
                            supplementary=Decimal(0), carried_over=amount, is_synthetic=state.is_synthetic)
            session.add(budget)
            session.flush()
            old = None
        elif budget.carried_over == amount:
            continue
        else:
            old = budget.carried_over
            budget.carried_over = amount
        audit.record(session, who, "year.carry_over", "budget", budget.id,
                     {"year_roc": state.next_year, "carried_over": [plain_amount(old), plain_amount(amount)]})
    now = utcnow()
    plan.closed_at, plan.closed_by = now, who.name[:64]
    if open_alerts:
        session.execute(sa.update(Alert).where(Alert.id.in_(open_alerts))
                        .values(status="resolved", resolved_at=now, resolved_reason=YEAR_END_REASON, open_key=None,
                                updated_at=now)
                        .execution_options(synchronize_session=False))
    audit.record(session, who, "year.close", "plan", year_roc, {
        "year_roc": year_roc, "closed_by": [None, plan.closed_by], "budgets": result.created + result.changed,
        "resolved": result.resolved})
    session.flush()
    session.expire_all()  # alerts loaded earlier must not show what was just resolved
    return result


def _open_alerts_of(session: so.Session, year_roc: int) -> list[int]:
    """The ids of the unresolved execution alerts whose figures are of year Y (details["year_roc"])."""
    rows = session.execute(sa.select(Alert.id, Alert.details).where(
        Alert.kind.in_(EXECUTION_KINDS), Alert.status != "resolved")).all()
    return [alert_id for alert_id, details in rows if (details or {}).get("year_roc") == year_roc]
