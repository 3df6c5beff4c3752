"""The audit viewer (稽核紀錄) for administrators: filters, a pager and a CSV export of the same filters."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l

from tracker import db
from tracker.domain.access import Action
from tracker.models import Project, User, utcnow
from tracker.services import audit
from tracker.web.params import page_or_first
from tracker.web.security import require

bp = Blueprint("audit", __name__, url_prefix="/admin")

#: The filter fields as the form names them, for messages about a bad value.
FIELD_NAMES = {"user": _l("使用者"), "project": _l("計畫"), "action": _l("動作"), "from": _l("起日"), "to": _l("迄日")}
#: The query parameters the page and its export keep.
FILTER_ARGS = ("user", "project", "action", "from", "to")


@bp.route("/audit")
def page():
    """The audit log, newest first, filtered by user, programme, action and date."""
    require(Action.MANAGE_USERS)
    session = db.get_session()
    tz = current_app.config["TIMEZONE"]
    args = {name: request.args.get(name, "") for name in FILTER_ARGS}
    actions = audit.known_actions()
    if args["action"] and args["action"] not in dict(actions):
        actions.append((args["action"], args["action"]))  # a code from a link: keep it selectable
    context = {"args": args, "actions": actions, "field_names": FIELD_NAMES, "timezone": tz,
               "user_names": [*session.scalars(sa.select(User.name).order_by(User.name)), *audit.PROCESS_ACTORS]}
    try:
        flt = audit.parse_filter(session, request.args, project_names=True)
    except audit.AuditFilterError as exc:
        return render_template("admin_audit.html", errors=exc.errors, result=None, rows=[], project=None,
                               **context), 400
    result = audit.search_entries(session, flt, page_or_first(request.args), current_app.config.get("PAGE_SIZE", 100), tz)
    project = session.get(Project, flt.project_id) if flt.project_id is not None else None
    export_args = {k: v for k, v in args.items() if v}
    return render_template("admin_audit.html", errors={}, result=result, project=project,
                           rows=audit.describe_entries(session, result.entries, tz), export_args=export_args,
                           **context)


@bp.route("/audit.csv")
def export():
    """The filtered audit log as CSV (UTF-8 with BOM), every matching entry, streamed."""
    require(Action.MANAGE_USERS)
    session = db.get_session()
    try:
        flt = audit.parse_filter(session, request.args, project_names=True)
    except audit.AuditFilterError as exc:
        abort(400, description="；".join(f"{FIELD_NAMES.get(k, k)}：{v}" for k, v in exc.errors.items()))
    tz = current_app.config["TIMEZONE"]
    name = f"audit-{utcnow().astimezone(ZoneInfo(tz)):%Y%m%d-%H%M%S}.csv"
    body = _then_release(session, audit.export_csv(session, flt, tz))
    return Response(stream_with_context(body), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _then_release(session, chunks):
    """Stream the chunks, then end the export's read transaction at once (not when the server closes the response)."""
    try:
        yield from chunks
    finally:
        session.close()
