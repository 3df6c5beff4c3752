"""The completeness page (填報情形): a month's counts and who has not reported, not been approved, or has no figures."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from tracker import db
from tracker.domain.roc import previous_month
from tracker.services import completeness, reporting_date
from tracker.services.portfolio import list_systems
from tracker.web import params

bp = Blueprint("completeness", __name__)


def line_text(c: completeness.Completeness) -> str:
    """The completeness line in the reader's language (「10 月進度已報 31／57，已核定 20；資本門月報已報 30／33」)."""
    return _("%(month)s 月進度已報 %(reported)s／%(due)s，已核定 %(approved)s；資本門月報已報 %(figures)s／%(budgets)s",
             month=c.month, reported=c.progress_reported, due=c.progress_due, approved=c.progress_approved,
             figures=c.figures_reported, budgets=c.figures_due)


def state_labels() -> dict[str, str]:
    """Each report state's word (tracker.domain.labels.REPORT_STATE_LABELS), translated."""
    return {"unreported": _("未填報"), "submitted": _("已送出"), "returned": _("退回"), "approved": _("已核定")}


def default_month(session) -> tuple[int, int]:
    """The month a page judges when none is asked for: the one before the reporting date (last month)."""
    return previous_month(reporting_date.current(session, current_app.config))


def month_line(session, year_roc: int | None = None, month: int | None = None) -> tuple[completeness.Completeness, str]:
    """A month's completeness (default: last month) and its line, for the pages that show it."""
    if year_roc is None or month is None:
        year_roc, month = default_month(session)
    found = completeness.month_completeness(session, year_roc, month)
    return found, line_text(found)


@bp.route("/completeness")
def page():
    """Who has reported a month (?month=106-10, default last month; ?system= optional), and who has not."""
    session = db.get_session()
    systems = list_systems(session)
    error = None
    try:
        asked = params.roc_month_param(request.args, "month")
        year_roc, month = (asked.roc_year, asked.month) if asked else default_month(session)
        found = completeness.month_completeness(session, year_roc, month, request.args.get("system") or None)
    except params.ParamError as exc:
        error = (exc.name, exc.message)
    except completeness.CompletenessQueryError as exc:
        error = (exc.field, exc.message)
    if error:
        return render_template("completeness.html", error=error, report=None, systems=systems,
                               params=request.args), 400
    return render_template("completeness.html", error=None, report=found, line=line_text(found),
                           month_text=f"{found.year_roc}-{found.month:02d}", labels=state_labels(),
                           systems=systems, params=request.args)
