"""The monthly report of a programme over the API: read its revisions, submit one, approve or return it."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, request

from tracker import clock, db
from tracker.domain.roc import RocDateError, parse_date
from tracker.services import accounts, portfolio, progress, review
from tracker.web import params
from tracker.web.api import bp, json_body
from tracker.web.api.projects import number
from tracker.web.errors import api_error, field_errors


def _month(text: str):
    """The path's month (106-09 or 2017-09), else a 400 naming `month`."""
    try:
        month = params.roc_month_param({"month": text}, "month")
    except params.ParamError as exc:
        abort(field_errors({"month": exc.message}))
    return month


def _programme(project_id: int):
    project = portfolio.get_project(db.get_session(), project_id)
    if project is None or project.parent_id is not None:
        abort(404, description=f"沒有編號 {project_id} 的重要計畫（子計畫隨其計畫填報）")
    return project


def _stamp(moment) -> str | None:
    from tracker.models import as_utc
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def revision_json(r, files) -> dict:
    """A revision as the API shows it (its attachments: the month's files up to this revision)."""
    from tracker.services import attachments
    return {
        "revision": r.revision, "state": r.state, "year_roc": r.year_roc, "month": r.month,
        "planned_percent": number(r.planned_percent), "actual_percent": number(r.actual_percent),
        "delay_reason": r.delay_reason, "remedy": r.remedy, "correction_reason": r.correction_reason,
        "reviewer_comment": r.reviewer_comment,
        "submitted_by": r.submitted_by.name if r.submitted_by else None, "submitted_at": _stamp(r.submitted_at),
        "reviewed_by": r.reviewed_by.name if r.reviewed_by else None, "reviewed_at": _stamp(r.reviewed_at),
        "attachments": [attachments.as_json(a) for a in files if a.revision <= r.revision],
    }


def _files(project_id: int, year_roc: int, month: int):
    from tracker.services import attachments
    return attachments.for_month(db.get_session(), project_id, year_roc, month)


@bp.get("/projects/<id:project_id>/reports/<month>")
def reports(project_id: int, month: str):
    """Every revision of a programme's month, newest first."""
    project, when = _programme(project_id), _month(month)
    revisions = progress.month_revisions(db.get_session(), project.id, when.roc_year, when.month)
    files = _files(project.id, when.roc_year, when.month)
    return jsonify({"state": revisions[-1].state if revisions else "unreported",
                    "revisions": [revision_json(r, files) for r in reversed(revisions)]})


def _milestone_rows(items: list[dict]) -> tuple[list[progress.MilestoneInput], dict[str, str]]:
    rows, errors = [], {}
    for index, item in enumerate(items):
        changes = {k: v for k, v in item.items() if k not in ("id", "version")}
        for name in ("actual_start", "actual_finish"):
            if changes.get(name) is not None:
                try:
                    changes[name] = parse_date(changes[name])
                except RocDateError as exc:
                    errors[f"milestones[{index}].{name}"] = str(exc)
        rows.append(progress.MilestoneInput(item["id"], item["version"], changes))
    return rows, errors


@bp.post("/projects/<id:project_id>/reports/<month>")
def submit_report(project_id: int, month: str):
    """Submit a month's report: a new revision, 已送出; the planned percent is the plan's."""
    body = json_body("ReportSubmit")
    project, when = _programme(project_id), _month(month)
    rows, errors = _milestone_rows(body.get("milestones", []))
    if errors:
        return field_errors(errors)
    session = db.get_session()
    index_of = {item["id"]: i for i, item in enumerate(body.get("milestones", []))}
    try:
        saved = progress.record_report(
            session, project, when.roc_year, when.month, rows, body["actual_percent"], body.get("delay_reason"),
            body.get("remedy"), g.user, accounts.who_of(g.user, request.remote_addr),
            clock.today(current_app.config), config=current_app.config,
            correction_reason=body.get("correction_reason"))
    except progress.NotAllowed:
        session.rollback()
        return api_error(403, "您不能填報此計畫的進度")
    except progress.ProgressRefused as exc:
        return field_errors({(field if milestone_id is None else
                              f"milestones[{index_of.get(milestone_id, '?')}].{field}"): message
                             for (milestone_id, field), message in exc.errors.items()})
    except progress.VersionConflict as exc:
        session.rollback()
        from tracker.web.api.projects import milestone_json
        return api_error(409, "部分里程碑已由他人更新；請以最新內容與版本重新送出",
                         current=[milestone_json(m) for m in exc.milestones])
    session.commit()
    return jsonify(revision_json(saved, _files(project.id, when.roc_year, when.month))), 201


def _review(project_id: int, month: str, returning: bool):
    body = json_body("ReviewAction") if request.get_data(cache=True) else {}  # approving needs no body
    project, when = _programme(project_id), _month(month)
    session = db.get_session()
    action = review.return_report if returning else review.approve
    try:
        saved = action(session, project, when.roc_year, when.month, body.get("revision"), body.get("comment"),
                       accounts.who_of(g.user, request.remote_addr), current_app.config)
    except PermissionError as exc:
        session.rollback()
        return api_error(403, str(exc))
    except review.ReviewConflict as exc:
        session.rollback()
        return api_error(409, str(exc))
    except progress.ProgressRefused as exc:
        session.rollback()
        return field_errors({field: message for (_, field), message in exc.errors.items()})
    session.commit()
    return jsonify(revision_json(saved, _files(project.id, when.roc_year, when.month)))


@bp.post("/projects/<id:project_id>/reports/<month>/approve")
def approve_report(project_id: int, month: str):
    """核定 the month's latest revision (a reviewer of the programme's system or an admin, never its author)."""
    return _review(project_id, month, returning=False)


@bp.post("/projects/<id:project_id>/reports/<month>/return")
def return_report(project_id: int, month: str):
    """退回 the month's latest revision with a comment."""
    return _review(project_id, month, returning=True)
