"""The year a page shows: ?year= (an ROC year, parsed strictly), else the reporting date's year."""
from __future__ import annotations

from flask import abort, current_app, request

from tracker import db
from tracker.services import plan_years, reporting_date
from tracker.web.params import ParamError, roc_year_param


def default_year() -> int:
    """The year shown when none is asked for: the reporting date's, or the plan year nearest before it."""
    session = db.get_session()
    return plan_years.default_year(session, reporting_date.current(session, current_app.config),
                                   current_app.config["PLAN_YEAR_ROC"])


def page_year(args=None, name: str = "year") -> int:
    """The page's year: ?year= when given (a bad one is a 400 naming the parameter), else default_year()."""
    args = request.args if args is None else args
    try:
        year = roc_year_param(args, name)
    except ParamError as exc:
        abort(400, description=f"{exc.name}：{exc.message}")
    return year if year is not None else default_year()
