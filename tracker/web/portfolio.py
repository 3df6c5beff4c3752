"""The portfolio, a project, the KPIs."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, render_template, request

from tracker import db
from tracker.models import CATEGORIES
from tracker.services import audit, execution, portfolio
from tracker.web.security import may_edit

bp = Blueprint("portfolio", __name__)


def _page_number() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and int(text) >= 1 else 1


@bp.route("/")
def index():
    """The portfolio grouped by system and work plan, with filters and search."""
    session = db.get_session()
    systems = portfolio.list_systems(session)
    try:
        flt = portfolio.PortfolioFilter.from_args(request.args)
        page = portfolio.portfolio_page(session, flt, _page_number(), current_app.config["PAGE_SIZE"])
        error = None
    except portfolio.FilterError as exc:
        flt, page, error = portfolio.PortfolioFilter(), None, exc
    return render_template("portfolio.html", page=page, flt=flt, systems=systems, categories=CATEGORIES,
                           filter_error=error), (400 if error else 200)


@bp.route("/projects/<int:project_id>")
def project(project_id: int):
    """One project: phase, years, KPIs, sub-plans and milestones in ROC dates."""
    session = db.get_session()
    item = portfolio.get_project(session, project_id)
    if item is None:
        abort(404)
    history = audit.entries_for(session, "project", item.id, limit=20)
    year = current_app.config["PLAN_YEAR_ROC"]
    synthetic, ledger = execution.project_history(session, item.id, year)
    return render_template("project.html", project=item, may_edit=may_edit(g.user, item), history=history,
                           ledger=ledger, ledger_year=year, ledger_synthetic=synthetic,
                           kind_labels=execution.KIND_LABELS)


@bp.route("/kpis")
def kpis():
    """The sixteen KPIs with target, direction and the programmes that serve each."""
    return render_template("kpis.html", kpis=portfolio.list_kpis(db.get_session()))
