"""The portfolio, a project, the KPIs."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from tracker import db
from tracker.domain.roc import RocDateError, parse_date
from tracker.domain.slippage import Light
from tracker.models import CATEGORIES
from tracker.domain.access import Action, may
from tracker.domain.errors import FieldError
from tracker.services import audit, datastamp, execution, portfolio, progress, slippage
from tracker.services import kpis as kpis_service
from tracker.services.accounts import actor_of, who_of
from tracker.web.security import may_edit

bp = Blueprint("portfolio", __name__)
#: The portfolio's body as rendered, per filter, page, date and language, valid for one data stamp.
_BODIES = datastamp.StampedCache(size=256)


def _as_of() -> date:
    """The date lights are judged on: ?as_of= (ROC or ISO), else today."""
    text = request.args.get("as_of")
    if not text:
        return date.today()
    try:
        return parse_date(text)
    except RocDateError as exc:
        abort(400, description=f"as_of：{exc}")


def _page_number() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and int(text) >= 1 else 1


@bp.route("/")
def index():
    """The portfolio grouped by system and work plan, with filters and search.

    The body is the same for every reader, so it is built once per data stamp and served from
    the cache until someone changes the data (see services.datastamp).
    """
    session = db.get_session()
    as_of = _as_of()
    key = (str(session.get_bind().url), tuple(sorted(request.args.items(multi=True))), as_of, str(get_locale()))
    try:
        body = _BODIES.get_or_build(datastamp.current(session), key, lambda: _body(session, as_of))
    except portfolio.FilterError as exc:
        return render_template("portfolio.html", body=_body(session, as_of, exc)), 400
    return render_template("portfolio.html", body=body)


def _body(session, as_of: date, error: portfolio.FilterError | None = None) -> Markup:
    """The portfolio's filters, count, grouped table and pager, as HTML (or the filter's error)."""
    flt = portfolio.PortfolioFilter() if error else portfolio.PortfolioFilter.from_args(request.args)
    page = None if error else portfolio.portfolio_page(session, flt, _page_number(), current_app.config["PAGE_SIZE"])
    lights = slippage.portfolio_lights(session, as_of, slippage.slip_thresholds_from(current_app.config))
    return Markup(render_template("_portfolio_body.html", page=page, flt=flt, systems=portfolio.list_systems(session),
                                  categories=CATEGORIES, filter_error=error, lights=lights, as_of=as_of,
                                  no_light=Light.NONE))


@bp.route("/projects/<int:project_id>")
def project(project_id: int):
    """One project: phase, years, KPIs, sub-plans and milestones in ROC dates."""
    session = db.get_session()
    item = portfolio.get_project(session, project_id)
    if item is None:
        abort(404)
    milestones = [*item.milestones, *(m for sub in item.sub_plans for m in sub.milestones)]
    history = audit.history_of_project(session, item.id, [m.id for m in milestones], limit=30)
    as_of = _as_of()
    root = item.parent_id or item.id
    project_light, milestone_lights = slippage.project_lights(
        session, [root], as_of, slippage.slip_thresholds_from(current_app.config))
    reports = progress.revisions(session, item.id) if item.parent_id is None else []
    year = current_app.config["PLAN_YEAR_ROC"]
    synthetic, ledger = execution.project_history(session, item.id, year)
    return render_template("project.html", project=item, may_edit=may_edit(g.user, item), history=history,
                           ledger=ledger, ledger_year=year, ledger_synthetic=synthetic,
                           kind_labels=execution.KIND_LABELS, lights=milestone_lights, as_of=as_of,
                           project_light=project_light[root], reports=reports)


def _kpi_year() -> int:
    text = request.args.get("year", str(current_app.config["PLAN_YEAR_ROC"]))
    if not text.isdigit() or not 1 <= int(text) <= 300:
        abort(400, description=_("年度須為民國年，例如 106"))
    return int(text)


@bp.route("/kpis")
def kpis():
    """The KPI board: target, the year's actual, a direction-aware light and the programmes of each KPI."""
    year = _kpi_year()
    rows = kpis_service.kpi_board(db.get_session(), year, current_app.config["KPI_NEAR_MISS_PCT"])
    return render_template("kpis.html", rows=rows, year=year,
                           may_enter=may(actor_of(g.user), Action.ENTER_KPI_ACTUAL))


@bp.route("/kpis/<code>/actual", methods=["POST"])
def kpi_actual(code: str):
    """Enter or correct a KPI's actual value for the year."""
    year = _kpi_year()
    session = db.get_session()
    try:
        kpis_service.enter_actual(session, code, year, request.form.get("value", ""), g.user,
                                  who_of(g.user, request.remote_addr))
    except PermissionError:
        abort(403)
    except FieldError as exc:
        if exc.field == "kpi":
            abort(404)
        flash(f"{code}：{exc.message}", "warning")
        return redirect(url_for("portfolio.kpis", year=year))
    session.commit()
    flash(_("已更新指標 %(code)s 的 %(year)s 年實際值。", code=code, year=year), "success")
    return redirect(url_for("portfolio.kpis", year=year) + f"#kpi-{code}")
