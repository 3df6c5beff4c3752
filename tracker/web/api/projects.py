"""GET /api/v1/projects and /projects/<id>: projects and sub-plans with their milestones."""
from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from flask import abort, current_app, jsonify, request

from tracker import db
from tracker.models import Milestone, Project
from tracker.domain.earned_value import EarnedValue
from tracker.domain.roc import roc_month_end, roc_month_start, to_roc_year
from tracker.domain.slippage import Light, worst
from tracker.services import earned_value as earned_values
from tracker.services import lights, plan_years, portfolio, programmes, reporting_date
from tracker.web import plan_year
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


def earned_value_as_of(as_of: date | None, year: int) -> date:
    """The date earned value is for: ?as_of= when given, else the reporting date moved into the year shown."""
    if as_of is not None:
        return as_of
    current = reporting_date.current(db.get_session(), current_app.config)
    return min(max(current, roc_month_start(year, 1)), roc_month_end(year, 12))


def earned_value_json(value: EarnedValue | None, as_of: date) -> dict | None:
    """A programme's earned value as the API shows it (None: a sub-plan)."""
    if value is None:
        return None
    return {"as_of": as_of.isoformat(), "year": to_roc_year(as_of.year),
            **{f.name: number(getattr(value, f.name)) for f in dataclasses.fields(value)}}


def project_earned_values(items: list[Project], as_of: date) -> dict[int, dict | None]:
    """Each listed project's earned_value on a date, the programmes computed together (sub-plans: None)."""
    found = earned_values.programme_earned_value(db.get_session(), [p.id for p in items if p.parent_id is None],
                                                 to_roc_year(as_of.year), as_of)
    return {p.id: earned_value_json(found.get(p.id), as_of) for p in items}


def project_json(p: Project | plan_years.InYear, light: str | None = None) -> dict:
    """A project (or sub-plan) as the API shows it; as a year's plan lists it when ``p`` is that year's view."""
    year = {"year": p.year_roc, "programme_id": p.programme_id} if isinstance(p, plan_years.InYear) else {
        "programme_id": p.id}
    return {
        **year,
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
    session = db.get_session()
    try:
        # the values are checked against the document above; the service reads its filter as the pages do
        flt = portfolio.PortfolioFilter.from_args(request.args)
        if flt.year is None:
            flt = dataclasses.replace(flt, year=plan_year.default_year())
        items, total = portfolio.list_projects(session, flt, args["page"], args["per_page"])
    except portfolio.FilterError as exc:
        abort(field_errors({exc.field: exc.message}))
    shown = project_lights(items)
    earned = project_earned_values(items, earned_value_as_of(args["as_of"], flt.year))
    listed = plan_years.in_year(session, items, flt.year)
    return jsonify({"projects": [{**project_json(p, shown[p.id]), "earned_value": earned[p.id]} for p in listed],
                    "year": flt.year,
                    "page": args["page"], "per_page": args["per_page"], "total": total})


@bp.get("/projects/<id:project_id>")
def project(project_id: int):
    """One project, same fields as in the list."""
    args = query("getProject")
    session = db.get_session()
    item = portfolio.get_project(session, project_id)
    if item is None:
        abort(404, description=f"沒有編號 {project_id} 的計畫")
    light = project_lights([item])[item.id]
    year = args.get("year") if args.get("year") is not None else plan_year.default_year()
    earned = {"earned_value": project_earned_values([item], earned_value_as_of(args.get("as_of"), year))[item.id]}
    if plan_years.entries_of_year(session, year, [item.id]).get(item.id) is None:
        if args.get("year") is not None:
            abort(404, description=f"{year} 年度計畫未列編號 {project_id} 的計畫")
        # not in the reporting date's year: as its latest plan lists it
        return jsonify({**project_json(item, light), **earned})
    return jsonify({**project_json(plan_years.in_year(session, [item], year)[0], light), **earned})


@bp.get("/programmes/<id:programme_id>")
def programme(programme_id: int):
    """A programme's whole life: its entry in each year's plan, each year's budget and execution, and totals."""
    life = programmes.programme_life(db.get_session(), programme_id)
    if life is None:
        abort(404, description=f"沒有編號 {programme_id} 的計畫")
    return jsonify(programme_json(life))


def programme_json(life: programmes.ProgrammeLife) -> dict:
    """A programme's life as the API shows it."""
    def money(value):
        return number(value)

    return {
        "programme_id": life.project.id, "name": life.project.name, "code": life.project.code,
        "systems": [s.name for s in life.project.systems],
        "first_year": life.project.first_year_roc, "last_year": life.project.last_year_roc,
        "entries": [{
            "year": y.year_roc, "code": y.entry.code, "name": y.entry.name, "name_as_written": y.entry.name_as_written,
            "phase_index": y.entry.phase_index, "phase_total": y.entry.phase_total, "category": y.entry.category,
            "work_plan": y.entry.work_plan.name, "kpis": [link.written_name for link in y.entry.kpi_links],
            "milestones": [milestone_json(m) for m in y.milestones],
            "sub_plans": [{"id": s.project.id, "code": s.entry.code, "name": s.entry.name, "parent_id": life.project.id,
                           "phase_index": s.entry.phase_index, "phase_total": s.entry.phase_total,
                           "milestones": [milestone_json(m) for m in s.milestones]} for s in y.sub_plans],
            "closed": y.is_closed,
        } for y in life.years],
        "budgets": [{"year": b.year_roc, "kind": b.kind, "original": money(b.original),
                     "supplementary": money(b.supplementary), "carried_over": money(b.carried_over),
                     "available_budget": money(b.available), "executed": money(b.executed),
                     "figures_month": b.figures_month} for b in life.budgets],
        "life_to_date": {kind: {"budget": money(t.budget), "executed": money(t.executed)}
                         for kind, t in life.totals.items()},
        "reports": [{"year": r.year_roc, "month": r.month, "state": r.state, "actual_percent": number(r.actual_percent),
                     "planned_percent": number(r.planned_percent)} for r in life.reports],
    }
