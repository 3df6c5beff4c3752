"""The budget execution table, in the official layout, with sorting and CSV/XLSX export."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _

from tracker import db
from tracker.domain.errors import FieldError
from tracker.domain.roc import RocDateError, parse_roc_month, to_roc_year
from tracker.models import CATEGORIES
from tracker.services import execution, exports, reporting_date
from tracker.services.portfolio import list_systems
from tracker.web import plan_year
from tracker.web import params
from tracker.web.completeness import month_line

bp = Blueprint("execution", __name__)


class ParamError(FieldError):
    """A bad query parameter, shown to the user by name."""


def read_execution_params(args, default_year: int) -> dict:
    """year, month, by, kind, system, category from query parameters (as_of as 2017-08 or 106-08)."""
    try:
        year = params.roc_year_param({"year": (args.get("year") or "").strip()})
    except params.ParamError:
        raise ParamError("year", _("年度須為民國年，例如 106")) from None
    month = None
    if args.get("as_of"):
        try:
            as_of = parse_roc_month(args["as_of"])
        except RocDateError as exc:
            raise ParamError("as_of", str(exc)) from None
        if year is not None and as_of.roc_year != year:
            raise ParamError("as_of", _("月份 %(month)s 不在 %(year)s 年度內", month=as_of, year=year))
        year, month = as_of.roc_year, as_of.month
    by = args.get("by") or "project"
    kind = args.get("kind") or "capital"
    year = year or default_year
    # without a month asked for: the latest figures as of the reporting date (評核基準日), when it is in the year
    day = reporting_date.current(db.get_session(), current_app.config)
    up_to = day.month if month is None and to_roc_year(day.year) == year else None
    return {"year_roc": year, "month": month, "by": by, "kind": kind, "up_to_month": up_to,
            "system": args.get("system") or None, "category": args.get("category") or None}


@bp.route("/execution")
def table():
    """The execution table in the official layout, by any level, with sorting and CSV/XLSX export."""
    session = db.get_session()
    try:
        query = read_execution_params(request.args, plan_year.default_year())
        report = execution.execution_report(session, thresholds=execution.thresholds_from(current_app.config), **query)
    except (ParamError, execution.ExecutionQueryError) as exc:
        return render_template("execution.html", error=exc, report=None, params=request.args,
                               systems=list_systems(session), categories=CATEGORIES, columns=execution.COLUMNS,
                               by_labels=execution.BY_LABELS, kind_labels=execution.KIND_LABELS), 400
    sort, descending = request.args.get("sort"), request.args.get("dir") == "desc"
    rows = execution.sort_rows(report.rows, sort, descending)
    fmt = request.args.get("format")
    if fmt in exports.FORMATS:
        file = exports.execution_file(report, rows, fmt)
        return Response(file.body, mimetype=file.mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{file.name}"'})
    # Whose figures the month holds: 「11 月進度已報 …；資本門月報已報 30／33」.
    completeness_line = month_line(session, report.year_roc, report.month)[1] if report.month else None
    return render_template("execution.html", report=report, rows=rows, error=None, params=request.args,
                           completeness_line=completeness_line,
                           systems=list_systems(session), categories=CATEGORIES, columns=execution.COLUMNS,
                           rate_columns=execution.RATE_COLUMNS, values=execution.row_values, sort=sort,
                           descending=descending, by_labels=execution.BY_LABELS, kind_labels=execution.KIND_LABELS)
