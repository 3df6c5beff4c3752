"""Leadership charts: the Gantt chart, the execution charts and the monthly report, as files and pages."""
from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from flask_babel import get_locale, gettext

from tracker import db
from tracker.charts import execution as execution_chart
from tracker.charts import labels
from tracker.charts import gantt as gantt_chart
from tracker.charts import output
from tracker.domain.roc import RocMonth, from_roc_year
from tracker.models import CATEGORIES
from tracker.services import datastamp, execution, gantt, lights, portfolio
from tracker.services.cache import StampedCache
from tracker.services import gantt_view
from tracker.services.charts import rate_bars_data, s_curve_data
from tracker.services.report import monthly_report
from tracker.web import plan_year
from tracker.web import params
from tracker.web.portfolio import as_of_param

bp = Blueprint("charts", __name__)


@bp.before_request
def _chart_language():
    """Charts speak the reader's language: their labels go through the page's translations."""
    g.chart_language = labels.translated(gettext)
    g.chart_language.__enter__()


@bp.teardown_request
def _end_chart_language(_exc):
    language = g.pop("chart_language", None)
    if language is not None:
        language.__exit__(None, None, None)
#: The SVG is a document of its own inside the page's <object>: it needs its inline styles and may be framed by our pages.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
FILTER_KEYS = ("system", "category", "year", "late", "as_of", "rows")
MAX_ROWS = 5000


def _file(body: bytes, fmt: str, name: str) -> Response:
    response = Response(body, mimetype=output.mimetype(fmt))
    if fmt == "svg":
        response.headers["Content-Security-Policy"] = SVG_CSP
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response.headers["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


#: Rendered Gantt files by query, served while the data stamp is unchanged (services.datastamp); bounded in count.
_GANTT_FILES = StampedCache(size=16)  # a 5,000-row PDF is 1.5 MB and a PNG several: keep a few


@bp.route("/gantt.<any(svg, png, pdf):fmt>")
def gantt_file(fmt: str):
    """The Gantt chart (filters: system, category, year, late; as_of) as SVG with links, PNG (?width=) or A4 PDF pages."""
    session = db.get_session()
    as_of = as_of_param()
    width = None
    if fmt == "png":  # pixels; the chart keeps its proportions
        width = params.or_400(params.int_param, request.args, "width", None, gantt_chart.PNG_WIDTH_MIN,
                              gantt_chart.PNG_WIDTH_MAX)
    thresholds = lights.slip_thresholds_from(current_app.config)
    key = (str(session.get_bind().url), fmt, tuple(sorted(request.args.items(multi=True))), as_of, thresholds,
           str(get_locale()), request.script_root)
    body = _GANTT_FILES.get_or_build(datastamp.current(session), key,
                                     lambda: _gantt_bytes(session, fmt, as_of, thresholds, width))
    return _file(body, fmt, f"gantt-{as_of.isoformat()}")


def _gantt_bytes(session, fmt: str, as_of, thresholds, width: int | None) -> bytes:
    """The Gantt file's bytes for the request's filters (a bad filter is a 400)."""
    # the first N rows only: a national portfolio's full chart is for the PDF, not a screen
    limit = request.args.get("rows")
    if limit is not None:
        try:
            limit = params.int_param({"rows": limit}, "rows", None, 1, MAX_ROWS)
        except params.ParamError:
            limit = None
        if limit is None:
            abort(400, description=f"rows 須為 1 至 {MAX_ROWS} 的整數")
    try:
        flt = gantt.GanttFilter.from_args(request.args)
        data = gantt.gantt_data(session, as_of, flt, thresholds, limit)
    except gantt.FilterError as exc:
        abort(400, description=f"{exc.field}：{exc.message}")
    if limit is not None:
        data = dataclasses.replace(data, rows=data.rows[:limit])
    link_as_of = request.args.get("as_of") or None  # the project page judges on the same date

    def project_url(project_id: int) -> str:
        return url_for("projects.detail", project_id=project_id, as_of=link_as_of)

    return gantt_chart.render(data, fmt, project_url, width=width)


@bp.route("/gantt")
def gantt_page():
    """The Gantt chart page: filters, the chart drawn as HTML and SVG (?scale=year|quarter|month, ?page=),
    and PNG/PDF/SVG downloads."""
    session = db.get_session()
    as_of = as_of_param()
    try:
        flt, error = gantt.GanttFilter.from_args(request.args), None
    except gantt.FilterError as exc:
        flt, error = gantt.GanttFilter(), exc
    query = {k: v for k, v in request.args.items() if k in FILTER_KEYS and v}
    scale = request.args.get("scale", gantt_view.DEFAULT_SCALE)
    scale = scale if scale in gantt_view.SCALES else gantt_view.DEFAULT_SCALE  # a hand-typed scale: the default
    chart = None
    if error is None:
        try:
            chart = gantt_view.gantt_page(session, as_of, flt, lights.slip_thresholds_from(current_app.config),
                                          scale, params.page_or_first(request.args))
        except gantt.FilterError as exc:  # a filter only the query can refuse (an unknown system)
            flt, error = gantt.GanttFilter(), exc
    return render_template("gantt.html", flt=flt, error=error, systems=portfolio.list_systems(session),
                           categories=CATEGORIES, as_of=as_of, query=query, chart=chart, scales=gantt_view.SCALES,
                           link_as_of=request.args.get("as_of") or None), (400 if error else 200)


def _year_and_month() -> tuple[int, int | None]:
    """?as_of= as (ROC year, month), or the plan year and no month."""
    month = params.or_400(params.roc_month_param, request.args, "as_of")
    if month is not None:
        return month.roc_year, month.month
    return plan_year.default_year(), None


@bp.route("/execution/s-curve.<any(svg, png, pdf):fmt>")
def s_curve(fmt: str):
    """Cumulative allocation against execution, month by month, with the 90% line and the forecast."""
    year_roc, _ = _year_and_month()
    try:
        project = params.int_param(request.args, "project", None, 0, params.MAX_ID)
    except params.ParamError:
        abort(400, description="project 須為計畫編號")
    try:
        data = s_curve_data(db.get_session(), year_roc, project or None, "capital",
                            execution.thresholds_from(current_app.config))
    except execution.ExecutionQueryError as exc:
        abort(404, description=exc.message)
    return _file(execution_chart.render_s_curve(data, fmt), fmt, f"s-curve-{year_roc}")


@bp.route("/execution/rates.<any(svg, png, pdf):fmt>")
def rates(fmt: str):
    """Execution rates by system and by category."""
    year_roc, month = _year_and_month()
    data = rate_bars_data(db.get_session(), year_roc, month, "capital", execution.thresholds_from(current_app.config))
    return _file(execution_chart.render_rate_bars(data, fmt), fmt, f"rates-{year_roc}")


@bp.route("/report.pdf")
def report():
    """The monthly report for a month (?month=106-09; default: last month of the plan year)."""
    default = RocMonth(from_roc_year(plan_year.default_year()), 12)
    month = params.or_400(params.roc_month_param, request.args, "month", default)
    pdf = monthly_report(db.get_session(), month, current_app.config)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="report-{month}.pdf"'
    return response
