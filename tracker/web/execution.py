"""The budget execution table, in the official layout, with sorting and CSV/XLSX export."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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

#: The official headings in the reader's language (the exports keep the official Chinese ones).
HEADINGS = {
    "key": _l("項目"), "available_budget": _l("可支用預算數"), "allocated": _l("累計分配數"),
    "executed": _l("累計執行數"), "allocation_rate": _l("分配預算執行率(%)"), "achievement_rate": _l("經費達成率(%)"),
    "allocated_unexecuted": _l("已分配未執行數"), "forecast_rate": _l("預估年底執行率(%)"),
    "needed_per_month": _l("每月尚需執行數"), "paid": _l("累計實支數"), "payables": _l("應付未付數"),
    "savings": _l("累計賸餘數"), "spend_rate": _l("支用率(%)"),
}
BY_NAMES = {"project": _l("計畫"), "work_plan": _l("工作計畫"), "system": _l("系統"), "category": _l("計畫類別"),
            "ministry": _l("全部會")}
KIND_NAMES = {"capital": _l("資本門"), "current": _l("經常門")}


def _columns() -> list[tuple[str, str]]:
    """The table's columns, official order, headings translated."""
    return [(key, HEADINGS.get(key, label)) for key, label in execution.COLUMNS]


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
                               systems=list_systems(session), categories=CATEGORIES, columns=_columns(),
                               by_labels=BY_NAMES, kind_labels=KIND_NAMES), 400
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
                           systems=list_systems(session), categories=CATEGORIES, columns=_columns(),
                           rate_columns=execution.RATE_COLUMNS, values=execution.row_values, sort=sort,
                           descending=descending, by_labels=BY_NAMES, kind_labels=KIND_NAMES)
