"""GET /api/v1/projects and /projects/<id>: projects and sub-plans with their milestones."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import abort, current_app, jsonify, request

from tracker import db
from tracker.models import Milestone, Project
from tracker.domain.slippage import Light, worst
from tracker.services import lights, portfolio, reporting_date
from tracker.web.api import bp, query
from tracker.web.errors import field_errors


def iso(value: date | None) -> str | None:
    """A date in ISO 8601, or None."""
    return value.isoformat() if value else None


def number(value: Decimal | None) -> float | None:
    """A Decimal as a JSON number, or None."""
    return None if value is None else float(value)


def milestone_json(m: Milestone) -> dict:
    """A milestone as the API shows it."""
    return {
        "id": m.id, "name": m.name,
        "planned_start": iso(m.planned_start_on), "planned_finish": iso(m.planned_finish_on),
        "baseline_start": iso(m.baseline_start_on), "baseline_finish": iso(m.baseline_finish_on),
        "actual_start": iso(m.actual_start_on), "actual_finish": iso(m.actual_finish_on),
        "status": m.status, "percent_complete": number(m.percent_complete), "version": m.version,
    }


def project_lights(items: list[Project]) -> dict[int, str]:
    """The light of each project on the reporting date: a programme's its judgement's, a sub-plan's the worst
    of its milestones' (the programmes are judged once, together)."""
    session = db.get_session()
    as_of = reporting_date.current(session, current_app.config)
    programme_ids = sorted({p.parent_id or p.id for p in items})
    programme, by_milestone = lights.project_lights(session, programme_ids, as_of,
                                                   lights.slip_thresholds_from(current_app.config))
    out = {}
    for p in items:
        light = programme.get(p.id) if p.parent_id is None else worst(
            by_milestone.get(m.id, Light.NONE) for m in p.milestones)
        out[p.id] = (light or Light.NONE).css
    return out


def project_json(p: Project, light: str | None = None) -> dict:
    """A project (or sub-plan) as the API shows it."""
    return {
        "id": p.id, "code": p.code, "name": p.name, "work_plan": p.work_plan.name, "category": p.category,
        "systems": [s.name for s in p.systems],
        "phase_index": p.phase_index, "phase_total": p.phase_total,
        "first_year": p.first_year_roc, "last_year": p.last_year_roc,
        "parent_id": p.parent_id, "sub_code": p.sub_code,
        "kpis": [link.kpi.name for link in p.kpi_links],
        "milestones": [milestone_json(m) for m in p.milestones],
        **({} if light is None else {"light": light}),
    }


@bp.get("/projects")
def projects():
    """Projects and sub-plans with their milestones, in plan order, one page at a time."""
    args = query("listProjects", page=1, per_page=current_app.config["API_PAGE_SIZE"])
    try:
        # the values are checked against the document above; the service reads its filter as the pages do
        flt = portfolio.PortfolioFilter.from_args(request.args)
        items, total = portfolio.list_projects(db.get_session(), flt, args["page"], args["per_page"])
    except portfolio.FilterError as exc:
        abort(field_errors({exc.field: exc.message}))
    shown = project_lights(items)
    return jsonify({"projects": [project_json(p, shown[p.id]) for p in items], "page": args["page"], "per_page": args["per_page"],
                    "total": total})


@bp.get("/projects/<id:project_id>")
def project(project_id: int):
    """One project, same fields as in the list."""
    item = portfolio.get_project(db.get_session(), project_id)
    if item is None:
        abort(404, description=f"沒有編號 {project_id} 的計畫")
    return jsonify(project_json(item, project_lights([item])[item.id]))
