"""The KPI board: each KPI's target, the year's actual, a direction-aware light, and its programmes."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.access import Action, may
from tracker.domain.errors import FieldError
from tracker.domain.kpi import kpi_light
from tracker.domain.money import parse_number
from tracker.domain.slippage import Light
from tracker.models import Kpi, KpiActual, KpiTarget, PlanEntry, PlanEntryKpi, Project, User
from tracker.services import audit, execution
from tracker.services.accounts import actor_of
from tracker.services.portfolio import list_kpis

#: KPI 九-1 機關年度資本門預算執行率 (its code in the plan): the board computes it from the capital figures.
CAPITAL_EXECUTION_KPI = "九-1"
#: How the board computes it, as the plan's measure puts it (DOMAIN.md 「Money」).
CAPITAL_EXECUTION_FORMULA = "（實支數＋應付未付數＋賸餘數）÷ 資本門可支用預算數 × 100%"


@dataclass(frozen=True)
class FiguresActual:
    """A KPI's value computed from the month-end figures: KPI 九-1 as of the latest month with capital figures."""

    #: 執行數 ÷ 可支用預算數 × 100, from the ministry's sums (None when there is no budget to divide by).
    value: Decimal | None
    executed: Decimal  #: 實支數 + 應付未付數 + 賸餘數, summed (千元)
    available: Decimal  #: 資本門可支用預算數 = 原 + 追加 + 保留, summed (千元)
    month: int  #: the month it is as of: year to date until December, then the year's value
    projects: int  #: programmes with a capital budget or figures
    reported: int  #: of those, with figures for ``month`` itself
    is_synthetic: bool  #: demo figures (模擬資料), not the ministry's
    formula: str = CAPITAL_EXECUTION_FORMULA

    @property
    def is_year_value(self) -> bool:
        """Whether December is in: the year's value rather than year to date."""
        return self.month == 12


@dataclass(frozen=True)
class KpiYear:
    """A KPI in one year: that year's target, the actual entered and its light (the board's comparison)."""

    year_roc: int
    target_text: str
    actual: Decimal | None
    light: Light


@dataclass(frozen=True)
class KpiRow:
    """One line of the board: the KPI as the year's plan states it (a KpiTarget; the Kpi itself for a year
    without a plan), with the year's actual and light, its programmes that year, and every year's comparison."""

    kpi: KpiTarget | Kpi
    actual: Decimal | None
    light: Light
    projects: list[Project]
    #: The value computed from the figures (KPI 九-1 only), shown beside the actual typed by hand.
    computed: FiguresActual | None = None
    years: tuple[KpiYear, ...] = ()


def capital_execution_actual(session: so.Session, year_roc: int) -> FiguresActual | None:
    """KPI 九-1 from the imported capital figures: the ministry's 執行數 ÷ 可支用預算數 at the latest month
    with figures (None when the year has no capital month-end figures)."""
    report = execution.execution_report(session, year_roc, None, "ministry", "capital")
    total = report.total
    if report.month is None or total is None:
        return None
    return FiguresActual(value=total.rates.achievement_rate, executed=total.rates.executed,
                         available=total.figures.available, month=report.month, projects=total.projects,
                         reported=total.reported, is_synthetic=report.is_synthetic)


def kpis_of_year(session: so.Session, year_roc: int) -> list[KpiTarget | Kpi]:
    """The KPIs of year Y's plan with that year's targets, in plan order (every KPI as it stands when no plan
    of that year is loaded)."""
    targets = list(session.scalars(sa.select(KpiTarget).where(KpiTarget.year_roc == year_roc)
                                   .order_by(KpiTarget.goal_no, KpiTarget.no)))
    if targets or session.scalar(sa.select(sa.func.count()).select_from(KpiTarget)):
        return targets
    return list(session.scalars(sa.select(Kpi).order_by(Kpi.goal_no, Kpi.no)))


def _kpi_id(kpi: KpiTarget | Kpi) -> int:
    return kpi.kpi_id if isinstance(kpi, KpiTarget) else kpi.id


def _programmes_by_kpi(session: so.Session, year_roc: int) -> dict[int, list[Project]]:
    """The programmes year Y links to each KPI (its plan's links; the current links without entries)."""
    rows = session.execute(
        sa.select(PlanEntryKpi.kpi_id, Project).join(PlanEntry, PlanEntry.id == PlanEntryKpi.entry_id)
        .join(Project, Project.id == PlanEntry.project_id)
        .where(PlanEntry.year_roc == year_roc, Project.parent_id.is_(None)).order_by(PlanEntry.seq)).all()
    if not rows and not session.scalar(sa.select(sa.func.count()).select_from(PlanEntry)):
        return {kpi.id: projects for kpi, projects in list_kpis(session)}
    out: dict[int, list[Project]] = {}
    for kpi_id, project in rows:
        out.setdefault(kpi_id, []).append(project)
    return out


def kpi_board(session: so.Session, year_roc: int, near_miss_pct: Decimal) -> list[KpiRow]:
    """Every KPI of year Y with the year's actual and light, in plan order, KPI 九-1 computed from the figures,
    and each KPI's targets and actuals in every loaded year beside them (a fixed number of queries)."""
    board = kpis_of_year(session, year_roc)
    ids = [_kpi_id(k) for k in board]
    actuals = {(kpi_id, year): value for kpi_id, year, value in session.execute(
        sa.select(KpiActual.kpi_id, KpiActual.year_roc, KpiActual.value).where(KpiActual.kpi_id.in_(ids)))} if ids else {}
    history: dict[int, list[KpiYear]] = {}
    for t in session.scalars(sa.select(KpiTarget).where(KpiTarget.kpi_id.in_(ids)).order_by(KpiTarget.year_roc))             if ids else []:
        actual = actuals.get((t.kpi_id, t.year_roc))
        history.setdefault(t.kpi_id, []).append(
            KpiYear(t.year_roc, t.target_text, actual, kpi_light(t.direction, t.target_value, actual, near_miss_pct)))
    projects = _programmes_by_kpi(session, year_roc)
    computed = (capital_execution_actual(session, year_roc)
                if any(kpi.code == CAPITAL_EXECUTION_KPI for kpi in board) else None)
    rows = []
    for kpi in board:
        actual = actuals.get((_kpi_id(kpi), year_roc))
        rows.append(KpiRow(kpi, actual, kpi_light(kpi.direction, kpi.target_value, actual, near_miss_pct),
                           projects.get(_kpi_id(kpi), []), computed if kpi.code == CAPITAL_EXECUTION_KPI else None,
                           tuple(history.get(_kpi_id(kpi), ()))))
    return rows


def enter_actual(session: so.Session, code: str, year_roc: int, text: str, user: User, who: audit.Who) -> KpiActual:
    """Record (or correct) a KPI's actual for a year; budget officers and admins only."""
    if not may(actor_of(user), Action.ENTER_KPI_ACTUAL):
        raise PermissionError("not allowed to enter KPI actuals")
    target = session.scalar(sa.select(KpiTarget).where(KpiTarget.year_roc == year_roc, KpiTarget.code == code))
    kpi = target.kpi if target is not None else session.scalar(sa.select(Kpi).where(Kpi.code == code).limit(1))
    if kpi is None:
        raise FieldError("kpi", f"沒有編號 {code} 的指標")
    value = parse_number(text)
    if value is None:
        raise FieldError("value", f"實際值須為數字，而非「{text}」")
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        raise FieldError("value", "實際值須為 0 以上的數字")
    if value != value.quantize(Decimal("0.0001")):
        raise FieldError("value", "實際值最多四位小數")
    row = session.get(KpiActual, (kpi.id, year_roc))
    old = row.value if row else None
    if row is None:
        row = KpiActual(kpi_id=kpi.id, year_roc=year_roc, value=value, entered_by_id=user.id)
        session.add(row)
    else:
        row.value, row.entered_by_id = value, user.id
    session.flush()
    audit.record(session, who, "kpi.actual", "kpi", kpi.code, {f"{year_roc}年實際值": [old, value]})
    return row
