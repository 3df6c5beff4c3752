"""The dashboard (儀表板): leadership's landing page, one screen of the year's execution, lights and reports."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale

from tracker import db
from tracker.domain.roc import from_roc_year
from tracker.services import dashboard, datastamp, lights, plan_years, reporting_date
from tracker.services.cache import StampedCache
from tracker.services.execution import thresholds_from
from tracker.web import plan_year
from tracker.web.completeness import line_text
from tracker.web.portfolio import as_of_param

bp = Blueprint("dashboard", __name__)
#: The dashboard's data per database, year, date and thresholds, valid for one data stamp.
_DATA = StampedCache(size=64)


def dashboard_as_of(session, year_roc: int) -> date:
    """The date the dashboard judges: ?as_of= when given, else the reporting date, or the year's last day when
    the reporting date is past the year (a closed year is shown as it ended)."""
    if request.args.get("as_of"):
        return as_of_param()
    day = reporting_date.current(session, current_app.config)
    year_end = date(from_roc_year(year_roc), 12, 31)
    return min(day, year_end)


def dashboard_year(session) -> int:
    """?year= when given; else the year of ?as_of= (its plan year); else the page's default year."""
    if request.args.get("year") or not request.args.get("as_of"):
        return plan_year.page_year()
    return plan_years.default_year(session, as_of_param(), current_app.config["PLAN_YEAR_ROC"])


@bp.route("/dashboard")
def index():
    """The dashboard of a year (?year=, ?as_of=): served from a cache until someone changes the data."""
    session = db.get_session()
    year_roc = dashboard_year(session)
    as_of = dashboard_as_of(session, year_roc)
    config = current_app.config
    key = (str(session.get_bind().url), year_roc, as_of, thresholds_from(config), lights.slip_thresholds_from(config))
    data = _DATA.get_or_build(datastamp.current(session), key,
                              lambda: dashboard.build_dashboard(session, year_roc, as_of, config))
    done = data.completeness
    return render_template("dashboard.html", d=data, language=str(get_locale()),
                           completeness_line=line_text(done) if done else None,
                           year_loaded=year_roc in plan_years.loaded_years(session))
