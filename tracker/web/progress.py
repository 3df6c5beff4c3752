"""Monthly progress: the report form, revisions and their comparison, re-planning, the planned curve."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import db
from tracker.domain.progress import slip_days
from tracker.domain.roc import RocDateError, month_end, parse_roc_month
from tracker.domain.slippage import curve_at, curve_from_milestones
from tracker.models import Milestone, PlannedCurve, ProgressReport
from tracker.services import portfolio, progress
from tracker.services.accounts import who_of
from tracker.web.forms import CurveForm, ProgressForm, ReplanForm
from tracker.web.security import may_edit

bp = Blueprint("progress", __name__)


def _project_for_writing(project_id: int):
    project = portfolio.get_project(db.get_session(), project_id)
    if project is None:
        abort(404)
    if not may_edit(g.user, project):
        abort(403)
    return project


def _report_month(project, today: date) -> tuple[int, int]:
    """The month asked for, or last month (within the project's years)."""
    text = request.args.get("month")
    if text:
        try:
            month = parse_roc_month(text)
        except RocDateError as exc:
            abort(400, description=str(exc))
        return month.roc_year, month.month
    last = date(today.year, today.month, 1).toordinal() - 1
    last_month = date.fromordinal(last)
    year_roc = min(last_month.year - 1911, project.last_year_roc)
    return year_roc, last_month.month if year_roc == last_month.year - 1911 else 12


def _fill_rows(form: ProgressForm, milestones: list[Milestone]) -> None:
    """Put the milestones' current values into the form's rows."""
    while len(form.milestones.entries):
        form.milestones.pop_entry()
    for m in milestones:
        form.milestones.append_entry({
            "milestone_id": m.id, "version": m.version, "status": m.status, "percent_complete": m.percent_complete,
            "actual_start": m.actual_start_on, "actual_finish": m.actual_finish_on,
        })


@bp.route("/projects/<int:project_id>/progress", methods=["GET", "POST"])
def report(project_id: int):
    """One screen per project and month: every milestone, the project's percentages, reasons when behind."""
    session = db.get_session()
    project = _project_for_writing(project_id)
    today = date.today()
    year_roc, month = _report_month(project, today)
    milestones = progress.report_milestones(project)
    by_id = {m.id: m for m in milestones}
    form = ProgressForm()
    status, conflict = 200, False
    if request.method == "GET":
        curve = curve_from_milestones([(m.planned_start_on, m.planned_finish_on) for m in milestones])
        entered = session.scalar(sa.select(PlannedCurve.planned_percent).where(
            PlannedCurve.project_id == project.id, PlannedCurve.year_roc == year_roc, PlannedCurve.month == month))
        month_end_day = month_end(year_roc + 1911, month)
        form.planned_percent.data = entered if entered is not None else (
            round(curve_at(curve, month_end_day), 2) if curve else None)
        latest = session.scalars(sa.select(ProgressReport).where(
            ProgressReport.project_id == project.id, ProgressReport.year_roc == year_roc, ProgressReport.month == month)
            .order_by(ProgressReport.revision.desc()).limit(1)).first()
        if latest:
            form.planned_percent.data, form.actual_percent.data = latest.planned_percent, latest.actual_percent
            form.delay_reason.data, form.remedy.data = latest.delay_reason, latest.remedy
        _fill_rows(form, milestones)
    elif form.validate_on_submit():
        rows = []
        for entry in form.milestones.entries:
            sub = entry.form
            if not (sub.milestone_id.data or "").isdigit() or not (sub.version.data or "").isdigit():
                abort(400, description=_("表單缺少里程碑編號或版本"))
            rows.append(progress.MilestoneInput(int(sub.milestone_id.data), int(sub.version.data), {
                "status": sub.status.data, "percent_complete": sub.percent_complete.data,
                "actual_start": sub.actual_start.data, "actual_finish": sub.actual_finish.data}))
        try:
            saved = progress.record_report(session, project, year_roc, month, rows, form.planned_percent.data,
                                           form.actual_percent.data, form.delay_reason.data, form.remedy.data,
                                           g.user, who_of(g.user, request.remote_addr), today)
        except progress.VersionConflict as exc:
            session.rollback()
            status, conflict = 409, True
            newer = {m.id for m in exc.milestones}
            project = portfolio.get_project(session, project_id)
            milestones = progress.report_milestones(project)
            by_id = {m.id: m for m in milestones}
            _fill_rows(form, milestones)
            for entry in form.milestones.entries:
                if int(entry.form.milestone_id.data) in newer:
                    entry.form.status.errors = [_("此里程碑已由他人更新，以下為最新內容；請確認後重新送出")]
        except progress.ProgressRefused as exc:
            status = 400
            rows_by_id = {int(e.form.milestone_id.data): e.form for e in form.milestones.entries}
            for (milestone_id, field), message in exc.errors.items():
                target = rows_by_id.get(milestone_id) if milestone_id is not None else form
                field_obj = getattr(target, field, None) if target is not None else None
                if field_obj is None:
                    field_obj = form.planned_percent if milestone_id is None else next(iter(rows_by_id.values())).status
                field_obj.errors = [*field_obj.errors, message] if isinstance(field_obj.errors, list) else [message]
        else:
            session.commit()
            flash(_("已送出 %(year)s 年 %(month)s 月進度（第 %(revision)s 版）。", year=year_roc, month=month,
                    revision=saved.revision), "success")
            return redirect(url_for("portfolio.project", project_id=project.id))
    else:
        status = 400
    return render_template("progress_form.html", project=project, form=form, by_id=by_id, year_roc=year_roc,
                           month=month, conflict=conflict), status


@bp.route("/projects/<int:project_id>/reports/<int:year_roc>-<int:month>")
def compare(project_id: int, year_roc: int, month: int):
    """Two revisions of a month's report side by side (default: the last two)."""
    session = db.get_session()
    project = portfolio.get_project(session, project_id)
    if project is None:
        abort(404)
    reports = [r for r in progress.revisions(session, project_id) if (r.year_roc, r.month) == (year_roc, month)]
    if not reports:
        abort(404)
    by_revision = {r.revision: r for r in reports}
    try:
        b = by_revision[int(request.args.get("b", reports[0].revision))]
        a = by_revision[int(request.args.get("a", reports[min(1, len(reports) - 1)].revision))]
    except (KeyError, ValueError):
        abort(404)
    return render_template("report_compare.html", project=project, a=a, b=b, reports=reports,
                           differences=progress.compare(a, b))


@bp.route("/milestones/<int:milestone_id>/replan", methods=["GET", "POST"])
def replan(milestone_id: int):
    """Move a milestone's planned dates, with a reason; the baseline stays."""
    session = db.get_session()
    milestone = session.get(Milestone, milestone_id)
    if milestone is None:
        abort(404)
    project = _project_for_writing(milestone.project_id)
    form = ReplanForm()
    status = 200
    if request.method == "GET":
        form.version.data = milestone.version
        form.planned_start.data, form.planned_finish.data = milestone.planned_start_on, milestone.planned_finish_on
    elif form.validate_on_submit():
        if not (form.version.data or "").isdigit():
            abort(400, description="表單缺少里程碑版本，請重新整理頁面後再送出")
        try:
            progress.replan_milestone(session, milestone_id, form.planned_start.data, form.planned_finish.data,
                                      form.reason.data, int(form.version.data), g.user,
                                      who_of(g.user, request.remote_addr))
        except progress.ProgressRefused as exc:
            status = 400
            for (_milestone, field), message in exc.errors.items():
                getattr(form, field).errors = [message]
        except progress.VersionConflict as exc:
            session.rollback()
            status = 409
            milestone = exc.milestones[0]
            form.version.data = milestone.version
            form.planned_start.errors = [_("此里程碑已由他人更新（目前預定 %(start)s–%(finish)s），請確認後重新送出",
                                            start=milestone.planned_start_on, finish=milestone.planned_finish_on)]
        else:
            session.commit()
            flash(_("已重新規劃里程碑。"), "success")
            root = project.parent_id or project.id
            return redirect(url_for("portfolio.project", project_id=root))
    else:
        status = 400
    return render_template("replan.html", milestone=milestone, project=project, form=form,
                           slip=slip_days(milestone.baseline_finish_on, milestone.planned_finish_on)), status


@bp.route("/projects/<int:project_id>/curve", methods=["GET", "POST"])
def curve(project_id: int):
    """Enter the project's planned monthly curve for a year."""
    session = db.get_session()
    project = _project_for_writing(project_id)
    year_text = request.args.get("year", str(current_app.config["PLAN_YEAR_ROC"]))
    if not year_text.isdigit():
        abort(400, description=_("年度須為民國年"))
    year_roc = int(year_text)
    form = CurveForm()
    status = 200
    if request.method == "GET":
        for point in session.scalars(sa.select(PlannedCurve).where(PlannedCurve.project_id == project.id,
                                                                  PlannedCurve.year_roc == year_roc)):
            getattr(form, f"m{point.month}").data = point.planned_percent
    elif form.validate_on_submit():
        points = {month: getattr(form, f"m{month}").data for month in range(1, 13)}
        try:
            progress.set_planned_curve(session, project, year_roc, points, g.user, who_of(g.user, request.remote_addr))
        except progress.ProgressRefused as exc:
            status = 400
            for (_milestone, field), message in exc.errors.items():
                getattr(form, field).errors = [message]
        else:
            session.commit()
            flash(_("已更新 %(year)s 年度預定進度曲線。", year=year_roc), "success")
            return redirect(url_for("portfolio.project", project_id=project.id))
    else:
        status = 400
    return render_template("curve.html", project=project, form=form, year_roc=year_roc), status
