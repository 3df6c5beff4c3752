"""GET /api/v1/audit: the audit log, for administrators."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, request

from tracker import db
from tracker.domain.access import Action
from tracker.models import as_utc
from tracker.services import audit as audit_service
from tracker.web.api import bp
from tracker.web.api.schema import RequestRefused, parse_query
from tracker.web.errors import field_errors
from tracker.web.security import require


def audit_json(entry) -> dict:
    """An audit entry as the API shows it: `at` in ISO 8601 UTC, `user` the actor's name."""
    return {"id": entry.id, "at": as_utc(entry.at).isoformat(), "user": entry.actor,
            "action": entry.action, "entity_type": entry.entity_type, "entity_id": entry.entity_id,
            "remote_addr": entry.remote_addr, "changes": entry.changes}


@bp.get("/audit")
def audit_log():
    """The audit log for administrators, newest first; filters user, action (or a family: login.), project, from, to."""
    require(Action.MANAGE_USERS)
    session = db.get_session()
    errors: dict[str, str] = {}
    try:
        args = parse_query("listAudit", request.args, {"page": 1, "per_page": current_app.config["API_PAGE_SIZE"]},
                           g.api_limits)
    except RequestRefused as refused:
        errors.update(refused.errors)
    try:
        # what the document let through is read by the service, which also says whether the project exists
        flt = audit_service.parse_filter(session, {k: v for k, v in request.args.items() if k not in errors})
    except audit_service.AuditFilterError as exc:
        errors.update({k: v for k, v in exc.errors.items() if k not in errors})
    if errors:
        abort(field_errors(errors))
    result = audit_service.search_entries(session, flt, args["page"], args["per_page"], current_app.config["TIMEZONE"])
    return jsonify({"entries": [audit_json(e) for e in result.entries], "page": result.page,
                    "per_page": result.per_page, "total": result.total})
