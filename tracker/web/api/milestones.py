"""GET and PATCH /api/v1/milestones/<id>: a milestone's progress, with optimistic locking by version."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, request

from tracker import clock, db
from tracker.domain.roc import RocDateError, parse_date
from tracker.models import Milestone
from tracker.services import accounts, progress
from tracker.web.api import bp, json_body
from tracker.web.api.projects import milestone_json
from tracker.web.errors import api_error, field_errors

_DATE_FIELDS = ("actual_start", "actual_finish")


@bp.get("/milestones/<id:milestone_id>")
def milestone(milestone_id: int):
    """One milestone with its current version."""
    item = db.get_session().get(Milestone, milestone_id)
    if item is None:
        abort(404, description=f"沒有編號 {milestone_id} 的里程碑")
    return jsonify(milestone_json(item))


@bp.patch("/milestones/<id:milestone_id>")
def update_milestone(milestone_id: int):
    """Report a milestone's status, percent or actual dates; `version` must be the one last read."""
    body = json_body("MilestoneUpdate")  # shape and types from the document; the rules are the service's
    errors: dict[str, str] = {}
    changes = {name: value for name, value in body.items() if name != "version"}
    for name in _DATE_FIELDS:
        if changes.get(name) is not None:
            try:
                changes[name] = parse_date(changes[name])
            except RocDateError as exc:
                errors[name] = str(exc)
    if errors:
        return field_errors(errors)
    session = db.get_session()
    try:
        item = progress.update_milestone(session, milestone_id, changes, body["version"], g.user,
                                         accounts.who_of(g.user, request.remote_addr), clock.today(current_app.config),
                                         config=current_app.config)
    except LookupError:
        abort(404, description=f"沒有編號 {milestone_id} 的里程碑")
    except progress.NotAllowed:
        abort(403)
    except progress.ProgressRefused as exc:
        return field_errors({field: message for (_, field), message in exc.errors.items()})
    except progress.VersionConflict:
        session.rollback()
        current = session.get(Milestone, milestone_id)
        return api_error(409, "此里程碑已由他人更新；請以最新內容與版本重新送出", current=milestone_json(current))
    session.commit()
    return jsonify(milestone_json(item))
