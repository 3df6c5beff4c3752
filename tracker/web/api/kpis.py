"""GET /api/v1/kpis: the KPIs of a year's plan, with that year's targets."""
from __future__ import annotations

from flask import jsonify

from tracker import db
from tracker.services import kpis as kpis_service
from tracker.web import plan_year
from tracker.web.api import bp, query
from tracker.web.api.projects import number


def kpi_json(k) -> dict:
    """A KPI (a year's KpiTarget, or the Kpi itself) as the API shows it."""
    return {
        "kpi_id": getattr(k, "kpi_id", None) or k.id,
        "code": k.code, "goal": k.goal, "name": k.name, "measure": k.measure,
        "target": number(k.target_value), "target_text": k.target_text, "unit": k.unit, "direction": k.direction,
    }


@bp.get("/kpis")
def kpis():
    """The KPIs of a year's plan (?year=, default the reporting date's year) with that year's targets."""
    args = query("listKpis")
    year = args.get("year") or plan_year.default_year()
    return jsonify({"year": year, "kpis": [kpi_json(k) for k in kpis_service.kpis_of_year(db.get_session(), year)]})
