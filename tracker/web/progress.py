"""Monthly progress: the report form, revisions and their comparison, re-planning, the planned curve."""
from __future__ import annotations


from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import clock, db
from tracker.domain.progress import slip_days
from tracker.models import Milestone
from tracker.domain.labels import REPORT_STATE_LABELS
from tracker.services import portfolio, progress, reporting_date, review
from tracker.services.accounts import who_of
from tracker.web import plan_year
from tracker.web import params
from tracker.web.forms import CurveForm, ProgressForm, ReplanForm, ReviewForm
from tracker.web.security import may_edit

bp = Blueprint("progress", __name__)


def _project_for_writing(project_id: int):
    """The project if the user may write to it; else 404 or 403."""
    project = portfolio.get_project(db.get_session(), project_id)
    if project is None:
        abort(404)
    if not may_edit(g.user, project):
        abort(403)
    return project


def _report_month(project) -> tuple[int, int]:
    """The month asked for (?month=), or the month a report made on the reporting date is for."""
    try:
        month = params.roc_month_param(request.args)
    except params.ParamError as exc:
        abort(400, description=exc.message)
    if month is not None:
        return month.roc_year, month.month
    return progress.default_report_month(project, reporting_date.current(db.get_session(), current_app.config))


def _form_number(text: str | None) -> int:
    """A milestone id or version from a hidden field: ASCII digits, else the form is broken (400)."""
    try:
        value = params.int_param({"n": text or ""}, "n", minimum=0, maximum=params.MAX_ID)
    except params.ParamError:
        value = None
    if value is None:
        abort(400, description=_("表單缺少里程碑編號或版本"))
    return value


def _fill_rows(form: ProgressForm, milestones: list[Milestone]) -> None:
    """Put the milestones' current values into the form's rows."""
    while len(form.milestones.entries):
        form.milestones.pop_entry()
    for m in milestones:
        form.milestones.append_entry({
            "milestone_id": m.id, "version": m.version, "status": m.status, "percent_complete": m.percent_complete,
            "actual_start": m.actual_start_on, "actual_finish": m.actual_finish_on,
        })


def _uploads(form: ProgressForm) -> list[tuple[str, bytes]]:
    """The files chosen on the form (an empty file input sends one nameless part: not a file)."""
    files = []
    for item in form.photos.data or []:
        if getattr(item, "filename", None):
            files.append((item.filename, item.read()))
    return files


def _show_errors(form: ProgressForm, errors: dict) -> list[str]:
    """Put each refusal on its field; return the ones about the month (shown beside the planned percent)."""
    month_errors = []
    rows_by_id = {int(e.form.milestone_id.data): e.form for e in form.milestones.entries}
    for (milestone_id, field), message in errors.items():
        if milestone_id is None and field == "month":
            month_errors.append(message)
            continue
        target = rows_by_id.get(milestone_id) if milestone_id is not None else form
        field_obj = getattr(target, field, None) if target is not None else None
        if field_obj is None:
            field_obj = form.actual_percent if milestone_id is None else next(iter(rows_by_id.values())).status
        field_obj.errors = [*field_obj.errors, message] if isinstance(field_obj.errors, list) else [message]
    return month_errors


@bp.route("/projects/<id:project_id>/progress", methods=["GET", "POST"])
def report(project_id: int):
    """One screen per project and month: every milestone, the actual percent, reasons when behind, photos."""
    from tracker.services import attachments  # the attachment rules (file types, sizes)

    session = db.get_session()
    project = _project_for_writing(project_id)
    today = clock.today(current_app.config)
    year_roc, month = _report_month(project)
    milestones = progress.report_milestones(project)
    by_id = {m.id: m for m in milestones}
    form = ProgressForm()
    status, conflict, month_errors = 200, False, []
    defaults = progress.report_defaults(session, project, year_roc, month)
    revisions = progress.month_revisions(session, project.id, year_roc, month)
    state = revisions[-1].state if revisions else None
    if request.method == "GET":
        form.actual_percent.data = defaults.actual_percent
        form.delay_reason.data, form.remedy.data = defaults.delay_reason, defaults.remedy
        _fill_rows(form, milestones)
    elif form.validate_on_submit():
        rows = []
        for entry in form.milestones.entries:
            sub = entry.form
            rows.append(progress.MilestoneInput(_form_number(sub.milestone_id.data), _form_number(sub.version.data), {
                "status": sub.status.data, "percent_complete": sub.percent_complete.data,
                "actual_start": sub.actual_start.data, "actual_finish": sub.actual_finish.data}))
        who = who_of(g.user, request.remote_addr)
        try:
            checked = attachments.check_uploads(
                _uploads(form), attachments.month_total(session, project.id, year_roc, month), current_app.config)
            saved = progress.record_report(
                session, project, year_roc, month, rows, form.actual_percent.data, form.delay_reason.data,
                form.remedy.data, g.user, who, today, config=current_app.config,
                correction_reason=form.correction_reason.data,
                before_commit=lambda r: attachments.save(session, project, year_roc, month, r.revision, checked, who))
        except attachments.AttachmentRefused as exc:
            session.rollback()
            status = 400
            form.photos.errors = [f"{name}：{reason}" for name, reason in exc.errors.items()]
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
            month_errors = _show_errors(form, exc.errors)
        else:
            session.commit()
            flash(_("已送出 %(year)s 年 %(month)s 月進度（第 %(revision)s 版），待管考人員審核。", year=year_roc,
                    month=month, revision=saved.revision), "success")
            return redirect(url_for("progress.month_page", project_id=project.id, year_roc=year_roc, month=month))
    else:
        status = 400
    return render_template("progress_form.html", project=project, form=form, by_id=by_id, year_roc=year_roc,
                           month=month, conflict=conflict, planned_percent=defaults.planned_percent,
                           month_errors=month_errors, state=state,
                           state_label=REPORT_STATE_LABELS.get(state or "unreported")), status


def _month_of(project_id: int, year_roc: int, month: int):
    """The project and its month's revisions (oldest first), or 404."""
    session = db.get_session()
    project = portfolio.get_project(session, project_id)
    if project is None or not 1 <= month <= 12:
        abort(404)
    return project, progress.month_revisions(session, project_id, year_roc, month)


@bp.route("/projects/<id:project_id>/months/<int:year_roc>-<int:month>")
def month_page(project_id: int, year_roc: int, month: int):
    """A programme's month: its state, every revision with its reasons, review and attachments; the review form."""
    from tracker.services import attachments

    session = db.get_session()
    project, revisions = _month_of(project_id, year_roc, month)
    latest = revisions[-1] if revisions else None
    approved = [r for r in revisions if r.state == "approved"]
    files = attachments.for_month(session, project_id, year_roc, month)
    form = ReviewForm(revision=latest.revision if latest else None)
    return render_template("report_month.html", project=project, year_roc=year_roc, month=month,
                           revisions=list(reversed(revisions)), latest=latest,
                           approved=approved[-1] if approved else None, files=files, form=form,
                           may_review=review.may_review_report(session, g.user, project, latest),
                           may_report=may_edit(g.user, project),
                           state_labels=REPORT_STATE_LABELS)


def _review_action(project_id: int, year_roc: int, month: int, returning: bool):
    session = db.get_session()
    project, _revisions = _month_of(project_id, year_roc, month)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400, description=_("表單已過期或不完整，請重新整理頁面後再送出"))
    try:
        revision = params.int_param({"revision": form.revision.data or ""}, "revision", minimum=1, maximum=params.MAX_ID)
    except params.ParamError:
        revision = None
    action = review.return_report if returning else review.approve
    try:
        saved = action(session, project, year_roc, month, revision, form.comment.data,
                       who_of(g.user, request.remote_addr), current_app.config)
    except review.ReviewConflict as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("progress.month_page", project_id=project_id, year_roc=year_roc, month=month)), 303
    except progress.ProgressRefused as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("progress.month_page", project_id=project_id, year_roc=year_roc, month=month)), 303
    session.commit()
    flash(_("已退回第 %(revision)s 版。", revision=saved.revision) if returning
          else _("已核定第 %(revision)s 版。", revision=saved.revision), "success")
    return redirect(url_for("progress.month_page", project_id=project_id, year_roc=year_roc, month=month))


@bp.route("/projects/<id:project_id>/months/<int:year_roc>-<int:month>/approve", methods=["POST"])
def approve(project_id: int, year_roc: int, month: int):
    """核定: the reviewer approves the month's latest revision."""
    return _review_action(project_id, year_roc, month, returning=False)


@bp.route("/projects/<id:project_id>/months/<int:year_roc>-<int:month>/return", methods=["POST"])
def return_(project_id: int, year_roc: int, month: int):
    """退回: the reviewer returns the month's latest revision with a comment."""
    return _review_action(project_id, year_roc, month, returning=True)


@bp.route("/review")
def queue():
    """The user's queues: 待審 (a reviewer's or an admin's) and 被退回 (a manager's)."""
    session = db.get_session()
    return render_template("review_queue.html", to_review=review.to_review(session, g.user),
                           returned=review.returned(session, g.user), state_labels=REPORT_STATE_LABELS)


@bp.route("/projects/<id:project_id>/reports/<int:year_roc>-<int:month>")
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
        b = by_revision[params.int_param(request.args, "b", reports[0].revision)]
        a = by_revision[params.int_param(request.args, "a", reports[min(1, len(reports) - 1)].revision)]
    except (KeyError, params.ParamError):
        abort(404)
    return render_template("report_compare.html", project=project, a=a, b=b, reports=reports,
                           differences=progress.compare(a, b))


@bp.route("/milestones/<id:milestone_id>/replan", methods=["GET", "POST"])
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
        try:
            version = params.int_param({"version": form.version.data or ""}, "version", minimum=0,
                                       maximum=params.MAX_ID)
        except params.ParamError:
            version = None
        if version is None:
            abort(400, description="表單缺少里程碑版本，請重新整理頁面後再送出")
        try:
            progress.replan_milestone(session, milestone_id, form.planned_start.data, form.planned_finish.data,
                                      form.reason.data, version, g.user,
                                      who_of(g.user, request.remote_addr), config=current_app.config)
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
            return redirect(url_for("projects.detail", project_id=root))
    else:
        status = 400
    return render_template("replan.html", milestone=milestone, project=project, form=form,
                           slip=slip_days(milestone.baseline_finish_on, milestone.planned_finish_on)), status


@bp.route("/projects/<id:project_id>/curve", methods=["GET", "POST"])
def curve(project_id: int):
    """Enter the project's planned monthly curve for a year."""
    session = db.get_session()
    project = _project_for_writing(project_id)
    try:
        year_roc = params.roc_year_param(request.args, default=plan_year.default_year())
    except params.ParamError:
        abort(400, description=_("年度須為民國年"))
    form = CurveForm()
    status = 200
    if request.method == "GET":
        for point_month, planned_percent in progress.planned_curve_points(session, project, year_roc).items():
            getattr(form, f"m{point_month}").data = planned_percent
    elif form.validate_on_submit():
        points = {month: getattr(form, f"m{month}").data for month in range(1, 13)}
        try:
            progress.set_planned_curve(session, project, year_roc, points, g.user, who_of(g.user, request.remote_addr),
                                       config=current_app.config, reason=form.reason.data)
        except progress.ProgressRefused as exc:
            status = 400
            for (_milestone, field), message in exc.errors.items():
                getattr(form, field).errors = [message]
        else:
            session.commit()
            flash(_("已更新 %(year)s 年度預定進度曲線。", year=year_roc), "success")
            return redirect(url_for("projects.detail", project_id=project.id))
    else:
        status = 400
    return render_template("curve.html", project=project, form=form, year_roc=year_roc), status
