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
from tracker.models import Kpi, KpiActual, Project, User
from tracker.services import audit
from tracker.services.accounts import actor_of
from tracker.services.portfolio import list_kpis


@dataclass(frozen=True)
class KpiRow:
    """One line of the board."""

    kpi: Kpi
    actual: Decimal | None
    light: Light
    projects: list[Project]


def kpi_board(session: so.Session, year_roc: int, near_miss_pct: Decimal) -> list[KpiRow]:
    """Every KPI with the year's actual and light, in plan order (three queries in all)."""
    actuals = dict(session.execute(sa.select(KpiActual.kpi_id, KpiActual.value).where(KpiActual.year_roc == year_roc)).all())
    return [
        KpiRow(kpi, actuals.get(kpi.id), kpi_light(kpi.direction, kpi.target_value, actuals.get(kpi.id), near_miss_pct),
               projects)
        for kpi, projects in list_kpis(session)
    ]


def enter_actual(session: so.Session, code: str, year_roc: int, text: str, user: User, who: audit.Who) -> KpiActual:
    """Record (or correct) a KPI's actual for a year; budget officers and admins only."""
    if not may(actor_of(user), Action.ENTER_KPI_ACTUAL):
        raise PermissionError("not allowed to enter KPI actuals")
    kpi = session.scalar(sa.select(Kpi).where(Kpi.code == code))
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
