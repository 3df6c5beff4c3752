"""JSON API v1: Bearer tokens, projects, KPIs and the OpenAPI document."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, g, jsonify, request

from tracker import db
from tracker.domain.access import Action
from tracker.models import Alert, Kpi, Milestone, Project, as_utc
from tracker.domain.roc import RocDateError, parse_date
from tracker.services import accounts, execution, portfolio, progress
from tracker.services import alerts as alert_service
from tracker.services import audit as audit_service
from tracker.web.openapi import openapi_document
from tracker.web.security import bearer_user, require

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate():
    """Every API call needs `Authorization: Bearer <token>`."""
    user = bearer_user()
    if not user:
        response = jsonify({"error": "缺少或無效的 API 憑證：請以 Authorization: Bearer <token> 呼叫", "status": 401})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
        return response
    g.user = user
    return None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def milestone_json(m: Milestone) -> dict:
    """A milestone as the API shows it."""
    return {
        "id": m.id, "name": m.name,
        "planned_start": _iso(m.planned_start_on), "planned_finish": _iso(m.planned_finish_on),
        "baseline_start": _iso(m.baseline_start_on), "baseline_finish": _iso(m.baseline_finish_on),
        "actual_start": _iso(m.actual_start_on), "actual_finish": _iso(m.actual_finish_on),
        "status": m.status, "percent_complete": _number(m.percent_complete), "version": m.version,
    }


def project_json(p: Project) -> dict:
    """A project (or sub-plan) as the API shows it."""
    return {
        "id": p.id, "name": p.name, "work_plan": p.work_plan.name, "category": p.category,
        "systems": [s.name for s in p.systems],
        "phase_index": p.phase_index, "phase_total": p.phase_total,
        "first_year": p.first_year_roc, "last_year": p.last_year_roc,
        "parent_id": p.parent_id, "sub_code": p.sub_code,
        "kpis": [link.kpi.name for link in p.kpi_links],
        "milestones": [milestone_json(m) for m in p.milestones],
    }


def kpi_json(k: Kpi) -> dict:
    """A KPI as the API shows it."""
    return {
        "code": k.code, "goal": k.goal, "name": k.name, "measure": k.measure,
        "target": _number(k.target_value), "target_text": k.target_text, "unit": k.unit, "direction": k.direction,
    }


def _int_arg(name: str, default: int, maximum: int, errors: dict[str, str] | None = None) -> int:
    """A whole-number query parameter within 1..maximum: a 400 naming it, or (given `errors`) noted there."""
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        message = f"{name} 須為 1 至 {maximum} 的整數"
        if errors is None:
            abort(400, description=message)
        errors[name] = message
        return default
    return int(text)


@bp.get("/projects")
def projects():
    """Projects and sub-plans with their milestones, in plan order, one page at a time."""
    session = db.get_session()
    per_page = _int_arg("per_page", current_app.config["API_PAGE_SIZE"], current_app.config["API_MAX_PAGE_SIZE"])
    page = _int_arg("page", 1, 1_000_000)
    try:
        flt = portfolio.PortfolioFilter.from_args(request.args)
        items, total = portfolio.list_projects(session, flt, page, per_page)
    except portfolio.FilterError as exc:
        abort(400, description=exc.message)
    return jsonify({"projects": [project_json(p) for p in items], "page": page, "per_page": per_page, "total": total})


@bp.get("/projects/<int:project_id>")
def project(project_id: int):
    """One project, same fields as in the list."""
    item = portfolio.get_project(db.get_session(), project_id)
    if item is None:
        abort(404, description=f"沒有編號 {project_id} 的計畫")
    return jsonify(project_json(item))


@bp.get("/kpis")
def kpis():
    """The KPIs of the plan."""
    return jsonify({"kpis": [kpi_json(k) for k, _ in portfolio.list_kpis(db.get_session())]})


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of this API."""
    return jsonify(openapi_document())


def _amount(value: Decimal | None) -> float | None:
    """An amount in 千元 as a JSON number."""
    return None if value is None else float(value)


def execution_row_json(row: execution.ExecutionRow) -> dict:
    """A row of the execution table as the API shows it."""
    values = execution.row_values(row)
    out = {"key": row.key, "project_id": row.key_id if row.key_id is not None else None}
    for name in ("available_budget", "allocated", "paid", "payables", "savings", "executed", "allocation_rate",
                 "achievement_rate", "spend_rate", "allocated_unexecuted", "forecast_rate", "needed_per_month"):
        out[name] = _amount(values[name])
    return out


@bp.get("/execution")
def execution_rates():
    """Execution figures and rates by project, work plan, system, category or the whole ministry."""
    from tracker.web.execution import ParamError, read_execution_params

    session = db.get_session()
    try:
        params = read_execution_params(request.args, current_app.config["PLAN_YEAR_ROC"])
        report = execution.execution_report(session, thresholds=execution.thresholds_from(current_app.config),
                                            **params)
    except (ParamError, execution.ExecutionQueryError) as exc:
        abort(400, description=f"{exc.field}: {exc.message}")
    return jsonify({
        "year": report.year_roc, "as_of": f"{report.year_roc + 1911}-{report.month:02d}" if report.month else None,
        "by": report.by, "kind": report.kind, "unit": "NT$ thousand", "synthetic": report.is_synthetic,
        "rows": [execution_row_json(r) for r in report.rows],
        "total": execution_row_json(report.total) if report.total else None,
    })


def _utc(moment) -> str | None:
    """A timestamp in ISO 8601 with its UTC offset (SQLite hands back naive UTC values)."""
    return None if moment is None else as_utc(moment).isoformat()


def alert_json(a: Alert) -> dict:
    """An alert as the API shows it."""
    return {
        "id": a.id, "kind": a.kind, "severity": a.severity, "project_id": a.project_id,
        "milestone_id": a.milestone_id, "message": a.message,
        "opened_at": _utc(a.opened_at), "resolved_at": _utc(a.resolved_at),
        "status": a.status, "as_of": a.as_of.isoformat(), "synthetic": a.is_synthetic,
        "acknowledgement": a.acknowledgement,
    }


@bp.get("/alerts")
def alerts():
    """Alerts the token's user may see; status open, acknowledged or resolved (default: all unresolved)."""
    per_page = _int_arg("per_page", current_app.config["API_PAGE_SIZE"], current_app.config["API_MAX_PAGE_SIZE"])
    page = _int_arg("page", 1, 1_000_000)
    try:
        items, total = alert_service.list_alerts(db.get_session(), g.user, request.args.get("status") or None,
                                                 request.args.get("kind") or None, page, per_page)
    except alert_service.AlertError as exc:
        abort(400, description=f"{exc.field}: {exc.message}")
    return jsonify({"alerts": [alert_json(a) for a in items], "page": page, "per_page": per_page, "total": total})


def _json_date(body: dict, name: str, errors: dict) -> date | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = "日期須為 YYYY-MM-DD 字串或 null"
        return None
    try:
        return parse_date(value)
    except RocDateError as exc:
        errors[name] = str(exc)
        return None


@bp.get("/milestones/<int:milestone_id>")
def milestone(milestone_id: int):
    """One milestone with its current version."""
    item = db.get_session().get(Milestone, milestone_id)
    if item is None:
        abort(404, description=f"沒有編號 {milestone_id} 的里程碑")
    return jsonify(milestone_json(item))


@bp.patch("/milestones/<int:milestone_id>")
def update_milestone(milestone_id: int):
    """Report a milestone's status, percent or actual dates; `version` must be the one last read."""
    session = db.get_session()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _field_errors({"body": "請送出 JSON 物件"})
    errors: dict[str, str] = {}
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        errors["version"] = "必填：最後讀取到的版本號（整數）"
    changes = {}
    for name in body:
        if name == "version":
            continue
        if name in ("actual_start", "actual_finish"):
            changes[name] = _json_date(body, name, errors)
        else:
            changes[name] = body[name]
    if not changes and not errors:
        errors["body"] = "沒有要更新的欄位（status、percent_complete、actual_start、actual_finish）"
    if errors:
        return _field_errors(errors)
    try:
        item = progress.update_milestone(session, milestone_id, changes, version, g.user,
                                         accounts.who_of(g.user, request.remote_addr), date.today())
    except LookupError:
        abort(404, description=f"沒有編號 {milestone_id} 的里程碑")
    except progress.NotAllowed:
        abort(403)
    except progress.ProgressRefused as exc:
        return _field_errors({field: message for (_, field), message in exc.errors.items()})
    except progress.VersionConflict:
        session.rollback()
        current = session.get(Milestone, milestone_id)
        return jsonify({"error": "此里程碑已由他人更新；請以最新內容與版本重新送出", "status": 409,
                        "current": milestone_json(current)}), 409
    session.commit()
    return jsonify(milestone_json(item))


def _field_errors(errors: dict[str, str]):
    return jsonify({"error": "輸入有誤：" + "；".join(f"{k}: {v}" for k, v in errors.items()), "status": 400,
                    "fields": errors}), 400


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
    per_page = _int_arg("per_page", current_app.config["API_PAGE_SIZE"], current_app.config["API_MAX_PAGE_SIZE"],
                        errors)
    page = _int_arg("page", 1, 1_000_000, errors)
    try:
        flt = audit_service.parse_filter(session, request.args)
    except audit_service.AuditFilterError as exc:
        errors.update(exc.errors)
    if errors:
        return _field_errors(errors)
    result = audit_service.search_entries(session, flt, page, per_page, current_app.config["TIMEZONE"])
    return jsonify({"entries": [audit_json(e) for e in result.entries], "page": result.page,
                    "per_page": result.per_page, "total": result.total})
