"""GET /api/v1/kpis: the plan's KPIs."""
from __future__ import annotations

from flask import jsonify

from tracker import db
from tracker.models import Kpi
from tracker.services import portfolio
from tracker.web.api import bp
from tracker.web.api.projects import number


def kpi_json(k: Kpi) -> dict:
    """A KPI as the API shows it."""
    return {
        "code": k.code, "goal": k.goal, "name": k.name, "measure": k.measure,
        "target": number(k.target_value), "target_text": k.target_text, "unit": k.unit, "direction": k.direction,
    }


@bp.get("/kpis")
def kpis():
    """The KPIs of the plan."""
    return jsonify({"kpis": [kpi_json(k) for k, _ in portfolio.list_kpis(db.get_session())]})

