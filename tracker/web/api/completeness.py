"""GET /api/v1/completeness: who has reported a month's progress and figures, and who is missing."""
from __future__ import annotations

from flask import abort, current_app, jsonify

from tracker import db
from tracker.domain.roc import previous_month
from tracker.services import completeness, reporting_date
from tracker.web.api import bp, query
from tracker.web.errors import field_errors


def completeness_json(c: completeness.Completeness) -> dict:
    """A month's completeness as the API shows it."""
    return {
        "year_roc": c.year_roc, "month": c.month,
        "progress": {"due": c.progress_due, "reported": c.progress_reported, "approved": c.progress_approved},
        "figures": {"due": c.figures_due, "reported": c.figures_reported},
        "line": c.line,
        "missing": [{"id": p.id, "name": p.name, "systems": list(p.systems), "managers": list(p.managers),
                     "progress_state": p.progress_state, "has_figures": p.has_figures} for p in c.missing],
    }


@bp.get("/completeness")
def month_completeness():
    """The month's counts (default: the month before the reporting date) and the programmes missing."""
    args = query("getCompleteness")
    session = db.get_session()
    if args["month"] is not None:
        year_roc, month = args["month"].roc_year, args["month"].month
    else:
        year_roc, month = previous_month(reporting_date.current(session, current_app.config))
    try:
        found = completeness.month_completeness(session, year_roc, month, args["system"])
    except completeness.CompletenessQueryError as exc:
        abort(field_errors({exc.field: exc.message}))
    return jsonify(completeness_json(found))
