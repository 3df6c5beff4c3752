"""Administration pages: the scheduler's jobs and their recent runs."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template

from tracker import db, scheduler
from tracker.domain.access import Action
from tracker.domain.roc import format_roc_date
from tracker.services import jobs
from tracker.web.security import require

bp = Blueprint("admin", __name__, url_prefix="/admin")

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
    live = current_app.extensions.get("tracker.scheduler")
    table = scheduler.job_table(current_app, live)
    runs = jobs.recent_runs(db.get_session(), RECENT_RUNS)
    return render_template("admin_jobs.html", table=table, runs=runs, runs_here=live is not None,
                           mail_enabled=bool(current_app.config.get("MAIL_ENABLED")),
                           timezone=current_app.config["TIMEZONE"], labels=jobs.JOB_LABELS,
                           statuses=jobs.RUN_STATUS_LABELS, describe=jobs.describe,
                           local_time=_local_time(ZoneInfo(current_app.config["TIMEZONE"])),
                           misfire_minutes=scheduler.MISFIRE_GRACE_SECONDS // 60)
