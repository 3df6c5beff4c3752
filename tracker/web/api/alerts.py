"""GET /api/v1/alerts: the alerts the token's user may see."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify

from tracker import db
from tracker.models import Alert, as_utc
from tracker.services import alerts as alert_service
from tracker.web.api import bp, query
from tracker.web.errors import field_errors


def utc(moment) -> str | None:
    """A timestamp in ISO 8601 with its UTC offset (SQLite hands back naive UTC values)."""
    return None if moment is None else as_utc(moment).isoformat()


def alert_json(a: Alert) -> dict:
    """An alert as the API shows it."""
    return {
        "id": a.id, "kind": a.kind, "severity": a.severity, "project_id": a.project_id,
        "milestone_id": a.milestone_id, "message": a.message,
        "opened_at": utc(a.opened_at), "resolved_at": utc(a.resolved_at),
        "status": a.status, "as_of": a.as_of.isoformat(), "synthetic": a.is_synthetic,
        "acknowledgement": a.acknowledgement,
    }


@bp.get("/alerts")
def alerts():
    """Alerts the token's user may see; status open, acknowledged or resolved (default: all unresolved)."""
    args = query("listAlerts", page=1, per_page=current_app.config["API_PAGE_SIZE"])
    try:
        items, total = alert_service.list_alerts(db.get_session(), g.user, args["status"], args["kind"],
                                                 args["page"], args["per_page"])
    except alert_service.AlertError as exc:
        abort(field_errors({exc.field: exc.message}))
    return jsonify({"alerts": [alert_json(a) for a in items], "page": args["page"], "per_page": args["per_page"],
                    "total": total})
