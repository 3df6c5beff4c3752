"""Administration pages: the scheduler's jobs, their recent runs, and 「立即執行」."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker import clock, db
from tracker.domain.access import Action
from tracker.domain.roc import format_roc_date
from tracker.services import jobs, reporting_date, retention
from tracker.web.forms import ReportingDateForm
from tracker.services.accounts import who_of
from tracker.web.security import require
from tracker.domain.labels import RUN_STATUS_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")
#: The jobs' names in the reader's language (jobs.JOB_LABELS keeps the Chinese ones for the logs and the CLI).
JOB_NAMES = {jobs.SLIP_SCAN: _l("進度落後檢核"), jobs.EXECUTION_SCAN: _l("預算執行率檢核"),
             jobs.PROGRESS_REMINDER: _l("進度填報提醒"), jobs.PROGRESS_ESCALATION: _l("逾期未填報通報"),
             jobs.EMAIL_DIGEST: _l("每日警示摘要郵件"), jobs.RETENTION_PRUNE: _l("過期紀錄清理")}

#: How many runs the page lists.
RECENT_RUNS = 100


def _local_time(tz: ZoneInfo):
    def fmt(moment: datetime | None) -> str:
        """A timestamp in the configured timezone, the ROC way: 「106年9月1日 07:00:03」."""
        if moment is None:
            return "—"
        if moment.tzinfo is None:  # SQLite hands timestamps back without their (UTC) zone
            moment = moment.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(tz)
        return f"{format_roc_date(moment.date())} {moment:%H:%M:%S}"

    return fmt


@bp.route("/jobs")
def jobs_page():
    """The scheduled jobs and the latest runs, for administrators."""
    require(Action.MANAGE_USERS)
    from tracker import scheduler  # here, not at the top: a web worker that never shows this page never loads APScheduler

    live = current_app.extensions.get("tracker.scheduler")
    table = scheduler.job_table(current_app, live, _)
    session = db.get_session()
    runs = jobs.recent_runs(session, RECENT_RUNS)
    return render_template("admin_jobs.html", table=table, runs=runs, last_runs=jobs.last_runs(session),
                           runs_here=live is not None, mail_enabled=bool(current_app.config.get("MAIL_ENABLED")),
                           timezone=current_app.config["TIMEZONE"], labels=JOB_NAMES,
                           statuses=RUN_STATUS_LABELS, describe=jobs.describe,
                           local_time=_local_time(ZoneInfo(current_app.config["TIMEZONE"])),
                           misfire_minutes=scheduler.MISFIRE_GRACE_SECONDS // 60,
                           retention_days=retention.retention_days(current_app.config))


@bp.post("/jobs/<job_id>/run")
def run_job_now(job_id: str):
    """「立即執行」: run one scheduled job now, in this request, recorded as started by the admin."""
    require(Action.MANAGE_USERS)
    from tracker import scheduler  # lazily, as in jobs_page

    if job_id not in {spec.id for spec in scheduler.job_specs(current_app.config)}:
        abort(404)
    label = JOB_NAMES.get(job_id, jobs.JOB_LABELS[job_id])
    try:
        run = jobs.run_now(current_app._get_current_object(), job_id, who_of(g.user, request.remote_addr))
    except jobs.JobAlreadyRunning as busy:
        started = _local_time(ZoneInfo(current_app.config["TIMEZONE"]))(busy.run.started_at)
        flash(_("「%(job)s」正在執行中（%(started)s 由 %(who)s 開始），未再執行；請待其結束後再試。",
                job=label, started=started, who=busy.run.started_by), "warning")
        return redirect(url_for("admin.jobs_page"))
    if run.status == "succeeded":
        flash(_("已執行「%(job)s」：成功；警示新增 %(opened)s、更新 %(updated)s、解除 %(resolved)s 筆。",
                job=label, opened=run.opened, updated=run.updated, resolved=run.resolved), "success")
    else:
        flash(_("已執行「%(job)s」：失敗（%(error)s）。", job=label,
                error=run.error.splitlines()[0] if run.error else run.status), "warning")
    return redirect(url_for("admin.jobs_page"))


@bp.route("/reporting-date", methods=["GET", "POST"])
def reporting_date_page():
    """The site-wide reporting date (評核基準日): set a day, or follow today again."""
    require(Action.MANAGE_SETTINGS)
    session = db.get_session()
    form = ReportingDateForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            who = who_of(g.user, request.remote_addr)
            try:
                reporting_date.set_reporting_date(session, None if form.follow_today.data else form.day.data, who)
            except reporting_date.ReportingDateRefused as exc:
                form.day.errors = [str(exc)]
                status = 400
            else:
                session.commit()
                flash(_("已更新評核基準日。"), "success")
                return redirect(url_for("admin.reporting_date_page"))
        else:
            status = 400
    stored = reporting_date.stored(session)
    if request.method == "GET":
        form.day.data = stored
    return render_template("admin_reporting_date.html", form=form, stored=stored,
                           current=reporting_date.current(session, current_app.config),
                           today=clock.today(current_app.config)), status
