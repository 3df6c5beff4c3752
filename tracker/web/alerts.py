"""The alerts page: alerts the reader may see, worst first, and acknowledging one."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import db
from tracker.services import alerts as alert_service
from tracker.services.accounts import who_of
from tracker.web.forms import AcknowledgeForm
from tracker.web.completeness import month_line
from tracker.web.filters import ALERT_KIND_NAMES
from tracker.web.params import page_or_first

bp = Blueprint("alerts", __name__)

#: Alerts per page: a national portfolio can hold tens of thousands unresolved.
ALERTS_PAGE_SIZE = 100


@bp.route("/alerts")
def index():
    """Alerts the user may see, worst first, with acknowledgement forms."""
    session = db.get_session()
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    page = page_or_first(request.args)
    try:
        items, total = alert_service.list_alerts(session, g.user, status, kind, page, ALERTS_PAGE_SIZE)
    except alert_service.AlertError as exc:
        abort(400, description=exc.message)
    completeness, completeness_line = month_line(session)  # last month: who has reported it
    return render_template("alerts.html", alerts=items, total=total, status=status, kind=kind,
                           completeness=completeness, completeness_line=completeness_line,
                           kinds={kind: ALERT_KIND_NAMES.get(kind, label) for kind, label in alert_service.KIND_LABELS.items()}, page=page, pages=max(1, -(-total // ALERTS_PAGE_SIZE)))


@bp.route("/alerts/<id:alert_id>/acknowledge", methods=["POST"])
def acknowledge(alert_id: int):
    """Acknowledge an alert with a comment."""
    session = db.get_session()
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        flash(_("；").join(str(e) for errors in form.errors.values() for e in errors), "warning")
        return redirect(url_for("alerts.index"))
    try:
        alert_service.acknowledge(session, alert_id, g.user, form.comment.data, who_of(g.user, request.remote_addr))
    except PermissionError:
        abort(403)
    except alert_service.AlertError as exc:
        if exc.field == "alert" and "沒有編號" in exc.message:
            abort(404)
        flash(exc.message, "warning")
        return redirect(url_for("alerts.index"))
    session.commit()
    flash(_("已確認警示並記錄處理說明。"), "success")
    return redirect(url_for("alerts.index"))
