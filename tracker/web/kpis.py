"""The KPI board and entering a KPI's actual value."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import db
from tracker.domain.errors import FieldError
from tracker.services import kpis as kpis_service
from tracker.services.accounts import who_of
from tracker.web import plan_year
from tracker.web.params import ParamError, roc_year_param

bp = Blueprint("kpis", __name__)


def _kpi_year() -> int:
    """?year= as an ROC year (the plan's year when absent); anything else is a 400."""
    try:
        return roc_year_param(request.args, default=plan_year.default_year())
    except ParamError:
        abort(400, description=_("年度須為民國年，例如 106"))


@bp.route("/kpis")
def board():
    """The KPI board: target, the year's actual, a direction-aware light and the programmes of each KPI."""
    year = _kpi_year()
    rows = kpis_service.kpi_board(db.get_session(), year, current_app.config["KPI_NEAR_MISS_PCT"])
    return render_template("kpis.html", rows=rows, year=year)


@bp.route("/kpis/<code>/actual", methods=["POST"])
def enter_actual(code: str):
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
        return redirect(url_for("kpis.board", year=year))
    session.commit()
    flash(_("已更新指標 %(code)s 的 %(year)s 年實際值。", code=code, year=year), "success")
    return redirect(url_for("kpis.board", year=year) + f"#kpi-{code}")
