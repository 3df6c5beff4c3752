"""Synthetic demo figures (`tracker demo`): a 106 budget and month-end series for the capital projects.

The plan states no amounts, so every figure here is invented with a fixed random seed and stored
with is_synthetic set; pages that show them say so, and imported figures always take their place.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import Budget, MonthEnd, Project
from tracker.services import audit, plan_years
from tracker.domain.execution import available_budget
from tracker.domain.roc import roc_month_end

#: Share of the year's budget allocated by the end of each month: capital spending follows the
#: payment schedule, light early in the year and heavy towards its end.
ALLOCATION_CURVE = (0.03, 0.07, 0.12, 0.18, 0.25, 0.33, 0.42, 0.52, 0.62, 0.73, 0.86, 1.0)
#: How much of what is allocated each kind of project executes: (low, high) share.
PROFILES = {"on_track": (0.93, 1.0), "slow": (0.72, 0.86), "stalled": (0.35, 0.6)}


class DemoRefused(Exception):
    """Demo data would mix with imported figures."""


@dataclass
class DemoResult:
    """What `tracker demo` wrote."""

    projects: int
    budgets: int
    month_ends: int


def clear_demo(session: so.Session, year_roc: int) -> int:
    """Remove the synthetic figures of a year; return how many rows went (none of a closed year)."""
    if plan_years.is_closed(session, year_roc):
        raise DemoRefused(f"{year_roc} 年度已辦理年度結束；其數字不再變更")
    removed = session.execute(sa.delete(MonthEnd).where(MonthEnd.year_roc == year_roc, MonthEnd.is_synthetic.is_(True))).rowcount
    removed += session.execute(sa.delete(Budget).where(Budget.year_roc == year_roc, Budget.is_synthetic.is_(True))).rowcount
    return removed or 0


def load_demo(session: so.Session, year_roc: int, who: audit.Who, seed: int = 106) -> DemoResult:
    """Replace the year's synthetic figures with a fresh series for every capital programme."""
    if plan_years.is_closed(session, year_roc):
        raise DemoRefused(f"{year_roc} 年度已辦理年度結束；其數字不再變更")
    imported = session.scalar(sa.select(MonthEnd.id).where(MonthEnd.year_roc == year_roc, MonthEnd.is_synthetic.is_(False)).limit(1)) \
        or session.scalar(sa.select(Budget.id).where(Budget.year_roc == year_roc, Budget.is_synthetic.is_(False)).limit(1))
    if imported:
        raise DemoRefused(f"{year_roc} 年度已有匯入的實際數字；模擬資料不會與其混用")
    clear_demo(session, year_roc)
    rng = random.Random(seed)
    projects = list(session.scalars(
        sa.select(Project).where(Project.parent_id.is_(None), Project.category != "其它",
                                 Project.first_year_roc <= year_roc, Project.last_year_roc >= year_roc)
        .order_by(Project.id)))
    budgets, month_ends = [], []
    for project in projects:
        original = Decimal(rng.randrange(20_000, 900_000, 1_000))
        supplementary = Decimal(rng.choice([0, 0, 0, rng.randrange(5_000, 60_000, 1_000)]))
        carried_over = Decimal(rng.choice([0, 0, rng.randrange(5_000, 120_000, 1_000)]))
        available = available_budget(original, supplementary, carried_over)
        budgets.append(Budget(project_id=project.id, year_roc=year_roc, kind="capital", original=original,
                              supplementary=supplementary, carried_over=carried_over, is_synthetic=True))
        low, high = PROFILES[rng.choices(list(PROFILES), weights=[5, 3, 2])[0]]
        executed = Decimal(0)
        for month, share in enumerate(ALLOCATION_CURVE, start=1):
            allocated = (available * Decimal(str(share))).quantize(Decimal(1))
            target = (allocated * Decimal(str(rng.uniform(low, high)))).quantize(Decimal(1))
            executed = max(executed, target)  # cumulative figures never go back
            payables = (executed * Decimal(str(rng.uniform(0.0, 0.12)))).quantize(Decimal(1))
            savings = (executed * Decimal(str(rng.uniform(0.0, 0.03)))).quantize(Decimal(1))
            month_ends.append(MonthEnd(project_id=project.id, year_roc=year_roc, month=month, kind="capital",
                                       allocated=allocated, paid=executed - payables - savings, payables=payables,
                                       savings=savings, is_synthetic=True))
    session.add_all(budgets)
    session.add_all(month_ends)
    session.flush()
    audit.record(session, who, "demo.load", "ledger", year_roc,
                 {"projects": len(projects), "budgets": len(budgets), "month_ends": len(month_ends), "seed": seed})
    return DemoResult(len(projects), len(budgets), len(month_ends))


def demo_reporting_date(session: so.Session, year_roc: int) -> date:
    """The reporting date the demo is read on: the end of the last month its figures reach."""
    last = session.scalar(sa.select(sa.func.max(MonthEnd.month)).where(
        MonthEnd.year_roc == year_roc, MonthEnd.is_synthetic.is_(True)))
    return roc_month_end(year_roc, last or 12)
