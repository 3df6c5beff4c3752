"""The project page: phase, years, KPIs, sub-plans, milestones with their lights, reports and the ledger."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, render_template

from tracker import db
from tracker.domain.roc import roc_month_end, roc_month_start
from tracker.services import audit, execution, lights, plan_years, portfolio, programmes, progress
from tracker.services.earned_value import programme_earned_value
from tracker.web import plan_year
from tracker.web.portfolio import as_of_param
from tracker.web.security import may_edit

bp = Blueprint("projects", __name__)


@bp.route("/projects/<id:project_id>")
def detail(project_id: int):
    """One project: phase, years, KPIs, sub-plans and milestones in ROC dates."""
    session = db.get_session()
    item = portfolio.get_project(session, project_id)
    if item is None:
        abort(404)
    as_of = as_of_param()
    milestones = [*item.milestones, *(m for sub in item.sub_plans for m in sub.milestones)]
    history = audit.describe_entries(session, audit.history_of_project(
        session, item.id, [m.id for m in milestones], limit=30), current_app.config["TIMEZONE"])
    root = item.parent_id or item.id
    project_light, milestone_lights = lights.project_lights(
        session, [root], as_of, lights.slip_thresholds_from(current_app.config))
    reports = progress.revisions(session, item.id) if item.parent_id is None else []
    year = plan_year.page_year()
    synthetic, ledger = execution.project_history(session, item.id, year)
    life = programmes.programme_life(session, item.id) if item.parent_id is None else None
    # earned value of the year shown, on the as-of date moved into that year (programmes only)
    earned_on = min(max(as_of, roc_month_start(year, 1)), roc_month_end(year, 12))
    earned = programme_earned_value(session, [item.id], year, earned_on).get(item.id) if item.parent_id is None else None
    shown = plan_years.in_year(session, [item], year)[0] if plan_years.entries_of_year(
        session, year, [item.id]) else item  # as the year's plan lists it; as its latest plan does when not listed
    return render_template("project.html", project=shown, may_edit=may_edit(g.user, item), history=history,
                           life=life, year=year, earned=earned, earned_on=earned_on,
                           ledger=ledger, ledger_year=year, ledger_synthetic=synthetic,
                           kind_labels=execution.KIND_LABELS, lights=milestone_lights, as_of=as_of,
                           project_light=project_light[root], reports=reports,
                           milestone_names={str(m.id): m.name for m in milestones})
